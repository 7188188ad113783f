package load

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Keys gitopsc sets itself: a pod label among these would break the
// selectors of the component's Services, policies and budgets, and an
// annotation under gitopsc.dev/ the checksums that roll its pods.
var (
	reservedLabels = map[string]bool{
		"app.kubernetes.io/name": true, "app.kubernetes.io/instance": true, "app.kubernetes.io/version": true,
		"app.kubernetes.io/part-of": true, "app.kubernetes.io/managed-by": true,
	}
	reservedPrefix = "gitopsc.dev/"
)

// ingressClassAnnotation is the class annotation Ingresses had before
// spec.ingressClassName; the API server refuses an Ingress with both.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

// albTargetType is the ALB's target type: ip sends to pod addresses, as
// a ClusterIP Service allows; instance to node ports.
const albTargetType = "alb.ingress.kubernetes.io/target-type"

// metadata decodes pod labels and annotations, checked as the API server
// checks them; job is set for a component whose pods a Job runs.
func (d *decoder) metadata(v cue.Value, path string, job bool) model.Metadata {
	var m model.Metadata
	for _, f := range sortedFields(lookup(v, "labels")) {
		s := d.keyValue(f, path+".labels")
		if s == nil {
			continue
		}
		if reservedLabels[s.Key] {
			d.errs.Add(s.Pos, "%s.labels: %q is set by gitopsc and selects the component's pods; choose another key", path, s.Key)
			continue
		}
		if job && slices.Contains(model.JobLabels, s.Key) {
			d.errs.Add(s.Pos, "%s.labels: %s", path, model.JobLabelRefused(s.Key))
			continue
		}
		// The value is not repeated: a label is no place for a
		// credential, but one written there is not echoed either.
		if msgs := validation.IsValidLabelValue(s.Value); len(msgs) > 0 {
			d.errs.Add(s.Pos, "%s.labels: %q: the value is not a label value: %s", path, s.Key, strings.Join(msgs, "; "))
			continue
		}
		m.Labels = append(m.Labels, *s)
	}
	m.Annotations = d.annotations(lookup(v, "annotations"), path+".annotations")
	return m
}

// annotations decodes a set of annotations, sorted by key.
func (d *decoder) annotations(v cue.Value, path string) []model.Setting {
	var out []model.Setting
	all := map[string]string{}
	for _, f := range sortedFields(v) {
		s := d.keyValue(f, path)
		if s == nil {
			continue
		}
		out = append(out, *s)
		all[s.Key] = s.Value
	}
	if errs := apivalidation.ValidateAnnotationsSize(all); errs != nil {
		d.errs.Add(v.Pos(), "%s: %s", path, errs.Error())
	}
	return out
}

// keyValue decodes one label or annotation, or says why its key is not
// one; nil then.
func (d *decoder) keyValue(f field, path string) *model.Setting {
	val, _ := f.v.String()
	s := &model.Setting{Key: f.label, Value: val, Pos: f.v.Pos()}
	if msgs := validation.IsQualifiedName(f.label); len(msgs) > 0 {
		d.errs.Add(s.Pos, "%s: key %q: %s", path, f.label, strings.Join(msgs, "; "))
		return nil
	}
	if strings.HasPrefix(f.label, reservedPrefix) {
		d.errs.Add(s.Pos, "%s: %q: keys under %s are gitopsc's own; choose another prefix", path, f.label, reservedPrefix)
		return nil
	}
	return s
}

// serviceAccount decodes a component's identity; an entry of reads that
// names no namespace reads own, the component's.
func (d *decoder) serviceAccount(v cue.Value, path, own string) model.ServiceAccount {
	var sa model.ServiceAccount
	sa.Annotations = d.annotations(lookup(v, "annotations"), path+".annotations")
	d.noRoleAnnotation(sa.Annotations, path+".annotations")
	sa.IAMRole, sa.IAMRolePos = str(v, "iamRole")
	if l, err := lookup(v, "reads").List(); err == nil {
		for i := 0; l.Next(); i++ {
			rv := l.Value()
			r := model.APIRead{Pos: rv.Pos()}
			rpath := fmt.Sprintf("%s.reads[%d]", path, i)
			if it, err := lookup(rv, "resources").List(); err == nil {
				for it.Next() {
					s, _ := it.Value().String()
					if res, ok := d.apiResource(s, it.Value().Pos(), rpath+".resources"); ok {
						r.Resources = append(r.Resources, res)
					}
				}
			}
			r.Namespaces, r.NamespacesPos = strsPos(rv, "namespaces")
			if len(r.Namespaces) == 0 {
				r.Namespaces, r.NamespacesPos = []string{own}, []model.Pos{r.Pos}
			}
			sa.Reads = append(sa.Reads, r)
		}
	}
	return sa
}

