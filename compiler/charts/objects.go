package charts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/kinds"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Objects turns what a chart renders into the objects the rules check,
// each placed at the chart (c.Pos) and named after it. A namespaced
// object without a namespace is in the release's, as Helm installs it;
// a custom resource is namespaced unless cluster (ClusterKinds) holds its
// kind.
func Objects(c *model.Chart, ms []Manifest, cluster map[schema.GroupKind]bool) ([]*model.Object, error) {
	flat := flatten(ms)
	out := make([]*model.Object, len(flat))
	errs := make([]error, len(flat))
	// Decoding a chart's CRDs into their types is most of the work: the
	// objects are decoded side by side, each into its own place.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(flat)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(flat); i = int(next.Add(1)) - 1 {
				out[i], errs[i] = object(c, flat[i], cluster)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %v", flat[i].Template, err)
		}
	}
	return out, nil
}

// ClusterKinds adds to into (made when nil) the kinds that the
// CustomResourceDefinitions among ms and objs define as cluster-scoped.
func ClusterKinds(ms []Manifest, objs []*model.Object, into ...map[schema.GroupKind]bool) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	if len(into) > 0 && into[0] != nil {
		out = into[0]
	}
	for _, m := range flatten(ms) {
		h := m.Head()
		if h.Kind != "CustomResourceDefinition" {
			continue
		}
		group, _ := h.Spec.Group.(string)
		kind, _ := h.Spec.Names.Kind.(string)
		if h.Spec.Scope == "Cluster" {
			out[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	for _, o := range objs {
		if crd, ok := o.Typed.(*apiextensionsv1.CustomResourceDefinition); ok && crd.Spec.Scope == apiextensionsv1.ClusterScoped {
			out[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = true
		}
	}
	return out
}

// flatten replaces each List (kind: List, or any kind ending in List with
// items) by its items, as Helm installs them.
func flatten(ms []Manifest) []Manifest {
	var out []Manifest
	for _, m := range ms {
		h := m.Head()
		kind, _ := h.Kind.(string)
		var items []any
		if strings.HasSuffix(kind, "List") && len(h.Items) > 0 {
			d := json.NewDecoder(bytes.NewReader(h.Items))
			d.UseNumber()
			if d.Decode(&items) != nil {
				items = nil // not a list of items
			}
		}
		if items == nil {
			out = append(out, m)
			continue
		}
		var inner []Manifest
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				inner = append(inner, Manifest{Template: m.Template, Hook: m.Hook, Object: obj})
			}
		}
		out = append(out, flatten(inner)...)
	}
	return out
}

func object(c *model.Chart, m Manifest, clusterCRs map[schema.GroupKind]bool) (*model.Object, error) {
	h := m.Head()
	apiVersion, _ := h.APIVersion.(string)
	kind, _ := h.Kind.(string)
	meta, _ := h.Metadata.(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return nil, fmt.Errorf("an object without apiVersion, kind or metadata.name, which Helm refuses to install")
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", kind, name, err)
	}
	if err := checkLabels(meta); err != nil {
		return nil, fmt.Errorf("%s %s: %v", kind, name, err)
	}
	o := &model.Object{Key: kind + "/" + name, Path: c.Path, APIVersion: apiVersion, Kind: kind, Name: name,
		Group: gv.Group, Pos: c.Pos, Chart: c.Name, Template: m.Template}
	gvk := gv.WithKind(kind)
	sch := kinds.Scheme()
	builtin := kinds.BuiltinGroup(gv.Group)
	namespaced := !clusterCRs[gvk.GroupKind()]
	if builtin {
		if !sch.Recognizes(gvk) {
			return nil, fmt.Errorf("%s %s: Kubernetes serves no kind %s at %s", kind, name, kind, apiVersion)
		}
		namespaced = !kinds.ClusterScoped[kind]
	}
	if namespaced {
		o.Namespace = ns
		if o.Namespace == "" {
			o.Namespace = c.Namespace
		}
	}
	if !builtin {
		fields, err := m.Fields()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", kind, name, err)
		}
		if namespaced && ns != o.Namespace {
			fields["metadata"].(map[string]any)["namespace"] = o.Namespace
		}
		o.Fields = fields
		return o, nil
	}
	typed, _ := sch.New(gvk)
	om, ok := typed.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%s %s: not an object the API server stores", kind, name)
	}
	if m.crd != nil {
		// Decoded in Render; environments that install the chart alike
		// share it, which only read it (a CRD has no namespace to set).
		typed, om, err = m.crd, m.crd, m.crdErr
	} else if m.lazy != nil {
		var crd *apiextensionsv1.CustomResourceDefinition
		if crd, err = crdHead(h); err == nil {
			typed, om = crd, crd
			o.Complete = func() (any, error) {
				full, err := m.lazy()
				if err != nil {
					return nil, fmt.Errorf("%s %s: %v", kind, name, strings.TrimPrefix(err.Error(), "json: "))
				}
				return full, nil
			}
		}
	} else if m.Object != nil {
		var b []byte
		if b, err = json.Marshal(m.Object); err == nil {
			err = json.Unmarshal(b, typed)
		}
	} else {
		err = decodeTyped(m.raw, typed, gvk)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", kind, name, strings.TrimPrefix(err.Error(), "json: "))
	}
	if namespaced && ns != o.Namespace {
		om.SetNamespace(o.Namespace)
	}
	o.Typed = typed
	if spec, _ := model.PodSpec(typed); spec != nil {
		for _, list := range []struct {
			what string
			cs   []corev1.Container
		}{{"init container ", spec.InitContainers}, {"container ", spec.Containers}} {
			for _, ct := range list.cs {
				ref, digest, _ := strings.Cut(ct.Image, "@")
				repo, tag := model.SplitImage(ref)
				o.Images = append(o.Images, model.ObjectImage{Container: list.what + ct.Name, Digest: digest,
					Image: model.Image{Ref: ref, Repository: repo, Tag: tag, Pos: c.Pos}})
			}
		}
	}
	return o, nil
}

