package policies

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies/reach"
)

var networkRules = []*Rule{
	{
		ID: "NET001", Family: "network", Severity: Error,
		Title: "the rendered NetworkPolicies allow no flow that talksTo does not declare",
		Rationale: `talksTo is the only way traffic is meant to be allowed. The rule does not
trust the source: it evaluates the rendered NetworkPolicies (pod and
namespace selectors, policy types, ports, named ports) into the set of
(source workload, destination workload, port) connections they allow, and
reports each one no talksTo declares — for example traffic from
external-env into ai-agents that an over-broad selector lets in. Egress to
addresses outside the cluster (an ipBlock) must be the range of an
external one of the workload's flows names, on that flow's port. A
NetworkPolicy matches addresses, not host names: an external's hosts are
for service discovery only, and one without cidrs stands for the public
internet minus private, shared, link-local (cloud metadata) and
unique-local ranges, so its clients may reach any public address on that
port.`,
		Check: checkNetwork,
	},
	{
		ID: "NET002", Family: "network", Severity: Error,
		Title: "every declared flow is allowed by the rendered NetworkPolicies",
		Rationale: `A talksTo that the policies block fails at run time as a connection
timeout, the hardest kind of failure to trace back to a policy. Each
declared flow must be allowed on both ends: egress at the client and
ingress at the server; a flow to an external, egress to each of its
ranges on its port.`,
	},
	{
		ID: "NET007", Family: "network", Severity: Error, On: OnBoth,
		Title: "no tenant's pods can reach another tenant's but through a declared flow",
		Rationale: `Tenants share a cluster, not their data: a path from one tenant's pods to
another's is a breach whatever opened it. The rule reads the same
analysis of the rendered NetworkPolicies as NET001 and reports every
allowed connection between two tenants' namespaces that no talksTo
declares across ("TENANT/NAME:PORT"), with the policies that allow it: a
NetworkPolicy written under objects that admits other namespaces, say.
Such a connection is reported here rather than under NET001, so that
waiving NET001 does not waive a tenant's isolation. When it passes, no
pod of a tenant can open a connection to a pod of another but those
declared. On Docker Compose it reads the rendered networks: two tenants'
services on one network reach each other on every port, which only a
declared flow between them allows.`,
	},
	{
		ID: "NET005", Family: "network", Severity: Error,
		Title: "egress ipBlocks reach neither the cluster's own ranges nor the cloud metadata address",
		Rationale: `An ipBlock is meant for addresses outside the cluster, but many network
plugins match pod and Service addresses against it too: an ipBlock that
covers the cluster's pod or Service range (cluster.podCIDRs,
serviceCIDRs) opens a path to every pod on its ports, one that no
talksTo shows. One that covers the cloud metadata address
(169.254.169.254, fd00:ec2::254) lets the pods take the node's
credentials. The rule reads the rendered policies, whatever rendered
them, and reports each egress ipBlock whose range, less its excepts,
still holds one of those addresses.`,
	},
	{
		ID: "NET003", Family: "network", Severity: Error,
		Title: "every namespace denies ingress and egress by default",
		Rationale: `Without a default-deny policy in both directions, a pod that no other
policy selects can send and receive anything, and every flow analysis is
moot. Each namespace needs a policy selecting all its pods for Ingress and
Egress that allows nothing broad.`,
	},
	{
		ID: "NET004", Family: "network", Severity: Warning,
		Title: "something on the cluster enforces the rendered NetworkPolicies",
		Rationale: `The API server stores NetworkPolicies whether or not anything enforces
them; the network plugin does, and only if it implements them. Without
one, every analysis of the network rules describes isolation that does
not exist. The cluster says what enforces them in cluster.networkPolicy.
k3s runs its embedded kube-router policy controller unless started with
--disable-network-policy, so it defaults to "kube-router". On EKS the
Amazon VPC CNI enforces NetworkPolicies only with its network policy
agent (VPC CNI 1.14 or later), which is off until enableNetworkPolicy:
"true" is set on the vpc-cni add-on, so EKS has no default: the rule
warns until the cluster names "vpc-cni" (or "calico", "cilium" when one
of those enforces them). It warns as well on "none".`,
		Check: checkEnforcement,
	},
}

