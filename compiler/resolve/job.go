package resolve

import (
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// jobOverride refuses what an environment cannot change in a job or
// cronjob, as the loader refuses it in the component, and reports
// whether the override can be applied.
func jobOverride(c *model.Component, o *model.Override, path string, errs *diag.List) bool {
	ok := true
	if o.Replicas != nil {
		errs.Add(o.ReplicasPos, "%s.replicas: %q is a %s: it runs job.parallelism pods at once, not replicas", path, c.Name, c.Kind)
		ok = false
	}
	if o.Autoscale != nil {
		errs.Add(o.Autoscale.Pos, "%s.autoscale: %q is a %s: its pods end when their work is done, it is not scaled", path, c.Name, c.Kind)
		ok = false
	}
	if o.Expose != nil {
		errs.Add(o.Expose.Pos, "%s.expose: %q is a %s: it takes no traffic from outside", path, c.Name, c.Kind)
		ok = false
	}
	return ok
}
