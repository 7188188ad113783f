package synth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/policies"
)

// A generated system loads, compiles and passes every rule, and the same
// parameters give the same files.
func TestGeneratedSystemIsValid(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, 120, 3, 7); err != nil {
		t.Fatal(err)
	}
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := images.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := compiler.Compile(in, in.Environments, lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("got %d environments, want 3", len(results))
	}
	for _, r := range results {
		// Both charts render, their Deployments and the gateway's HPA
		// among what the rules check.
		kinds := map[string]int{}
		for _, o := range r.Output.Charted {
			kinds[o.Kind]++
		}
		if kinds["Deployment"] != 2 || kinds["HorizontalPodAutoscaler"] != 1 || kinds["CustomResourceDefinition"] != 1 {
			t.Errorf("%s: the charts render %v", r.Resolved.Env.Name, kinds)
		}
		for _, f := range policies.Check(r.Resolved, r.Output, lock, policies.Options{}) {
			if f.Severity == policies.Error || f.Severity == policies.Warning {
				t.Errorf("%s: %s %s", f.Env, f.Rule, f.Message)
			}
		}
	}
	again := t.TempDir()
	if err := Write(again, 120, 3, 7); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(again, rel))
		if string(a) != string(b) {
			t.Errorf("%s differs between two generations", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
