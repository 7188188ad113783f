package policies_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies"
)

// The rules that the source alone cannot break are tested here on a
// rendered system edited by hand, the way a renderer bug or a
// hand-written manifest would break it.

// anyImage is the test's image facts: every reference is locked, with a
// fake digest, for both architectures.
type anyImage struct{}

func (anyImage) Lookup(ref string) (images.Entry, bool) {
	return images.Entry{Ref: ref, Digest: "sha256:" + strings.Repeat("a", 64), Platforms: []string{"linux/amd64", "linux/arm64"}}, true
}

// today decides waiver expiry in these tests.
var today = time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC)

// system is a loaded input, written once into a temporary folder.
type system struct {
	dir string
	src string // system.cue, to find positions in
	in  *model.Input
}

// loadSystem writes src as system.cue and loads it.
func loadSystem(t *testing.T, src string) *system {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "system.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return &system{dir: dir, src: src, in: in}
}

// compile renders a fresh copy of environment env, for a test to edit.
func (s *system) compile(t *testing.T, env string) *compiler.Result {
	t.Helper()
	e := s.in.Environment(env)
	if e == nil {
		t.Fatalf("no environment %s", env)
	}
	rs, err := compiler.Compile(s.in, []*model.Environment{e}, anyImage{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return rs[0]
}

// check runs every rule and prints the findings the way vet does, one
// "system.cue:LINE:COL: severity RULE: message" per finding, sorted.
func (s *system) check(r *compiler.Result, opts policies.Options) []string {
	if opts.Today.IsZero() {
		opts.Today = today
	}
	fs := policies.Merge([][]policies.Finding{policies.Check(r.Resolved, r.Output, anyImage{}, opts)})
	var out []string
	for _, f := range fs {
		sev := string(f.Severity)
		if f.Waiver != "" {
			sev = "waived " + sev
		}
		out = append(out, fmt.Sprintf("%s: %s %s: %s", diag.Position(f.Pos, s.dir), sev, f.Rule, f.Message))
	}
	return out
}

// at is the position, "system.cue:LINE:COL", of the n-th (from 1)
// occurrence of needle in the source.
func (s *system) at(t *testing.T, needle string, n int) string {
	t.Helper()
	off := -1
	for range n {
		i := strings.Index(s.src[off+1:], needle)
		if i < 0 {
			t.Fatalf("%q does not occur %d times in the source", needle, n)
		}
		off += 1 + i
	}
	line := 1 + strings.Count(s.src[:off], "\n")
	col := off - strings.LastIndex(s.src[:off], "\n")
	return fmt.Sprintf("system.cue:%d:%d", line, col)
}

// object returns the rendered object of kind in namespace ns called name.
func object(t *testing.T, r *compiler.Result, kind, ns, name string) *render.Object {
	t.Helper()
	for _, o := range r.Output.Objects {
		if o.Kind == kind && o.Namespace == ns && o.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s in the output", kind, ns, name)
	return nil
}

// remove drops an object from the output.
func remove(t *testing.T, r *compiler.Result, kind, ns, name string) {
	t.Helper()
	o := object(t, r, kind, ns, name)
	r.Output.Objects = slices.DeleteFunc(r.Output.Objects, func(x *render.Object) bool { return x == o })
}

// only keeps the findings of one rule.
func only(rule string, lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, " "+rule+": ") {
			out = append(out, l)
		}
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// Rule IDs are how waivers, --format sarif and gitopsc explain name a
// rule: two rules may not share one.
func TestRuleIDsAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, r := range policies.Rules() {
		if other, ok := seen[r.ID]; ok {
			t.Errorf("%s is the ID of %q and of %q", r.ID, other, r.Title)
		}
		seen[r.ID] = r.Title
	}
}
