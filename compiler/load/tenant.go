package load

import (
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// template is a decoded system.templates entry.
type template struct {
	name           string
	podSecurity    string
	podSecurityPos model.Pos
	quota          *model.Quota
	components     []*model.Component // sorted by label
	secrets        []*model.Secret    // sorted by label; no namespace or source
}

func (t *template) hasSecret(label string) bool {
	return slices.ContainsFunc(t.secrets, func(s *model.Secret) bool { return s.ObjectName == label })
}

// tenants decodes system.templates and system.tenants, and adds to s
// each tenant's namespace and its copy of its template's components.
// A template's component is decoded once, so a problem in it is
// reported once, whatever the number of tenants.
func (d *decoder) tenants(v cue.Value, s *model.System) {
	templates := map[string]*template{}
	var names []string
	for _, f := range sortedFields(lookup(v, "templates")) {
		path := "system.templates." + f.label
		if !d.label(f, "template", path) {
			continue
		}
		t := &template{name: f.label, quota: quota(lookup(f.v, "quota"))}
		t.podSecurity, t.podSecurityPos = str(f.v, "podSecurity")
		for _, cf := range sortedFields(lookup(f.v, "components")) {
			cpath := path + ".components." + cf.label
			if d.label(cf, "component", cpath) {
				t.components = append(t.components, d.component(cf, cpath))
			}
		}
		for _, sf := range sortedFields(lookup(f.v, "secrets")) {
			spath := path + ".secrets." + sf.label
			if d.label(sf, "secret", spath) {
				t.secrets = append(t.secrets, &model.Secret{Name: sf.label, ObjectName: sf.label, Path: spath, Pos: sf.v.Pos(), Keys: strs(sf.v, "keys")})
			}
		}
		templates[f.label] = t
		names = append(names, f.label)
	}
	for _, f := range sortedFields(lookup(v, "tenants")) {
		path := "system.tenants." + f.label
		if !d.label(f, "tenant", path) {
			continue
		}
		tn := &model.Tenant{Name: f.label, Pos: f.v.Pos()}
		tn.Template, tn.TemplatePos = str(f.v, "template")
		t := templates[tn.Template]
		switch {
		case slices.Contains(reservedLayers, f.label):
			d.errs.Add(f.v.Pos(), "%s: %q is the name of a folder gitopsc writes in each environment, and a tenant's objects go in a folder named as its namespace; choose another name", path, f.label)
			continue
		case f.label == "object" || f.label == "namespace" || f.label == "secret":
			d.errs.Add(f.v.Pos(), "%s: %q is a kind of waiver target (%s/NAME), and a waiver names a tenant's component as TENANT/NAME; choose another name", path, f.label, f.label)
			continue
		case s.Namespace(f.label) != nil:
			d.errs.Add(f.v.Pos(), "%s: %q is also a namespace of the system; a tenant runs in a namespace of its own, named as the tenant: choose another name", path, f.label)
			continue
		case t == nil:
			d.errs.Add(tn.TemplatePos, "%s.template: unknown template %q%s (templates: %s)", path, tn.Template, didYouMean(tn.Template, names), nameList(names))
			continue
		}
		ns := &model.Namespace{Name: f.label, Pos: f.v.Pos(), Tenant: true, PodSecurity: "restricted", Quota: t.quota}
		if t.podSecurity != "" {
			ns.PodSecurity, ns.PodSecurityPos = t.podSecurity, t.podSecurityPos
		}
		if p, pos := str(f.v, "podSecurity"); p != "" {
			ns.PodSecurity, ns.PodSecurityPos = p, pos
		}
		if q := quota(lookup(f.v, "quota")); q != nil {
			ns.Quota = q
		}
		s.Namespaces = append(s.Namespaces, ns)
		s.Objects = append(s.Objects, d.objects(lookup(f.v, "objects"), path+".objects", f.label)...)
		copies := map[string]*model.Component{}
		for _, c := range t.components {
			ic := instantiate(c, t, f.label)
			copies[c.ObjectName] = ic
			s.Components = append(s.Components, ic)
		}
		for _, o := range sortedFields(lookup(f.v, "components")) {
			ov := d.override(o, path+".components."+o.label)
			if !slices.ContainsFunc(t.components, func(c *model.Component) bool { return c.ObjectName == o.label }) {
				d.errs.Add(o.v.Pos(), "%s.components: template %s has no component %q%s (components: %s); a tenant changes its template's components, it does not add them",
					path, t.name, o.label, didYouMean(o.label, templateComponents(t)), nameList(templateComponents(t)))
				continue
			}
			ov.Name = model.TenantName(f.label, o.label)
			s.TenantOverrides = append(s.TenantOverrides, ov)
			// Flows of this tenant's copy alone, named as in the
			// template, after the template's.
			ic := copies[o.label]
			if l, err := lookup(o.v, "talksTo").List(); err == nil {
				for l.Next() {
					ref, _ := l.Value().String()
					target, port, _ := strings.Cut(ref, ":")
					ic.TalksTo = append(ic.TalksTo, tenantFlow(model.Flow{Target: target, Ref: target, Port: port, Pos: l.Value().Pos()}, t, f.label))
				}
			}
		}
		sources := map[string]model.SecretSource{}
		for _, sf := range sortedFields(lookup(f.v, "secrets")) {
			if !t.hasSecret(sf.label) {
				d.errs.Add(sf.v.Pos(), "%s.secrets: template %s has no secret %q%s (secrets: %s); a tenant gives the sources of its template's secrets", path, t.name, sf.label, didYouMean(sf.label, secretLabels(t)), nameList(secretLabels(t)))
				continue
			}
			sources[sf.label] = d.secretSource(lookup(sf.v, "from"))
		}
		for _, ts := range t.secrets {
			src, ok := sources[ts.ObjectName]
			if !ok {
				d.errs.Add(f.v.Pos(), "%s: tenant %s gives no source for secret %q of template %s: write secrets: %q: from: {sops: FILE} or {external: {...}}", path, f.label, ts.ObjectName, t.name, ts.ObjectName)
				continue
			}
			sec := *ts
			sec.Name = model.TenantName(f.label, ts.ObjectName)
			sec.Path = path + ".secrets." + ts.ObjectName
			sec.Tenant, sec.Namespace, sec.Source = f.label, f.label, src
			s.Secrets = append(s.Secrets, &sec)
		}
		s.Tenants = append(s.Tenants, tn)
	}
	if len(s.Tenants) == 0 {
		return
	}
	sort.Slice(s.Namespaces, func(i, j int) bool { return s.Namespaces[i].Name < s.Namespaces[j].Name })
	sort.Slice(s.Components, func(i, j int) bool { return s.Components[i].Name < s.Components[j].Name })
	sort.Slice(s.Secrets, func(i, j int) bool { return s.Secrets[i].Name < s.Secrets[j].Name })
}

// tenantFlow is flow f of tenant's copy of a component of t: to the
// tenant's own when f names one of t's components.
func tenantFlow(f model.Flow, t *template, tenant string) model.Flow {
	if !strings.Contains(f.Target, "/") && slices.ContainsFunc(t.components, func(o *model.Component) bool { return o.ObjectName == f.Target }) {
		f.Target = model.TenantName(tenant, f.Target)
	}
	return f
}

func templateComponents(t *template) []string {
	var n []string
	for _, c := range t.components {
		n = append(n, c.ObjectName)
	}
	return n
}

// instantiate is tenant's copy of a template's component c: in the
// tenant's namespace, named TENANT/LABEL, with its flows to the
// template's components pointed at the tenant's own, and what it reads
// of the Kubernetes API read in the tenant's namespace unless it names
// another. The rest is shared with the template's, which no stage
// changes in place.
func instantiate(c *model.Component, t *template, tenant string) *model.Component {
	ic := *c
	ic.Name = model.TenantName(tenant, c.ObjectName)
	ic.Tenant = tenant
	ic.Namespace = tenant
	ic.TalksTo = make([]model.Flow, len(c.TalksTo))
	for i, f := range c.TalksTo {
		ic.TalksTo[i] = tenantFlow(f, t, tenant)
	}
	// The secrets of the template are the tenant's.
	own := func(name string) string {
		if t.hasSecret(name) {
			return model.TenantName(tenant, name)
		}
		return name
	}
	refs := func(rs []model.SecretRef) []model.SecretRef {
		out := slices.Clone(rs)
		for i := range out {
			out[i].Secret = own(out[i].Secret)
		}
		return out
	}
	ic.Secrets = refs(c.Secrets)
	ic.Files = slices.Clone(c.Files)
	for i := range ic.Files {
		if ic.Files[i].Secret != "" {
			ic.Files[i].Secret = own(ic.Files[i].Secret)
		}
	}
	ic.Init = slices.Clone(c.Init)
	for i := range ic.Init {
		ic.Init[i].Secrets = refs(c.Init[i].Secrets)
	}
	ic.Sidecars = slices.Clone(c.Sidecars)
	for i := range ic.Sidecars {
		ic.Sidecars[i].Secrets = refs(c.Sidecars[i].Secrets)
	}
	if len(c.ServiceAccount.Reads) > 0 {
		ic.ServiceAccount.Reads = slices.Clone(c.ServiceAccount.Reads)
		for i, r := range ic.ServiceAccount.Reads {
			if len(r.Namespaces) == 1 && r.Namespaces[0] == "" {
				ic.ServiceAccount.Reads[i].Namespaces = []string{tenant}
			}
		}
	}
	return &ic
}

func tenantNames(s *model.System) []string {
	var n []string
	for _, t := range s.Tenants {
		n = append(n, t.Name)
	}
	return n
}

// tenantComponents are the labels of tenant's components.
func tenantComponents(s *model.System, tenant string) []string {
	var n []string
	for _, c := range s.Components {
		if c.Tenant == tenant {
			n = append(n, c.ObjectName)
		}
	}
	return n
}

// systemComponents are the names of the system's own components.
func systemComponents(s *model.System) []string {
	var n []string
	for _, c := range s.Components {
		if c.Tenant == "" {
			n = append(n, c.Name)
		}
	}
	return n
}

// visibleComponents are the names c's talksTo may write without a
// tenant: its tenant's components, then the system's.
func visibleComponents(s *model.System, c *model.Component) []string {
	if c.Tenant == "" {
		return systemComponents(s)
	}
	return append(tenantComponents(s, c.Tenant), systemComponents(s)...)
}

// templateLabels are the labels of the tenants' components.
func templateLabels(s *model.System) []string {
	var n []string
	for _, c := range s.Components {
		if c.Tenant != "" {
			n = append(n, c.ObjectName)
		}
	}
	return n
}

func secretLabels(t *template) []string {
	var n []string
	for _, s := range t.secrets {
		n = append(n, s.ObjectName)
	}
	return n
}
