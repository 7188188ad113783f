package policies

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// nodeFitResources are the requests compared with one node, in report
// order. A pod also takes one of the node's pod slots, and the schema
// makes a node hold at least one.
var nodeFitResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

func checkPodFitsNode(ctx *Context) []Finding {
	var fs []Finding
	for _, w := range workloads(ctx) {
		np := workloadPool(ctx, w)
		if np == nil {
			continue
		}
		allocatable := map[corev1.ResourceName]string{corev1.ResourceCPU: np.CPU, corev1.ResourceMemory: np.Memory}
		resources := nodeFitResources
		if !np.Shorthand {
			// A pool states its GPUs, none when it gives no gpus.
			allocatable[render.ResourceGPU] = fmt.Sprint(np.GPUs)
			resources = append(resources[:len(resources):len(resources)], render.ResourceGPU)
		}
		requests, _ := w.usage()
		for _, res := range resources {
			node, err := resource.ParseQuantity(allocatable[res])
			if err != nil {
				continue
			}
			pod, ok := requests[res]
			if !ok || pod.Cmp(node) <= 0 {
				continue
			}
			why, pos := podRequestSource(w, res, pod)
			shape := format(res, node)
			if np.InstanceType != "" {
				shape += ", " + np.InstanceType
			}
			pool := "the pool"
			if !np.Shorthand {
				pool = "pool " + np.Name
			}
			fs = append(fs, Finding{Pos: pos, Target: w.target(), Object: w.object(),
				Message: fmt.Sprintf("%s: a pod requests %s %s (%s), more than one node of %s allocates (%s): the scheduler never places it",
					w.Name, res, format(res, pod), why, pool, shape)})
		}
	}
	return fs
}

// podRequestSource explains a pod's request of res, total as PodUsage
// counts it, and finds the CUE field to change: the request of the init
// container that sets it, or of the largest of the containers it sums.
func podRequestSource(w *workload, res corev1.ResourceName, total resource.Quantity) (string, model.Pos) {
	spec := &w.Template.Spec
	type term struct {
		what string
		name string
		q    resource.Quantity
	}
	describe := func(ts []term) string {
		var parts []string
		for _, t := range ts {
			parts = append(parts, fmt.Sprintf("%s %s %s", t.what, t.name, format(res, t.q)))
		}
		return strings.Join(parts, " + ")
	}
	largest := func(ts []term) string {
		best := ""
		var bq resource.Quantity
		for _, t := range ts {
			if best == "" || t.q.Cmp(bq) > 0 {
				best, bq = t.name, t.q
			}
		}
		return best
	}
	// As Kubernetes counts a pod (KEP-753): the containers and every
	// sidecar, or an init container and the sidecars started before it,
	// whichever is more.
	var running, sidecars []term
	var sum resource.Quantity
	for _, c := range spec.Containers {
		if q, ok := c.Resources.Requests[res]; ok {
			running = append(running, term{"container", c.Name, q})
			sum.Add(q)
		}
	}
	for _, c := range spec.InitContainers {
		q, ok := c.Resources.Requests[res]
		if !ok {
			continue
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars = append(sidecars, term{"sidecar", c.Name, q})
			continue
		}
		use := q.DeepCopy()
		for _, sc := range sidecars {
			use.Add(sc.q)
		}
		if use.Cmp(total) == 0 && sum.Cmp(total) != 0 {
			ts := append([]term{{"init container", c.Name, q}}, sidecars...)
			why := describe(ts)
			if rest := append(append([]term(nil), running...), sidecars...); len(rest) > 0 {
				why += ", larger than " + describe(rest)
			}
			return why, requestPos(w, largest(ts), res)
		}
	}
	ts := append(running, sidecars...)
	return describe(ts), requestPos(w, largest(ts), res)
}

// requestPos is the position of container's request of res in the
// component (an environment override's when one set it); for a container
// the model does not name, or a request it does not place, the
// component's resources; else the workload.
func requestPos(w *workload, container string, res corev1.ResourceName) model.Pos {
	c := w.Component
	if c == nil {
		return w.pos()
	}
	r := &c.Resources
	var pos model.Pos
	if container == c.ObjectName {
		pos = requestField(r, res)
	}
	for _, ic := range c.Containers() {
		if ic.Name == container {
			r = &ic.Resources
			pos = requestField(r, res)
		}
	}
	for _, p := range []model.Pos{pos, r.Pos} {
		if p.IsValid() {
			return p
		}
	}
	return w.pos()
}

func requestField(r *model.Resources, res corev1.ResourceName) model.Pos {
	switch res {
	case corev1.ResourceMemory:
		return r.Requests.MemoryPos
	case render.ResourceGPU:
		return r.GPUsPos
	}
	return r.Requests.CPUPos
}

// workloadPool is the pool w's pods run on: its component's, or, for
// pods of a raw object, the default pool when they may run there, else
// the first pool they may run on (runsOn); nil when the cluster states
// none, and for a DaemonSet, whose pods are one per node of every pool
// they may run on (counted by daemonNodes), not packed onto one.
func workloadPool(ctx *Context, w *workload) *model.NodePool {
	cl := ctx.Env.Env.Cluster
	if w.Component != nil {
		if w.Component.Pool != "" {
			return cl.Pool(w.Component.Pool)
		}
		return cl.Pool(cl.DefaultPool)
	}
	if w.Kind == "DaemonSet" {
		return nil
	}
	if p := cl.Pool(cl.DefaultPool); p != nil && runsOn(p, &w.Template.Spec) {
		return p
	}
	for _, p := range cl.Pools {
		if runsOn(p, &w.Template.Spec) {
			return p
		}
	}
	return cl.Pool(cl.DefaultPool)
}
