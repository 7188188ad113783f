package policies

import (
	"fmt"
	"gopkg.in/inf.v0"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

var quotaRules = []*Rule{
	{
		ID: "QUOTA001", Family: "quota", Severity: Error,
		Title: "every container, init containers included, sets cpu and memory requests and limits",
		Rationale: `A namespace with a ResourceQuota on requests or limits refuses any pod
whose containers leave them unset, and a container without limits can
starve its neighbours on the node. Every container, init containers too,
must state cpu and memory requests and limits.`,
		Check: checkContainerResources,
	},
	{
		ID: "QUOTA002", Family: "quota", Severity: Error,
		Title: "limits are at least the requests",
		Rationale: `The API server refuses a container whose request exceeds its limit. The
mistake is cheap to catch before merge and confusing to debug after it.`,
		Check: checkLimitsAboveRequests,
		On:    OnBoth,
	},
	{
		ID: "QUOTA003", Family: "quota", Severity: Error,
		Title: "the worst case of each namespace fits its ResourceQuota",
		Rationale: `Quota admission refuses pods once a namespace's quota is used up, so a
rollout or a scale-up fails at the worst moment. The worst case of each
workload is its replica count (the HPA maximum when autoscaled) plus the
pods a rolling update adds (maxSurge, rounded up as the Deployment
controller rounds it). A Job counts its parallelism (no more than its
completions); a CronJob that many times the runs that can be active at
once: one with concurrency Forbid, two with Replace (the replaced run's
pods count until they have terminated), and with Allow the active
deadline plus the termination grace period over the shortest interval
between scheduled times, rounded up (JOB001 when there is no deadline).
Each pod is counted as Kubernetes counts it (KEP-753): its containers and
sidecars together, or, when that is larger, its largest init container
plus the sidecars started before it.
Their sum must fit requests.cpu, requests.memory, requests.ephemeral-storage,
requests.nvidia.com/gpu, limits.cpu, limits.memory,
limits.ephemeral-storage and pods of the namespace's ResourceQuota, each
that the quota sets.`,
		Check: checkQuotaFits,
	},
	{
		ID: "QUOTA004", Family: "quota", Severity: Warning,
		Title: "every namespace has a ResourceQuota",
		Rationale: `Without a quota one namespace's autoscaler can take the whole node pool
from the others. Set quota in the namespace or in the environment.`,
		Check: checkQuotaPresent,
	},
	{
		ID: "QUOTA005", Family: "quota", Severity: Warning,
		Title: "the namespaces' quotas together fit each node pool",
		Rationale: `Quotas that add up to more than the nodes can allocate promise capacity
that is not there: pods are admitted and then stay Pending. For each node
pool at its maximum size, the quotas of the namespaces whose pods run there
are summed (a namespace with no pods counts on the default pool). A
namespace whose pods run on several pools counts on each with at most its
pods' worst case there, as QUOTA003 counts it. GPUs count on each pool
with gpus (requests.nvidia.com/gpu against gpus × max), for the
namespaces whose quota sets them.`,
		Check: checkNodePool,
	},
	{
		ID: "QUOTA006", Family: "quota", Severity: Error,
		Title: "every pod fits one node of its pool",
		Rationale: `The scheduler places a pod on one node, so a pod whose requests exceed
what one node allocates stays Pending however far the pool scales: the
rollout never finishes and no error says why. Each pod is counted as
Kubernetes counts it (the sum of its containers, or its largest init
container when that is larger) and its cpu and memory requests are
compared with one node of the pool it runs on, and so are its GPUs
(nvidia.com/gpu) with a pool's gpus. The pool's cpu and
memory must be what a node allocates, with the kubelet's and the
system's reservations and eviction threshold already taken off, not the
instance's capacity; what DaemonSets take from each node is not counted.`,
		Check: checkPodFitsNode,
	},
}

func checkContainerResources(ctx *Context) []Finding {
	var fs []Finding
	for _, w := range workloads(ctx) {
		for _, c := range allContainers(w.Template) {
			var missing []string
			for _, kind := range []struct {
				name string
				list corev1.ResourceList
			}{{"requests", c.Resources.Requests}, {"limits", c.Resources.Limits}} {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := kind.list[r]; !ok {
						missing = append(missing, kind.name+"."+string(r))
					}
				}
			}
			if len(missing) > 0 {
				fs = append(fs, Finding{Pos: w.pos(), Target: w.target(), Object: w.object(),
					Message: fmt.Sprintf("container %s sets no %s", c.Name, strings.Join(missing, ", "))})
			}
		}
	}
	return fs
}

func allContainers(t *corev1.PodTemplateSpec) []corev1.Container {
	return append(append([]corev1.Container(nil), t.Spec.InitContainers...), t.Spec.Containers...)
}

