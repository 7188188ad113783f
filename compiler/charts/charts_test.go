package charts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/gitopsc/gitopsc/compiler/model"
)

const digestA = "sha256:93fa216231e3fd74149dc410d35ebfdb6d71c0c4ee342aa5bbbdbb47da431130"

func TestLockRoundTrip(t *testing.T) {
	entries := []Entry{
		{Repository: "oci://registry.example.com/charts", Chart: "cache", Version: "2.0.0", Digest: digestA, Manifest: digestA},
		{Repository: "https://charts.example.com", Chart: "op", Version: "1.0.0", Digest: digestA},
	}
	b := Format(entries)
	l, err := ParseLock("charts.lock", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Entries["oci://registry.example.com/charts cache@2.0.0"].Manifest != digestA {
		t.Errorf("parsed %+v from\n%s", l.Entries, b)
	}
}

func TestParseLockRefuses(t *testing.T) {
	for _, line := range []string{
		"https://c.example.com op@1.0.0 sha256:abc",
		"https://c.example.com op 1.0.0",
		"ftp://c.example.com op@1.0.0 " + digestA,
		"oci://r.example.com op@1.0.0 " + digestA,
		"https://c.example.com op@1.0.0 " + digestA + " manifest=" + digestA,
		"https://c.example.com op@1.0.0 " + digestA + "\nhttps://c.example.com op@1.0.0 " + digestA,
		"https://a.example.com op@1.0.0 " + digestA + "\nhttps://b.example.com op@1.0.0 " + digestA,
	} {
		if _, err := ParseLock("charts.lock", []byte(line+"\n")); err == nil {
			t.Errorf("ParseLock accepted %q", line)
		}
	}
}

func TestObjectsFlattenListsAndPlaceNamespaces(t *testing.T) {
	c := &model.Chart{Name: "demo", Path: "system.charts.demo", Namespace: "apps"}
	ms := []Manifest{
		{Template: "crds/w.yaml", Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "widgets.example.com"},
			"spec":     map[string]any{"group": "example.com", "scope": "Cluster", "names": map[string]any{"kind": "Widget"}}}},
		{Template: "templates/list.yaml", Object: map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"}},
			map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}},
			map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": map[string]any{"name": "g"}},
		}}},
	}
	objs, err := Objects(c, ms, ClusterKinds(ms, nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.ID()+" "+o.Target())
	}
	want := []string{
		"demo: CustomResourceDefinition widgets.example.com chart/demo",
		"demo: ConfigMap apps/a chart/demo",
		"demo: Widget w chart/demo",
		"demo: Gadget apps/g chart/demo",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Objects(c, []Manifest{{Template: "t.yaml", Object: map[string]any{"apiVersion": "v1", "kind": "Status", "metadata": map[string]any{"name": "x"}}}}, nil); err == nil {
		t.Error("a Status was taken for an object")
	}
}