// noRoleAnnotation refuses the IRSA annotation written by hand: iamRole
// says it, and is checked against the cluster it runs on.
func (d *decoder) noRoleAnnotation(as []model.Setting, path string) {
	for _, a := range as {
		if a.Key == model.AnnotationIAMRole {
			d.errs.Add(a.Pos, "%s: write the role as serviceAccount.iamRole, which gitopsc renders as %s on EKS only", path, a.Key)
		}
	}
}

// builtinResources are the namespaced resources of the API groups every
// API server serves, by group; cluster-scoped ones map to false.
var builtinResources = map[string]map[string]bool{
	"": {"pods": true, "services": true, "endpoints": true, "configmaps": true, "secrets": true, "events": true,
		"persistentvolumeclaims": true, "serviceaccounts": true, "replicationcontrollers": true, "limitranges": true,
		"resourcequotas": true, "podtemplates": true,
		"nodes": false, "namespaces": false, "persistentvolumes": false, "componentstatuses": false},
	"apps":                      {"deployments": true, "statefulsets": true, "daemonsets": true, "replicasets": true, "controllerrevisions": true},
	"batch":                     {"jobs": true, "cronjobs": true},
	"autoscaling":               {"horizontalpodautoscalers": true},
	"policy":                    {"poddisruptionbudgets": true},
	"discovery.k8s.io":          {"endpointslices": true},
	"networking.k8s.io":         {"ingresses": true, "networkpolicies": true, "ingressclasses": false, "ipaddresses": false, "servicecidrs": false},
	"coordination.k8s.io":       {"leases": true},
	"events.k8s.io":             {"events": true},
	"rbac.authorization.k8s.io": {"roles": true, "rolebindings": true, "clusterroles": false, "clusterrolebindings": false},
	"storage.k8s.io":            {"csistoragecapacities": true, "storageclasses": false, "csidrivers": false, "csinodes": false, "volumeattachments": false},
	"metrics.k8s.io":            {"pods": true, "nodes": false},
}

// builtinGroups are the named groups of builtinResources.
func builtinGroups() []string {
	var out []string
	for g := range builtinResources {
		if g != "" {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// apiResource splits "endpointslices.discovery.k8s.io" into resource and
// group, and refuses what a Role cannot grant or names nothing: a Role
// naming a misspelled resource is accepted and grants nothing.
func (d *decoder) apiResource(s string, pos model.Pos, path string) (model.APIResource, bool) {
	res, group, _ := strings.Cut(s, ".")
	r := model.APIResource{Resource: res, Group: group, Pos: pos}
	if group == "core" {
		d.errs.Add(pos, "%s: %q: the core group has no name: write %q", path, s, res)
		return r, false
	}
	known, builtin := builtinResources[group]
	if !builtin {
		if near := diag.Closest(group, builtinGroups()); near != "" {
			d.errs.Add(pos, "%s: %q: unknown API group %q (did you mean %q?)", path, s, group, near)
			return r, false
		}
		return r, true // a custom resource: its group's CRD says what it has
	}
	namespaced, ok := known[res]
	switch {
	case !ok:
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		in := "the core group"
		if group != "" {
			in = "group " + group
		}
		d.errs.Add(pos, "%s: %s has no resource %q%s", path, in, res, didYouMean(res, names))
		return r, false
	case !namespaced:
		d.errs.Add(pos, "%s: %q are cluster-scoped: a Role grants namespaced resources only", path, s)
		return r, false
	}
	return r, true
}

// checkReads points reads at the system's namespaces and its tenants',
// and keeps a tenant's component out of the other tenants'.
func checkReads(s *model.System, c *model.Component, path string, errs *diag.List) {
	for i, r := range c.ServiceAccount.Reads {
		for j, ns := range r.Namespaces {
			switch n := s.Namespace(ns); {
			case n == nil:
				errs.Add(r.NamespacesPos[j], "%s.serviceAccount.reads[%d].namespaces: unknown namespace %q%s; a Role is rendered only in the namespaces of the system and its tenants", path, i, ns, didYouMean(ns, namespaceNames(s)))
			case c.Tenant != "" && n.Tenant && ns != c.Namespace:
				errs.Add(r.NamespacesPos[j], "%s.serviceAccount.reads[%d].namespaces: %s is another tenant's namespace, and a tenant's pods may not read another tenant's objects through the API; read the tenant's own by leaving namespaces out", path, i, ns)
			}
		}
	}
}

// apiServer decodes where the cluster's pods reach the API server, with
// the distribution's port when none is given.
func apiServer(cv cue.Value, distribution string) model.APIServer {
	v := lookup(cv, "apiServer")
	a := model.APIServer{Pos: v.Pos()}
	a.CIDRs, a.CIDRsPos = strsPos(v, "cidrs")
	a.Port, a.PortPos, _ = num(v, "port")
	if a.Port == 0 {
		a.Port = map[string]int{"k3s": 6443, "eks": 443, "minikube": 8443}[distribution]
	}
	return a
}
