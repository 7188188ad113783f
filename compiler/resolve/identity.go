package resolve

import (
	"cmp"
	"slices"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// identity applies an override's pod metadata and ServiceAccount: keys
// given are added or replace the component's, and a role replaces its
// role.
func identity(c *model.Component, o *model.Override, path string, errs *diag.List) {
	if c.Metrics != nil {
		checkMetricsAnnotations(o.Pod.Annotations, path+".pod.annotations", errs)
	}
	if c.RunsToCompletion() {
		for _, l := range o.Pod.Labels {
			if slices.Contains(model.JobLabels, l.Key) {
				errs.Add(l.Pos, "%s.pod.labels: %s", path, model.JobLabelRefused(l.Key))
			}
		}
	}
	c.Pod.Labels = merge(c.Pod.Labels, o.Pod.Labels)
	c.Pod.Annotations = merge(c.Pod.Annotations, o.Pod.Annotations)
	c.ServiceAccount.Annotations = merge(c.ServiceAccount.Annotations, o.SAAnnotations)
	if o.IAMRole != "" {
		c.ServiceAccount.IAMRole, c.ServiceAccount.IAMRolePos = o.IAMRole, o.IAMRolePos
	}
}

// merge returns base with over's keys added or replaced, sorted by key,
// without changing base.
func merge(base, over []model.Setting) []model.Setting {
	if len(over) == 0 {
		return base
	}
	out := slices.Clone(base)
	for _, s := range over {
		if i := slices.IndexFunc(out, func(b model.Setting) bool { return b.Key == s.Key }); i >= 0 {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b model.Setting) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// checkMetricsAnnotations refuses pod annotations that a component's
// metrics sets.
func checkMetricsAnnotations(as []model.Setting, path string, errs *diag.List) {
	for _, a := range as {
		if slices.Contains(model.MetricsAnnotations, a.Key) {
			errs.Add(a.Pos, "%s: %q is set from the component's metrics; change metrics instead", path, a.Key)
		}
	}
}

// checkIdentity reports an IRSA role off EKS, where nothing gives pods
// the role's credentials, and annotations that together, the system's
// and the environment's, pass what an object holds.
func checkIdentity(c *model.Component, env *model.Environment, errs *diag.List) {
	path := c.Path
	sa := c.ServiceAccount.Annotations
	if c.ServiceAccount.IAMRole != "" {
		sa = append(slices.Clone(sa), model.Setting{Key: model.AnnotationIAMRole, Value: c.ServiceAccount.IAMRole, Pos: c.ServiceAccount.IAMRolePos})
	}
	for _, set := range []struct {
		what string
		kvs  []model.Setting
	}{{"pod.annotations", c.Pod.Annotations}, {"serviceAccount.annotations", sa}} {
		all := map[string]string{}
		for _, a := range set.kvs {
			all[a.Key] = a.Value
		}
		if err := apivalidation.ValidateAnnotationsSize(all); err != nil && len(set.kvs) > 0 {
			errs.Add(set.kvs[0].Pos, "%s.%s: in environment %s, with its overrides: %s", path, set.what, env.Name, err.Error())
		}
	}
	if sa := c.ServiceAccount; sa.IAMRole != "" && env.Cluster.Distribution != "eks" {
		where := path
		for _, o := range env.Components {
			if o.Name == c.Name && o.IAMRole != "" {
				where = o.Path
			}
		}
		errs.Add(sa.IAMRolePos, "%s.serviceAccount.iamRole: environment %s runs on %s, which has no IAM roles for service accounts (IRSA is EKS's): the pods would get no AWS credentials; give the role in the EKS environment's override (%s.serviceAccount.iamRole)", where, env.Name, env.Cluster.Distribution, c.OverridePath("NAME"))
	}
}

// apiServer gives the components of sys that read the Kubernetes API a
// flow to the API server, an external named after its Service, reached
// where env's cluster says: its pods are not in the cluster's pod
// network, so NetworkPolicies see it as the outside.
func apiServer(sys *model.System, env *model.Environment, errs *diag.List) {
	var readers []*model.Component
	for _, c := range sys.Components {
		if c.ReadsAPI() {
			readers = append(readers, c)
		}
	}
	if len(readers) == 0 {
		return
	}
	a := env.Cluster.APIServer
	ok := true
	taken := sys.Target(model.APIServerName)
	if c := taken.Component; c != nil {
		errs.Add(c.Pos, "%s: %q is the name gitopsc gives the API server, which %s reaches to read the Kubernetes API; choose another name", c.Path, c.ObjectName, readers[0].Name)
		ok = false
	}
	if x := taken.External; x != nil {
		errs.Add(x.Pos, "system.externals.%s: %q is the name gitopsc gives the API server, which %s reaches to read the Kubernetes API; choose another name", x.Name, x.Name, readers[0].Name)
		ok = false
	}
	if len(a.CIDRs) == 0 && env.Cluster.Distribution == "eks" {
		errs.Add(env.Cluster.Pos, "environments.%s.cluster: %s reads the Kubernetes API, but the environment does not say where pods reach the API server: give apiServer.cidrs, the subnets of the control plane's interfaces (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)", env.Name, readers[0].Name)
		ok = false
	}
	if !ok {
		return
	}
	port := model.Port{Name: "https", Number: a.Port, Protocol: "TCP", Pos: a.PortPos}
	if a.Port != 443 {
		port.Service = 443 // the kubernetes Service answers on 443
	}
	sys.Externals = append(sys.Externals, &model.External{Name: model.APIServerName, Pos: a.Pos, Reach: model.Reach{
		Hosts:          []string{"kubernetes.default.svc"},
		CIDRs:          a.CIDRs,
		CIDRsPos:       a.CIDRsPos,
		Ports:          []model.Port{port},
		OutsideCluster: len(a.CIDRs) == 0,
	}})
	slices.SortFunc(sys.Externals, func(x, y *model.External) int { return cmp.Compare(x.Name, y.Name) })
	for _, c := range readers {
		c.TalksTo = append(slices.Clone(c.TalksTo), model.Flow{Target: model.APIServerName, Ref: model.APIServerName, Port: "https", Pos: c.ServiceAccount.Reads[0].Pos, Implicit: true})
	}
}