func checkLimitsAboveRequests(ctx *Context) []Finding {
	var fs []Finding
	for _, c := range ctx.Env.System.Components {
		check := func(name string, r model.Resources) {
			for _, p := range []struct {
				what     string
				req, lim string
				limPos   model.Pos
			}{
				{"cpu", r.Requests.CPU, r.Limits.CPU, r.Limits.CPUPos},
				{"memory", r.Requests.Memory, r.Limits.Memory, r.Limits.MemoryPos},
				{"ephemeral-storage", or(r.Requests.Ephemeral, render.DefaultEphemeralRequest), or(r.Limits.Ephemeral, render.DefaultEphemeralLimit), limitOrRequest(r)},
			} {
				req, err1 := resource.ParseQuantity(p.req)
				lim, err2 := resource.ParseQuantity(p.lim)
				if err1 == nil && err2 == nil && lim.Cmp(req) < 0 {
					pos := p.limPos
					if !pos.IsValid() {
						pos = r.Pos
					}
					fs = append(fs, Finding{Pos: pos, Target: c.Name, Object: "container " + name,
						Message: fmt.Sprintf("container %s: %s limit %s is below its request %s", name, p.what, p.lim, p.req)})
				}
			}
		}
		check(c.ObjectName, c.Resources)
		for _, ic := range c.Containers() {
			check(ic.Name, ic.Resources)
		}
	}
	return fs
}

// PodUsage is what one pod counts against a quota and asks of a node, per
// resource, as Kubernetes computes it with native sidecars (KEP-753,
// "Resources calculation for scheduling and pod admission"):
//
//	InitContainerUse(i) = Sum(sidecars with index < i) + InitContainer(i)
//	PodUsage = Max(Max(each InitContainerUse), Sum(sidecars) + Sum(containers))
//
// A sidecar (an init container with restartPolicy Always) keeps running
// from its start, so it adds to every init container after it and to the
// running pod; an init container runs alone beside the sidecars started
// before it. Limits are computed the same way.
func PodUsage(spec *corev1.PodSpec) (requests, limits corev1.ResourceList) {
	requests, limits = corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range spec.Containers {
		addTo(requests, c.Resources.Requests)
		addTo(limits, c.Resources.Limits)
	}
	sidecarReq, sidecarLim := corev1.ResourceList{}, corev1.ResourceList{}
	initReq, initLim := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addTo(sidecarReq, c.Resources.Requests)
			addTo(sidecarLim, c.Resources.Limits)
			continue
		}
		req, lim := corev1.ResourceList{}, corev1.ResourceList{}
		addTo(req, c.Resources.Requests)
		addTo(req, sidecarReq)
		addTo(lim, c.Resources.Limits)
		addTo(lim, sidecarLim)
		maxInto(initReq, req)
		maxInto(initLim, lim)
	}
	addTo(requests, sidecarReq)
	addTo(limits, sidecarLim)
	maxInto(requests, initReq)
	maxInto(limits, initLim)
	return requests, limits
}

func addTo(dst, src corev1.ResourceList) {
	for k, v := range src {
		q := dst[k]
		q.Add(v)
		dst[k] = q
	}
}

func maxInto(dst, src corev1.ResourceList) {
	for k, v := range src {
		if q, ok := dst[k]; !ok || v.Cmp(q) > 0 {
			dst[k] = v.DeepCopy()
		}
	}
}

// quotaResources are the ResourceQuota keys checked, in report order.
var quotaResources = []corev1.ResourceName{
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage, render.RequestsGPU,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage, corev1.ResourcePods,
}

type contribution struct {
	w      *workload
	pods   int
	perPod resource.Quantity
	total  resource.Quantity
}