// checkEnforcement warns when nothing enforces the environment's
// NetworkPolicies, or nothing says what does.
func checkEnforcement(ctx *Context) []Finding {
	c := ctx.Env.Env.Cluster
	switch c.NetworkPolicy {
	case "none":
		return []Finding{{Pos: c.NetworkPolicyPos, Target: "environment",
			Message: `nothing enforces the rendered NetworkPolicies (cluster: networkPolicy: "none"), so they isolate nothing; ` +
				`run a network plugin that enforces them and name it ("vpc-cni", "calico", "cilium" or "kube-router")`}}
	case "":
		pos := c.DistributionPos
		if !pos.IsValid() {
			pos = c.Pos
		}
		msg := `nothing says what enforces the rendered NetworkPolicies on this ` + c.Distribution + ` cluster; ` +
			`set cluster: networkPolicy to the network plugin that does`
		if c.Distribution == "eks" {
			msg = `nothing says what enforces the rendered NetworkPolicies on this eks cluster, and the VPC CNI enforces them only with its network policy agent, which is off by default; ` +
				`enable it with enableNetworkPolicy: "true" on the vpc-cni add-on (VPC CNI 1.14 or later) and set cluster: networkPolicy: "vpc-cni", ` +
				`or name the plugin that enforces them ("calico", "cilium")`
		}
		if c.Distribution == "minikube" {
			msg = `nothing says what enforces the rendered NetworkPolicies on this minikube cluster, and minikube's default CNI enforces none; ` +
				`start it with minikube start --cni=calico and set cluster: networkPolicy: "calico"`
		}
		return []Finding{{Pos: pos, Target: "environment", Message: msg}}
	}
	return nil
}

