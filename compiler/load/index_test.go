package load

import (
	"path/filepath"
	"reflect"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gitopsc/gitopsc/internal/synth"
)

// Indexed lookups give the model LookupPath gives, positions included, and
// the same errors, over every testscript input, the shipped ones and
// synthetic systems of every kind (these take the fast check's path,
// whose contexts are indexed).
func TestIndexedLookupGivesWhatLookupPathGives(t *testing.T) {
	defer func() { indexAtBuild = true }()
	dirs, _ := inputDirs(t)
	for seed := range uint64(2) {
		dir := filepath.Join(t.TempDir(), "synth")
		if err := synth.Write(dir, 50+40*int(seed), 3, seed+2); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	fast := 0
	for _, dir := range dirs {
		indexAtBuild = false
		plain, perr := Dir(dir)
		indexAtBuild = true
		split := false
		splitLoaded = func() { split = true }
		indexed, ierr := Dir(dir)
		splitLoaded = func() {}
		if split {
			fast++
		}
		if (perr == nil) != (ierr == nil) || perr != nil && perr.Error() != ierr.Error() {
			t.Errorf("%s: indexed, the error is %v; with LookupPath, %v", dir, ierr, perr)
			continue
		}
		var diffs []string
		modelDiff(reflect.ValueOf(indexed), reflect.ValueOf(plain), "input", map[[2]uintptr]bool{}, &diffs)
		for _, d := range diffs {
			t.Errorf("%s: the model differs from LookupPath's: %s", dir, d)
		}
	}
	if fast < 3 {
		t.Fatalf("only %d inputs took the indexed path", fast)
	}
}

// lookup answers as LookupPath does for fields present, absent, nested,
// optional and required, in structs, lists and scalars.
func TestLookupAnswersAsLookupPath(t *testing.T) {
	ctx := cuecontext.New()
	v := ctx.CompileString(`
a: {b: 1, c: {d: "x"}, "e-f": [1, 2], opt?: 3, req!: 4, _hid: 5, #def: 6}
s: "str"
l: [{b: 1}]
g: {"x.y": 2}
`)
	if v.Err() != nil {
		t.Fatal(v.Err())
	}
	defer indexing(ctx)()
	if lookup(v, "a.b"); indexOf(v) == nil || indexOf(v).byValue[v] == nil {
		t.Fatal("lookup answered without listing the struct it read")
	}
	paths := []string{"a", "a.b", "a.c", "a.c.d", "a.c.zz", "a.zz", "a.zz.b", "a.e-f", "a.opt", "a.req", "a._hid",
		"a.b.c", "s", "s.x", "l", "l.b", "zz", "zz.y", "a.zz", "a.c.d"}
	type ask struct {
		name      string
		got, want func() cue.Value
	}
	var asks []ask
	for _, p := range paths {
		asks = append(asks, ask{p, func() cue.Value { return lookup(v, p) }, func() cue.Value { return v.LookupPath(cuePath(p)) }})
	}
	asks = append(asks,
		ask{"under an absent field", func() cue.Value { return lookup(lookup(v, "a.zz"), "b") },
			func() cue.Value { return v.LookupPath(cuePath("a.zz")).LookupPath(cuePath("b")) }},
		ask{"a label with a dot", func() cue.Value { return lookupLabels(v, "g", "x.y") },
			func() cue.Value { return v.LookupPath(cue.MakePath(cue.Str("g"), cue.Str("x.y"))) }},
		ask{"an absent label with a dot", func() cue.Value { return lookupLabels(v, "g", "x.z") },
			func() cue.Value { return v.LookupPath(cue.MakePath(cue.Str("g"), cue.Str("x.z"))) }})
	for _, a := range asks {
		p, want := a.name, a.want()
		for range 2 { // listed, then from the list
			got := a.got()
			if got.Exists() != want.Exists() || got.Pos() != want.Pos() || got.Kind() != want.Kind() ||
				got.IncompleteKind() != want.IncompleteKind() || fmtValue(got) != fmtValue(want) {
				t.Errorf("%s: lookup gives %v (exists %v, at %v), LookupPath %v (exists %v, at %v)",
					p, fmtValue(got), got.Exists(), got.Pos(), fmtValue(want), want.Exists(), want.Pos())
			}
		}
	}
}

func fmtValue(v cue.Value) string {
	if !v.Exists() {
		return "<absent>"
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return "error"
	}
	return string(b)
}