// crdHead is the CRD whose head h is, with what the rules read of it
// alone: its metadata, group, kind and scope.
func crdHead(h *head) (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.APIVersion, _ = h.APIVersion.(string)
	crd.Kind, _ = h.Kind.(string)
	b, err := json.Marshal(h.Metadata)
	if err == nil {
		err = json.Unmarshal(b, &crd.ObjectMeta)
	}
	if err != nil {
		return nil, err
	}
	crd.Spec.Group, _ = h.Spec.Group.(string)
	crd.Spec.Names.Kind, _ = h.Spec.Names.Kind.(string)
	scope, _ := h.Spec.Scope.(string)
	crd.Spec.Scope = apiextensionsv1.ResourceScope(scope)
	return crd, nil
}

// checkLabels refuses the labels the API server refuses. A value is not
// repeated, as no label's is: a label is no place for a credential, but
// one a chart writes there is not echoed either.
func checkLabels(meta map[string]any) error {
	labels, _ := meta["labels"].(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			return fmt.Errorf("metadata.labels: key %q: %s, which the API server refuses", k, strings.Join(msgs, "; "))
		}
		v, ok := labels[k].(string)
		if !ok {
			return fmt.Errorf("metadata.labels.%s: not a string, which the API server refuses", k)
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			msg := fmt.Sprintf("metadata.labels.%s: the value is not a label value, which the API server refuses: %s", k, strings.Join(msgs, "; "))
			if strings.Contains(v, "+"+PathRevision) {
				msg += `; helm-controller gives a chart it builds from git the version VERSION+REVISION, and "+" is no label character: write the version in a label as {{ .Chart.Version | replace "+" "_" }}, as helm create's charts do`
			}
			return errors.New(msg)
		}
	}
	return nil
}
