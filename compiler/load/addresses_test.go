package load

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/internal/synth"
)

// loadBothWays loads dir with the addresses filled in as a file of the
// input and by unifying the evaluated input with them.
func loadBothWays(t *testing.T, dir string) (asFile, unified any, fileErr, unifiedErr error) {
	t.Helper()
	defer func() { fillAtBuild, filledAtBuild = true, func() {} }()
	fillAtBuild = false
	u, uerr := Dir(dir)
	fillAtBuild = true
	filled := false
	filledAtBuild = func() { filled = true }
	f, ferr := Dir(dir)
	if filled != (ferr == nil) {
		t.Errorf("loaded with the addresses as a file: %v, with the error %v", filled, ferr)
	}
	return f, u, ferr, uerr
}

// An input written as plain data that reads addresses gets them as a file
// of its own, evaluated with it: the model is the one unifying with them
// gives, positions included (the synthetic system has components and
// tenant templates, both with hosts that files and values read).
func TestAddressFileGivesWhatFillingGives(t *testing.T) {
	for seed := range uint64(3) {
		addressFileAgrees(t, 40+20*int(seed), seed+1)
	}
}

func addressFileAgrees(t *testing.T, n int, seed uint64) {
	t.Helper()
	dir := t.TempDir()
	if err := synth.Write(dir, n, 3, seed); err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	names, _ := filepath.Glob(filepath.Join(dir, "*.cue"))
	for _, n := range names {
		f, err := parser.ParseFile(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if !plainData(files) {
		t.Fatal("the synthetic system is not plain data")
	}
	if f, ok := addressFile(files, "synth"); !ok || f == nil {
		t.Fatalf("the synthetic system's addresses are not read from its syntax (ok %v)", ok)
	}
	asFile, unified, ferr, uerr := loadBothWays(t, dir)
	if ferr != nil || uerr != nil {
		t.Fatalf("errors: %v / %v", ferr, uerr)
	}
	var diffs []string
	modelDiff(reflect.ValueOf(asFile), reflect.ValueOf(unified), "input", map[[2]uintptr]bool{}, &diffs)
	for _, d := range diffs {
		t.Errorf("seed %d: the model differs from the one unifying with the addresses gives: %s", seed, d)
	}
}

var posType = reflect.TypeFor[token.Pos]()

// modelDiff adds to out where a and b differ (ten places at most): a
// position compares as file:line:column, and a function as nil or not.
func modelDiff(a, b reflect.Value, path string, seen map[[2]uintptr]bool, out *[]string) {
	if len(*out) >= 10 {
		return
	}
	if a.Type() == posType {
		if pa, pb := fmt.Sprint(a), fmt.Sprint(b); pa != pb {
			*out = append(*out, fmt.Sprintf("%s: %s, unifying %s", path, pa, pb))
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func:
		if a.IsNil() != b.IsNil() {
			*out = append(*out, path+": nil on one side")
			return
		}
		if a.IsNil() {
			return
		}
	}
	switch a.Kind() {
	case reflect.Func:
		*out = append(*out, path+": a function")
	case reflect.Pointer:
		k := [2]uintptr{a.Pointer(), b.Pointer()}
		if !seen[k] {
			seen[k] = true
			modelDiff(a.Elem(), b.Elem(), path, seen, out)
		}
	case reflect.Interface:
		if a.Elem().Type() != b.Elem().Type() {
			*out = append(*out, path+": another type")
			return
		}
		modelDiff(a.Elem(), b.Elem(), path, seen, out)
	case reflect.Struct:
		for i := range a.NumField() {
			modelDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, seen, out)
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d elements, unifying %d", path, a.Len(), b.Len()))
			return
		}
		for i := range a.Len() {
			modelDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), seen, out)
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d keys, unifying %d", path, a.Len(), b.Len()))
			return
		}
		for _, k := range a.MapKeys() {
			if !b.MapIndex(k).IsValid() {
				*out = append(*out, fmt.Sprintf("%s[%v]: missing when unifying", path, k))
				continue
			}
			modelDiff(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), seen, out)
		}
	default:
		if va, vb := fmt.Sprint(a), fmt.Sprint(b); va != vb {
			*out = append(*out, fmt.Sprintf("%s: %s, unifying %s", path, va, vb))
		}
	}
}

