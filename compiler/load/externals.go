package load

import (
	"fmt"
	"k8s.io/apimachinery/pkg/util/validation"
	"net/netip"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// checkPorts reports two named ports on one container port and protocol
// (the pod would declare it twice), or on one Service port and protocol
// (the API server refuses the Service), and an appProtocol the API
// server refuses.
func checkPorts(ports []model.Port, path string, errs *diag.List) {
	container := map[string]string{}
	service := map[string]string{}
	// The containers of a pod share its network namespace and its
	// Service: a sidecar's port names and numbers are the pod's.
	owner := map[string]string{}
	for _, p := range ports {
		path := path
		if p.Container != "" {
			path = strings.TrimSuffix(path, ".ports") + ".sidecars." + p.Container + ".ports"
		}
		if o, seen := owner[p.Name]; seen {
			errs.Add(p.Pos, "%s.%s: port name %q is already used by %s; the containers of a pod share its ports", path, p.Name, p.Name, o)
			continue
		}
		owner[p.Name] = "the main container"
		if p.Container != "" {
			owner[p.Name] = "sidecar " + p.Container
		}
		if p.AppProtocol != "" {
			if bad := validation.IsQualifiedName(p.AppProtocol); len(bad) > 0 {
				errs.Add(p.Pos, "%s.%s: appProtocol %q: %s", path, p.Name, p.AppProtocol, strings.Join(bad, "; "))
			}
		}
		ck := fmt.Sprintf("%d/%s", p.Number, p.Protocol)
		sk := fmt.Sprintf("%d/%s", p.ServicePort(), p.Protocol)
		switch {
		case container[ck] != "":
			pos := p.Pos
			if p.TargetPos.IsValid() {
				pos = p.TargetPos
			}
			errs.Add(pos, "%s.%s: container port %d is already used by port %q", path, p.Name, p.Number, container[ck])
		case service[sk] != "":
			errs.Add(p.Pos, "%s.%s: Service port %d is already used by port %q", path, p.Name, p.ServicePort(), service[sk])
		}
		if container[ck] == "" {
			container[ck] = p.Name
		}
		if service[sk] == "" {
			service[sk] = p.Name
		}
	}
}

// checkExternals reports externals that clash with a component's name,
// declare a container port, no port at all, or a range that is not one.
func checkExternals(s *model.System, errs *diag.List) {
	for _, e := range s.Externals {
		path := "system.externals." + e.Name
		if c := s.Component(e.Name); c != nil {
			errs.Add(e.Pos, "%s: a component is called %s too; talksTo names one or the other", path, e.Name)
		}
		if len(e.Ports) == 0 {
			errs.Add(e.Pos, "%s: declares no ports; talksTo names one (ports: https: 443)", path)
		}
		checkExternalPorts(e.Ports, path+".ports", errs)
		checkCIDRs(e.CIDRs, e.CIDRsPos, path+".cidrs", errs)
		checkNotLinkLocal(e.CIDRs, e.CIDRsPos, path+".cidrs", errs)
	}
}

// linkLocal holds the cloud metadata service and its instance
// credentials (169.254.169.254, fd00:ec2::254 is reached through it on
// EKS); no external may stand for it.
var linkLocal = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("fd00:ec2::254/128")}

func checkNotLinkLocal(cidrs []string, pos []model.Pos, path string, errs *diag.List) {
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue
		}
		p = unmapped(p)
		for _, l := range linkLocal {
			if p.Overlaps(l) {
				errs.Add(pos[i], "%s.%d: %s reaches %s, where the cloud metadata service hands out the node's credentials; no external may include it", path, i, c, l)
				break
			}
		}
	}
}

