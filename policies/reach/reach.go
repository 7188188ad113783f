// Package reach computes which connections between workloads a set of
// rendered NetworkPolicy objects (networking.k8s.io/v1) allows.
//
// The network rules judge what the cluster will enforce, so they read the
// rendered policies rather than the CUE source: Analyze evaluates pod and
// namespace selectors, policy types and ports exactly as Kubernetes does and
// returns every allowed (source, destination, port) flow between the given
// workloads, the access each workload has to peers outside them, and the
// reasons behind any single verdict.
//
// The world Analyze reasons about is closed inside the namespaces it is given:
// the workloads listed for a namespace are all the pods in it. Namespaces it
// is not given (kube-system, say) are open: a policy that can reach pods there
// is reported as external access rather than as flows. So is an ipBlock, which
// matches no workload: it is meant for addresses outside the cluster, and
// whether it matches pod addresses is up to the network plugin.
//
// Ports are container ports, as policies see them after a Service has
// translated its port to the target port. A workload's pods may talk among
// themselves, so a workload can be both ends of a flow.
package reach

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NamespaceNameLabel is the label the API server sets on every namespace to
// its name, so that a namespaceSelector can pick namespaces by name.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Namespace is a namespace as the selectors see it.
type Namespace struct {
	Name string
	// Labels are the namespace's labels; NamespaceNameLabel is added (or
	// corrected) as the API server would.
	Labels map[string]string
}

// Port is a port a workload's pods declare in their containers.
type Port struct {
	// Name is the container port's name, which named ports in policies
	// refer to; empty when the port is unnamed.
	Name   string
	Number int32
	// Protocol is TCP when empty.
	Protocol corev1.Protocol
}

// Workload is the set of pods of one Deployment or StatefulSet.
type Workload struct {
	Namespace string
	Name      string
	// PodLabels are the labels of the pod template.
	PodLabels map[string]string
	Ports     []Port
}

// WorkloadRef names a workload.
type WorkloadRef struct {
	Namespace string
	Name      string
}

func (r WorkloadRef) String() string { return r.Namespace + "/" + r.Name }

func compareRefs(a, b WorkloadRef) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// Flow is one allowed connection: pods of From may open connections to the
// pods of To on Port over Protocol.
type Flow struct {
	From, To WorkloadRef
	Port     int32
	Protocol corev1.Protocol
	// PortName is the destination's name for the port, empty if unnamed;
	// the first in sort order if its containers give it several.
	PortName string
}

// String formats the flow as "shop/web -> data/mysql TCP/3306 (mysql)".
func (f Flow) String() string {
	s := fmt.Sprintf("%s -> %s %s/%d", f.From, f.To, f.Protocol, f.Port)
	if f.PortName != "" {
		s += " (" + f.PortName + ")"
	}
	return s
}

// CompareFlows orders flows by source, destination, port and protocol: the
// order of Result.Flows.
func CompareFlows(a, b Flow) int {
	return cmp.Or(
		compareRefs(a.From, b.From),
		compareRefs(a.To, b.To),
		cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.Protocol, b.Protocol),
	)
}

// PolicyRef names a NetworkPolicy.
type PolicyRef struct {
	Namespace string
	Name      string
}

func (r PolicyRef) String() string { return r.Namespace + "/" + r.Name }

// RuleRef points at one rule of a policy, and at the peer in it that matched.
type RuleRef struct {
	Policy    PolicyRef
	Direction networkingv1.PolicyType
	// Rule indexes spec.ingress or spec.egress.
	Rule int
	// Peer indexes the rule's from or to list; -1 when that list is empty,
	// which matches every peer.
	Peer int
}

// String formats the reference with the field path of the rule or peer, as
// in "data/mysql-in spec.ingress[0].from[1]".
func (r RuleRef) String() string {
	field, peers := "ingress", "from"
	if r.Direction == networkingv1.PolicyTypeEgress {
		field, peers = "egress", "to"
	}
	s := fmt.Sprintf("%s spec.%s[%d]", r.Policy, field, r.Rule)
	if r.Peer >= 0 {
		s += fmt.Sprintf(".%s[%d]", peers, r.Peer)
	}
	return s
}

func compareRuleRefs(a, b RuleRef) int {
	return cmp.Or(
		cmp.Compare(a.Policy.Namespace, b.Policy.Namespace),
		cmp.Compare(a.Policy.Name, b.Policy.Name),
		cmp.Compare(a.Direction, b.Direction),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Peer, b.Peer),
	)
}

