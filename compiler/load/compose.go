package load

import (
	"net/netip"
	"path"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// DefaultSecretsDir is where a Compose environment's secret files are
// read from, relative to its output folder: .secrets/ beside out/.
const DefaultSecretsDir = "../../.secrets"

// composeHost decodes the host of an environment that Docker Compose
// runs, from the environment's value v. Its Cluster then says "compose"
// and the host's architecture, so that the rules about images read it as
// any cluster's.
func (d *decoder) composeHost(e *model.Environment, v cue.Value, where string) {
	hv, cv := lookup(v, "compose"), lookup(v, "cluster")
	if cv.Exists() {
		d.errs.Add(cv.Pos(), "%s.cluster: the environment runs on Docker Compose (compose, line %d); give cluster or compose, not both", where, hv.Pos().Line())
	}
	h := &model.ComposeHost{Pos: hv.Pos(), SecretsDir: DefaultSecretsDir}
	h.Arch, h.ArchPos = str(hv, "arch")
	h.CPU, h.CPUPos = str(hv, "cpu")
	h.Memory, h.MemoryPos = str(hv, "memory")
	if ip, pos := str(hv, "hostIP"); ip != "" {
		if a, err := netip.ParseAddr(ip); err != nil || a.Zone() != "" {
			d.errs.Add(pos, "%s.compose.hostIP: %q is not an IP address (\"127.0.0.1\", \"::1\")", where, ip)
		}
		h.HostIP = ip
	}
	if dir, pos := str(hv, "secretsDir"); dir != "" {
		h.SecretsDir, h.SecretsDirPos = dir, pos
		if p := path.Clean(dir); !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../") {
			d.errs.Add(pos, "%s.compose.secretsDir: %q lies inside the environment's output folder, which every build replaces: name a folder outside it (\"../../.secrets\" is .secrets/ beside out/)", where, dir)
		}
	}
	e.Compose = h
	e.Cluster = model.Cluster{Distribution: model.Compose, DistributionPos: hv.Pos(), Pos: hv.Pos(),
		Arch: []string{h.Arch}, ArchPos: h.ArchPos}
	// What only a cluster has.
	for _, f := range []struct{ path, why string }{
		{"flux", "Flux reconciles clusters, and docker compose applies the compose.yaml gitopsc renders"},
		{"objects", "objects are Kubernetes objects, which Compose has no API for"},
	} {
		if x := lookup(v, f.path); x.Exists() && (f.path != "objects" || len(fields(x)) > 0) {
			d.errs.Add(x.Pos(), "%s.%s: the environment runs on Docker Compose: %s", where, f.path, f.why)
		}
	}
	for _, group := range []string{"namespaces", "tenants"} {
		for _, n := range fields(lookup(v, group)) {
			for _, f := range []string{"quota", "podSecurity", "objects"} {
				if x := lookup(n.v, f); x.Exists() && (f != "objects" || len(fields(x)) > 0) {
					d.errs.Add(x.Pos(), "%s.%s.%s.%s: the environment runs on Docker Compose, where a namespace is a network, with no %s", where, group, n.label, f, map[string]string{
						"quota": "ResourceQuota (compose.cpu and compose.memory bound the host)", "podSecurity": "Pod Security admission", "objects": "Kubernetes API for objects"}[f])
				}
			}
		}
	}
	for _, c := range fields(lookup(v, "components")) {
		for _, f := range []string{"pool", "serviceAccount"} {
			if x := lookup(c.v, f); x.Exists() {
				d.errs.Add(x.Pos(), "%s.components.%s.%s: the environment runs on Docker Compose, which has no %s", where, c.label, f, map[string]string{"pool": "node pools: every service runs on the host", "serviceAccount": "service accounts or IAM roles for them"}[f])
			}
		}
	}
}
