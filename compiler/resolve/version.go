package resolve

import (
	"maps"
	"slices"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Kubernetes minor versions that first turn on, by default, a feature
// gitopsc renders.
const (
	// SidecarContainers: an init container's restartPolicy. Before it,
	// the API server drops the field, and a sidecar becomes an init
	// container that never exits: the pod never starts.
	sidecarsSince = 29
	// CronJobTimeZone: a CronJob's spec.timeZone, refused before it.
	timeZoneSince = 25
	// GRPCContainerProbe: a probe's grpc action, dropped before it,
	// which leaves a probe with no action, refused.
	grpcProbeSince = 24
)

// checkVersion reports what of c the environment's Kubernetes version
// does not have yet, at the field that asks for it.
func checkVersion(c *model.Component, env *model.Environment, errs *diag.List) {
	minor := env.Cluster.KubernetesMinor
	if minor == 0 {
		return
	}
	path := "system.components." + c.Name
	too := func(pos model.Pos, field, feature string, since int, consequence string) {
		errs.Add(pos, "%s.%s: needs Kubernetes 1.%d (%s), and environment %s runs 1.%d: %s", path, field, since, feature, env.Name, minor, consequence)
	}
	if minor < sidecarsSince {
		for _, sc := range c.Sidecars {
			too(sc.Pos, "sidecars."+sc.Name, "SidecarContainers", sidecarsSince,
				"its API server drops an init container's restartPolicy, so the sidecar would run as an init container that never exits and the pod would never start")
		}
	}
	if s := c.Schedule; s != nil && s.TimeZone != "" && minor < timeZoneSince {
		too(s.TimeZonePos, "schedule.timeZone", "CronJobTimeZone", timeZoneSince, "its API server refuses a CronJob's timeZone")
	}
	if minor < grpcProbeSince {
		probes := map[string]model.Probes{"probes": c.Probes}
		for _, sc := range c.Sidecars {
			probes["sidecars."+sc.Name+".probes"] = sc.Probes
		}
		for _, at := range slices.Sorted(maps.Keys(probes)) {
			ps := probes[at]
			for _, p := range []struct {
				name string
				p    *model.Probe
			}{{"readiness", ps.Readiness}, {"liveness", ps.Liveness}, {"startup", ps.Startup}} {
				if p.p != nil && p.p.Kind == model.ProbeGRPC {
					too(p.p.Pos, at+"."+p.name, "GRPCContainerProbe", grpcProbeSince, "its API server drops a probe's grpc check and refuses the probe left without one")
				}
			}
		}
	}
}
