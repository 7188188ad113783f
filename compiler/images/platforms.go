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

// published is what an index or image publishes: its platforms, and the
// user each platform's image config names where it was read.
type published struct {
	platforms map[string]bool
	users     map[string]string
}

// add records platform p, with the user of its image when known. When
// two entries publish one platform, the first counts, as a runtime
// pulling that platform picks the first.
func (pub *published) add(p string, user *string) {
	if p == "" || pub.platforms[p] {
		return
	}
	pub.platforms[p] = true
	if user != nil {
		pub.users[p] = *user
	}
}

// manifestPlatforms lists the platforms of what a tag points to, and the
// user each platform's image config names: each entry of an index, or the
// one image of a single-platform manifest, its platform read from its
// config. An index is enumerated, never resolved through a default
// platform.
func manifestPlatforms(mt types.MediaType, index func() (v1.ImageIndex, error), image func() (v1.Image, error)) (platforms []string, users map[string]string, err error) {
	pub := &published{platforms: map[string]bool{}, users: map[string]string{}}
	switch {
	case mt.IsIndex():
		idx, err := index()
		if err != nil {
			return nil, nil, malformed("index", err)
		}
		if err := indexPlatforms(idx, pub, 1); err != nil {
			return nil, nil, err
		}
	case mt.IsSchema1():
		return nil, nil, fmt.Errorf("%s manifests (Docker schema 1) are not supported; push the image again with a current client", mt)
	case mt.IsImage():
		img, err := image()
		if err != nil {
			return nil, nil, malformed("manifest", err)
		}
		cf, err := imageConfig(img)
		if err != nil {
			return nil, nil, err
		}
		p := configPlatform(cf)
		if p == "" {
			return nil, nil, &MalformedError{What: "image config", Err: errors.New("it names no os and architecture")}
		}
		pub.add(p, &cf.Config.User)
	default:
		return nil, nil, fmt.Errorf("media type %q is neither an image nor an image index", mt)
	}
	if len(pub.platforms) == 0 {
		return nil, nil, &MalformedError{What: "index", Err: errors.New("it lists no image with a platform")}
	}
	for p := range pub.platforms {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	for p, u := range pub.users {
		if err := userProblem(u); err != nil {
			return nil, nil, &MalformedError{What: "image config", Err: fmt.Errorf("%s: %w", p, err)}
		}
	}
	return platforms, pub.users, nil
}

// indexPlatforms adds what idx publishes to pub. Attestation manifests
// are skipped; each image's config gives its user, and its platform when
// the index entry names none; a nested index is followed.
func indexPlatforms(idx v1.ImageIndex, pub *published, depth int) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return malformed("index", err)
	}
	for _, d := range im.Manifests {
		if isAttestation(d) {
			continue
		}
		named := ""
		if d.Platform != nil && d.Platform.OS != "" && d.Platform.Architecture != "" {
			named = FormatPlatform(*d.Platform)
		}
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return malformed("manifest", err)
			}
			cf, err := imageConfig(img)
			if err != nil {
				return err
			}
			p := named
			if p == "" {
				p = configPlatform(cf)
			}
			pub.add(p, &cf.Config.User)
		case named != "":
			// Not an image this reader knows: the index's word for
			// its platform, and no user.
			pub.add(named, nil)
		case d.MediaType.IsIndex() && depth < maxIndexDepth:
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return malformed("index", err)
			}
			if err := indexPlatforms(child, pub, depth+1); err != nil {
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

// imageConfig reads an image's manifest and config.
func imageConfig(img v1.Image) (*v1.ConfigFile, error) {
	if _, err := img.Manifest(); err != nil {
		return nil, malformed("manifest", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, malformed("image config", err)
	}
	return cf, nil
}

// configPlatform is os/arch[/variant] from an image's config, or "" when
// the config names none (an artifact rather than an image).
func configPlatform(cf *v1.ConfigFile) string {
	if cf.OS == "" || cf.Architecture == "" || cf.OS == "unknown" {
		return ""
	}
	return FormatPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})
}

// userProblem says why the lock cannot record u: its fields are separated
// by blanks and a platform's attributes by ";".
func userProblem(u string) error {
	for _, c := range u {
		if c == ';' || c < ' ' || c == ' ' || c == 0x7f {
			return fmt.Errorf("the user %q holds a blank, a control character or \";\"", u)
		}
	}
	return nil
}
