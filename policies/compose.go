package policies

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// composeRules check what only a Compose environment has: its networks
// and its host.
var composeRules = []*Rule{
	{
		ID: "NET008", Family: "network", Severity: Error, On: OnCompose,
		Title: "on Compose, the rendered networks join no two namespaces but through a declared flow",
		Rationale: `On Docker Compose each namespace is a network, internal to the host, and a
service reaches the services of each network it is on. The rule reads the
rendered compose file, not the source: a service may be on another
namespace's network only when its component declares a flow to a
component there, and on its namespace's network that leads out of the
host only when it reaches an external or is exposed. Compose cannot
narrow a network to ports or to one direction: inside a network every
port is open, which is as far as Compose enforces isolation.`,
		Check: checkComposeNetworks,
	},
	{
		ID: "NET009", Family: "network", Severity: Error, On: OnCompose,
		Title: "on Compose, the two ends of every declared flow share a network",
		Rationale: `A declared flow whose ends share no network fails as an unknown host when
the client dials the server's name, since Compose's DNS answers only on
shared networks. A flow to an external needs the network that leads out.`,
	},
	{
		ID: "QUOTA007", Family: "quota", Severity: Error, On: OnCompose,
		Title: "on Compose, the services' reservations together fit the host",
		Rationale: `Reservations are what the services need to run well. Docker Compose
admits a container whatever the host has left, so on a host that cannot
give them all the services starve each other: the kernel reclaims memory
from them under pressure and the OOM killer ends one. Each
service reserves its component's requests (cpu and memory) once per
replica it runs (autoscaled ones run autoscale.min), its sidecars' beside
it, and an init container's, which runs before them, when that is more.
Their sum must fit compose.cpu and compose.memory, each the environment
states.`,
		Check: checkComposeHost,
	},
}

// composeServices are the services of a rendered Compose environment,
// by name, with the component each belongs to.
type composeService struct {
	name string
	svc  *composefile.Service
	c    *model.Component
	pos  model.Pos
}

func composeServices(ctx *Context) []composeService {
	var out []composeService
	for _, o := range ctx.Output.Objects {
		s, ok := o.Obj.(*composefile.Service)
		if !ok {
			continue
		}
		out = append(out, composeService{name: o.Name, svc: s, c: ctx.Env.System.Component(o.Component), pos: o.Pos})
	}
	return out
}

// networksOf is the networks a service is on: its own, or those of the
// service whose network it shares.
func networksOf(all []composeService, s *composefile.Service) []string {
	if target, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
		for _, o := range all {
			if o.name == target {
				return networksOf(all, o.svc)
			}
		}
		return nil
	}
	var out []string
	for n := range s.Networks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func checkComposeNetworks(ctx *Context) []Finding {
	all := composeServices(ctx)
	var fs []Finding
	for _, s := range all {
		c := s.c
		if c == nil {
			continue
		}
		for _, n := range networksOf(all, s.svc) {
			ns, outside := composefile.NetworkNamespace(n)
			switch {
			case outside && ns != c.Namespace:
				fs = append(fs, Finding{Pos: s.pos, Target: c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("service %s is on %s, the way out of namespace %s, which it does not run in", s.name, n, ns)})
			case outside && c.Expose == nil && !slices.ContainsFunc(c.TalksTo, func(f model.Flow) bool {
				return !f.Implicit && ctx.Env.System.External(f.Target) != nil
			}):
				fs = append(fs, Finding{Pos: s.pos, Target: c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("service %s is on %s, which leads out of the host, but %s reaches no external and is not exposed", s.name, n, c.Name)})
			case !outside && ns != c.Namespace && !slices.ContainsFunc(c.TalksTo, func(f model.Flow) bool {
				t := ctx.Env.System.Component(f.Target)
				return t != nil && t.Namespace == ns
			}):
				fs = append(fs, Finding{Pos: s.pos, Target: c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("service %s is on network %s, so it reaches every service of namespace %s, but %s declares no flow into it", s.name, n, ns, c.Name)})
			}
		}
	}
	fs = append(fs, composeTenants(ctx, all)...)
	// The other half, NET009: every declared flow has a network.
	main := map[string]composeService{}
	for _, s := range all {
		if s.c != nil && s.name == composefile.ServiceName(s.c) {
			main[s.c.Name] = s
		}
	}
	for _, c := range ctx.Env.System.Components {
		s, ok := main[c.Name]
		if !ok {
			continue
		}
		mine := networksOf(all, s.svc)
		for _, f := range c.TalksTo {
			if f.Implicit {
				continue
			}
			if t := ctx.Env.System.Component(f.Target); t != nil {
				ts, ok := main[t.Name]
				if ok && !slices.ContainsFunc(networksOf(all, ts.svc), func(n string) bool { return slices.Contains(mine, n) }) {
					fs = append(fs, Finding{Rule: "NET009", Pos: f.Pos, Target: c.Name, Object: "service " + s.name,
						Message: fmt.Sprintf("declared flow %s -> %s:%s: services %s and %s share no network", c.Name, t.Name, f.Port, s.name, ts.name)})
				}
				continue
			}
			if !slices.Contains(mine, c.Namespace+composefile.Outside) {
				fs = append(fs, Finding{Rule: "NET009", Pos: f.Pos, Target: c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("declared flow %s -> external %s:%s: service %s is not on %s%s, the only way out of the host", c.Name, f.Target, f.Port, s.name, c.Namespace, composefile.Outside)})
			}
		}
	}
	return fs
}

