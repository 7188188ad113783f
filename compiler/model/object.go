package model

import (
	"cmp"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Object is a Kubernetes object written in CUE under objects: one that
// gitopsc does not model, rendered as written (its namespace filled in,
// gitopsc's labels added where unset, its pods' images pinned by digest).
type Object struct {
	// Key is its name under objects; Block the namespace whose objects
	// hold it ("" for the system's or the environment's own). An
	// environment's object replaces the system's of the same Block and Key.
	Key, Block string
	// Path is where it is written, for messages:
	// "system.namespaces.monitoring.objects.rules".
	Path       string
	APIVersion string
	Kind       string
	Name       string
	// Namespace is "" for a cluster-scoped object.
	Namespace string
	// Typed is the decoded object of a built-in kind, a pointer to its
	// k8s.io/api type (*appsv1.Deployment); nil for a custom resource.
	// It is shared by the environments: copy it before changing it.
	Typed any
	// Complete, when set, decodes the whole of Typed, which holds only
	// what the rules read: a chart's CRD whose decoding is known to
	// succeed (the decode cache keeps its typed copy) holds its metadata,
	// group, kind and scope, and its schema, most of a chart's bytes, is
	// decoded for what shows the object (diff) alone.
	Complete func() (any, error)
	// Fields is a custom resource as written; nil for a built-in kind.
	Fields map[string]any
	// Group is the API group of APIVersion ("" for the core group).
	Group string
	// Images are the images of its pods' containers, in order.
	Images []ObjectImage
	Pos    Pos
	// Chart is the chart that renders the object, "" for one written
	// under objects; Template is the chart's file it comes from.
	Chart, Template string
}

// ObjectImage is one container image of an object's pods.
type ObjectImage struct {
	// Container is "container NAME" or "init container NAME".
	Container string
	// Image is the reference without a digest written after it, which
	// is Digest ("sha256:...").
	Image
	Digest string
}

// Target is what a waiver names for a finding on the object: "object/KEY",
// or "object/NAMESPACE/KEY" for one under namespaces: NAMESPACE: objects.
func (o *Object) Target() string {
	if o.Chart != "" {
		return "chart/" + o.Chart
	}
	if o.Block != "" {
		return "object/" + o.Block + "/" + o.Key
	}
	return "object/" + o.Key
}

// Identity is what makes two objects the same Kubernetes object: group,
// kind, namespace and name.
func (o *Object) Identity() string {
	return o.Group + "\x00" + o.Kind + "\x00" + o.Namespace + "\x00" + o.Name
}

// ID is the object's identity in messages: "Kind namespace/name", or
// "Kind name" when it is cluster-scoped; a chart's object is prefixed
// with the chart's name: "CHART: Kind namespace/name".
func (o *Object) ID() string {
	id := o.Kind + " " + o.Namespace + "/" + o.Name
	if o.Namespace == "" {
		id = o.Kind + " " + o.Name
	}
	if o.Chart != "" {
		return o.Chart + ": " + id
	}
	return id
}

// SortObjects sorts objects by Block, then Key.
func SortObjects(objs []*Object) {
	slices.SortFunc(objs, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(a.Block, b.Block), cmp.Compare(a.Key, b.Key))
	})
}

// PodSpec is the pod spec of a workload object (a Pod, Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) and the path of its
// manifest where it is written ("spec.template.spec"); nil for another
// object.
func PodSpec(obj any) (spec *corev1.PodSpec, path string) {
	switch t := obj.(type) {
	case *corev1.Pod:
		return &t.Spec, "spec"
	case *appsv1.Deployment:
		return &t.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.StatefulSet:
		return &t.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.DaemonSet:
		return &t.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.ReplicaSet:
		return &t.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.Job:
		return &t.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.CronJob:
		return &t.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec"
	}
	return nil, ""
}
