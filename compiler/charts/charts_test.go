package charts

import (
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
			out = append(out, m.Object["metadata"].(map[string]any)["name"].(string))
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
