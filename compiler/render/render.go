// Package render turns a resolved environment into the Kubernetes and Flux
// objects gitopsc writes: a platform layer (namespaces, quotas, default-deny
// policies), one layer per namespace (workloads, services, policies, ...)
// and a flux layer of Kustomizations that applies them in order.
package render

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Layer names besides the namespace layers.
const (
	LayerFlux     = "flux"
	LayerPlatform = "platform"
)

// Labels and annotations gitopsc sets.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelVersion   = "app.kubernetes.io/version"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelNamespace = "kubernetes.io/metadata.name"
	// LabelTenant marks a tenant's namespace with the tenant's name.
	LabelTenant = "gitopsc.dev/tenant"
	LabelArch   = "kubernetes.io/arch"
	ManagedBy   = "gitopsc"

	AnnotationPrune    = "kustomize.toolkit.fluxcd.io/prune"
	AnnotationChecksum = "gitopsc.dev/config-checksum"
	// AnnotationFilesChecksum is on the pod template of a component with
	// files: a change of their content rolls its pods.
	AnnotationFilesChecksum = "gitopsc.dev/files-checksum"
)

// Object is one rendered manifest.
type Object struct {
	Layer      string // LayerFlux, LayerPlatform or a namespace name
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Obj is the typed object; nil for a file copied verbatim.
	Obj any
	// Complete, when set, gives the whole of Obj, which holds only what
	// the rules read of it (see model.Object.Complete): the object
	// decoded whole, with Obj's metadata.
	Complete func() (any, error)
	// Raw is the exact content of a copied file (a SOPS-encrypted Secret).
	Raw []byte
	// Component is the component the object belongs to, if any.
	Component string
	// Pos is the CUE field the object comes from.
	Pos model.Pos
	// Source is the raw object (under objects) it is rendered from, if any.
	Source *model.Object
}

// Whole is the object whole: Obj, or what Complete gives when Obj holds
// only what the rules read. What shows or applies an object reads it.
func (o *Object) Whole() (any, error) {
	if o.Complete != nil {
		return o.Complete()
	}
	return o.Obj, nil
}

// FileName is the object's file inside its layer folder:
// "<kind>-<name>.yaml". The platform and infrastructure layers hold
// objects of every namespace, so there the namespace is part of the name:
// "<kind>-<namespace>-<name>.yaml".
func (o *Object) FileName() string {
	if layerRank(o.Layer) != "9" && o.Layer != LayerFlux && o.Namespace != "" {
		return strings.ToLower(o.Kind) + "-" + o.Namespace + "-" + o.Name + ".yaml"
	}
	return strings.ToLower(o.Kind) + "-" + o.Name + ".yaml"
}

