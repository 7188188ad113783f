package charts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// DefaultKubeVersion is the Kubernetes version a chart is rendered for
// when the environment does not state its cluster's: the newest the
// Kubernetes API modules gitopsc is built with know.
const DefaultKubeVersion = "v1.37.0"

// Manifest is one object a chart renders.
type Manifest struct {
	// Template is the chart file it comes from: "templates/deployment.yaml",
	// "crds/crd.yaml"; Hook the Helm hook events it runs on, if it is one.
	Template string
	Hook     []string
	// Object is the object as JSON decodes it, numbers as json.Number,
	// for a manifest made of one (a List's item); one Render decodes is
	// held as its JSON instead, raw, read by Fields.
	Object map[string]any
	// raw is the object's JSON, when Object is nil, and head what is read
	// of it before its type is known: a CRD's schema, most of a chart's
	// bytes, is decoded once, into its type, and not also into maps.
	raw  []byte
	head *head
	// crd is a CRD file's object decoded into its type while the
	// templates render, and the error of decoding it; lazy, instead, when
	// the decode cache keeps its typed copy, and so it decodes: it is
	// decoded when read (which only diff does; see model.Object.Complete).
	crd    *apiextensionsv1.CustomResourceDefinition
	crdErr error
	lazy   func() (*apiextensionsv1.CustomResourceDefinition, error)
}

// decodeCRD decodes m into crd when it is a CRD of apiextensions.k8s.io/v1.
func (m *Manifest) decodeCRD(dir string) {
	if m.raw == nil || m.head.APIVersion != "apiextensions.k8s.io/v1" || m.head.Kind != "CustomResourceDefinition" {
		return
	}
	gvk := apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	if typedKept(dir, m.raw, (*apiextensionsv1.CustomResourceDefinition)(nil), gvk) {
		raw := m.raw
		m.lazy = sync.OnceValues(func() (*apiextensionsv1.CustomResourceDefinition, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := decodeTypedIn(dir, raw, crd, gvk); err != nil {
				return nil, err
			}
			return crd, nil
		})
		return
	}
	m.crd = &apiextensionsv1.CustomResourceDefinition{}
	m.crdErr = decodeTypedIn(dir, m.raw, m.crd, gvk)
}

// Head is what is read of m to place it and to know its type.
func (m *Manifest) Head() *head {
	if m.head == nil {
		m.head = headOf(m.Object)
	}
	return m.head
}

// Fields is the object m holds, decoded: Object, or a fresh decoding of
// its JSON that the caller may change.
func (m *Manifest) Fields() (map[string]any, error) {
	if m.Object != nil || m.raw == nil {
		return m.Object, nil
	}
	return decodeObject(m.raw)
}

// Render renders a chart as helm install would for release name in
// namespace, offline: no lookup reaches a cluster, and Capabilities
// report kubeVersion ("v1.31.0"); Compatible checks the chart's own
// constraint. The chart's CRDs come first, then its
// objects in Helm's install order, then its hooks but test hooks (which
// Flux does not run unless asked). The values are checked against the
// chart's values.schema.json. What the templates render is kept in the
// render cache (rendercache.go), beside the decode cache.
func Render(ch *chart.Chart, name, namespace string, values map[string]any, kubeVersion string) ([]Manifest, error) {
	return renderIn(cacheDirOnce(), ch, name, namespace, values, kubeVersion)
}

