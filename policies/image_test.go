package policies_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/policies"
)

// The renderer pins every image by its locked digest; IMG002 catches a
// rendered container, init containers included, whose digest went missing.
func TestImagesPinnedRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	p := podSpec(t, r, "web")
	for _, c := range []*string{&p.InitContainers[0].Image, &p.Containers[0].Image} {
		*c, _, _ = strings.Cut(*c, "@")
	}
	sameLines(t, only("IMG002", s.check(r, policies.Options{})), []string{
		s.at(t, "web: {", 1) + ": error IMG002: container migrate: image registry.example.com/web-migrate:1.0.0 is not pinned by digest",
		s.at(t, "web: {", 1) + ": error IMG002: container web: image registry.example.com/web:1.0.0 is not pinned by digest",
	})
}

// An untagged image never reaches the rules from the command line (the
// render cannot pin it and stops with an input error); IMG001 still
// reports one, at the image line, when handed such a component.
func TestUntaggedImageRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	for _, c := range r.Resolved.System.Components {
		if c.Name == "worker" {
			c.Image.Ref, c.Image.Tag = c.Image.Repository, ""
		}
	}
	sameLines(t, only("IMG001", s.check(r, policies.Options{})), []string{
		s.at(t, `image:     "registry.example.com/worker:1.0.0"`, 1) + ": error IMG001: container worker: image registry.example.com/worker has no tag",
	})
}

// An image the lock does not record renders by its tag alone; IMG005
// reports it once per reference, at its image line, with a hint, and
// IMG002 keeps quiet about it. A lock file that is absent says so.
func TestImagesLockedRule(t *testing.T) {
	s := loadSystem(t, shop)
	digest := "sha256:" + strings.Repeat("a", 64)
	lock := &images.Lock{Entries: map[string]images.Entry{
		"registry.example.com/web:1.0.0": {Ref: "registry.example.com/web:1.0.0", Digest: digest, Platforms: []string{"linux/amd64", "linux/arm64"}},
	}}
	rs, err := compiler.Compile(s.in, []*model.Environment{s.in.Environment("local")}, lock)
	if err != nil {
		t.Fatalf("compile without every image locked: %v", err)
	}
	r := rs[0]
	if img := podSpec(t, r, "web").InitContainers[0].Image; img != "registry.example.com/web-migrate:1.0.0" {
		t.Errorf("unlocked init container rendered as %s, want the tag alone", img)
	}
	lockPath := filepath.ToSlash(filepath.Join(s.in.Arg, images.LockFile))
	var got, hints []string
	for _, f := range policies.Check(r.Resolved, r.Output, lock, policies.Options{Today: today}) {
		if f.Rule == "IMG002" || f.Rule == "IMG005" {
			got = append(got, fmt.Sprintf("%s: %s %s: %s", diag.Position(f.Pos, s.dir), f.Severity, f.Rule, f.Message))
			hints = append(hints, f.Hint)
		}
	}
	sameLines(t, got, []string{
		s.at(t, `image: "registry.example.com/web-migrate:1.0.0"`, 1) + ": error IMG005: init container migrate: image registry.example.com/web-migrate:1.0.0 is not in " + lockPath,
		s.at(t, `image:     "registry.example.com/worker:1.0.0"`, 1) + ": error IMG005: container worker: image registry.example.com/worker:1.0.0 is not in " + lockPath,
	})
	want := lockPath + " lacks these images; run: gitopsc images lock " + s.in.Arg
	for _, h := range hints {
		if h != want {
			t.Errorf("hint %q, want %q", h, want)
		}
	}

	absent := &images.Lock{Entries: map[string]images.Entry{}, Absent: true}
	for _, f := range policies.Check(r.Resolved, r.Output, absent, policies.Options{Today: today}) {
		if f.Rule == "IMG005" && f.Hint != lockPath+" does not exist; run: gitopsc images lock "+s.in.Arg {
			t.Errorf("hint without a lock file: %q", f.Hint)
		}
	}
}
