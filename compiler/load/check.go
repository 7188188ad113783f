package load

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// checkReferences reports names that point nowhere: namespaces, flows,
// ports, secrets and environment overrides.
func checkReferences(in *model.Input, errs *diag.List) {
	s := in.System
	nsNames := func() string {
		var n []string
		for _, ns := range s.Namespaces {
			n = append(n, ns.Name)
		}
		return strings.Join(n, ", ")
	}
	for _, sec := range s.Secrets {
		if s.Namespace(sec.Namespace) == nil {
			errs.Add(sec.NsPos, "%s.namespace: unknown namespace %q (declared: %s)", sec.Path, sec.Namespace, nsNames())
		}
		checkSource(in.Dir, sec.Path+".from", &sec.Source, errs)
	}
	for _, c := range s.Components {
		path := c.Path
		if s.Namespace(c.Namespace) == nil {
			errs.Add(c.NsPos, "%s.namespace: unknown namespace %q%s (declared: %s)", path, c.Namespace, didYouMean(c.Namespace, namespaceNames(s)), nsNames())
		}
		checkPorts(c.Ports, path+".ports", errs)
		seenFlow := map[string]bool{}
		for _, f := range c.TalksTo {
			// The same component twice, whichever way it is named (a
			// tenant's cache as cache and as TENANT/cache).
			flow := f.Target + ":" + f.Port
			tenant, _, across := strings.Cut(f.Ref, "/")
			switch t := s.Target(f.Target); {
			case seenFlow[flow]:
				errs.Add(f.Pos, "%s.talksTo: %q is declared twice", path, flow)
			case t.Component == nil && t.External == nil && f.Target == model.APIServerName:
				errs.Add(f.Pos, "%s.talksTo: %q is the API server, which a component reaches by listing what it reads under serviceAccount.reads", path, flow)
			case t.Component == nil && across && !slices.ContainsFunc(s.Tenants, func(t *model.Tenant) bool { return t.Name == tenant }):
				errs.Add(f.Pos, "%s.talksTo: unknown tenant %q%s (tenants: %s); TENANT/NAME:PORT names a tenant's component", path, tenant, didYouMean(tenant, tenantNames(s)), nameList(tenantNames(s)))
			case t.Component == nil && across:
				errs.Add(f.Pos, "%s.talksTo: tenant %s has no component %q (components: %s)", path, tenant, f.Ref[len(tenant)+1:], nameList(tenantComponents(s, tenant)))
			case t.Component == nil && t.External == nil:
				names := visibleComponents(s, c)
				errs.Add(f.Pos, "%s.talksTo: unknown component or external %q%s (%s)", path, f.Ref, didYouMean(f.Ref, append(names, externalList(s)...)), targetNames(s, names))
			case t.Port(f.Port) == nil && t.Component != nil:
				errs.Add(f.Pos, "%s.talksTo: component %q has no port %q (ports: %s)", path, f.Ref, f.Port, portNames(t.Component.Ports))
			case t.Port(f.Port) == nil:
				errs.Add(f.Pos, "%s.talksTo: external %q has no port %q (ports: %s)", path, f.Ref, f.Port, portNames(t.External.Ports))
			}
			seenFlow[flow] = true
		}
		for _, r := range c.Secrets {
			checkSecretRef(s, c, r.Pos, path+".secrets."+r.Env, r.Secret, r.Key, errs)
		}
		checkFiles(s, c, path, errs)
		checkReads(s, c, path, errs)
		for _, cfg := range c.Config {
			for _, r := range c.Secrets {
				if cfg.Key == r.Env {
					errs.Add(cfg.Pos, "%s.config.%s: %s is also read from secret %q; a variable comes from one place", path, cfg.Key, cfg.Key, r.Secret)
				}
			}
		}
		if len(c.Storage) > 0 && c.Kind != model.Stateful {
			errs.Add(c.Storage[0].Pos, "%s.storage: storage needs kind: \"stateful\"; a %s component keeps no volumes", path, c.Kind)
		}
		if c.Autoscale != nil {
			if c.ReplicasSet {
				errs.Add(c.ReplicasPos, "%s.replicas: conflicts with autoscale; an autoscaled component's replicas are set by autoscale.min and max", path)
			}
			if c.Autoscale.Min > c.Autoscale.Max {
				errs.Add(c.Autoscale.MaxPos, "%s.autoscale: max %d is below min %d", path, c.Autoscale.Max, c.Autoscale.Min)
			}
		}
		checkPortRef := func(pos model.Pos, where, port string) {
			if port != "" && c.Port(port) == nil {
				errs.Add(pos, "%s.%s: no port %q (ports: %s)", path, where, port, portNames(c.Ports))
			}
		}
		if c.Expose != nil {
			checkPortRef(c.Expose.Pos, "expose", c.Expose.Port)
			checkExposure(s, c, path, errs)
		}
		for _, p := range []struct {
			name string
			p    *model.Probe
		}{{"readiness", c.Probes.Readiness}, {"liveness", c.Probes.Liveness}, {"startup", c.Probes.Startup}} {
			if p.p != nil {
				checkPortRef(p.p.Pos, "probes."+p.name, p.p.Port)
				if port := c.Port(p.p.Port); port != nil && port.Container != "" {
					errs.Add(p.p.Pos, "%s.probes.%s: port %q is sidecar %s's; the kubelet finds a probe's named port in the probed container only: probe it under sidecars.%s.probes", path, p.name, p.p.Port, port.Container, port.Container)
				}
				checkProbeHeaders(p.p, path+".probes."+p.name, errs)
				if port := c.Port(p.p.Port); port != nil && port.Protocol == "UDP" && p.p.Kind != model.ProbeExec {
					errs.Add(p.p.Pos, "%s.probes.%s: port %q is UDP; a %s probe connects over TCP, so it would never pass: check it with exec", path, p.name, p.p.Port, p.p.Kind)
				}
			}
		}
		if c.Metrics != nil {
			checkPortRef(c.Metrics.Pos, "metrics", c.Metrics.Port)
		}
		switch main := mainPorts(c); {
		case len(main) == 0 && (c.Expose != nil || needsDefaultPort(c)):
			errs.Add(c.Pos, "%s: declares no ports, but its exposure or probes need one (a sidecar's ports are the sidecar's)", path)
		case !hasTCP(main) && needsDefaultPort(c):
			errs.Add(c.Pos, "%s: declares no TCP port, but a probe that names no port needs one; check it with exec", path)
		}
		mounts := map[string]bool{}
		for _, v := range c.Storage {
			mounts[v.MountPath] = true
		}
		for _, w := range c.Writable {
			if mounts[w.Path] {
				errs.Add(w.Pos, "%s.writable: %s is mounted twice", path, w.Path)
			}
			mounts[w.Path] = true
		}
		names := map[string]bool{c.ObjectName: true}
		for _, sc := range c.Sidecars {
			if names[sc.Name] {
				errs.Add(sc.Pos, "%s.sidecars.%s: container name %q is used twice", path, sc.Name, sc.Name)
			}
			names[sc.Name] = true
		}
		for _, ic := range c.Init {
			if names[ic.Name] {
				errs.Add(ic.Pos, "%s.initContainers: container name %q is used twice", path, ic.Name)
			}
			names[ic.Name] = true
		}
		checkContainers(s, c, path, errs)
	}
	checkExternals(s, errs)
	for _, e := range in.Environments {
		path := "environments." + e.Name
		checkExternalOverrides(s, e, path, errs)
		for _, n := range e.Namespaces {
			ns := s.Namespace(n.Name)
			switch {
			case n.Tenant && (ns == nil || !ns.Tenant):
				errs.Add(n.Pos, "%s.tenants: unknown tenant %q%s (tenants: %s); an environment changes tenants of the system, it does not add them", path, n.Name, didYouMean(n.Name, tenantNames(s)), nameList(tenantNames(s)))
			case !n.Tenant && ns != nil && ns.Tenant:
				errs.Add(n.Pos, "%s.namespaces: %s is the namespace of tenant %s; change it under %s.tenants.%s", path, n.Name, n.Name, path, n.Name)
			case !n.Tenant && ns == nil:
				errs.Add(n.Pos, "%s.namespaces: unknown namespace %q (declared: %s)", path, n.Name, nsNames())
			}
		}
		for _, o := range e.Components {
			tenant, label, ok := strings.Cut(o.Name, "/")
			switch {
			case ok && strings.HasPrefix(o.Path, path+".components."):
				errs.Add(o.Pos, "%s.components: %q is a tenant's component: change it under %s.tenants.%s.components.%s", path, o.Name, path, tenant, label)
			case s.Component(o.Name) != nil:
				if len(o.Files) > 0 {
					c := *s.Component(o.Name)
					c.Files = model.MergeFiles(c.Files, o.Files)
					checkFiles(s, &c, o.Path, errs)
				}
			case ok && s.Namespace(tenant) != nil && s.Namespace(tenant).Tenant:
				errs.Add(o.Pos, "%s.tenants.%s.components: tenant %s has no component %q%s (components: %s); an environment changes components of the system, it does not add them", path, tenant, tenant, label, didYouMean(label, tenantComponents(s, tenant)), nameList(tenantComponents(s, tenant)))
			case !ok && slices.Contains(templateLabels(s), o.Name):
				errs.Add(o.Pos, "%s.components: %q is a template's component, one per tenant: change a tenant's under %s.tenants.TENANT.components.%s", path, o.Name, path, o.Name)
			case !ok:
				errs.Add(o.Pos, "%s.components: unknown component %q%s; an environment changes components of the system, it does not add them", path, o.Name, didYouMean(o.Name, systemComponents(s)))
			}
		}
		for _, o := range e.Secrets {
			if tenant, label, ok := strings.Cut(o.Name, "/"); ok && s.Secret(o.Name) == nil {
				if ns := s.Namespace(tenant); ns != nil && ns.Tenant {
					errs.Add(o.Pos, "%s.tenants.%s.secrets: tenant %s's template has no secret %q", path, tenant, tenant, label)
				}
				continue
			}
			if s.Secret(o.Name) == nil {
				errs.Add(o.Pos, "%s.secrets: unknown secret %q", path, o.Name)
				continue
			}
			checkSource(in.Dir, o.Path+".from", &o.Source, errs)
		}
		for i, w := range e.Policy.Waivers {
			checkWaiverTarget(s, e, fmt.Sprintf("%s.policy.waivers.%d.target", path, i), w, errs)
		}
	}
}

