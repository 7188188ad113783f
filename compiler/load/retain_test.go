package load

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/gitopsc/gitopsc/internal/synth"
)

// The model holds positions, and through them the files they are in, but
// none of the syntax or the evaluation that made it: the later stages'
// garbage collections would mark them again and again. Both ways of
// loading are walked, the fast check's (a synthetic system is plain data)
// and the schema's (the shipped system is not).
func TestModelHoldsNoSyntax(t *testing.T) {
	held := []string{"cuelang.org/go/cue", "cuelang.org/go/cue/ast", "cuelang.org/go/cue/build",
		"cuelang.org/go/cue/load", "cuelang.org/go/internal/core/adt", "cuelang.org/go/internal/core/runtime"}
	dir := t.TempDir()
	if err := synth.Write(dir, 60, 3, 1); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{dir, filepath.Join("..", "..", "environments")} {
		in, err := Dir(dir)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uintptr]bool{}
		var walk func(v reflect.Value, path string)
		walk = func(v reflect.Value, path string) {
			if pkg := v.Type().PkgPath(); slices.Contains(held, pkg) {
				t.Fatalf("the model of %s holds a %s at %s", dir, v.Type(), path)
			}
			switch v.Kind() {
			case reflect.Pointer, reflect.Interface:
				if v.IsNil() {
					return
				}
				if v.Kind() == reflect.Pointer {
					if seen[v.Pointer()] {
						return
					}
					seen[v.Pointer()] = true
				}
				walk(v.Elem(), path)
			case reflect.Struct:
				for i := range v.NumField() {
					walk(v.Field(i), path+"."+v.Type().Field(i).Name)
				}
			case reflect.Slice, reflect.Array:
				for i := range v.Len() {
					walk(v.Index(i), path+"[]")
				}
			case reflect.Map:
				for it := v.MapRange(); it.Next(); {
					walk(it.Key(), path+"{key}")
					walk(it.Value(), path+"{}")
				}
			case reflect.Func:
				// A function's captures are out of reflection's reach; the
				// one a file's location holds maps a path to its display
				// form.
			}
		}
		walk(reflect.ValueOf(in), "input")
	}
}
