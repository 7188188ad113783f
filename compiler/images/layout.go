package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// RefNameAnnotation names the reference an entry of an OCI image layout's
// index.json stands for. A layout read by gitopsc holds the full reference
// there, as the input writes it ("registry.example.com/apps/web:1.0.0"),
// not a bare tag.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Layout resolves references from an OCI image layout, for CI without
// registry access: each reference is looked up among the entries of the
// layout's index.json by its RefNameAnnotation. References are compared
// after normalising both ("mysql:8.4" is "index.docker.io/library/mysql:8.4").
type Layout struct {
	dir   string
	index v1.ImageIndex
	byRef map[string][]v1.Descriptor
}

// OpenLayout reads the index of the OCI image layout in dir.
func OpenLayout(dir string) (*Layout, error) {
	fail := func(err error) (*Layout, error) {
		return nil, diag.OutsideErr(fmt.Errorf("image layout %s: %w", dir, err))
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail(errors.New("no such folder"))
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return fail(errors.New("no index.json, so not an OCI image layout"))
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return fail(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return fail(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fail(malformed("index", err))
	}
	l := &Layout{dir: dir, index: idx, byRef: map[string][]v1.Descriptor{}}
	for _, d := range im.Manifests {
		if r, ok := normalRef(d.Annotations[RefNameAnnotation]); ok {
			l.byRef[r] = append(l.byRef[r], d)
		}
	}
	return l, nil
}

// normalRef is the full name of a reference: registry, repository and tag.
// A bare tag, as some tools write, names no registry and matches nothing
// an input would use.
func normalRef(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	r, err := name.ParseReference(s)
	if err != nil {
		return "", false
	}
	return r.Name(), true
}

// Resolve finds ref among the layout's entries.
func (l *Layout) Resolve(ctx context.Context, ref string) (Entry, error) {
	key, err := name.ParseReference(ref)
	if err != nil {
		return Entry{}, err
	}
	ds := l.byRef[key.Name()]
	if len(ds) == 0 {
		return Entry{}, fmt.Errorf("not in the image layout %s (no index.json entry with %s=%s)", l.dir, RefNameAnnotation, ref)
	}
	d := ds[0]
	for _, o := range ds[1:] {
		if o.Digest != d.Digest {
			return Entry{}, fmt.Errorf("the image layout %s names it twice, as %s and %s", l.dir, d.Digest, o.Digest)
		}
	}
	plats, users, err := manifestPlatforms(d.MediaType,
		func() (v1.ImageIndex, error) { return l.index.ImageIndex(d.Digest) },
		func() (v1.Image, error) { return l.index.Image(d.Digest) })
	if err != nil {
		return Entry{}, err
	}
	return Entry{Ref: ref, Digest: d.Digest.String(), Platforms: plats, Users: users}, nil
}