// checkWaiverTarget reports a waiver whose target names nothing in the
// system: such a waiver waives nothing, and most often hides a typo. The
// forms are those findings carry as their target (policies.Finding).
func checkWaiverTarget(s *model.System, e *model.Environment, path string, w model.Waiver, errs *diag.List) {
	var names []string
	kind, name, ok := strings.Cut(w.Target, "/")
	switch {
	case w.Target == "*" || w.Target == "environment":
		return
	case ok && kind == "object":
		for _, list := range [][]*model.Object{s.Objects, e.Objects} {
			for _, o := range list {
				if o.Target() == w.Target {
					return
				}
				names = append(names, strings.TrimPrefix(o.Target(), "object/"))
			}
		}
		slices.Sort(names)
		names = slices.Compact(names)
		errs.Add(w.TargetPos, "%s: unknown object %q%s (objects: %s); name one as object/KEY, or object/NAMESPACE/KEY for one under namespaces: NAMESPACE: objects", path, name, didYouMean(name, names), nameList(names))
	case ok && kind == "chart":
		for _, list := range [][]string{chartNames(s.Charts), envChartNames(e.Charts)} {
			if slices.Contains(list, name) {
				return
			}
			names = append(names, list...)
		}
		slices.Sort(names)
		errs.Add(w.TargetPos, "%s: unknown chart %q%s (charts: %s)", path, name, didYouMean(name, names), nameList(names))
	case ok && kind == "namespace":
		if s.Namespace(name) != nil {
			return
		}
		for _, ns := range s.Namespaces {
			names = append(names, ns.Name)
		}
		errs.Add(w.TargetPos, "%s: unknown namespace %q (declared: %s)", path, name, nameList(names))
	case ok && kind == "secret":
		if s.Secret(name) != nil {
			return
		}
		for _, sec := range s.Secrets {
			names = append(names, sec.Name)
		}
		errs.Add(w.TargetPos, "%s: unknown secret %q (declared: %s)", path, name, nameList(names))
	default:
		if s.Component(w.Target) != nil {
			return
		}
		for _, c := range s.Components {
			names = append(names, c.Name)
		}
		errs.Add(w.TargetPos, "%s: unknown component %q (components: %s); a waiver covers a component, a tenant's as \"TENANT/NAME\", \"namespace/NAME\", \"secret/NAME\", \"object/KEY\", \"chart/NAME\", \"environment\" or \"*\"", path, w.Target, nameList(names))
	}
}