func checkQuotaFits(ctx *Context) []Finding {
	quotas := map[string]*corev1.ResourceQuota{}
	for _, o := range ctx.Output.Objects {
		if q, ok := o.Obj.(*corev1.ResourceQuota); ok {
			quotas[q.Namespace] = q
		}
	}
	byNS := map[string][]*workload{}
	for _, w := range workloads(ctx) {
		byNS[w.Namespace] = append(byNS[w.Namespace], w)
	}
	var fs []Finding
	for _, ns := range ctx.Env.System.Namespaces {
		q := quotas[ns.Name]
		if q == nil {
			continue
		}
		for _, res := range quotaResources {
			hard, ok := q.Spec.Hard[res]
			if !ok {
				continue
			}
			var contribs []contribution
			var sum resource.Quantity
			for _, w := range byNS[ns.Name] {
				pods := w.Replicas + w.Surge
				var per resource.Quantity
				if res == corev1.ResourcePods {
					per = *resource.NewQuantity(1, resource.DecimalSI)
				} else {
					req, lim := w.usage()
					list := req
					if strings.HasPrefix(string(res), "limits.") {
						list = lim
					}
					per = list[corev1.ResourceName(strings.TrimPrefix(strings.TrimPrefix(string(res), "requests."), "limits."))]
				}
				total := mul(per, pods)
				sum.Add(total)
				contribs = append(contribs, contribution{w: w, pods: pods, perPod: per, total: total})
			}
			if sum.Cmp(hard) <= 0 {
				continue
			}
			sort.SliceStable(contribs, func(i, j int) bool { return contribs[i].total.Cmp(contribs[j].total) > 0 })
			var parts []string
			for _, c := range contribs {
				if c.total.IsZero() {
					continue // asks for none: a pod without GPUs
				}
				count := fmt.Sprint(c.w.Replicas)
				if c.w.Autoscaled {
					count = fmt.Sprintf("HPA max %d", c.w.Replicas)
				}
				if c.w.Surge > 0 {
					count += fmt.Sprintf(" + %d surge", c.w.Surge)
				}
				if c.w.Runs != nil {
					count = c.w.Runs.count()
				}
				share := 0.0
				if v := sum.AsApproximateFloat64(); v > 0 {
					share = c.total.AsApproximateFloat64() * 100 / v
				}
				if res == corev1.ResourcePods {
					parts = append(parts, fmt.Sprintf("%s %s = %d pods (%.0f%%)", c.w.Name, count, c.pods, share))
				} else {
					parts = append(parts, fmt.Sprintf("%s (%s) × %s = %s (%.0f%%)", c.w.Name, count, format(res, c.perPod), format(res, c.total), share))
				}
			}
			pos := ns.Pos
			if ns.Quota != nil {
				pos = ns.Quota.Pos
			}
			fs = append(fs, Finding{Pos: pos, Target: "namespace/" + ns.Name, Object: "ResourceQuota " + ns.Name + "/" + q.Name,
				Message: fmt.Sprintf("namespace %s: worst case %s %s exceeds the quota %s by %s: %s",
					ns.Name, res, format(res, sum), format(res, hard), format(res, sub(sum, hard)), strings.Join(parts, "; "))})
		}
	}
	return fs
}

// mul is q × n, exactly: 2147483647 replicas of 64Mi overflow int64
// millis, and a wrapped product would pass the quota.
func mul(q resource.Quantity, n int) resource.Quantity {
	p := new(inf.Dec).Mul(q.AsDec(), inf.NewDec(int64(n), 0))
	return *resource.NewDecimalQuantity(*p, q.Format)
}

func sub(a, b resource.Quantity) resource.Quantity {
	c := a.DeepCopy()
	c.Sub(b)
	return c
}

// format prints cpu in millicores or cores, memory in binary units, pods
// as a count.
func format(res corev1.ResourceName, q resource.Quantity) string {
	if _, ok := q.AsDec().Unscaled(); !ok || q.AsApproximateFloat64() > 1e15 {
		// Too large for the units below without wrapping.
		return q.String()
	}
	switch {
	case res == corev1.ResourcePods || res == render.RequestsGPU:
		return fmt.Sprint(q.Value())
	case strings.HasSuffix(string(res), "cpu"):
		m := q.MilliValue()
		if m%1000 == 0 {
			return fmt.Sprint(m / 1000)
		}
		return fmt.Sprintf("%dm", m)
	default:
		v := q.Value()
		for _, u := range []struct {
			suffix string
			size   int64
		}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
			if v%u.size == 0 && v >= u.size {
				return fmt.Sprintf("%d%s", v/u.size, u.suffix)
			}
		}
		return fmt.Sprint(v)
	}
}

func checkQuotaPresent(ctx *Context) []Finding {
	var fs []Finding
	for _, ns := range ctx.Env.System.Namespaces {
		if ns.Quota == nil {
			fs = append(fs, Finding{Pos: ns.Pos, Target: "namespace/" + ns.Name, Object: "Namespace " + ns.Name,
				Message: fmt.Sprintf("namespace %s has no quota", ns.Name)})
		}
	}
	return fs
}

func checkNodePool(ctx *Context) []Finding {
	cl := ctx.Env.Env.Cluster
	// Where each namespace's pods run, and their worst case on each pool
	// as QUOTA003 counts it (requests only: nodes allocate requests).
	on := map[string]map[string]corev1.ResourceList{}
	for _, w := range workloads(ctx) {
		np := workloadPool(ctx, w)
		if np == nil {
			continue
		}
		if on[w.Namespace] == nil {
			on[w.Namespace] = map[string]corev1.ResourceList{}
		}
		if on[w.Namespace][np.Name] == nil {
			on[w.Namespace][np.Name] = corev1.ResourceList{}
		}
		pods := w.Replicas + w.Surge
		req, _ := w.usage()
		addTo(on[w.Namespace][np.Name], corev1.ResourceList{
			corev1.ResourceRequestsCPU:    mul(req[corev1.ResourceCPU], pods),
			corev1.ResourceRequestsMemory: mul(req[corev1.ResourceMemory], pods),
			render.RequestsGPU:            mul(req[render.ResourceGPU], pods),
			corev1.ResourcePods:           *resource.NewQuantity(int64(pods), resource.DecimalSI),
		})
	}
	var fs []Finding
	for _, np := range cl.Pools {
		fs = append(fs, poolQuotas(ctx, np, on)...)
	}
	return fs
}

