package charts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
	return cacheFiles(t, dir, "*.json")
}

// cacheFiles are the entries of the cache in dir whose names match
// pattern.
func cacheFiles(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", pattern))
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

var crdKind = apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")

// The protobuf copy a typed decoding keeps gives, encoded as JSON, what
// decoding the JSON gives, first and from the cache; a damaged copy is
// decoded again, and an error is encoding/json's.
func TestTypedCacheGivesWhatDecodingGives(t *testing.T) {
	dir := t.TempDir()
	big := 0
	for i, d := range shippedCRDs(t) {
		if len(d.raw) >= typedMin {
			big++
		}
		var want apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(d.raw, &want); err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(&want)
		for _, pass := range []string{"first", "cached"} {
			var got apiextensionsv1.CustomResourceDefinition
			if err := decodeTypedIn(dir, d.raw, &got, crdKind); err != nil {
				t.Fatal(err)
			}
			if gotJSON, _ := json.Marshal(&got); !bytes.Equal(gotJSON, wantJSON) {
				t.Fatalf("CRD %d (%s), %s: the object differs from decoding its JSON", i, want.Name, pass)
			}
		}
	}
	pbs, _ := filepath.Glob(filepath.Join(dir, "*", "*.pb"))
	if big == 0 || len(pbs) != big {
		t.Fatalf("%d protobuf copies kept for %d documents of typedMin bytes or more", len(pbs), big)
	}
	// A damaged copy is decoded again and rewritten.
	y, _ := os.ReadFile("../../charts/monitoring-stack/crds/monitoring.coreos.com_prometheuses.yaml")
	docs, _ := decodeAll(y)
	var want apiextensionsv1.CustomResourceDefinition
	json.Unmarshal(docs[0].raw, &want)
	wantJSON, _ := json.Marshal(&want)
	for _, pb := range pbs {
		b, _ := os.ReadFile(pb)
		os.WriteFile(pb, append(b[:len(b)/2], 0xff, 0xff), 0o644)
	}
	var got apiextensionsv1.CustomResourceDefinition
	if err := decodeTypedIn(dir, docs[0].raw, &got, crdKind); err != nil {
		t.Fatal(err)
	}
	if gotJSON, _ := json.Marshal(&got); !bytes.Equal(gotJSON, wantJSON) {
		t.Error("with a damaged copy: the object differs from decoding its JSON")
	}
	// A document that does not fit its type: encoding/json's error, and
	// nothing kept.
	bad := []byte(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"c","annotations":{"a":"` + strings.Repeat("x", cacheMin) + `"}},"spec":{"group":5}}`)
	var crd, crd2 apiextensionsv1.CustomResourceDefinition
	wantErr := json.Unmarshal(bad, &crd2)
	empty := t.TempDir()
	if err := decodeTypedIn(empty, bad, &crd, crdKind); err == nil || wantErr == nil || err.Error() != wantErr.Error() {
		t.Errorf("a misfit document: %v, want %v", err, wantErr)
	}
	if kept, _ := filepath.Glob(filepath.Join(empty, "*", "*")); len(kept) != 0 {
		t.Errorf("a misfit document was kept: %v", kept)
	}
}