// unmapped is p with an IPv4-mapped IPv6 address (::ffff:10.0.0.0/104)
// written as the IPv4 range it stands for, so it is compared with IPv4
// ranges.
func unmapped(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func checkExternalPorts(ports []model.Port, path string, errs *diag.List) {
	for _, p := range ports {
		if p.TargetPos.IsValid() {
			errs.Add(p.TargetPos, "%s.%s: an external has no container: write the port it answers on alone", path, p.Name)
		}
	}
	checkPorts(ports, path, errs)
}

// checkExternalOverrides reports an environment's overrides of externals
// the system does not declare, or of ports they do not have.
func checkExternalOverrides(s *model.System, env *model.Environment, path string, errs *diag.List) {
	for _, o := range env.Externals {
		opath := path + ".externals." + o.Name
		e := s.External(o.Name)
		if e == nil {
			errs.Add(o.Pos, "%s.externals: unknown external %q%s; an environment changes externals of the system, it does not add them (%s)", path, o.Name, didYouMean(o.Name, externalList(s)), externalNames(s))
			continue
		}
		for _, p := range o.Ports {
			if e.Port(p.Name) == nil {
				errs.Add(p.Pos, "%s.ports.%s: external %q has no port %q (ports: %s)", opath, p.Name, e.Name, p.Name, portNames(e.Ports))
			}
		}
		checkExternalPorts(o.Ports, opath+".ports", errs)
		checkCIDRs(o.CIDRs, o.CIDRsPos, opath+".cidrs", errs)
		checkNotLinkLocal(o.CIDRs, o.CIDRsPos, opath+".cidrs", errs)
		if len(o.Hosts) > 0 && len(e.Hosts) > 0 && o.Hosts[0] != e.Hosts[0] {
			checkHostNotWritten(s, e, env.Name, o.Hosts[0], errs)
		}
	}
	c := env.Cluster
	if len(c.PodCIDRsPos) > 0 {
		checkCIDRs(c.PodCIDRs, c.PodCIDRsPos, path+".cluster.podCIDRs", errs)
	}
	if len(c.ServiceCIDRsPos) > 0 {
		checkCIDRs(c.ServiceCIDRs, c.ServiceCIDRsPos, path+".cluster.serviceCIDRs", errs)
	}
	for _, e := range s.Externals {
		cidrs, pos, where := e.CIDRs, e.CIDRsPos, "system.externals."+e.Name+".cidrs"
		for _, o := range env.Externals {
			if o.Name == e.Name && len(o.CIDRs) > 0 {
				cidrs, pos, where = o.CIDRs, o.CIDRsPos, path+".externals."+o.Name+".cidrs"
			}
		}
		for i, r := range cidrs {
			if in, what := intoCluster(r, c); in != "" {
				errs.Add(pos[i], "%s.%d: %s overlaps %s, the %s range of %s's cluster: a flow to %s would reach into the cluster; narrow the range, or override it for %s", where, i, r, in, what, env.Name, e.Name, env.Name)
			}
		}
	}
}

// intoCluster returns the first range of the cluster's pods or Services
// that r overlaps, and which it is.
func intoCluster(r string, c model.Cluster) (string, string) {
	p, err := netip.ParsePrefix(r)
	if err != nil {
		return "", ""
	}
	p = unmapped(p)
	for _, own := range []struct {
		cidrs []string
		what  string
	}{{c.PodCIDRs, "pod"}, {c.ServiceCIDRs, "Service"}} {
		for _, o := range own.cidrs {
			if q, err := netip.ParsePrefix(o); err == nil && p.Overlaps(q) {
				return o, own.what
			}
		}
	}
	return "", ""
}

// checkCIDRs reports ranges that do not parse, or are not written from
// their first address (10.0.0.1/8 is 10.0.0.0/8, which a reader may not
// expect).
func checkCIDRs(cidrs []string, pos []model.Pos, path string, errs *diag.List) {
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			errs.Add(pos[i], "%s.%d: %q is not an address range: %s", path, i, c, parseReason(err))
		case p.Masked() != p:
			errs.Add(pos[i], "%s.%d: %q does not start its range; write %q", path, i, c, p.Masked().String())
		}
	}
}