// renderIn is Render with the caches in dir ("": none).
func renderIn(dir string, ch *chart.Chart, name, namespace string, values map[string]any, kubeVersion string) ([]Manifest, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, err
	}
	caps.KubeVersion = *kv
	// As helm install: every dependency Chart.yaml names must be in the
	// chart, and those its values turn off (condition, tags) are left out.
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		found := false
		for _, sub := range ch.Dependencies() {
			found = found || sub.Name() == d.Name
		}
		if !found {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("Chart.yaml names dependencies the chart does not hold in charts/: %s (run helm dependency build before packaging it)", strings.Join(missing, ", "))
	}
	if values == nil {
		values = map[string]any{}
	}
	var key string
	if dir != "" {
		key = renderKey(ch, name, namespace, values, kubeVersion)
	}
	ch = copyChart(ch) // processing dependencies changes the chart
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, err
	}
	// The CRDs are files, not templates: they are decoded, into their
	// type too, while the templates render (or since Prefetch began).
	type decoded struct {
		ms  []Manifest
		err error
	}
	crds := make(chan decoded, 1)
	go func() {
		var d decoded
		for _, crd := range ch.CRDObjects() {
			ms, err := decodeCRDFile(dir, crd.File)
			if err != nil {
				d.err = fmt.Errorf("%s: %v", crd.Filename, err)
				break
			}
			for _, m := range ms {
				m.Template = crd.Filename
				d.ms = append(d.ms, m)
			}
		}
		crds <- d
	}()
	templated, cached := readRender(dir, key)
	if !cached {
		templated, err = renderTemplates(dir, ch, name, namespace, values, caps)
		if err != nil {
			<-crds
			return nil, err
		}
	}
	d := <-crds
	if d.err != nil {
		return nil, d.err
	}
	if !cached {
		writeRender(dir, key, templated)
	}
	return append(d.ms, templated...), nil
}

// renderTemplates renders the templates of ch, its dependencies processed,
// into its objects in Helm's install order, then its hooks but test
// hooks.
func renderTemplates(dir string, ch *chart.Chart, name, namespace string, values map[string]any, caps *chartutil.Capabilities) ([]Manifest, error) {
	// The values are checked against the chart's schema while the
	// templates render, as a copy: a template may change them (sprig's
	// set), and Helm checks them before it renders.
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(ch, values, chartutil.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}, caps, true)
	if err != nil {
		return nil, err
	}
	invalid := make(chan error, 1)
	go func() {
		coalesced, _ := vals["Values"].(chartutil.Values)
		if err := chartutil.ValidateAgainstSchema(ch, copyValue(map[string]any(coalesced)).(map[string]any)); err != nil {
			invalid <- fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", err.Error())
			return
		}
		invalid <- nil
	}()
	files, err := engine.Render(ch, vals)
	if verr := <-invalid; verr != nil {
		return nil, verr
	}
	if err != nil {
		return nil, err
	}
	for f := range files {
		if strings.HasSuffix(f, "NOTES.txt") {
			delete(files, f)
		}
	}
	// Each document is decoded while Helm sorts them (it parses each
	// one's head as YAML too): split as Helm splits a file, so that a
	// sorted document's content finds its decoding.
	type docs struct {
		objs []doc
		err  error
	}
	preCh := make(chan map[string]docs, 1)
	go func() {
		out := map[string]docs{}
		for _, content := range files {
			for _, entry := range releaseutil.SplitManifests(content) {
				if _, done := out[entry]; !done {
					objs, err := decodeIn(dir, []byte(entry))
					out[entry] = docs{objs, err}
				}
			}
		}
		preCh <- out
	}()
	decode := func(pre map[string]docs, content string) ([]doc, error) {
		if d, ok := pre[content]; ok {
			return d.objs, d.err
		}
		return decodeIn(dir, []byte(content))
	}
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	pre := <-preCh
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, m := range manifests {
		objs, err := decode(pre, m.Content)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", m.Name, err)
		}
		for _, o := range objs {
			out = append(out, Manifest{Template: m.Name, raw: o.raw, head: o.head})
		}
	}
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].Weight < hooks[j].Weight })
	for _, h := range hooks {
		var events []string
		test := false
		for _, e := range h.Events {
			events = append(events, string(e))
			test = test || e == release.HookTest
		}
		if test {
			continue
		}
		objs, err := decode(pre, h.Manifest)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", h.Path, err)
		}
		for _, o := range objs {
			out = append(out, Manifest{Template: h.Path, Hook: events, raw: o.raw, head: o.head})
		}
	}
	return out, nil
}

// crdDecodings are the CRD files whose decoding Prefetch began, by file.
var crdDecodings sync.Map // *chart.File → *crdDecoding

type crdDecoding struct {
	done chan struct{}
	ms   []Manifest
	err  error
}

