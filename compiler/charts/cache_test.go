package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// bigCRD is a file of two documents over cacheMin: a CRD with a long
// description, and a ConfigMap with a number, a null and a multi-line
// string, which the cache must give back as decoding gives them.
func bigCRD() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n")
	for i := 0; b.Len() < cacheMin+1000; i++ {
		fmt.Fprintf(&b, "          field%d: {type: string, description: \"line one\\nline two %d\"}\n", i, i)
	}
	b.WriteString("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  n: \"1\"\nbinaryData: null\nimmutable: true\n")
	return []byte(b.String())
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeCacheGivesWhatDecodingGives(t *testing.T) {
	dir := t.TempDir()
	b := bigCRD()
	want, err := decodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	first, err := decodeIn(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	files := entries(t, dir)
	if len(files) != 1 {
		t.Fatalf("after one decode the cache holds %v, want one entry", files)
	}
	second, err := decodeIn(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]doc{"first": first, "cached": second} {
		if len(got) != len(want) {
			t.Fatalf("%s: %d documents, want %d", name, len(got), len(want))
		}
		for i := range want {
			g, err := decodeObject(got[i].raw)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := decodeObject(want[i].raw)
			if !reflect.DeepEqual(g, w) || !reflect.DeepEqual(got[i].head, want[i].head) {
				t.Errorf("%s: document %d differs from decoding it", name, i)
			}
		}
	}

	// A damaged entry is decoded again and rewritten: a document changed
	// under its sum too, which its head alone would not show.
	entry, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(entry), `"ConfigMap"`, `"ConfigMapX"`, 1)
	if changed == string(entry) {
		t.Fatal("the entry holds no ConfigMap")
	}
	for _, damage := range []string{"", "{\"kind\": \"CustomRes", "[]\n", "null\n", changed} {
		if err := os.WriteFile(files[0], []byte(damage), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := decodeIn(dir, b)
		if err != nil || len(got) != len(want) || !reflect.DeepEqual(got[1].head, want[1].head) || string(got[1].raw) != string(want[1].raw) {
			t.Fatalf("with the entry %q: %d documents, %v", damage, len(got), err)
		}
		if again, ok := readEntry(files[0]); !ok || len(again) != len(want) {
			t.Errorf("the entry %q was not rewritten", damage)
		}
	}
}

func TestDecodeCacheKeepsNoFailureNorSmallFile(t *testing.T) {
	dir := t.TempDir()
	bad := append(bigCRD(), []byte("---\nkind: A\nkind: B\n")...)
	if _, err := decodeIn(dir, bad); err == nil || !strings.Contains(err.Error(), `"kind" already set`) {
		t.Fatalf("a key written twice: %v, want the decoder's error", err)
	}
	if _, err := decodeIn(dir, bad); err == nil {
		t.Fatal("a key written twice was accepted the second time")
	}
	if _, err := decodeIn(dir, []byte("kind: A\n")); err != nil {
		t.Fatal(err)
	}
	if files := entries(t, dir); len(files) != 0 {
		t.Errorf("the cache holds %v, want nothing: a failure and a small file are not kept", files)
	}
	// A cache folder that cannot be made is no error.
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := decodeIn(filepath.Join(blocked, "cache"), bigCRD()); err != nil || len(got) != 2 {
		t.Errorf("with an unusable cache folder: %d documents, %v", len(got), err)
	}
}
