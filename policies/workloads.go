package policies

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// workload is a rendered Deployment, StatefulSet, Job or CronJob, or a
// DaemonSet, ReplicaSet or Pod written under objects, with what the rules
// need to know of it.
type workload struct {
	Kind, Namespace, Name string
	Obj                   *render.Object
	Component             *model.Component
	Template              *corev1.PodTemplateSpec
	// Replicas is the fixed count, or the HPA maximum when autoscaled.
	Replicas   int
	Autoscaled bool
	// Surge is how many extra pods a rolling update may add at Replicas.
	Surge int
	// Runs is set for a Job or CronJob (job.go): Replicas is then the
	// pods of its runs at once, and Surge 0.
	Runs *runs
	// requests and limits are what one pod asks for (PodUsage), once
	// asked: the quota rules ask for each resource they check.
	requests, limits corev1.ResourceList
}

// usage is PodUsage of w's pods, computed once. The lists are shared:
// callers read them.
func (w *workload) usage() (requests, limits corev1.ResourceList) {
	if w.requests == nil {
		w.requests, w.limits = PodUsage(&w.Template.Spec)
	}
	return w.requests, w.limits
}

func (w *workload) object() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// target is what a waiver of a finding on w names: its component's Name
// (TENANT/NAME for a tenant's), else the object's name.
func (w *workload) target() string {
	if w.Component != nil {
		return w.Component.Name
	}
	return w.Name
}

// pos is the component's position, or the object's.
func (w *workload) pos() model.Pos {
	if w.Component != nil {
		return w.Component.Pos
	}
	return w.Obj.Pos
}

// workloads lists the rendered workloads in output order, with HPA
// maxima applied and the rolling-update surge rounded up as the
// Deployment controller rounds it. A dozen rules read the list: it is
// made once per context, and read only.
func workloads(ctx *Context) []*workload {
	if ctx.workloads == nil {
		ctx.workloads = listWorkloads(ctx)
	}
	return ctx.workloads
}

func listWorkloads(ctx *Context) []*workload {
	hpaMax := map[string]int{}
	for _, o := range ctx.Output.Objects {
		switch h := o.Obj.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpaMax[h.Namespace+"/"+h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name] = int(h.Spec.MaxReplicas)
		case *autoscalingv1.HorizontalPodAutoscaler: // written under objects
			hpaMax[h.Namespace+"/"+h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name] = int(h.Spec.MaxReplicas)
		}
	}
	var out []*workload
	for _, o := range ctx.Output.Objects {
		var w *workload
		switch t := o.Obj.(type) {
		case *appsv1.Deployment:
			w = &workload{Kind: "Deployment", Namespace: t.Namespace, Name: t.Name, Obj: o, Template: &t.Spec.Template, Replicas: replicas(t.Spec.Replicas)}
			if max, ok := hpaMax[t.Namespace+"/Deployment/"+t.Name]; ok {
				w.Replicas, w.Autoscaled = max, true
			}
			if ru := t.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
				w.Surge = scaled(ru.MaxSurge, w.Replicas, true)
			} else if t.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				def := intstr.FromString("25%")
				w.Surge = scaled(&def, w.Replicas, true)
			}
		case *appsv1.StatefulSet:
			// A StatefulSet replaces pods one at a time: no surge.
			w = &workload{Kind: "StatefulSet", Namespace: t.Namespace, Name: t.Name, Obj: o, Template: &t.Spec.Template, Replicas: replicas(t.Spec.Replicas)}
			if max, ok := hpaMax[t.Namespace+"/StatefulSet/"+t.Name]; ok {
				w.Replicas, w.Autoscaled = max, true
			}
		case *appsv1.DaemonSet:
			// One pod per node, with one more per node while a rolling
			// update surges.
			n := daemonNodes(ctx.Env.Env, &t.Spec.Template.Spec)
			w = &workload{Kind: "DaemonSet", Namespace: t.Namespace, Name: t.Name, Obj: o, Template: &t.Spec.Template, Replicas: n}
			if ru := t.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
				w.Surge = scaled(ru.MaxSurge, n, true)
			}
		case *appsv1.ReplicaSet:
			w = &workload{Kind: "ReplicaSet", Namespace: t.Namespace, Name: t.Name, Obj: o, Template: &t.Spec.Template, Replicas: replicas(t.Spec.Replicas)}
			if max, ok := hpaMax[t.Namespace+"/ReplicaSet/"+t.Name]; ok {
				w.Replicas, w.Autoscaled = max, true
			}
		case *corev1.Pod:
			w = &workload{Kind: "Pod", Namespace: t.Namespace, Name: t.Name, Obj: o,
				Template: &corev1.PodTemplateSpec{ObjectMeta: t.ObjectMeta, Spec: t.Spec}, Replicas: 1}
		case *batchv1.Job:
			w = jobWorkload(o, "Job", &t.Spec, nil)
		case *batchv1.CronJob:
			w = jobWorkload(o, "CronJob", &t.Spec.JobTemplate.Spec, &t.Spec)
		default:
			continue
		}
		w.Component = ctx.Env.System.Component(o.Component)
		out = append(out, w)
	}
	if out == nil {
		out = []*workload{}
	}
	return out
}

// daemonNodes is how many nodes a DaemonSet's pods run on at most: the
// maxima of the pools whose nodes its nodeSelector matches and whose
// taints it tolerates, or 1 when the environment describes no pool.
func daemonNodes(env *model.Environment, spec *corev1.PodSpec) int {
	if env == nil || len(env.Cluster.Pools) == 0 {
		return 1
	}
	n := 0
	for _, p := range env.Cluster.Pools {
		if runsOn(p, spec) {
			n += p.Max
		}
	}
	return n
}

// runsOn reports whether pods of spec may run on the nodes of pool p: its
// nodeSelector matches their labels (the pool's, and kubernetes.io/arch),
// and it tolerates each of their NoSchedule and NoExecute taints.
func runsOn(p *model.NodePool, spec *corev1.PodSpec) bool {
	labels := map[string]string{}
	for _, l := range p.Labels {
		labels[l.Key] = l.Value
	}
	for k, v := range spec.NodeSelector {
		if k == "kubernetes.io/arch" {
			if !slices.Contains(p.Arch, v) {
				return false
			}
			continue
		}
		if labels[k] != v {
			return false
		}
	}
	for _, t := range p.Taints {
		if t.Effect == string(corev1.TaintEffectPreferNoSchedule) {
			continue
		}
		taint := corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)}
		if !slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool { return tolerates(tol, taint) }) {
			return false
		}
	}
	return true
}

func replicas(p *int32) int {
	if p == nil {
		return 1
	}
	return int(*p)
}

// scaled resolves an int-or-percent against total, rounding a percentage
// up or down as the Deployment controller does (surge up, unavailable down).
func scaled(v *intstr.IntOrString, total int, up bool) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, up)
	if err != nil {
		return 0
	}
	return n
}

// tolerates reports whether tol tolerates taint, as the scheduler
// matches them: the effect (or any), the key (or any with Exists), and
// for Equal the value.
func tolerates(tol corev1.Toleration, taint corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Key != "" && tol.Value == taint.Value
	}
	return false
}
