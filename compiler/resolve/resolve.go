// Package resolve applies one environment to the system: its overrides,
// quotas and secret sources, giving the system as it runs there.
package resolve

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Environment returns the system as it runs in env. Overrides replace the
// component's fields they name and keep the rest; values that came from
// the environment carry the environment's positions.
func Environment(in *model.Input, env *model.Environment) (*model.Resolved, error) {
	return environment(in, env, chartRenders{})
}

func environment(in *model.Input, env *model.Environment, renders chartRenders) (*model.Resolved, error) {
	var errs diag.List
	sys := &model.System{Name: in.System.Name, NamePos: in.System.NamePos, Tenants: in.System.Tenants}
	for _, ns := range in.System.Namespaces {
		n := *ns
		for _, o := range env.Namespaces {
			if o.Name != ns.Name {
				continue
			}
			if o.PodSecurity != "" {
				n.PodSecurity, n.PodSecurityPos = o.PodSecurity, o.PodSecurityPos
			}
			if o.Quota != nil {
				n.Quota = o.Quota
			}
		}
		sys.Namespaces = append(sys.Namespaces, &n)
	}
	for _, sec := range in.System.Secrets {
		s := *sec
		for _, o := range env.Secrets {
			if o.Name == sec.Name {
				s.Source, s.Path = o.Source, o.Path
			}
		}
		sys.Secrets = append(sys.Secrets, &s)
	}
	for _, x := range in.System.Externals {
		sys.Externals = append(sys.Externals, external(x, env))
	}
	// A tenant's own overrides first, then the environment's, each in
	// the order written; found by name, since an environment may change
	// a component in ten.
	overrides := map[string][]*model.Override{}
	for _, list := range [][]*model.Override{in.System.TenantOverrides, env.Components} {
		for _, o := range list {
			overrides[o.Name] = append(overrides[o.Name], o)
		}
	}
	for _, c := range in.System.Components {
		rc := clone(c)
		where := c.Path + ".pool"
		for _, o := range overrides[c.Name] {
			apply(rc, o, o.Path, &errs)
			if o.Pool != "" {
				rc.Pool, rc.PoolPos = o.Pool, o.PoolPos
				where = o.Path + ".pool"
			}
		}
		place(rc, env, c.Path, where, &errs)
		checkIdentity(rc, env, &errs)
		checkComponentVersion(rc, env, &errs)
		sys.Components = append(sys.Components, rc)
	}
	sameIngress(sys, &errs)
	sys.Monitoring = monitoring(in.System.Monitoring, env, sys, &errs)
	sys.Objects = objects(in, env, &errs)
	resolveCharts(in, env, sys, renders, &errs)
	workloadNames(sys, env, &errs)
	apiServer(sys, env, &errs)
	checkVersion(env, &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &model.Resolved{Input: in, Env: env, System: sys}, nil
}

// All resolves every environment and reports the problems of all of them.
func All(in *model.Input) ([]*model.Resolved, error) {
	var errs diag.List
	var out []*model.Resolved
	renders := chartRenders{}
	for _, env := range in.Environments {
		r, err := environment(in, env, renders)
		if err != nil {
			if l, ok := err.(diag.List); ok {
				errs = append(errs, l...)
				continue
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, errs.Err()
}

// external is x as env reaches it: hosts and ranges replaced when the
// environment gives them, ports by name.
func external(x *model.External, env *model.Environment) *model.External {
	rx := *x
	rx.Ports = append([]model.Port(nil), x.Ports...)
	for _, o := range env.Externals {
		if o.Name != x.Name {
			continue
		}
		if len(o.Hosts) > 0 {
			rx.Hosts, rx.HostsPos = o.Hosts, o.HostsPos
		}
		if len(o.CIDRs) > 0 {
			rx.CIDRs, rx.CIDRsPos = o.CIDRs, o.CIDRsPos
		}
		for _, p := range o.Ports {
			for i := range rx.Ports {
				if rx.Ports[i].Name != p.Name {
					continue
				}
				// Only what the override writes: a number alone keeps
				// the port's protocol.
				q := &rx.Ports[i]
				q.Number, q.Service, q.Pos = p.Number, p.Service, p.Pos
				if p.Protocol != "" {
					q.Protocol = p.Protocol
				}
				if p.AppProtocol != "" {
					q.AppProtocol = p.AppProtocol
				}
			}
		}
	}
	return &rx
}

func clone(c *model.Component) *model.Component {
	rc := *c
	if c.Autoscale != nil {
		a := *c.Autoscale
		rc.Autoscale = &a
	}
	rc.Config = append([]model.Setting(nil), c.Config...)
	rc.Files = append([]model.File(nil), c.Files...)
	return &rc
}

func apply(c *model.Component, o *model.Override, path string, errs *diag.List) {
	if c.RunsToCompletion() && !jobOverride(c, o, path, errs) {
		return
	}
	if o.Autoscale != nil {
		a := o.Autoscale
		if c.Autoscale == nil {
			if a.Min == nil || a.Max == nil {
				errs.Add(a.Pos, "%s.autoscale: component %q is not autoscaled, so the override must give both min and max", path, c.Name)
				return
			}
			c.Autoscale = &model.Autoscale{CPUUtilization: 80}
		}
		c.Autoscale.Pos = a.Pos
		if a.Min != nil {
			c.Autoscale.Min = *a.Min
		}
		if a.Max != nil {
			c.Autoscale.Max, c.Autoscale.MaxPos = *a.Max, a.MaxPos
		}
		if a.CPUUtilization != nil {
			c.Autoscale.CPUUtilization = *a.CPUUtilization
		}
		if c.Autoscale.Min > c.Autoscale.Max {
			errs.Add(a.Pos, "%s.autoscale: max %d is below min %d once the override is applied", path, c.Autoscale.Max, c.Autoscale.Min)
		}
	}
	if o.Replicas != nil {
		if c.Autoscale != nil {
			errs.Add(o.ReplicasPos, "%s.replicas: conflicts with the autoscaling of %q (min %d, max %d); override autoscale instead", path, c.Name, c.Autoscale.Min, c.Autoscale.Max)
		}
		c.Replicas, c.ReplicasPos, c.ReplicasSet = *o.Replicas, o.ReplicasPos, true
	}
	if r := o.Resources; r != nil {
		set := func(dst *string, pos *model.Pos, v *string, at model.Pos) {
			if v != nil {
				*dst, *pos = *v, at
			}
		}
		set(&c.Resources.Requests.CPU, &c.Resources.Requests.CPUPos, r.RequestsCPU, r.RequestsCPUPos)
		set(&c.Resources.Requests.Memory, &c.Resources.Requests.MemoryPos, r.RequestsMemory, r.RequestsMemoryPos)
		set(&c.Resources.Limits.CPU, &c.Resources.Limits.CPUPos, r.LimitsCPU, r.LimitsCPUPos)
		set(&c.Resources.Limits.Memory, &c.Resources.Limits.MemoryPos, r.LimitsMemory, r.LimitsMemoryPos)
		set(&c.Resources.Requests.Ephemeral, &c.Resources.Requests.EphemeralPos, r.RequestsEphemeral, r.RequestsEphemeralPos)
		set(&c.Resources.Limits.Ephemeral, &c.Resources.Limits.EphemeralPos, r.LimitsEphemeral, r.LimitsEphemeralPos)
		if r.GPUs != nil {
			c.Resources.GPUs, c.Resources.GPUsPos = *r.GPUs, r.GPUsPos
		}
		c.Resources.Pos = r.Pos
	}
	if o.Tag != "" {
		c.Image.Tag, c.Image.Pos = o.Tag, o.TagPos
		c.Image.Ref = c.Image.Repository + ":" + o.Tag
	}
	for _, s := range o.Config {
		replaced := false
		for i := range c.Config {
			if c.Config[i].Key == s.Key {
				c.Config[i] = s
				replaced = true
			}
		}
		if !replaced {
			c.Config = append(c.Config, s)
		}
		for _, r := range c.Secrets {
			if r.Env == s.Key {
				errs.Add(s.Pos, "%s.config.%s: %s is read from secret %q; a variable comes from one place", path, s.Key, s.Key, r.Secret)
			}
		}
	}
	sort.Slice(c.Config, func(i, j int) bool { return c.Config[i].Key < c.Config[j].Key })
	c.Files = model.MergeFiles(c.Files, o.Files)
	identity(c, o, path, errs)
	if o.Expose != nil {
		if !slices.ContainsFunc(c.Ports, func(p model.Port) bool { return p.Container == "" }) {
			errs.Add(o.Expose.Pos, "%s.expose: component %q declares no ports, but its exposure needs one (a sidecar's ports are the sidecar's)", path, c.Name)
			return
		}
		if o.Expose.Port != "" && c.Port(o.Expose.Port) == nil {
			errs.Add(o.Expose.Pos, "%s.expose: component %q has no port %q", path, c.Name, o.Expose.Port)
		}
		c.Expose = o.Expose
	}
}

// sameIngress refuses two components exposed at one host and path: the
// ingress controller would send the traffic to one of them, and which is
// its own choice. Tenants of one template expose the template's host
// unless each states its own.
func sameIngress(sys *model.System, errs *diag.List) {
	seen := map[string]*model.Component{}
	for _, c := range sys.Components {
		e := c.Expose
		if e == nil || !e.Ingress || e.Host == "" {
			continue
		}
		key := e.Host + e.Path
		if other, ok := seen[key]; ok {
			hint := ""
			if c.Tenant != "" {
				hint = fmt.Sprintf(" (a tenant's under system.tenants.%s.components.%s.expose)", c.Tenant, c.ObjectName)
			}
			errs.Add(e.Pos, "%s.expose: %s and %s are both exposed at %s%s, and the ingress controller routes it to one of them: give each its own host or path%s", c.Path, other.Name, c.Name, e.Host, e.Path, hint)
			continue
		}
		seen[key] = c
	}
}
