package resolve

import (
	"fmt"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// place sets the pool c runs on in cl: the one it names, else, for a
// component requesting GPUs, the only pool with GPUs, else the default
// pool. where is the path of the pool field that named it.
func place(c *model.Component, env *model.Environment, path, where string, errs *diag.List) {
	cl := env.Cluster
	names := strings.Join(cl.PoolNames(), ", ")
	gpuPools := func() []string {
		var out []string
		for _, p := range cl.Pools {
			if p.GPUs > 0 {
				out = append(out, p.Name)
			}
		}
		return out
	}
	if len(cl.Pools) == 0 {
		// A cluster that describes no pools places pods wherever the
		// scheduler finds room (and GPUs, through the device plugin):
		// nothing to pin them to.
		c.Pool = ""
		return
	}
	if c.Pool != "" {
		p := cl.Pool(c.Pool)
		switch {
		case len(cl.Pools) == 0:
			errs.Add(c.PoolPos, "%s: unknown pool %q: the cluster of environment %s declares no node pools (cluster.pools)", where, c.Pool, env.Name)
		case p == nil:
			errs.Add(c.PoolPos, "%s: unknown pool %q in environment %s%s (pools: %s)", where, c.Pool, env.Name, didYouMean(c.Pool, cl.PoolNames()), names)
		case c.Resources.GPUs > 0 && p.GPUs == 0:
			errs.Add(c.Resources.GPUsPos, "%s.resources.limits: %q %d on pool %s of environment %s, whose nodes have no GPUs (%s)", path, "nvidia.com/gpu", c.Resources.GPUs, p.Name, env.Name, withGPUs(gpuPools()))
		}
		return
	}
	if c.Resources.GPUs > 0 {
		switch g := gpuPools(); len(g) {
		case 1:
			c.Pool = g[0]
		case 0:
			errs.Add(c.Resources.GPUsPos, "%s.resources.limits: %q %d, but no pool of environment %s has GPUs; give a pool gpus", path, "nvidia.com/gpu", c.Resources.GPUs, env.Name)
		default:
			errs.Add(c.Resources.GPUsPos, "%s.resources.limits: %q %d, and several pools of environment %s have GPUs (%s); name one with pool:", path, "nvidia.com/gpu", c.Resources.GPUs, env.Name, strings.Join(g, ", "))
		}
		return
	}
	if len(cl.Pools) > 0 && cl.DefaultPool == "" {
		errs.Add(c.Pos, "%s: names no pool, and environment %s has no default among its pools (%s); give pool: or mark one pool default: true", path, env.Name, names)
		return
	}
	c.Pool = cl.DefaultPool
}

func withGPUs(pools []string) string {
	if len(pools) == 0 {
		return "no pool there has GPUs"
	}
	return "pools with GPUs: " + strings.Join(pools, ", ")
}

func didYouMean(bad string, names []string) string {
	if s := diag.Closest(bad, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
