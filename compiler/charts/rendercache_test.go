package charts

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

func renderEntries(t *testing.T, dir string) []string {
	t.Helper()
	return cacheFiles(t, dir, "*.render")
}

// sameManifests fails t when got is not want: the same templates, hooks,
// JSON and heads, in the same order.
func sameManifests(t *testing.T, what string, got, want []Manifest) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d manifests, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Template != w.Template || !reflect.DeepEqual(g.Hook, w.Hook) || !bytes.Equal(g.raw, w.raw) || !reflect.DeepEqual(g.Head(), w.Head()) {
			t.Fatalf("%s: manifest %d is %s %v %.80s, want %s %v %.80s", what, i, g.Template, g.Hook, g.raw, w.Template, w.Hook, w.raw)
		}
	}
}

// What the render cache gives is what rendering gives, for the shipped
// charts: on the render that keeps it and on the next, which reads it.
// An entry is read (a forged one is given back), and a damaged one is
// rendered again and rewritten.
func TestRenderCacheGivesWhatRenderingGives(t *testing.T) {
	for _, name := range []string{"external-secrets", "monitoring-stack"} {
		ch, err := loader.LoadDir(filepath.Join("../../charts", name))
		if err != nil {
			t.Fatal(err)
		}
		ch = AtRevision(ch)
		want, err := renderIn("", ch, name, name, nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		crds := 0 // the CRD files' documents
		for _, m := range want {
			if strings.Contains(m.Template, "/crds/") {
				crds++
			}
		}
		dir := t.TempDir()
		first, err := renderIn(dir, ch, name, name, nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		sameManifests(t, name+", first render", first, want)
		kept := renderEntries(t, dir)
		if len(kept) != 1 {
			t.Fatalf("%s: the cache holds %v, want one render", name, kept)
		}
		entry, _ := os.ReadFile(kept[0])
		second, err := renderIn(dir, ch, name, name, nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		sameManifests(t, name+", from the cache", second, want)

		// An entry of the templates' first manifest alone.
		lines := bytes.SplitN(entry, []byte("\n"), 4)
		os.WriteFile(kept[0], summed(append(append(append(lines[1], '\n'), lines[2]...), '\n')), 0o644)
		forged, err := renderIn(dir, ch, name, name, nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		if len(forged) != crds+1 {
			t.Fatalf("%s: with a forged entry of one manifest, %d manifests (%d CRDs), so the entry was not read", name, len(forged), crds)
		}
		// A damaged entry.
		os.WriteFile(kept[0], append(bytes.Clone(entry[:len(entry)/2]), 'x'), 0o644)
		again, err := renderIn(dir, ch, name, name, nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		sameManifests(t, name+", with a damaged entry", again, want)
		if b, _ := os.ReadFile(kept[0]); !bytes.Equal(b, entry) {
			t.Errorf("%s: a damaged entry was not rewritten", name)
		}
	}
}

// keyChart is a chart with a template, a file, a schema and a dependency
// of its own, made anew at each call.
func keyChart() *chart.Chart {
	sub := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "db", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/db.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db}\n")}}}
	top := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0", Dependencies: []*chart.Dependency{{Name: "db", Version: "1.0.0"}}},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {x: {{ .Files.Get \"files/x\" | quote }}}\n")}},
		Files:     []*chart.File{{Name: "files/x", Data: []byte("one")}},
		Values:    map[string]any{"level": "info"},
		Schema:    []byte(`{"type":"object"}`),
	}
	top.SetDependencies(sub)
	return top
}

// A render's key changes with everything the templates read, and with
// nothing else.
func TestRenderKeyCoversWhatTheTemplatesRead(t *testing.T) {
	values := map[string]any{"level": "debug"}
	key := func(c *chart.Chart, name, ns string, v map[string]any, kv string) string {
		t.Helper()
		k := renderKey(c, name, ns, v, kv)
		if k == "" {
			t.Fatal("no key for a chart that renders the same each time")
		}
		return k
	}
	base := key(keyChart(), "app", "apps", values, DefaultKubeVersion)
	if again := key(keyChart(), "app", "apps", map[string]any{"level": "debug"}, DefaultKubeVersion); again != base {
		t.Error("the same chart and values give another key")
	}
	for what, k := range map[string]string{
		"release name":       key(keyChart(), "other", "apps", values, DefaultKubeVersion),
		"namespace":          key(keyChart(), "app", "other", values, DefaultKubeVersion),
		"values":             key(keyChart(), "app", "apps", map[string]any{"level": "info"}, DefaultKubeVersion),
		"cluster version":    key(keyChart(), "app", "apps", values, "v1.30.0"),
		"revision (version)": key(AtRevision(keyChart()), "app", "apps", values, DefaultKubeVersion),
	} {
		if k == base {
			t.Errorf("another %s gives the same key", what)
		}
	}
	for what, change := range map[string]func(c *chart.Chart){
		"template":            func(c *chart.Chart) { c.Templates[0].Data = append(c.Templates[0].Data, '\n') },
		"file":                func(c *chart.Chart) { c.Files[0].Data = []byte("two") },
		"default values":      func(c *chart.Chart) { c.Values["level"] = "warn" },
		"schema":              func(c *chart.Chart) { c.Schema = []byte(`{"type":"object","required":["level"]}`) },
		"dependency template": func(c *chart.Chart) { c.Dependencies()[0].Templates[0].Data = []byte("# none\n") },
		"file name":           func(c *chart.Chart) { c.Files[0].Name = "files/y" },
	} {
		c := keyChart()
		change(c)
		if key(c, "app", "apps", values, DefaultKubeVersion) == base {
			t.Errorf("a changed %s gives the same key", what)
		}
	}
}