func chartNames(cs []*model.Chart) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func envChartNames(cs []*model.ChartOverride) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func nameList(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	n = append([]string(nil), n...)
	sort.Strings(n)
	// A list a thousand names long helps no one find the typo.
	const most = 12
	if len(n) > most {
		return strings.Join(n[:most], ", ") + fmt.Sprintf(" and %d more", len(n)-most)
	}
	return strings.Join(n, ", ")
}

// needsDefaultPort reports whether a probe was declared without a port,
// so it would fall back to the component's first port.
func needsDefaultPort(c *model.Component) bool {
	for _, p := range []*model.Probe{c.Probes.Readiness, c.Probes.Liveness, c.Probes.Startup} {
		if p != nil && p.Kind != model.ProbeExec && p.Port == "" {
			return true
		}
	}
	return false
}

func portNames(ports []model.Port) string {
	var n []string
	for _, p := range ports {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// checkSource reads a SOPS file and reports one that is missing or lies
// outside the input folder.
func checkSource(dir, path string, src *model.SecretSource, errs *diag.List) {
	if src.SOPS == "" {
		return
	}
	if filepath.IsAbs(src.SOPS) || strings.HasPrefix(src.SOPS, "../") || src.SOPS == ".." {
		errs.Add(src.Pos, "%s.sops: %q must be a path inside the input folder", path, src.SOPS)
		return
	}
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(src.SOPS)))
	switch {
	case err != nil:
		errs.Add(src.Pos, "%s.sops: %s", path, fileError(src.SOPS, err))
	case !st.Mode().IsRegular():
		errs.Add(src.Pos, "%s.sops: %s is not a regular file", path, src.SOPS)
	default:
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(src.SOPS)))
		if err != nil {
			errs.Add(src.Pos, "%s.sops: %s", path, fileError(src.SOPS, err))
		}
		src.Content = b
	}
}

