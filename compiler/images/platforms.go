package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations docker buildx puts on the attestation manifests it adds to
// an index beside the images, with the platform unknown/unknown.
const (
	annotationReferenceType = "vnd.docker.reference.type"
	attestationManifest     = "attestation-manifest"
)

// maxIndexDepth bounds how far nested indexes are followed.
const maxIndexDepth = 3

// MalformedError is a manifest or image config that cannot be read.
type MalformedError struct {
	What string // "index", "manifest", "image config"
	Err  error
}

func (e *MalformedError) Error() string { return "malformed " + e.What + ": " + e.Err.Error() }
func (e *MalformedError) Unwrap() error { return e.Err }

// malformed wraps a decoding error as a MalformedError and passes any
// other error, such as a failed fetch, through.
func malformed(what string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return &MalformedError{What: what, Err: err}
	}
	return err
}

// manifestPlatforms lists the platforms of what a tag points to: each
// entry of an index, or the one image of a single-platform manifest, read
// from its config. An index is enumerated, never resolved through a
// default platform.
func manifestPlatforms(mt types.MediaType, index func() (v1.ImageIndex, error), image func() (v1.Image, error)) ([]string, error) {
	set := map[string]bool{}
	switch {
	case mt.IsIndex():
		idx, err := index()
		if err != nil {
			return nil, malformed("index", err)
		}
		if err := indexPlatforms(idx, set, 1); err != nil {
			return nil, err
		}
	case mt.IsSchema1():
		return nil, fmt.Errorf("%s manifests (Docker schema 1) are not supported; push the image again with a current client", mt)
	case mt.IsImage():
		img, err := image()
		if err != nil {
			return nil, malformed("manifest", err)
		}
		p, err := imagePlatform(img)
		if err != nil {
			return nil, err
		}
		if p == "" {
			return nil, &MalformedError{What: "image config", Err: errors.New("it names no os and architecture")}
		}
		set[p] = true
	default:
		return nil, fmt.Errorf("media type %q is neither an image nor an image index", mt)
	}
	if len(set) == 0 {
		return nil, &MalformedError{What: "index", Err: errors.New("it lists no image with a platform")}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// indexPlatforms adds the platforms idx publishes to set. Attestation
// manifests are skipped; an entry without a platform is read from its
// image config, and a nested index is followed.
func indexPlatforms(idx v1.ImageIndex, set map[string]bool, depth int) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return malformed("index", err)
	}
	for _, d := range im.Manifests {
		if isAttestation(d) {
			continue
		}
		switch {
		case d.Platform != nil && d.Platform.OS != "" && d.Platform.Architecture != "":
			set[FormatPlatform(*d.Platform)] = true
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return malformed("manifest", err)
			}
			p, err := imagePlatform(img)
			if err != nil {
				return err
			}
			if p != "" {
				set[p] = true
			}
		case d.MediaType.IsIndex() && depth < maxIndexDepth:
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return malformed("index", err)
			}
			if err := indexPlatforms(child, set, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// isAttestation reports whether an index entry is an attestation
// manifest rather than an image to run.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations[annotationReferenceType] == attestationManifest {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// imagePlatform reads os/arch[/variant] from an image's config, or ""
// when the config names none (an artifact rather than an image).
func imagePlatform(img v1.Image) (string, error) {
	if _, err := img.Manifest(); err != nil {
		return "", malformed("manifest", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", malformed("image config", err)
	}
	if cf.OS == "" || cf.Architecture == "" || cf.OS == "unknown" {
		return "", nil
	}
	return FormatPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}), nil
}