// An input the syntax does not tell every host of is filled as before; an
// error reads the same either way.
func TestAddressFileGivesUp(t *testing.T) {
	const head = "package demo\n"
	for name, src := range map[string]string{
		"namespace interpolated": `system: components: web: namespace: "\(system.name)"` + "\nsystem: components: api: env: X: \"\\(system.components.web.host)\"\n",
		"two namespaces":         "system: components: web: namespace: \"a\"\nsystem: components: web: namespace: \"b\"\nx: \"\\(system.components.web.host)\"\n",
		"host written":           "system: components: web: {namespace: \"a\", host: \"h\"}\nx: \"\\(system.components.web.host)\"\n",
		"template host written":  "system: templates: t: components: db: {host: \"h\"}\nx: \"\\(system.components.web.host)\"\n",
		"host in an embedding":   "{system: components: web: {namespace: \"a\", host: \"h\"}}\nx: \"\\(system.components.web.host)\"\n",
		"component unified":      "system: components: web: {namespace: \"a\"} & {image: \"i\"}\nx: \"\\(system.components.web.host)\"\n",
		"templates unified":      "system: templates: t: {components: {}} & {}\nx: \"\\(system.components.web.host)\"\n",
	} {
		f, err := parser.ParseFile(name+".cue", head+src)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := addressFile([]*ast.File{f}, "demo"); ok {
			t.Errorf("%s: read from the syntax", name)
		}
	}
	// Read: two files, quoted and embedded, a hidden field, a template.
	a, _ := parser.ParseFile("a.cue", head+"system: {\"components\": {web: {namespace: \"apps\"}}}\n_x: \"\\(system.components.web.host)\"\n")
	b, _ := parser.ParseFile("b.cue", head+"system: components: {{api: namespace: \"apps\"}}\nsystem: templates: t: components: db: {}\n")
	f, ok := addressFile([]*ast.File{a, b}, "demo")
	if !ok || f == nil {
		t.Fatalf("two plain files: ok %v, file %v", ok, f)
	}
	// A reference to a component that does not exist, and a namespace
	// that is no DNS label: the same errors as unifying gives.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "system.cue"), []byte(head+`system: {
	name: "demo"
	namespaces: apps: {}
	components: web: {namespace: "apps", image: "nginx:1.27", ports: http: 80, env: PEER: "\(system.components.nope.host)"}
	components: api: {namespace: "Apps", image: "nginx:1.27", ports: http: 80, env: PEER: "\(system.components.web.host)"}
}
environments: local: cluster: {distribution: "k3s", arch: ["amd64"]}
`), 0o644)
	_, _, ferr, uerr := loadBothWays(t, dir)
	if ferr == nil || uerr == nil || ferr.Error() != uerr.Error() {
		t.Errorf("errors differ:\n%v\nunifying:\n%v", ferr, uerr)
	}
}

// An input written as plain data loads in two CUE contexts, which share
// out its components: the model is the one a single context gives,
// positions included.
func TestSplitLoadGivesWhatOneContextGives(t *testing.T) {
	defer func() { splitAtBuild, splitLoaded = true, func() {} }()
	for seed := range uint64(3) {
		dir := t.TempDir()
		if err := synth.Write(dir, 40+30*int(seed), 3, seed+1); err != nil {
			t.Fatal(err)
		}
		splitAtBuild = false
		one, err := Dir(dir)
		if err != nil {
			t.Fatal(err)
		}
		splitAtBuild = true
		split := false
		splitLoaded = func() { split = true }
		two, err := Dir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !split {
			t.Fatalf("seed %d: not loaded in two contexts", seed)
		}
		var diffs []string
		modelDiff(reflect.ValueOf(two), reflect.ValueOf(one), "input", map[[2]uintptr]bool{}, &diffs)
		for _, d := range diffs {
			t.Errorf("seed %d: the model differs from one context's: %s", seed, d)
		}
	}
}