func TestChangingActionsAreFound(t *testing.T) {
	for text, want := range map[string]bool{
		`{{ randAlphaNum 10 }}`:                    true,
		`x: {{- now | date "2006" -}}`:             true,
		`{{ $ca := genCA "x" 365 }}{{ $ca.Cert }}`: true,
		`{{ uuidv4 | quote }}`:                     true,
		`{{ .Values.now }}`:                        false,
		`{{ $now := 1 }}{{ $now }}`:                false,
		"it is now or never: {{ .Release.Name }}":  false,
		`{{ include "x.name" . }} rand`:            false,
		`{{ randAlphaNum`:                          true,
	} {
		if got, _ := actionNames([]byte(text)); got != want {
			t.Errorf("%q: changing %v, want %v", text, got, want)
		}
	}
	withTpl := func(values map[string]any, file string) bool {
		c := keyChart()
		c.Templates[0].Data = []byte(`{{ tpl .Values.text . }}{{ tpl (.Files.Get "files/x") . }}`)
		c.Files[0].Data = []byte(file)
		vals, _ := json.Marshal(values)
		return changing(c, vals)
	}
	if withTpl(map[string]any{"text": "{{ .Release.Name }}"}, "{{ .Chart.Name }}") {
		t.Error("tpl over steady text: changing")
	}
	if !withTpl(map[string]any{"text": "{{ randAlpha 4 }}"}, "") {
		t.Error("tpl over values that call randAlpha: not changing")
	}
	if !withTpl(nil, "{{ genPrivateKey \"rsa\" }}") {
		t.Error("tpl over a file that calls genPrivateKey: not changing")
	}
	c := keyChart()
	c.Dependencies()[0].Templates[0].Data = []byte("{{ now }}")
	if !changing(c, nil) {
		t.Error("a dependency's template that calls now: not changing")
	}
}

// A chart whose templates give another result each time is rendered
// each time, and nothing of it is kept.
func TestChangingChartIsNotKept(t *testing.T) {
	c := keyChart()
	c.Templates[0].Data = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {token: {{ randAlphaNum 24 | quote }}}\n")
	dir := t.TempDir()
	a, err := renderIn(dir, c, "app", "apps", nil, DefaultKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderIn(dir, c, "app", "apps", nil, DefaultKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	if kept := renderEntries(t, dir); len(kept) != 0 {
		t.Errorf("kept %v", kept)
	}
	token := func(ms []Manifest) string {
		for _, m := range ms {
			if strings.Contains(string(m.raw), "token") {
				return string(m.raw)
			}
		}
		t.Fatal("no token rendered")
		return ""
	}
	if token(a) == token(b) {
		t.Error("two renders gave the same random token")
	}
}

// A CRD whose typed copy the cache keeps holds what the rules read, and
// gives the whole object when asked; one decoded for the first time is
// whole at once.
func TestKeptCRDDecodesWhenRead(t *testing.T) {
	c := keyChart()
	c.Files = append(c.Files, &chart.File{Name: "crds/widgets.yaml", Data: bigCRD()})
	mc := &model.Chart{Name: "app", Path: "system.charts.app", Namespace: "apps"}
	dir := t.TempDir()
	crdOf := func() *model.Object {
		t.Helper()
		ms, err := renderIn(dir, c, "app", "apps", nil, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Objects(mc, ms, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.Kind == "CustomResourceDefinition" {
				return o
			}
		}
		t.Fatal("no CRD")
		return nil
	}
	first := crdOf()
	if first.Complete != nil {
		t.Fatal("a CRD decoded for the first time waits to be decoded")
	}
	whole := first.Typed.(*apiextensionsv1.CustomResourceDefinition)
	if len(whole.Spec.Versions) == 0 {
		t.Fatal("the first decoding has no versions")
	}
	wantJSON, _ := json.Marshal(whole)
	kept := crdOf()
	if kept.Complete == nil {
		t.Fatal("a kept CRD is decoded at once")
	}
	head := kept.Typed.(*apiextensionsv1.CustomResourceDefinition)
	if head.Name != whole.Name || head.Spec.Group != whole.Spec.Group || head.Spec.Names.Kind != whole.Spec.Names.Kind ||
		head.Spec.Scope != whole.Spec.Scope || head.APIVersion != whole.APIVersion || head.Kind != whole.Kind {
		t.Errorf("the kept CRD holds %+v %+v, want those of %+v %+v", head.TypeMeta, head.Spec, whole.TypeMeta, whole.Spec.Names)
	}
	if len(head.Spec.Versions) != 0 {
		t.Error("the kept CRD decoded its versions at once")
	}
	got, err := kept.Complete()
	if err != nil {
		t.Fatal(err)
	}
	if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("the completed CRD differs from the one decoded whole:\n%.300s\nwant\n%.300s", gotJSON, wantJSON)
	}
	if strings.Contains(string(wantJSON), `"versions":null`) {
		t.Error("the CRD has no versions to compare")
	}
}