func fileError(name string, err error) string {
	if os.IsNotExist(err) {
		return fmt.Sprintf("file %s does not exist", name)
	}
	return fmt.Sprintf("cannot read %s: %v", name, err)
}

// checkContainers checks what the sidecars and init containers of c
// state beside their names: the secrets they read, config and secrets
// naming one variable twice, and the ports their probes check, which
// must be their own.
func checkContainers(s *model.System, c *model.Component, path string, errs *diag.List) {
	check := func(ic *model.InitContainer, where string) {
		for _, r := range ic.Secrets {
			checkSecretRef(s, c, r.Pos, where+".secrets."+r.Env, r.Secret, r.Key, errs)
			for _, cfg := range ic.Config {
				if cfg.Key == r.Env {
					errs.Add(cfg.Pos, "%s.config.%s: %s is also read from secret %q; a variable comes from one place", where, cfg.Key, cfg.Key, r.Secret)
				}
			}
		}
	}
	for i := range c.Init {
		check(&c.Init[i], fmt.Sprintf("%s.initContainers[%d]", path, i))
	}
	// The files of a directory are one volume, whichever container
	// mounts it: a path holds one file.
	for i := 1; i < len(c.Files); i++ {
		if f := c.Files[i]; f.Path == c.Files[i-1].Path {
			errs.Add(f.Pos, "%s.sidecars.%s.files: %s is also a file of %s; the files of a directory are one volume of the pod", path, f.Container, f.Path, containerLabel(c.Files[i-1].Container))
		}
	}
	for i := range c.Sidecars {
		sc := &c.Sidecars[i]
		where := path + ".sidecars." + sc.Name
		check(&sc.InitContainer, where)
		var own []model.Port
		for _, p := range c.Ports {
			if p.Container == sc.Name {
				own = append(own, p)
			}
		}
		for _, p := range []struct {
			name string
			p    *model.Probe
		}{{"readiness", sc.Probes.Readiness}, {"liveness", sc.Probes.Liveness}, {"startup", sc.Probes.Startup}} {
			if p.p == nil {
				continue
			}
			checkProbeHeaders(p.p, where+".probes."+p.name, errs)
			if p.p.Kind == model.ProbeExec {
				continue
			}
			port := c.Port(p.p.Port)
			switch {
			case len(own) == 0:
				errs.Add(p.p.Pos, "%s.probes.%s: the sidecar declares no ports; check it with exec", where, p.name)
			case p.p.Port != "" && (port == nil || port.Container != sc.Name):
				errs.Add(p.p.Pos, "%s.probes.%s: no port %q of the sidecar (ports: %s)", where, p.name, p.p.Port, portNames(own))
			case port != nil && port.Protocol == "UDP":
				errs.Add(p.p.Pos, "%s.probes.%s: port %q is UDP; a %s probe connects over TCP, so it would never pass: check it with exec", where, p.name, p.p.Port, p.p.Kind)
			case p.p.Port == "" && !hasTCP(own):
				errs.Add(p.p.Pos, "%s.probes.%s: the sidecar has no TCP port for a %s probe to check; check it with exec", where, p.name, p.p.Kind)
			}
		}
	}
}

func containerLabel(sidecar string) string {
	if sidecar == "" {
		return "the main container"
	}
	return "sidecar " + sidecar
}

// mainPorts are the ports of c's main container, not its sidecars': the
// kubelet resolves a probe's port in the probed container only.
func mainPorts(c *model.Component) []model.Port {
	var out []model.Port
	for _, p := range c.Ports {
		if p.Container == "" {
			out = append(out, p)
		}
	}
	return out
}

func hasTCP(ports []model.Port) bool {
	for _, p := range ports {
		if p.Protocol != "UDP" {
			return true
		}
	}
	return false
}
