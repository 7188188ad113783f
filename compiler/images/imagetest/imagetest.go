// Package imagetest builds deterministic container images and serves them
// from a real registry on loopback, with faults to inject, so tests and the
// shipped example exercise the registry protocol rather than a mock.
//
// An image's content derives only from its repository, tag, platform and
// seed, so its digest is the same on every run and every machine.
package imagetest

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gitopsc/gitopsc/compiler/images"
)

// Spec says what to build for one tag.
type Spec struct {
	// Platforms, os/arch[/variant]; linux/amd64 when empty.
	Platforms []string
	// Single builds one image manifest for Platforms[0], its platform only
	// in its config, instead of an index.
	Single bool
	// Attestations adds, per image, an in-toto attestation manifest with
	// the platform unknown/unknown, as docker buildx does.
	Attestations bool
	// NoIndexPlatforms leaves the platform out of the index entries, so
	// a reader must take it from each image's config.
	NoIndexPlatforms bool
	// Seed varies the content: a new seed moves the tag to a new digest.
	Seed string
	// User is the user every platform's image config names, as a
	// Dockerfile's USER sets it ("101", "101:101", "nginx"); left empty,
	// the config names none and the image runs as root.
	User string
}

// Media types and annotations of buildx attestation manifests.
const (
	inTotoLayer          = types.MediaType("application/vnd.in-toto+json")
	annotationRefDigest  = "vnd.docker.reference.digest"
	annotationRefType    = "vnd.docker.reference.type"
	attestationManifest  = "attestation-manifest"
	annotationPredicate  = "in-toto.io/predicate-type"
	spdxPredicate        = "https://spdx.dev/Document"
	imageReleaseFilename = "etc/image-release"
)

// Build returns the image or index s describes for the repository path
// and tag in id ("apps/web:1.0.0"); exactly one of the results is set.
func Build(id string, s Spec) (v1.Image, v1.ImageIndex, error) {
	plats := s.Platforms
	if len(plats) == 0 {
		plats = []string{"linux/amd64"}
	}
	var ps []v1.Platform
	for _, p := range plats {
		pp, err := images.ParsePlatform(p)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, pp)
	}
	if s.Single {
		if len(ps) != 1 {
			return nil, nil, fmt.Errorf("a single-platform image has one platform, not %d", len(ps))
		}
		img, err := platformImage(id, s.Seed, s.User, ps[0])
		return img, nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range ps {
		img, err := platformImage(id, s.Seed, s.User, p)
		if err != nil {
			return nil, nil, err
		}
		desc := v1.Descriptor{}
		if !s.NoIndexPlatforms {
			desc.Platform = &p
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: desc})
		if !s.Attestations {
			continue
		}
		att, err := attestation(id, s.Seed, img)
		if err != nil {
			return nil, nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{annotationRefDigest: d.String(), annotationRefType: attestationManifest},
		}})
	}
	return nil, idx, nil
}

// platformImage is one image with a single small layer, run as user.
func platformImage(id, seed, user string, p v1.Platform) (v1.Image, error) {
	content := fmt.Sprintf("image %s\nplatform %s\nseed %s\n", id, images.FormatPlatform(p), seed)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	hdr := &tar.Header{Name: imageReleaseFilename, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0).UTC(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, static.NewLayer(b.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		return nil, err
	}
	img, err = withPlatform(img, p)
	if err != nil || user == "" {
		return img, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config.User = user
	return mutate.ConfigFile(img, cf)
}

// attestation is an SPDX attestation of img, shaped as buildx writes it.
func attestation(id, seed string, img v1.Image) (v1.Image, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	stmt, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": spdxPredicate,
		"subject":       []any{map[string]any{"name": id, "digest": map[string]string{"sha256": d.Hex}}},
		"predicate":     map[string]any{"spdxVersion": "SPDX-2.3", "name": id + " seed " + seed},
	})
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	att, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(stmt, inTotoLayer),
		Annotations: map[string]string{annotationPredicate: spdxPredicate},
	})
	if err != nil {
		return nil, err
	}
	return withPlatform(att, v1.Platform{OS: "unknown", Architecture: "unknown"})
}

func withPlatform(img v1.Image, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cf)
}

// id is what an image's content derives from: its repository path and
// tag, without the registry host, so the same image pushed to any
// registry has the same digest.
func id(ref name.Reference) string {
	return ref.Context().RepositoryStr() + ":" + ref.Identifier()
}

// Push builds s for ref and pushes it, returning the digest the tag now
// points to.
func Push(ref name.Reference, s Spec, opts ...remote.Option) (v1.Hash, error) {
	img, idx, err := Build(id(ref), s)
	if err != nil {
		return v1.Hash{}, err
	}
	if img != nil {
		if err := remote.Write(ref, img, opts...); err != nil {
			return v1.Hash{}, err
		}
		return img.Digest()
	}
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}

// AppendLayout builds s for ref and adds it to the OCI image layout in
// dir, created when missing, annotated with the full reference as
// images.RefNameAnnotation. An entry already there for ref is replaced,
// as a push moves a tag.
func AppendLayout(dir string, ref name.Reference, s Spec) (v1.Hash, error) {
	img, idx, err := Build(id(ref), s)
	if err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return v1.Hash{}, err
		}
	}
	ann := layout.WithAnnotations(map[string]string{images.RefNameAnnotation: ref.String()})
	same := match.Annotation(images.RefNameAnnotation, ref.String())
	if img != nil {
		if err := p.ReplaceImage(img, same, ann); err != nil {
			return v1.Hash{}, err
		}
		return img.Digest()
	}
	if err := p.ReplaceIndex(idx, same, ann); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}
