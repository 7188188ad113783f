package model

import (
	"reflect"
	"testing"
)

func TestMergeValues(t *testing.T) {
	base := map[string]any{
		"replicas": 1.0,
		"image":    map[string]any{"repository": "r", "tag": "1"},
		"args":     []any{"a", "b"},
		"region":   "eu",
	}
	over := map[string]any{
		"image":  map[string]any{"tag": "2"},
		"args":   []any{"c"},
		"region": nil,
		"extra":  map[string]any{"on": true},
	}
	got := MergeValues(base, over)
	want := map[string]any{
		"replicas": 1.0,
		"image":    map[string]any{"repository": "r", "tag": "2"},
		"args":     []any{"c"},
		"extra":    map[string]any{"on": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeValues = %v, want %v", got, want)
	}
	// Neither argument changes.
	if base["image"].(map[string]any)["tag"] != "1" || base["region"] != "eu" || over["region"] != nil {
		t.Errorf("MergeValues changed its arguments: %v, %v", base, over)
	}
}

func TestMergeChartSwitchesSource(t *testing.T) {
	sys := &Chart{Name: "base", LocalPath: "charts/base", Namespace: "ops"}
	got := MergeChart(sys, &ChartOverride{Chart: Chart{Repository: "https://charts.example.com", Version: "1.0.0"}})
	if got.LocalPath != "" || got.ChartName != "base" || got.Key() != "https://charts.example.com base@1.0.0" {
		t.Errorf("path → repository: %+v (key %q)", got, got.Key())
	}
	repo := &Chart{Name: "cache", Repository: "oci://r/charts", ChartName: "redis", Version: "2.0.0"}
	got = MergeChart(repo, &ChartOverride{Chart: Chart{LocalPath: "charts/redis"}})
	if got.Repository != "" || got.Version != "" || got.Key() != "path:charts/redis" {
		t.Errorf("repository → path: %+v (key %q)", got, got.Key())
	}
}