// targetNames lists what talksTo may name, for an unknown target.
func targetNames(s *model.System, components []string) string {
	out := "components: " + nameList(components)
	if len(s.Externals) > 0 {
		out += "; externals: " + nameList(externalList(s))
	}
	return out
}

func externalNames(s *model.System) string {
	if len(s.Externals) == 0 {
		return "the system declares none"
	}
	return "externals: " + nameList(externalList(s))
}

// didYouMean suggests the declared name closest to a name that is not
// one, as " (did you mean "redis"?)", or "".
func didYouMean(bad string, names []string) string {
	if s := diag.Closest(bad, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func componentNames(s *model.System) []string {
	var n []string
	for _, c := range s.Components {
		n = append(n, c.Name)
	}
	return n
}

func externalList(s *model.System) []string {
	var n []string
	for _, e := range s.Externals {
		n = append(n, e.Name)
	}
	return n
}

func namespaceNames(s *model.System) []string {
	var n []string
	for _, ns := range s.Namespaces {
		n = append(n, ns.Name)
	}
	return n
}

func secretNames(s *model.System) []string {
	var n []string
	for _, sec := range s.Secrets {
		n = append(n, sec.Name)
	}
	return n
}

// parseReason is netip's reason without the call it quotes:
// `ParseAddr("300.1.0.0"): IPv4 field has value >255` is the last part.
func parseReason(err error) string {
	m := err.Error()
	if i := strings.LastIndex(m, "): "); i >= 0 {
		return m[i+3:]
	}
	return m
}

// checkExposure reports an exposure Kubernetes would refuse: an Ingress
// to a UDP port (it speaks HTTP), a LoadBalancer Service whose name,
// NAME-external, is longer than a Service name may be or is the name of
// another component's Service.
func checkExposure(s *model.System, c *model.Component, path string, errs *diag.List) {
	e := c.Expose
	if e.Ingress {
		if p := c.Port(e.Port); p != nil && p.Protocol == "UDP" {
			errs.Add(e.Pos, "%s.expose.ingress: port %q is UDP; an Ingress routes HTTP, over TCP", path, e.Port)
		}
		return
	}
	name := c.ObjectName + "-external"
	switch {
	case len(name) > 63:
		errs.Add(e.Pos, "%s.expose.loadBalancer: its Service would be called %s, %d characters, and a Service name is at most 63; shorten the component's name to 54", path, name, len(name))
	case s.Component(name) != nil:
		errs.Add(e.Pos, "%s.expose.loadBalancer: its Service would be called %s, the name of component %s's own Service; rename one of them", path, name, name)
	}
}

// checkHostNotWritten reports a file or config value that holds an
// external's host when an environment reaches the external at another:
// content is computed once, from the system, so it would not follow the
// environment, while service discovery and the NetworkPolicies do.
func checkHostNotWritten(s *model.System, e *model.External, env, host string, errs *diag.List) {
	old := e.Hosts[0]
	for _, c := range s.Components {
		for _, f := range c.Files {
			if strings.Contains(f.Content, old) {
				errs.Add(f.Pos, "%s.files: %s holds %s, the host of external %s, which environment %s reaches at %s instead: file content does not follow an environment; read %s_HOST, which service discovery sets, from the environment instead", c.Path, f.Path, old, e.Name, env, host, strings.ToUpper(strings.ReplaceAll(e.Name, "-", "_")))
			}
		}
		for _, cfg := range c.Config {
			if strings.Contains(cfg.Value, old) {
				errs.Add(cfg.Pos, "%s.config.%s: holds %s, the host of external %s, which environment %s reaches at %s instead; service discovery gives it as %s_HOST", c.Path, cfg.Key, old, e.Name, env, host, strings.ToUpper(strings.ReplaceAll(e.Name, "-", "_")))
			}
		}
	}
}
