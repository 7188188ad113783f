package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A binary go build makes from the checkout reports the checkout's
// revision: go records it as a pseudo-version (with +dirty when there are
// uncommitted changes), which gitopsc version prints.
func TestVersionFromCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gitopsc")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "gitopsc")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/gitopsc")
	build.Dir = root
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "error obtaining VCS status") {
			t.Skipf("go cannot read the checkout's status here: %s", out)
		}
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(head))
	want := regexp.MustCompile(`^gitopsc (v0\.0\.0-[0-9]{14}-` + rev[:12] + `(\+dirty)?)\n  module   github\.com/gitopsc/gitopsc v0\.0\.0-[0-9]{14}-` + rev[:12] + `(\+dirty)?\n  revision ` + rev + ` \([0-9TZ:-]+\)(, with uncommitted changes)?\n  go       go1\.`)
	if !want.Match(out) {
		t.Errorf("gitopsc version of a build of %s:\n%s\nwant it to name that revision", rev[:12], out)
	}
	short, err := exec.Command(bin, "version", "--short").Output()
	if err != nil {
		t.Fatal(err)
	}
	if m := want.FindSubmatch(out); m != nil && strings.TrimSpace(string(short)) != string(m[1]) {
		t.Errorf("gitopsc version --short: %q, want %q", short, m[1])
	}
}