func checkComposeHost(ctx *Context) []Finding {
	h := ctx.Env.Env.Compose
	if h == nil || h.CPU == "" && h.Memory == "" {
		return nil
	}
	type part struct {
		what string
		n    int
		each resource.Quantity
	}
	sum := map[string]*resource.Quantity{"cpu": {}, "memory": {}}
	parts := map[string][]part{}
	for _, s := range composeServices(ctx) {
		c := s.c
		if c == nil || s.name != composefile.ServiceName(c) {
			continue // a sidecar or init container: counted with its pod
		}
		n := 1
		if d := s.svc.Deploy; d != nil && d.Replicas != nil {
			n = *d.Replicas
		}
		for _, r := range []string{"cpu", "memory"} {
			pick := func(cm model.CPUMemory) resource.Quantity {
				v := cm.CPU
				if r == "memory" {
					v = cm.Memory
				}
				q, _ := resource.ParseQuantity(v)
				return q
			}
			pod := pick(c.Resources.Requests)
			for _, sc := range c.Sidecars {
				pod.Add(pick(sc.Resources.Requests))
			}
			for _, ic := range c.Init {
				if q := pick(ic.Resources.Requests); q.Cmp(pod) > 0 {
					pod = q
				}
			}
			total := pod.DeepCopy()
			total.Mul(int64(n))
			sum[r].Add(total)
			if n > 0 && !pod.IsZero() {
				parts[r] = append(parts[r], part{c.Name, n, pod})
			}
		}
	}
	var fs []Finding
	for _, r := range []struct {
		name, host string
		pos        model.Pos
	}{{"cpu", h.CPU, h.CPUPos}, {"memory", h.Memory, h.MemoryPos}} {
		if r.host == "" {
			continue
		}
		host, err := resource.ParseQuantity(r.host)
		if err != nil || sum[r.name].Cmp(host) <= 0 {
			continue
		}
		over := sum[r.name].DeepCopy()
		over.Sub(host)
		var terms []string
		for _, p := range parts[r.name] {
			terms = append(terms, fmt.Sprintf("%s %d × %s", p.what, p.n, p.each.String()))
		}
		fs = append(fs, Finding{Pos: r.pos, Target: "environment",
			Message: fmt.Sprintf("the services reserve %s %s, more than the host's %s by %s: %s", r.name, sum[r.name].String(), r.host, over.String(), strings.Join(terms, " + "))})
	}
	return fs
}

// composePinned is IMG002 on a Compose environment: every service's
// image is pinned by digest.
func composePinned(ctx *Context, unlocked map[string]bool) []Finding {
	var fs []Finding
	for _, s := range composeServices(ctx) {
		if strings.Contains(s.svc.Image, "@sha256:") || unlocked[s.svc.Image] {
			continue
		}
		target := ""
		if s.c != nil {
			target = s.c.Name
		}
		fs = append(fs, Finding{Pos: s.pos, Target: target, Object: "service " + s.name,
			Message: fmt.Sprintf("service %s: image %s is not pinned by digest", s.name, s.svc.Image)})
	}
	return fs
}