// Analysis evaluates the NetworkPolicies of a rendered environment.
func Analysis(out *render.Output) (*reach.Result, error) {
	var nss []reach.Namespace
	var ws []reach.Workload
	// The policies are copied, into a list made once: an environment of
	// 5,000 components has some 20,000.
	n := 0
	for _, o := range out.Objects {
		if _, ok := o.Obj.(*networkingv1.NetworkPolicy); ok {
			n++
		}
	}
	pols := make([]networkingv1.NetworkPolicy, 0, n)
	for _, o := range out.Objects {
		switch t := o.Obj.(type) {
		case *corev1.Namespace:
			nss = append(nss, reach.Namespace{Name: t.Name, Labels: t.Labels})
		case *networkingv1.NetworkPolicy:
			pols = append(pols, *t)
		}
	}
	for _, w := range workloads(&Context{Output: out, Env: out.Env}) {
		rw := reach.Workload{Namespace: w.Namespace, Name: w.Name, PodLabels: w.Template.Labels}
		// Sidecars listen beside the main container; an init container
		// that runs to completion serves no traffic.
		var serving []corev1.Container
		for _, c := range w.Template.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				serving = append(serving, c)
			}
		}
		for _, c := range append(serving, w.Template.Spec.Containers...) {
			for _, p := range c.Ports {
				rw.Ports = append(rw.Ports, reach.Port{Name: p.Name, Number: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		ws = append(ws, rw)
	}
	return reach.Analyze(nss, ws, pols)
}

// checkNetwork runs the three network rules on one analysis.
func checkNetwork(ctx *Context) []Finding {
	res, err := Analysis(ctx.Output)
	if err != nil {
		f := Finding{Pos: ctx.Env.Env.Pos, Target: "environment", Message: "the rendered NetworkPolicies cannot be analysed: " + err.Error()}
		// At the object that causes it, when the source wrote it under
		// objects: a NetworkPolicy, or a workload's ports.
		var pe *reach.InvalidPolicyError
		var ie *reach.InvalidInputError
		for _, o := range ctx.Output.Objects {
			if o.Source == nil {
				continue
			}
			if errors.As(err, &pe) && o.Kind == "NetworkPolicy" && o.Namespace == pe.Policy.Namespace && o.Name == pe.Policy.Name ||
				errors.As(err, &ie) && o.Source.Typed != nil && ie.What == "workload "+o.Namespace+"/"+o.Name {
				f.Pos, f.Object = o.Pos, o.Source.ID()
				break
			}
		}
		return []Finding{f}
	}
	sys := ctx.Env.System
	policyPos := map[reach.PolicyRef]*render.Object{}
	for _, o := range ctx.Output.Objects {
		if o.Kind == "NetworkPolicy" {
			policyPos[reach.PolicyRef{Namespace: o.Namespace, Name: o.Name}] = o
		}
	}
	declared := map[string]model.Pos{}
	key := func(from, to reach.WorkloadRef, port string) string {
		return from.String() + "\x00" + to.String() + "\x00" + port
	}
	for _, c := range sys.Components {
		for _, f := range c.TalksTo {
			if t := sys.Component(f.Target); t != nil {
				declared[key(workloadRef(c), workloadRef(t), f.Port)] = f.Pos
			}
		}
	}
	// With the operator's discovery, the scrapes of the Prometheus pods
	// are declared by the components' metrics.
	if m := sys.Monitoring; m.Operator() && m.Prometheus != nil {
		sel := labels.SelectorFromSet(settingsSet(m.Prometheus.Labels))
		for _, w := range workloads(ctx) {
			if w.Namespace != m.Prometheus.Namespace || !sel.Matches(labels.Set(w.Template.Labels)) {
				continue
			}
			for _, c := range sys.Components {
				if c.Metrics != nil {
					declared[key(reach.WorkloadRef{Namespace: w.Namespace, Name: w.Name}, workloadRef(c), c.Metrics.Port)] = c.Metrics.Pos
				}
			}
		}
	}
	var fs []Finding
	for _, fl := range res.Flows {
		if _, ok := declared[key(fl.From, fl.To, fl.PortName)]; ok {
			continue
		}
		v, _ := res.Explain(fl.From, fl.To, fl.Port, fl.Protocol)
		pos, object := ctx.Env.Env.Pos, ""
		var via []string
		for _, d := range []reach.Decision{v.Ingress, v.Egress} {
			for _, r := range d.Rules {
				via = append(via, r.String())
				if o := policyPos[r.Policy]; o != nil && object == "" {
					pos, object = o.Pos, "NetworkPolicy "+o.Namespace+"/"+o.Name
				}
			}
		}
		if object == "" {
			if ns := sys.Namespace(fl.To.Namespace); ns != nil {
				pos = ns.Pos
			}
		}
		how := "no policy isolates either end"
		if len(via) > 0 {
			how = "allowed by " + strings.Join(via, ", ")
		}
		if from, to := sys.Namespace(fl.From.Namespace), sys.Namespace(fl.To.Namespace); from != nil && to != nil && from.Tenant && to.Tenant && from != to {
			fs = append(fs, Finding{Rule: "NET007", Pos: pos, Target: componentName(sys, fl.To), Object: object,
				Message: fmt.Sprintf("%s can reach %s, from tenant %s into tenant %s, and no talksTo of %s declares %s:%s; %s", fl.From, flowDest(fl), from.Name, to.Name, componentName(sys, fl.From), talksToRef(sys, fl.From, fl.To), portLabel(fl), how)})
			continue
		}
		into := ""
		if fl.From.Namespace != fl.To.Namespace {
			into = fmt.Sprintf(" (traffic from %s into %s)", fl.From.Namespace, fl.To.Namespace)
		}
		fs = append(fs, Finding{Rule: "NET001", Pos: pos, Target: componentName(sys, fl.To), Object: object,
			Message: fmt.Sprintf("%s can reach %s, but no talksTo of %s declares %s:%s%s; %s", fl.From, flowDest(fl), componentName(sys, fl.From), talksToRef(sys, fl.From, fl.To), portLabel(fl), into, how)})
	}
	fs = append(fs, checkExternalFlows(ctx, res, policyPos)...)
	for _, c := range sys.Components {
		for _, f := range c.TalksTo {
			t := sys.Component(f.Target)
			if t == nil || t.Port(f.Port) == nil {
				continue
			}
			from, to := workloadRef(c), workloadRef(t)
			port := int32(t.Port(f.Port).Number)
			proto := corev1.Protocol(t.Port(f.Port).Protocol)
			if res.Allowed(from, to, port, proto) {
				continue
			}
			msg := fmt.Sprintf("declared flow %s -> %s:%s is blocked", from, to, f.Port)
			if v, ok := res.Explain(from, to, port, proto); ok {
				msg = "declared flow " + v.String()
			}
			fs = append(fs, Finding{Rule: "NET002", Pos: f.Pos, Target: c.Name, Message: msg})
		}
	}
	for _, ns := range sys.Namespaces {
		in, eg := res.DefaultDeny(ns.Name)
		var missing []string
		if !in {
			missing = append(missing, "ingress")
		}
		if !eg {
			missing = append(missing, "egress")
		}
		if len(missing) > 0 {
			f := Finding{Rule: "NET003", Pos: ns.Pos, Target: "namespace/" + ns.Name, Object: "Namespace " + ns.Name,
				Message: fmt.Sprintf("namespace %s does not deny %s by default", ns.Name, strings.Join(missing, " or "))}
			// gitopsc renders a default deny in each direction: what
			// undoes it is a NetworkPolicy written under objects.
			if o := rawPolicy(ctx.Output, ns.Name, missing); o != nil {
				f.Pos, f.Object = o.Pos, "NetworkPolicy "+o.Namespace+"/"+o.Name
				f.Message += fmt.Sprintf(": NetworkPolicy %s/%s, written under objects, opens it", o.Namespace, o.Name)
			}
			fs = append(fs, f)
		}
	}
	return fs
}

func workloadRef(c *model.Component) reach.WorkloadRef {
	return reach.WorkloadRef{Namespace: c.Namespace, Name: c.ObjectName}
}

// componentName is the Name of the component whose workload w is, which
// findings and waivers use; a workload no component renders keeps its
// own name.
func componentName(sys *model.System, w reach.WorkloadRef) string {
	if c := sys.ComponentAt(w.Namespace, w.Name); c != nil {
		return c.Name
	}
	return w.Name
}

// talksToRef is how a talksTo of from's component names to's: by its
// name inside the system or a tenant, TENANT/NAME from elsewhere.
func talksToRef(sys *model.System, from, to reach.WorkloadRef) string {
	t := sys.ComponentAt(to.Namespace, to.Name)
	if t == nil {
		return to.Name
	}
	if f := sys.ComponentAt(from.Namespace, from.Name); t.Tenant != "" && f != nil && f.Tenant == t.Tenant {
		return t.ObjectName
	}
	return t.Name
}

func flowDest(f reach.Flow) string {
	return fmt.Sprintf("%s on %s/%d", f.To, f.Protocol, f.Port)
}

func portLabel(f reach.Flow) string {
	if f.PortName != "" {
		return f.PortName
	}
	return fmt.Sprint(f.Port)
}

// rawPolicy is the NetworkPolicy of namespace ns written under objects
// that undoes its default deny in one of the directions ("ingress",
// "egress"): the first that selects every pod and admits every peer
// there, else the first that governs the direction at all.
func rawPolicy(out *render.Output, ns string, directions []string) *render.Object {
	for _, o := range out.Objects {
		p, ok := o.Obj.(*networkingv1.NetworkPolicy)
		if !ok || o.Source == nil || p.Namespace != ns || len(p.Spec.PodSelector.MatchLabels)+len(p.Spec.PodSelector.MatchExpressions) > 0 {
			continue
		}
		for _, d := range directions {
			if d == "ingress" && slices.ContainsFunc(p.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool { return len(r.From) == 0 }) ||
				d == "egress" && slices.ContainsFunc(p.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool { return len(r.To) == 0 }) {
				return o
			}
		}
	}
	for _, o := range out.Objects {
		p, ok := o.Obj.(*networkingv1.NetworkPolicy)
		if !ok || o.Source == nil || p.Namespace != ns {
			continue
		}
		for _, t := range p.Spec.PolicyTypes {
			for _, d := range directions {
				if strings.EqualFold(string(t), d) {
					return o
				}
			}
		}
		// Without policyTypes a policy governs ingress, and egress too
		// when it has egress rules.
		if len(p.Spec.PolicyTypes) == 0 && (slices.Contains(directions, "ingress") || len(p.Spec.Egress) > 0) {
			return o
		}
	}
	return nil
}
