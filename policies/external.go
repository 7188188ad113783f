package policies

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies/reach"
)

// checkExternalFlows holds egress to the outside to what talksTo
// declares, as NET001 and NET002 hold flows between workloads: every
// ipBlock a workload may send to must be the range of an external one of
// its flows names, on that flow's port (NET001), and every declared flow
// to an external must be allowed by the rendered policies (NET002).
func checkExternalFlows(ctx *Context, res *reach.Result, policyPos map[reach.PolicyRef]*render.Object) []Finding {
	sys := ctx.Env.System
	var fs []Finding
	for _, x := range res.External {
		if x.Direction != networkingv1.PolicyTypeEgress || x.Kind != reach.IPBlock {
			continue
		}
		c := sys.ComponentAt(x.Workload.Namespace, x.Workload.Name)
		if c == nil || declaresBlock(ctx, c, x) {
			continue
		}
		pos, object := ctx.Env.Env.Pos, ""
		if o := policyPos[x.Rule.Policy]; o != nil {
			pos, object = o.Pos, "NetworkPolicy "+o.Namespace+"/"+o.Name
		}
		fs = append(fs, Finding{Rule: "NET001", Pos: pos, Target: c.Name, Object: object,
			Message: fmt.Sprintf("%s, but no talksTo of %s names an external with that range and port", describeAccessOf(x), c.Name)})
	}
	fs = append(fs, checkIntoCluster(ctx, res, policyPos)...)
	for _, c := range sys.Components {
		w := reach.WorkloadRef{Namespace: c.Namespace, Name: c.ObjectName}
		access := res.ExternalOf(w)
		for _, f := range c.TalksTo {
			e := sys.External(f.Target)
			if e == nil || e.Port(f.Port) == nil {
				continue
			}
			p := e.Port(f.Port)
			for _, b := range render.ExternalBlocks(e, ctx.Env.Env.Cluster) {
				if !slices.ContainsFunc(access, func(x reach.ExternalAccess) bool {
					return x.Direction == networkingv1.PolicyTypeEgress && x.Kind == reach.IPBlock && sameBlock(x, b) && coversPort(x.Ports, p)
				}) {
					fs = append(fs, Finding{Rule: "NET002", Pos: f.Pos, Target: c.Name,
						Message: fmt.Sprintf("declared flow %s -> external %s:%s is blocked: no policy lets %s send to %s on %s/%d", w, e.Name, f.Port, w, describeBlock(b), p.Protocol, p.Number)})
				}
			}
		}
	}
	return fs
}

// declaresBlock reports whether a flow of c to an external covers the
// access x opens: the same range, and only the flow's ports.
func declaresBlock(ctx *Context, c *model.Component, x reach.ExternalAccess) bool {
	sys := ctx.Env.System
	if x.Ports == nil {
		return false
	}
	for _, m := range x.Ports {
		covered := false
		for _, f := range c.TalksTo {
			e := sys.External(f.Target)
			if e == nil || e.Port(f.Port) == nil {
				continue
			}
			p := e.Port(f.Port)
			if m.Name == "" && m.EndPort == 0 && m.Number == int32(p.Number) && m.Protocol == corev1.Protocol(p.Protocol) &&
				slices.ContainsFunc(render.ExternalBlocks(e, ctx.Env.Env.Cluster), func(b networkingv1.IPBlock) bool { return sameBlock(x, b) }) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

func sameBlock(x reach.ExternalAccess, b networkingv1.IPBlock) bool {
	return x.CIDR == b.CIDR && slices.Equal(sorted(x.Except), sorted(b.Except))
}

func coversPort(ms []reach.PortMatch, p *model.Port) bool {
	if ms == nil {
		return true
	}
	for _, m := range ms {
		if m.Protocol != corev1.Protocol(p.Protocol) {
			continue
		}
		n := int32(p.Number)
		if m.Name == "" && (m.Number == 0 || m.Number == n || m.EndPort != 0 && m.Number <= n && n <= m.EndPort) {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

func describeBlock(b networkingv1.IPBlock) string {
	if len(b.Except) == 0 {
		return b.CIDR
	}
	return b.CIDR + " except " + strings.Join(b.Except, ", ")
}

// metadata are the addresses of the cloud metadata service.
var metadata = []string{"169.254.169.254/32", "fd00:ec2::254/128"}

// checkIntoCluster reports egress ipBlocks that, less their excepts,
// still hold an address of the cluster's pods or Services or of the
// metadata service (NET005).
func checkIntoCluster(ctx *Context, res *reach.Result, policyPos map[reach.PolicyRef]*render.Object) []Finding {
	cl := ctx.Env.Env.Cluster
	type target struct{ cidr, what string }
	var targets []target
	for _, c := range cl.PodCIDRs {
		targets = append(targets, target{c, "the cluster's pod range"})
	}
	for _, c := range cl.ServiceCIDRs {
		targets = append(targets, target{c, "the cluster's Service range"})
	}
	for _, c := range metadata {
		targets = append(targets, target{c, "the cloud metadata service"})
	}
	var fs []Finding
	for _, x := range res.External {
		if x.Direction != networkingv1.PolicyTypeEgress || x.Kind != reach.IPBlock {
			continue
		}
		block, err := netip.ParsePrefix(x.CIDR)
		if err != nil {
			continue
		}
		for _, t := range targets {
			tp, err := netip.ParsePrefix(t.cidr)
			if err != nil || !block.Overlaps(tp) || excepted(tp, x.Except) {
				continue
			}
			pos, object := ctx.Env.Env.Pos, ""
			if o := policyPos[x.Rule.Policy]; o != nil {
				pos, object = o.Pos, "NetworkPolicy "+o.Namespace+"/"+o.Name
			}
			fs = append(fs, Finding{Rule: "NET005", Pos: pos, Target: x.Workload.Name, Object: object,
				Message: fmt.Sprintf("%s reaches %s (%s)", describeAccessOf(x), t.what, t.cidr)})
		}
	}
	return fs
}

// excepted reports whether t lies wholly inside one of the excepts.
func excepted(t netip.Prefix, except []string) bool {
	for _, e := range except {
		if p, err := netip.ParsePrefix(e); err == nil && p.Bits() <= t.Bits() && p.Contains(t.Addr()) {
			return true
		}
	}
	return false
}

func describeAccessOf(x reach.ExternalAccess) string {
	return strings.TrimSuffix(x.String(), " ("+x.Rule.String()+")")
}