// composePlaintext is SEC003 on a Compose environment: a value of a
// service's environment that the source does not show (service
// discovery, an expanded reference) and that looks like a credential.
func composePlaintext(ctx *Context) []Finding {
	var fs []Finding
	for _, s := range composeServices(ctx) {
		keys := make([]string, 0, len(s.svc.Environment))
		for k := range s.svc.Environment {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := strings.ReplaceAll(s.svc.Environment[k], "$$", "$")
			if s.c == nil || s.name != composefile.ServiceName(s.c) || strings.HasPrefix(v, "${") || configValue(s.c, k) == v {
				continue
			}
			if why := LooksSecret("", v); why != "" {
				fs = append(fs, Finding{Pos: s.pos, Target: s.c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("service %s variable %s: %s", s.name, k, why)})
			}
		}
	}
	return fs
}

// composeTenants is NET007 on Compose: two tenants' services on one
// network reach each other on every port, which only a declared flow
// between them allows. Two tenants that both reach one namespace share
// its network, and Compose has no narrower way to keep them apart.
func composeTenants(ctx *Context, all []composeService) []Finding {
	type member struct {
		name string
		c    *model.Component
		pos  model.Pos
	}
	byNetwork := map[string][]member{}
	for _, s := range all {
		if s.c == nil || s.c.Tenant == "" || s.name != composefile.ServiceName(s.c) {
			continue
		}
		for _, n := range networksOf(all, s.svc) {
			byNetwork[n] = append(byNetwork[n], member{s.name, s.c, s.pos})
		}
	}
	declared := func(a, b *model.Component) bool {
		return slices.ContainsFunc(a.TalksTo, func(f model.Flow) bool {
			t := ctx.Env.System.Component(f.Target)
			return t != nil && t.Tenant == b.Tenant
		})
	}
	seen := map[string]bool{}
	var fs []Finding
	for _, n := range slices.Sorted(maps.Keys(byNetwork)) {
		ms := byNetwork[n]
		for i, a := range ms {
			for _, b := range ms[i+1:] {
				if a.c.Tenant == b.c.Tenant || declared(a.c, b.c) || declared(b.c, a.c) {
					continue
				}
				key := n + " " + a.c.Tenant + " " + b.c.Tenant
				if seen[key] {
					continue
				}
				seen[key] = true
				fs = append(fs, Finding{Rule: "NET007", Pos: b.pos, Target: b.c.Name, Object: "service " + b.name,
					Message: fmt.Sprintf("services %s and %s are both on network %s, so tenants %s and %s reach each other on every port, and no talksTo declares it: on Compose, tenants stay apart only while no namespace's network has two of them", a.name, b.name, n, a.c.Tenant, b.c.Tenant)})
			}
		}
	}
	return fs
}

// onCompose is check on a cluster, and compose on a Compose environment.
func onCompose(compose, check func(*Context) []Finding) func(*Context) []Finding {
	return func(ctx *Context) []Finding {
		if ctx.Env.Env.IsCompose() {
			return compose(ctx)
		}
		return check(ctx)
	}
}

// composeRoot is POD001 on Compose: a service that names no user runs
// as its image's, and Docker has no runAsNonRoot to refuse root.
func composeRoot(ctx *Context) []Finding {
	if ctx.Facts == nil {
		return nil
	}
	platform := "linux/" + ctx.Env.Env.Compose.Arch
	var fs []Finding
	for _, s := range composeServices(ctx) {
		if s.c == nil {
			continue
		}
		if s.svc.User != "" {
			if s.svc.User == "0" || strings.HasPrefix(s.svc.User, "0:") {
				fs = append(fs, Finding{Pos: s.pos, Target: s.c.Name, Object: "service " + s.name,
					Message: fmt.Sprintf("service %s runs as user 0 (root)", s.name)})
			}
			continue
		}
		ref, _, _ := strings.Cut(s.svc.Image, "@")
		e, ok := ctx.Facts.Lookup(ref)
		if !ok {
			continue // IMG005
		}
		users := e.UsersOn(platform)
		for _, p := range slices.Sorted(maps.Keys(users)) {
			u := users[p]
			if classifyImageUser(u) != userRoot {
				continue
			}
			pos := s.pos
			if s.c.Security != nil {
				pos = s.c.Security.Pos
			}
			why := "its config names no user"
			if u != "" {
				why = fmt.Sprintf("user %q", u)
			}
			fs = append(fs, Finding{Pos: pos, Target: s.c.Name, Object: "service " + s.name,
				Message: fmt.Sprintf("service %s: image %s runs as root on %s (%s), and Docker has no runAsNonRoot to refuse it: give it a non-root user id, such as security: runAsUser: 999", s.name, ref, platform, why)})
			break
		}
	}
	return fs
}
