package resolve

import (
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Kubernetes minor versions that matter to what gitopsc renders.
const (
	// oldestMinor is the oldest version gitopsc renders for: Pod Security
	// admission, which the namespaces' labels ask for, is GA from 1.25
	// (before, the labels enforce nothing), as are the CronJob time zone
	// and gRPC probes it may render.
	oldestMinor = 25
	// sidecarsSince turns on SidecarContainers: an init container's
	// restartPolicy. Before it, the API server drops the field, and a
	// sidecar becomes an init container that never exits: the pod never
	// starts.
	sidecarsSince = 29
)

// checkVersion reports an environment older than gitopsc renders for.
func checkVersion(env *model.Environment, errs *diag.List) {
	cl := env.Cluster
	if cl.KubernetesMinorPos.IsValid() && cl.KubernetesMinor < oldestMinor {
		errs.Add(cl.KubernetesMinorPos, "environments.%s.cluster.kubernetesVersion: 1.%d is older than gitopsc renders for, 1.%d: before it Pod Security admission, which every namespace's labels ask for, is not GA and may enforce nothing", env.Name, cl.KubernetesMinor, oldestMinor)
	}
}

// checkComponentVersion reports what of c the environment's Kubernetes
// version does not have yet, at the field that asks for it.
func checkComponentVersion(c *model.Component, env *model.Environment, errs *diag.List) {
	cl := env.Cluster
	if cl.HasMinor(sidecarsSince) {
		return
	}
	for _, sc := range c.Sidecars {
		errs.Add(sc.Pos, "%s.sidecars.%s: needs Kubernetes 1.%d (SidecarContainers), and environment %s runs 1.%d: its API server drops an init container's restartPolicy, so the sidecar would run as an init container that never exits and the pod would never start", c.Path, sc.Name, sidecarsSince, env.Name, cl.KubernetesMinor)
	}
}