// PortMatch is one entry of a rule's ports list.
type PortMatch struct {
	// Protocol is never empty: TCP when the policy leaves it out.
	Protocol corev1.Protocol
	// Number is the port, or the first port of a range; 0, with Name empty,
	// for every port of Protocol.
	Number int32
	// EndPort is the last port of a range, 0 when the entry is one port.
	EndPort int32
	// Name is a named port, resolved against the destination's pods.
	Name string
}

// String formats the match as "TCP/8080", "TCP/8000-8099", "TCP/http" or
// "UDP/*".
func (m PortMatch) String() string {
	switch {
	case m.Name != "":
		return fmt.Sprintf("%s/%s", m.Protocol, m.Name)
	case m.Number == 0:
		return fmt.Sprintf("%s/*", m.Protocol)
	case m.EndPort != 0:
		return fmt.Sprintf("%s/%d-%d", m.Protocol, m.Number, m.EndPort)
	}
	return fmt.Sprintf("%s/%d", m.Protocol, m.Number)
}

func (m PortMatch) matches(p containerPort) bool {
	if m.Protocol != p.protocol {
		return false
	}
	switch {
	case m.Name != "":
		_, found := slices.BinarySearch(p.names, m.Name)
		return found
	case m.Number == 0:
		return true
	case m.EndPort != 0:
		return m.Number <= p.number && p.number <= m.EndPort
	}
	return m.Number == p.number
}

// Result is what a set of policies allows.
type Result struct {
	// Flows are the allowed connections between the workloads, on the ports
	// each destination declares, sorted by CompareFlows.
	Flows []Flow
	// External is the access workloads have to and from peers outside the
	// workloads, sorted by workload, direction and rule.
	External []ExternalAccess

	workloads  []workload
	byRef      map[WorkloadRef]int
	policies   []policy
	selectedBy [2][][]int  // by direction: per workload, the policies isolating it
	allowed    [][][]int32 // per destination, per declared port: the sources allowed, sorted
	deny       map[string][2]bool
}

// DefaultDeny reports, for each direction, whether namespace ns denies
// traffic by default: a policy selecting every pod of the namespace (an empty
// podSelector) isolates the direction, and no such policy has a rule that lets
// every peer in on every port (no peers listed, a peer with an empty
// namespaceSelector and no or an empty podSelector, or an ipBlock of /0).
func (r *Result) DefaultDeny(ns string) (ingress, egress bool) {
	d := r.deny[ns]
	return d[dirIngress], d[dirEgress]
}

// Allowed reports whether the flow from one workload to another on port is in
// r.Flows: the destination declares the port and the policies on both ends
// allow the connection. An empty protocol means TCP.
func (r *Result) Allowed(from, to WorkloadRef, port int32, protocol corev1.Protocol) bool {
	fi, ok := r.byRef[from]
	if !ok {
		return false
	}
	ti, ok := r.byRef[to]
	if !ok {
		return false
	}
	q, ok := r.workloads[ti].port(port, protocolOrTCP(protocol))
	if !ok {
		return false
	}
	_, ok = slices.BinarySearch(r.allowed[ti][q], int32(fi))
	return ok
}

// DiffFlows returns the flows of head that base lacks (opened) and those of
// base that head lacks (closed). Both lists must be sorted by CompareFlows, as
// Result.Flows is. Flows that CompareFlows finds equal are the same flow: a
// renamed port is no change.
func DiffFlows(base, head []Flow) (opened, closed []Flow) {
	i, j := 0, 0
	for i < len(base) || j < len(head) {
		var c int
		switch {
		case i == len(base):
			c = 1
		case j == len(head):
			c = -1
		default:
			c = CompareFlows(base[i], head[j])
		}
		switch {
		case c < 0:
			closed = append(closed, base[i])
			i++
		case c > 0:
			opened = append(opened, head[j])
			j++
		default:
			i++
			j++
		}
	}
	return opened, closed
}

// workload is a Workload with its labels and ports ready to match.
type workload struct {
	ref    WorkloadRef
	labels labels.Set
	ports  []containerPort // sorted by comparePorts
}

// containerPort is a declared port with every name it goes by.
type containerPort struct {
	number   int32
	protocol corev1.Protocol
	names    []string // sorted
}

func (w *workload) port(number int32, protocol corev1.Protocol) (int, bool) {
	return slices.BinarySearchFunc(w.ports, containerPort{number: number, protocol: protocol}, comparePorts)
}

// comparePorts orders ports by number, then protocol, as CompareFlows does.
func comparePorts(a, b containerPort) int {
	return cmp.Or(cmp.Compare(a.number, b.number), cmp.Compare(a.protocol, b.protocol))
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