// Prefetch begins to decode the CRDs of ch and of its dependencies, for
// Render to find decoded: they are files, the same whatever the values,
// and most of what a chart costs. The loader calls it as it loads a
// chart, while the input is still being validated.
func Prefetch(ch *chart.Chart) {
	var todo []*chart.File
	var ds []*crdDecoding
	for _, crd := range ch.CRDObjects() {
		d := &crdDecoding{done: make(chan struct{})}
		if _, loaded := crdDecodings.LoadOrStore(crd.File, d); !loaded {
			todo, ds = append(todo, crd.File), append(ds, d)
		}
	}
	if len(todo) == 0 {
		return
	}
	dir := cacheDirOnce()
	go func() {
		for i, f := range todo {
			ds[i].ms, ds[i].err = decodeCRDs(dir, f.Data)
			close(ds[i].done)
		}
	}()
}

// decodeCRDFile is the objects of a chart's CRD file f, each CRD decoded
// into its type too, without their template: from Prefetch's decoding
// when it began one.
func decodeCRDFile(dir string, f *chart.File) ([]Manifest, error) {
	if v, ok := crdDecodings.Load(f); ok {
		d := v.(*crdDecoding)
		<-d.done
		return d.ms, d.err
	}
	return decodeCRDs(dir, f.Data)
}

func decodeCRDs(dir string, b []byte) ([]Manifest, error) {
	objs, err := decodeIn(dir, b)
	if err != nil {
		return nil, err
	}
	ms := make([]Manifest, len(objs))
	for i, o := range objs {
		ms[i] = Manifest{raw: o.raw, head: o.head}
		ms[i].decodeCRD(dir)
	}
	return ms, nil
}

// doc is one decoded YAML document: its JSON, and its head.
type doc struct {
	raw  []byte
	head *head
}

// decodeAll decodes the YAML documents of a rendered file. A key given
// twice is refused, as the kustomize post-renderer that pins a chart's
// images refuses it on the cluster (Helm alone would keep the last).
func decodeAll(b []byte) ([]doc, error) {
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []doc
	for {
		d, err := r.Read()
		if err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		raw, err := sigsyaml.YAMLToJSONStrict(d)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		h, err := decodeHead(raw)
		if err != nil {
			return nil, fmt.Errorf("not an object: %v", err)
		}
		out = append(out, doc{raw: raw, head: h})
	}
}

// decodeObject decodes a JSON object, numbers as json.Number.
func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null")
	}
	return m, nil
}

// PathRevision stands for the git revision helm-controller appends to the
// version of a chart it builds from a GitRepository (reconcileStrategy
// Revision: "0.1.0+" and the commit's first 12 hex digits). gitopsc
// renders path charts at that shape of version, so a template that puts
// .Chart.Version in a label, where "+" is refused, fails here as it
// fails on the cluster.
const PathRevision = "000000000000"

// AtRevision is ch with its version as helm-controller gives a chart it
// builds from a git repository.
func AtRevision(ch *chart.Chart) *chart.Chart {
	out := *ch
	md := *ch.Metadata
	md.Version += "+" + PathRevision
	out.Metadata = &md
	return &out
}

// Compatible reports whether the chart's kubeVersion constraint, if it
// has one, admits kubeVersion.
func Compatible(ch *chart.Chart, kubeVersion string) bool {
	return ch.Metadata.KubeVersion == "" || chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, kubeVersion)
}

// copyChart copies a chart and its dependencies deeply enough that
// processing its dependencies for one render leaves it as it was for the
// next: the charts, their metadata's dependencies, their lists of
// dependencies and their values.
func copyChart(c *chart.Chart) *chart.Chart {
	out := *c
	out.Values = copyValue(c.Values).(map[string]any)
	if c.Metadata != nil {
		md := *c.Metadata
		// Processing sets each dependency's Enabled.
		md.Dependencies = nil
		for _, d := range c.Metadata.Dependencies {
			dc := *d
			md.Dependencies = append(md.Dependencies, &dc)
		}
		out.Metadata = &md
	}
	var deps []*chart.Chart
	for _, d := range c.Dependencies() {
		deps = append(deps, copyChart(d))
	}
	out.SetDependencies(deps...)
	return &out
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return map[string]any{}
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = copyValue(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = copyValue(x)
		}
		return out
	}
	return v
}
