package render

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// AnnotationForce has Flux delete and re-create an object whose change
// the API server refuses as immutable: a Job's pod template cannot be
// changed in place, so a Job whose template changed is run again.
const AnnotationForce = "kustomize.toolkit.fluxcd.io/force"

// job renders the Job, or the CronJob, of a component that runs to
// completion, around the pod template every workload gets. Its pods take
// no probes: the loader refuses written ones, and the defaults the pod
// template gives a component with ports are taken off here.
//
// A replacement pod is started only once the one it replaces has fully
// terminated (podReplacementPolicy Failed), so a run never has more than
// parallelism pods counting against the namespace's quota: a terminating
// pod still counts until its grace period ends.
func (rd *renderer) job(c *model.Component, meta metav1.ObjectMeta, pod corev1.PodTemplateSpec, obj objFunc) {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == c.ObjectName {
			ct := &pod.Spec.Containers[i]
			ct.ReadinessProbe, ct.LivenessProbe, ct.StartupProbe = nil, nil, nil
		}
	}
	pod.Spec.RestartPolicy = corev1.RestartPolicy(c.Job.RestartPolicy)
	spec := batchv1.JobSpec{
		Parallelism:             c.Job.Parallelism,
		Completions:             c.Job.Completions,
		BackoffLimit:            c.Job.BackoffLimit,
		TTLSecondsAfterFinished: c.Job.TTLSecondsAfterFinished,
		PodReplacementPolicy:    podReplacement(rd.env.Cluster),
		Template:                pod,
	}
	if d := c.Job.ActiveDeadlineSeconds; d != nil {
		spec.ActiveDeadlineSeconds = ptr(int64(*d))
	}
	if c.Kind == model.Job {
		meta.Annotations = map[string]string{AnnotationForce: "enabled"}
		obj("batch/v1", "Job", c.ObjectName, c.Pos, &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: meta,
			Spec:       spec,
		})
		return
	}
	s := c.Schedule
	cj := &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: meta,
		Spec: batchv1.CronJobSpec{
			Schedule:                   s.Cron,
			ConcurrencyPolicy:          batchv1.ConcurrencyPolicy(s.Concurrency),
			Suspend:                    ptr(s.Suspend),
			SuccessfulJobsHistoryLimit: s.SuccessfulJobsHistoryLimit,
			FailedJobsHistoryLimit:     s.FailedJobsHistoryLimit,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(meta.Labels)},
				Spec:       spec,
			},
		},
	}
	if s.TimeZone != "" {
		cj.Spec.TimeZone = ptr(s.TimeZone)
	}
	if d := s.StartingDeadlineSeconds; d != nil {
		cj.Spec.StartingDeadlineSeconds = ptr(int64(*d))
	}
	obj("batch/v1", "CronJob", c.ObjectName, c.Pos, cj)
}

// podReplacement is a Job's podReplacementPolicy, Failed: a replacement
// pod starts once the failed one is gone, never beside it, so a run never
// counts more pods against the quota than its parallelism. The field is
// on from Kubernetes 1.29 (JobPodReplacementPolicy); an older API server
// would drop it, or refuse it as unknown, so it is left out there.
func podReplacement(cl model.Cluster) *batchv1.PodReplacementPolicy {
	if !cl.HasMinor(29) {
		return nil
	}
	return ptr(batchv1.Failed)
}
