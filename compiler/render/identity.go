package render

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// readVerbs are what serviceAccount.reads grants: enough to list and
// watch, as informers and service discovery do.
var readVerbs = []string{"get", "list", "watch"}

// serviceAccount renders c's ServiceAccount and, for what it reads from
// the API, a Role and RoleBinding in each namespace read. The token is
// mounted by the pod spec, for readers only, so the account itself never
// automounts one.
func (rd *renderer) serviceAccount(c *model.Component, meta metaFunc, obj objFunc) {
	no := false
	m := meta(c.ObjectName)
	m.Annotations = annotate(nil, c.ServiceAccount.Annotations)
	if role := c.ServiceAccount.IAMRole; role != "" {
		m.Annotations = annotate(m.Annotations, []model.Setting{{Key: model.AnnotationIAMRole, Value: role}})
	}
	obj("v1", "ServiceAccount", c.ObjectName, c.Pos, &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   m,
		AutomountServiceAccountToken: &no,
	})
	for _, ns := range readNamespaces(c) {
		rules, pos := readRules(c, ns)
		name := PeerLabel(rd.sys, ns, c)
		om := metav1.ObjectMeta{Name: name, Namespace: ns, Labels: rd.componentLabels(c)}
		add := func(kind string, o any) {
			rd.add(&Object{Layer: ns, APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind, Namespace: ns, Name: name, Obj: o, Component: c.Name, Pos: pos})
		}
		add("Role", &rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: om,
			Rules:      rules,
		})
		add("RoleBinding", &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: om,
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: c.ObjectName, Namespace: c.Namespace}},
		})
	}
}

// readNamespaces are the namespaces c reads, sorted.
func readNamespaces(c *model.Component) []string {
	var out []string
	for _, r := range c.ServiceAccount.Reads {
		out = append(out, r.Namespaces...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readRules are the rules of c's Role in ns, one per API group, groups
// and resources sorted; pos is the first entry of reads that names ns.
func readRules(c *model.Component, ns string) ([]rbacv1.PolicyRule, model.Pos) {
	byGroup := map[string][]string{}
	var pos model.Pos
	for _, r := range c.ServiceAccount.Reads {
		if !slices.Contains(r.Namespaces, ns) {
			continue
		}
		if !pos.IsValid() {
			pos = r.Pos
		}
		for _, res := range r.Resources {
			byGroup[res.Group] = append(byGroup[res.Group], res.Resource)
		}
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	var rules []rbacv1.PolicyRule
	for _, g := range groups {
		res := byGroup[g]
		slices.Sort(res)
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: slices.Compact(res), Verbs: readVerbs})
	}
	return rules, pos
}

// annotate returns base with the given annotations added or replacing
// its keys; nil when both are empty.
func annotate(base map[string]string, add []model.Setting) map[string]string {
	if len(add) == 0 {
		return base
	}
	if base == nil {
		base = map[string]string{}
	}
	for _, a := range add {
		base[a.Key] = a.Value
	}
	return base
}