// poolQuotas compares with np the quotas of the namespaces whose pods
// run there; a namespace with no pods yet counts against the default
// pool. A namespace whose pods run on several pools counts on each no
// more than its pods there ask for at worst, since its quota is shared.
func poolQuotas(ctx *Context, np *model.NodePool, on map[string]map[string]corev1.ResourceList) []Finding {
	capacity := map[corev1.ResourceName]resource.Quantity{}
	if q, err := resource.ParseQuantity(np.CPU); err == nil {
		capacity[corev1.ResourceRequestsCPU] = mul(q, np.Max)
	}
	if q, err := resource.ParseQuantity(np.Memory); err == nil {
		capacity[corev1.ResourceRequestsMemory] = mul(q, np.Max)
	}
	if np.Pods > 0 {
		capacity[corev1.ResourcePods] = *resource.NewQuantity(int64(np.Pods)*int64(np.Max), resource.DecimalSI)
	}
	if np.GPUs > 0 {
		capacity[render.RequestsGPU] = *resource.NewQuantity(int64(np.GPUs)*int64(np.Max), resource.DecimalSI)
	}
	var fs []Finding
	for _, res := range []corev1.ResourceName{corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, render.RequestsGPU, corev1.ResourcePods} {
		cp, ok := capacity[res]
		if !ok {
			continue
		}
		var sum resource.Quantity
		var parts []string
		for _, ns := range ctx.Env.System.Namespaces {
			if ns.Quota == nil {
				continue
			}
			pools := on[ns.Name]
			if len(pools) == 0 {
				pools = map[string]corev1.ResourceList{ctx.Env.Env.Cluster.DefaultPool: nil}
			}
			if _, here := pools[np.Name]; !here {
				continue
			}
			var v string
			switch res {
			case corev1.ResourceRequestsCPU:
				v = ns.Quota.RequestsCPU
			case corev1.ResourceRequestsMemory:
				v = ns.Quota.RequestsMemory
			case render.RequestsGPU:
				if ns.Quota.RequestsGPU == nil {
					continue
				}
				v = fmt.Sprint(*ns.Quota.RequestsGPU)
			default:
				if ns.Quota.Pods == 0 {
					continue
				}
				v = fmt.Sprint(ns.Quota.Pods)
			}
			q, err := resource.ParseQuantity(v)
			if err != nil {
				continue
			}
			part := fmt.Sprintf("%s %s", ns.Name, format(res, q))
			if worst, ok := pools[np.Name][res]; len(pools) > 1 && ok && worst.Cmp(q) < 0 {
				part = fmt.Sprintf("%s %s (of its quota %s; its pods run on %d pools)", ns.Name, format(res, worst), format(res, q), len(pools))
				q = worst
			}
			sum.Add(q)
			parts = append(parts, part)
		}
		if sum.Cmp(cp) > 0 {
			what := ""
			if !np.Shorthand {
				what = "pool " + np.Name + ": "
			}
			fs = append(fs, Finding{Pos: np.Pos, Target: "environment",
				Message: fmt.Sprintf("%squotas ask for %s %s (%s) but %s %s", what, res, format(res, sum), strings.Join(parts, " + "), poolAllocates(np), format(res, cp))})
		}
	}
	return fs
}

// poolAllocates is "1 node of SHAPE allocates" or "N nodes of SHAPE
// allocate".
func poolAllocates(np *model.NodePool) string {
	if np.Max == 1 {
		return "1 node of " + nodeShape(np) + " allocates"
	}
	return fmt.Sprintf("%d nodes of %s allocate", np.Max, nodeShape(np))
}

func nodeShape(np *model.NodePool) string {
	s := np.CPU + " cpu, " + np.Memory
	if np.Pods > 0 {
		s += fmt.Sprintf(", %d pods", np.Pods)
	}
	if np.InstanceType != "" {
		s = np.InstanceType + " (" + s + ")"
	}
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// limitOrRequest is where the input wrote ephemeral storage: its limit,
// else its request (a request over the default limit).
func limitOrRequest(r model.Resources) model.Pos {
	if r.Limits.EphemeralPos.IsValid() {
		return r.Limits.EphemeralPos
	}
	return r.Requests.EphemeralPos
}
