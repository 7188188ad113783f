package imagetest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gitopsc/gitopsc/compiler/images"
)

// The same spec gives the same digest in a registry and in a layout, on
// every run; a new seed gives another.
func TestDeterministic(t *testing.T) {
	reg := StartRegistry()
	defer reg.Close()
	spec := Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, Attestations: true}
	remoteRef, _ := name.ParseReference(reg.Host + "/apps/web:1.0.0")
	layoutRef, _ := name.ParseReference("registry.example.com/apps/web:1.0.0")
	pushed, err := Push(remoteRef, spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	written, err := AppendLayout(dir, layoutRef, spec)
	if err != nil {
		t.Fatal(err)
	}
	_, idx, err := Build("apps/web:1.0.0", spec)
	if err != nil {
		t.Fatal(err)
	}
	built, _ := idx.Digest()
	if pushed != written || pushed != built {
		t.Errorf("digests differ: pushed %s, layout %s, built %s", pushed, written, built)
	}
	spec.Seed = "2"
	moved, err := AppendLayout(dir, layoutRef, spec)
	if err != nil {
		t.Fatal(err)
	}
	if moved == written {
		t.Error("a new seed kept the digest")
	}
	// The tag moved in the layout: one entry, the new one.
	l, err := images.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Resolve(t.Context(), "registry.example.com/apps/web:1.0.0")
	if err != nil || e.Digest != moved.String() {
		t.Errorf("layout resolves to %v, %v; want %s", e, err, moved)
	}
}
