package render

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// rawObjects renders the objects written under objects: in the folder of
// their namespace when the system owns it, else in platform (cluster-scoped
// objects, and those of namespaces such as kube-system), as written but
// for their namespace filled in, gitopsc's labels added where unset, and
// their pods' images pinned by digest like the components'.
func (rd *renderer) rawObjects() {
	chartKinds := rd.chartKinds()
	chartNamespaces := map[string]bool{}
	for _, c := range rd.sys.Charts {
		chartNamespaces[c.Namespace] = true
	}
	for _, o := range rd.sys.Objects {
		layer := LayerPlatform
		if o.Namespace != "" && rd.sys.Namespace(o.Namespace) != nil {
			layer = o.Namespace
		}
		if layer != LayerPlatform && o.Group == "networking.k8s.io" && o.Kind == "NetworkPolicy" && chartNamespaces[layer] {
			// A chart's pods start under the namespace's default deny,
			// which platform holds: the ways out written for them come
			// with it, before Helm installs them and waits for them.
			layer = LayerPlatform
		}
		if layer == LayerPlatform && chartKinds[o.Group+"/"+o.Kind] {
			// Its CRD comes with a chart, which the platform layer
			// comes before.
			layer = LayerConfigs
		}
		var obj any
		var complete func() (any, error)
		if o.Typed != nil {
			var c runtime.Object
			if crd, ok := o.Typed.(*apiextensionsv1.CustomResourceDefinition); ok {
				// Its schema, most of a chart's bytes, is only read from
				// here on: the metadata alone is copied, to be changed.
				cp := *crd
				crd.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
				c = &cp
				if o.Complete != nil {
					complete = func() (any, error) {
						full, err := o.Complete()
						if err != nil {
							return nil, err
						}
						whole := *full.(*apiextensionsv1.CustomResourceDefinition)
						whole.ObjectMeta = cp.ObjectMeta
						return &whole, nil
					}
				}
			} else {
				c = o.Typed.(runtime.Object).DeepCopyObject()
			}
			m := c.(metav1.Object)
			m.SetNamespace(o.Namespace)
			m.SetLabels(rd.rawLabels(m.GetLabels()))
			rd.pinPods(c, o)
			obj = c
		} else {
			c := runtime.DeepCopyJSON(o.Fields)
			meta, _ := c["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				c["metadata"] = meta
			}
			if o.Namespace != "" {
				meta["namespace"] = o.Namespace
			}
			labels := map[string]string{}
			if l, ok := meta["labels"].(map[string]any); ok {
				for k, v := range l {
					labels[k], _ = v.(string)
				}
			}
			out := map[string]any{}
			for k, v := range rd.rawLabels(labels) {
				out[k] = v
			}
			meta["labels"] = out
			obj = c
		}
		ro := &Object{Layer: layer, APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
			Obj: obj, Complete: complete, Pos: o.Pos, Source: o}
		if o.Chart != "" {
			// Helm installs it: gitopsc checks it and writes nothing.
			ro.Layer = ChartLayer(o.Chart)
			rd.charted = append(rd.charted, ro)
			continue
		}
		rd.add(ro)
	}
}

// ChartLayer is what the Layer of a chart's object says: it is in no
// folder, Helm installs it.
func ChartLayer(chart string) string { return "chart " + chart }

// chartKinds are the group/kind of each custom resource a chart's CRDs
// define.
func (rd *renderer) chartKinds() map[string]bool {
	out := map[string]bool{}
	for _, o := range rd.sys.Objects {
		if crd, ok := o.Typed.(*apiextensionsv1.CustomResourceDefinition); ok && o.Chart != "" {
			out[crd.Spec.Group+"/"+crd.Spec.Names.Kind] = true
		}
	}
	return out
}

// rawLabels are an object's labels with gitopsc's own added where unset.
func (rd *renderer) rawLabels(l map[string]string) map[string]string {
	out := map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy}
	for k, v := range l {
		out[k] = v
	}
	return out
}

// pinPods pins the images of a workload's pod template by the lock's
// digests, in the order the loader listed them.
func (rd *renderer) pinPods(obj runtime.Object, o *model.Object) {
	spec, _ := model.PodSpec(obj)
	if spec == nil {
		return
	}
	i := 0
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for j := range list {
			if i < len(o.Images) {
				list[j].Image = rd.pinWritten(o.Images[i], o.Path+" "+o.Images[i].Container)
			}
			i++
		}
	}
}

// pinWritten pins a raw object's image like a component's; one written
// with a digest keeps it, which must be the one the lock records for its
// tag.
func (rd *renderer) pinWritten(img model.ObjectImage, what string) string {
	if img.Digest == "" {
		return rd.pin(img.Image, what)
	}
	if e, ok := rd.facts.Lookup(img.Ref); ok && e.Digest != img.Digest {
		rd.errs.Add(img.Pos, "%s: image %s is written with digest %s, but %s records %s for that tag; write the lock's digest, or leave the digest out and let gitopsc pin it", what, img.Ref, img.Digest, images.LockFile, e.Digest)
	}
	return img.Ref + "@" + img.Digest
}