// A subchart its condition turns off is not rendered, and rendering one
// chart twice with other values gives each its own result.
func TestRenderDependencies(t *testing.T) {
	cm := func(name string) *chart.File {
		return &chart.File{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n")}
	}
	sub := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "db", Version: "1.0.0"}, Templates: []*chart.File{cm("db")}}
	top := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0", Dependencies: []*chart.Dependency{{Name: "db", Version: "1.0.0", Condition: "db.enabled"}}},
		Templates: []*chart.File{cm("app")},
		Values:    map[string]any{"db": map[string]any{"enabled": false}},
	}
	top.SetDependencies(sub)
	names := func(values map[string]any) []string {
		ms, err := Render(top, "app", "apps", values, DefaultKubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Head().Metadata.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(nil); strings.Join(got, ",") != "app" {
		t.Errorf("db off: rendered %v", got)
	}
	if got := names(map[string]any{"db": map[string]any{"enabled": true}}); len(got) != 2 {
		t.Errorf("db on: rendered %v", got)
	}
	if got := names(nil); strings.Join(got, ",") != "app" {
		t.Errorf("db off again: rendered %v (the chart kept an earlier render's state)", got)
	}
	top.Metadata.Dependencies = append(top.Metadata.Dependencies, &chart.Dependency{Name: "cache", Version: "1.0.0"})
	if _, err := Render(top, "app", "apps", nil, DefaultKubeVersion); err == nil || !strings.Contains(err.Error(), "cache") {
		t.Errorf("a dependency the chart does not hold: %v", err)
	}
}

// The head read from an object's JSON, skipping the rest, is what
// reading the decoded object gives: for mistyped and missing parts, and
// for every document of the shipped charts' CRDs.
func TestHeadAgreesWithObject(t *testing.T) {
	raws := []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"n":1}},"data":{"x":"y"}}`,
		`{"apiVersion":5,"kind":["K"],"metadata":"m"}`,
		`{"kind":"CustomResourceDefinition","spec":"cluster"}`,
		`{"kind":"CustomResourceDefinition","spec":{"group":7,"scope":"Cluster","names":"Widget"}}`,
		`{"kind":"CustomResourceDefinition","spec":{"group":"g","scope":["Cluster"],"names":{"kind":{"k":1}}}}`,
		`{"kind":"ConfigMapList","items":{"a":1}}`,
		`{"kind":"List","items":[{"kind":"ConfigMap","metadata":{"name":"a"}},3]}`,
		`{"kind":"List","items":null,"metadata":null,"spec":null}`,
		`{"kind":"List","items":[]}`,
		`{"kind":"PodList","items":[{"kind":"List","items":[{"kind":"Pod"}]}]}`,
		`{}`,
	}
	for _, d := range shippedCRDs(t) {
		raws = append(raws, string(d.raw))
	}
	for _, raw := range raws {
		headsAgree(t, raw)
	}
	for _, bad := range []string{`[]`, `null`, `"s"`, `{"kind":`, ``} {
		if _, err := decodeHead([]byte(bad)); err == nil {
			t.Errorf("%q: read as an object", bad)
		}
	}
}

// shippedCRDs are the documents of the shipped charts' CRD files.
func shippedCRDs(t testing.TB) []doc {
	t.Helper()
	files, err := filepath.Glob("../../charts/*/crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped CRDs: %v", err)
	}
	var out []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decodeAll(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, docs...)
	}
	return out
}

// headsAgree fails t when the head decodeHead reads of the JSON object
// raw is not the one read from it decoded, or when the two flatten into
// other objects.
func headsAgree(t *testing.T, raw string) {
	t.Helper()
	obj, err := decodeObject([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeHead([]byte(raw))
	if err != nil {
		t.Fatalf("%.60s: %v", raw, err)
	}
	want := headOf(obj)
	// Items are compared decoded, and only when they are a list
	// (only then are they read): the JSON may differ in spacing.
	if _, isList := obj["items"].([]any); isList {
		var gi, wi any
		json.Unmarshal(got.Items, &gi)
		json.Unmarshal(want.Items, &wi)
		if !reflect.DeepEqual(gi, wi) {
			t.Errorf("%.60s: items %s, want %s", raw, got.Items, want.Items)
		}
	}
	g, w := *got, *want
	g.Items, w.Items = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%.60s: head %+v, want %+v", raw, g, w)
	}
	// A List held as JSON flattens as the decoded one does.
	fromRaw := flatten([]Manifest{{raw: []byte(raw), head: got}})
	fromObj := flatten([]Manifest{{Object: obj}})
	if len(fromRaw) != len(fromObj) {
		t.Fatalf("%.60s: flattened into %d, want %d", raw, len(fromRaw), len(fromObj))
	}
	for i := range fromObj {
		if !reflect.DeepEqual(fromRaw[i].Head().Kind, fromObj[i].Head().Kind) {
			t.Errorf("%.60s: item %d differs", raw, i)
		}
	}
}

// FuzzHead holds decodeHead to the decoded object's head on any JSON
// object, and to no panic on anything else.
func FuzzHead(f *testing.F) {
	for _, s := range []string{`{"apiVersion":"v1","kind":"List","items":[{"kind":"A"}],"metadata":{"name":"x"}}`,
		`{"kind":"CustomResourceDefinition","spec":{"group":"g","scope":"Cluster","names":{"kind":"W","plural":"ws"}}}`,
		`{"k\u0069nd":"A","x":[1,{"a":"\"}"}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var obj map[string]any
		if json.Unmarshal([]byte(raw), &obj) != nil || obj == nil {
			decodeHead([]byte(raw))
			return
		}
		headsAgree(t, raw)
	})
}

// BenchmarkDecodeHead reads the head of the largest shipped CRD, as
// Render does for each document, beside encoding/json's reading of it
// into a map, what Render did before.
func BenchmarkDecodeHead(b *testing.B) {
	y, err := os.ReadFile("../../charts/monitoring-stack/crds/monitoring.coreos.com_prometheuses.yaml")
	if err != nil {
		b.Fatal(err)
	}
	docs, err := decodeAll(y)
	if err != nil {
		b.Fatal(err)
	}
	raw := docs[0].raw
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := decodeHead(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := decodeObject(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