// ID identifies an object across renders: group/kind/namespace/name.
func (o *Object) ID() string {
	group := o.APIVersion
	if i := strings.LastIndexByte(group, '/'); i >= 0 {
		group = group[:i]
	} else {
		group = ""
	}
	return group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Output is everything rendered for one environment.
type Output struct {
	Env     *model.Resolved
	Objects []*Object // sorted by layer, kind, namespace, name
	// Charted are the objects charts render, which Helm installs and
	// gitopsc checks without writing them; Layer is ChartLayer's.
	Charted []*Object
	// Needs are what the target must have, set by a renderer that says
	// so itself (Compose's); Prerequisites derives them otherwise.
	Needs []string
	// Notes say what the target does differently from a cluster, one
	// line each, for build to print.
	Notes []string
}

// Layers returns the layer names in the order Flux applies them: flux,
// platform, infrastructure and its configs when there are charts, then
// the namespace layers by name.
func (o *Output) Layers() []string {
	seen := map[string]bool{}
	var ns []string
	for _, obj := range o.Objects {
		if !seen[obj.Layer] && layerRank(obj.Layer) == "9" {
			ns = append(ns, obj.Layer)
		}
		seen[obj.Layer] = true
	}
	sort.Strings(ns)
	out := []string{LayerFlux, LayerPlatform}
	for _, l := range []string{LayerInfrastructure, LayerConfigs} {
		if seen[l] {
			out = append(out, l)
		}
	}
	return append(out, ns...)
}

// Checked are the objects the rules check: those written and those
// charts render.
func (o *Output) Checked() []*Object {
	if len(o.Charted) == 0 {
		return o.Objects
	}
	return append(append(make([]*Object, 0, len(o.Objects)+len(o.Charted)), o.Objects...), o.Charted...)
}

// layerRank orders layers as Flux applies them; every namespace layer
// ranks "9".
func layerRank(l string) string {
	switch l {
	case LayerFlux:
		return "0"
	case LayerPlatform:
		return "1"
	case LayerInfrastructure:
		return "2"
	case LayerConfigs:
		return "3"
	}
	return "9"
}

// Render renders one resolved environment. Images are pinned by the
// digests in facts; an image the lock does not know is rendered by its
// tag alone, for the image rules to report (IMG005) and build to refuse.
func Render(r *model.Resolved, facts images.Facts) (*Output, error) {
	rd := &renderer{r: r, sys: r.System, env: r.Env, facts: facts, errs: &diag.List{}}
	rd.platform()
	for _, c := range rd.sys.Components {
		rd.component(c)
	}
	rd.monitoring()
	rd.secrets()
	rd.rawObjects()
	rd.charts()
	rd.flux()
	if err := rd.errs.Err(); err != nil {
		return nil, err
	}
	out := &Output{Env: r, Objects: rd.objects, Charted: rd.charted}
	sortObjects(out.Objects)
	var clash diag.List
	for i := 1; i < len(out.Objects); i++ {
		a, b := out.Objects[i-1], out.Objects[i]
		if a.Layer != b.Layer || a.FileName() != b.FileName() {
			continue
		}
		raw, other := b, a
		if a.Source != nil && b.Source == nil {
			raw, other = a, b
		}
		if raw.Source == nil {
			clash.Add(b.Pos, "environments.%s: two objects render to %s/%s; rename one of them", r.Env.Name, b.Layer, b.FileName())
			continue
		}
		by := "gitopsc"
		switch {
		case other.Source != nil:
			by = other.Source.Path
		case other.Component != "":
			by = "gitopsc for component " + other.Component
		}
		clash.Add(raw.Pos, "%s: %s is also rendered by %s (environments.%s, %s/%s); write each object once", raw.Source.Path, raw.Source.ID(), by, r.Env.Name, b.Layer, b.FileName())
	}
	owners := map[string]string{}
	for _, o := range out.Objects {
		switch {
		case o.Source != nil:
			owners[o.ID()] = o.Source.Path
		case o.Component != "":
			owners[o.ID()] = "gitopsc for component " + o.Component
		default:
			owners[o.ID()] = "gitopsc"
		}
	}
	for _, o := range out.Charted {
		by, taken := owners[o.ID()]
		if taken {
			clash.Add(o.Pos, "%s: chart %s renders %s, which %s renders too (environments.%s); Helm and Flux would both own it: rename one, or leave it out through the chart's values", o.Source.Path, o.Source.Chart, o.Source.ID()[len(o.Source.Chart)+2:], by, r.Env.Name)
			continue
		}
		owners[o.ID()] = "chart " + o.Source.Chart
	}
	if err := clash.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func sortObjects(objs []*Object) {
	rank := func(l string) string { return layerRank(l) + l }
	// Keys are computed once: building file names in the comparison cost
	// more than the sort itself on large systems. The sort moves indices,
	// not keys: moving structs of strings cost a write barrier each.
	type key struct{ rank, file string }
	ks := make([]key, len(objs))
	idx := make([]int32, len(objs))
	for i, o := range objs {
		ks[i] = key{rank(o.Layer), o.FileName()}
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		return cmp.Or(strings.Compare(ks[a].rank, ks[b].rank), strings.Compare(ks[a].file, ks[b].file))
	})
	sorted := make([]*Object, len(objs))
	for i, j := range idx {
		sorted[i] = objs[j]
	}
	copy(objs, sorted)
}

type renderer struct {
	r       *model.Resolved
	sys     *model.System
	env     *model.Environment
	facts   images.Facts
	errs    *diag.List
	objects []*Object
	charted []*Object
	// The label maps of a component's objects and selectors, and the
	// namespace selectors of peers, made once and shared: a flow's
	// policies repeat them, and at thousands of components separate
	// maps were a fifth of the rendered objects' memory. Rendered
	// objects are read-only, so sharing is safe.
	selectors, ownerLabels map[*model.Component]map[string]string
	nsSelectors            map[string]map[string]string
}

func (rd *renderer) add(o *Object) { rd.objects = append(rd.objects, o) }

// pin returns the image reference pinned by digest, or as written when
// the lock does not know it.
func (rd *renderer) pin(img model.Image, what string) string {
	return Pin(rd.facts, img, what, rd.errs)
}

// Pin is img's reference pinned by the digest facts record, or as
// written when they record none (for IMG005); an image without a tag,
// which nothing can pin, is an error at what.
func Pin(facts images.Facts, img model.Image, what string, errs *diag.List) string {
	if img.Tag == "" {
		errs.Add(img.Pos, "%s: image %q has no tag; name a tag so the lock can pin it", what, img.Ref)
		return img.Ref
	}
	if facts == nil {
		return img.Ref
	}
	e, ok := facts.Lookup(img.Ref)
	if !ok {
		return img.Ref
	}
	return e.Pinned()
}

// componentLabels are the labels of a component's objects; selector
// labels are the stable subset that selects its pods.
func (rd *renderer) componentLabels(c *model.Component) map[string]string {
	l := copyMap(rd.selectorLabels(c))
	l[LabelInstance] = c.ObjectName
	l[LabelManagedBy] = ManagedBy
	if c.Image.Tag != "" {
		l[LabelVersion] = versionLabel(c.Image.Tag)
	}
	return l
}

// selectorLabels selects c's pods. The map is shared: copy it to change it.
func (rd *renderer) selectorLabels(c *model.Component) map[string]string {
	if l, ok := rd.selectors[c]; ok {
		return l
	}
	l := map[string]string{LabelName: c.ObjectName, LabelPartOf: rd.sys.Name}
	if rd.selectors == nil {
		rd.selectors = map[*model.Component]map[string]string{}
	}
	rd.selectors[c] = l
	return l
}

// namespaceSelector selects namespace ns by its name. The map is shared.
func (rd *renderer) namespaceSelector(ns string) map[string]string {
	if l, ok := rd.nsSelectors[ns]; ok {
		return l
	}
	l := map[string]string{LabelNamespace: ns}
	if rd.nsSelectors == nil {
		rd.nsSelectors = map[string]map[string]string{}
	}
	rd.nsSelectors[ns] = l
	return l
}

// versionLabel makes an image tag a valid label value (at most 63
// characters of [-A-Za-z0-9_.], alphanumeric at both ends).
func versionLabel(tag string) string {
	if len(tag) > 63 {
		tag = tag[:63]
	}
	return strings.Trim(tag, "-_.")
}

// DNSName is the cluster DNS name of a component's Service.
func DNSName(c *model.Component) string {
	return model.ServiceDNSName(c.ObjectName, c.Namespace)
}

// Host is the name a client dials for a flow's target: a component's
// cluster DNS name, or an external's first host.
func Host(t model.Endpoint) string {
	if t.Component != nil {
		return DNSName(t.Component)
	}
	return t.External.Hosts[0]
}
