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
		requests, _ := PodUsage(&w.Template.Spec)
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
			fs = append(fs, Finding{Pos: pos, Target: w.Name, Object: w.object(),
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
	var sum resource.Quantity
	var parts []string
	largest := ""
	var largestQ resource.Quantity
	for _, c := range spec.Containers {
		q, ok := c.Resources.Requests[res]
		if !ok {
			continue
		}
		sum.Add(q)
		parts = append(parts, fmt.Sprintf("%s %s", c.Name, format(res, q)))
		if largest == "" || q.Cmp(largestQ) > 0 {
			largest, largestQ = c.Name, q
		}
	}
	containers := "container " + strings.Join(parts, " + ")
	if len(parts) != 1 {
		containers = "containers " + strings.Join(parts, " + ")
	}
	if total.Cmp(sum) != 0 {
		for _, c := range spec.InitContainers {
			if q, ok := c.Resources.Requests[res]; ok && q.Cmp(total) == 0 {
				why := fmt.Sprintf("init container %s %s", c.Name, format(res, q))
				if len(parts) > 0 {
					why += ", larger than " + containers
				}
				return why, requestPos(w, c.Name, res)
			}
		}
	}
	return containers, requestPos(w, largest, res)
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
	if container == c.Name {
		pos = requestField(r, res)
	}
	for i := range c.Init {
		if ic := &c.Init[i]; ic.Name == container {
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
// pods of a chart or a raw object, the default pool; nil when the
// cluster states none.
func workloadPool(ctx *Context, w *workload) *model.NodePool {
	cl := ctx.Env.Env.Cluster
	if w.Component != nil && w.Component.Pool != "" {
		return cl.Pool(w.Component.Pool)
	}
	return cl.Pool(cl.DefaultPool)
}
