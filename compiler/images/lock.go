// Package images holds what gitopsc knows of container images: the lock
// file that records, for every image reference of an input, the digest its
// tag pointed to and the platforms it publishes. vet and build read only
// the lock, so they run offline and deterministically.
package images

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// LockFile is the lock's name inside the input folder.
const LockFile = "images.lock"

const lockHeader = `# gitopsc image lock: for each image reference, the digest its tag resolved
# to and the platforms it publishes. Written by "gitopsc images lock"; review
# changes like go.sum, do not edit by hand.
`

// Entry is what the lock records of one image reference.
type Entry struct {
	Ref       string   // repository:tag as written in the input
	Digest    string   // sha256:... of the manifest or index the tag points to
	Platforms []string // os/arch[/variant], sorted; attestations left out
}

// Facts answers what is known of an image reference. The lock is one
// implementation; tests may fill another.
type Facts interface {
	Lookup(ref string) (Entry, bool)
}

// Lock is the parsed lock file, keyed by reference.
type Lock struct {
	Entries map[string]Entry
}

// Lookup returns the entry for ref.
func (l *Lock) Lookup(ref string) (Entry, bool) {
	if l == nil {
		return Entry{}, false
	}
	e, ok := l.Entries[ref]
	return e, ok
}

// Publishes reports whether the entry lists a platform that satisfies
// platform ("linux/arm64"), the way v1.Platform.Satisfies matches: a part
// the request leaves out matches anything, so "linux/arm64/v8" satisfies
// "linux/arm64". A published arm64 without a variant is v8, so it also
// satisfies "linux/arm64/v8"; other variants must be equal.
func (e Entry) Publishes(platform string) bool {
	want, err := ParsePlatform(platform)
	if err != nil {
		return false
	}
	for _, p := range e.Platforms {
		got, err := ParsePlatform(p)
		if err != nil {
			continue
		}
		if got.Architecture == "arm64" && got.Variant == "" {
			got.Variant = "v8"
		}
		if got.Satisfies(want) {
			return true
		}
	}
	return false
}

// ParsePlatform parses a platform as the lock writes it: "os/arch" or
// "os/arch/variant".
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	bad := len(parts) < 2 || len(parts) > 3
	for _, p := range parts {
		bad = bad || p == "" || strings.ContainsAny(p, " \t:")
	}
	if bad {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant]", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// FormatPlatform renders p as the lock writes it: os/arch[/variant]. The
// OS version and features are left out.
func FormatPlatform(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ReadLock reads the lock in dir; a missing file is an empty lock.
func ReadLock(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &Lock{Entries: map[string]Entry{}}, nil
	}
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	return ParseLock(path, b)
}

// ParseLock parses lock file content; name is used in error messages.
func ParseLock(name string, b []byte) (*Lock, error) {
	l := &Lock{Entries: map[string]Entry{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 || !validDigest(f[1]) {
			return nil, fmt.Errorf("%s:%d: want \"REFERENCE sha256:DIGEST [PLATFORM]...\"; run gitopsc images lock to rewrite the lock", name, line)
		}
		if _, dup := l.Entries[f[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s is locked twice", name, line, f[0])
		}
		plats := append([]string(nil), f[2:]...)
		for _, p := range plats {
			if _, err := ParsePlatform(p); err != nil {
				return nil, fmt.Errorf("%s:%d: %v; run gitopsc images lock to rewrite the lock", name, line, err)
			}
		}
		sort.Strings(plats)
		l.Entries[f[0]] = Entry{Ref: f[0], Digest: f[1], Platforms: plats}
	}
	return l, sc.Err()
}

// validDigest reports whether d is "sha256:" and 64 lowercase hex digits.
func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Format renders the lock deterministically: header, then one line per
// reference in sorted order.
func (l *Lock) Format() []byte {
	var b bytes.Buffer
	b.WriteString(lockHeader)
	refs := make([]string, 0, len(l.Entries))
	for r := range l.Entries {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		e := l.Entries[r]
		plats := append([]string(nil), e.Platforms...)
		sort.Strings(plats)
		b.WriteString(r + " " + e.Digest)
		for _, p := range plats {
			b.WriteString(" " + p)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Pinned returns ref pinned by the entry's digest: "repo:tag@sha256:...".
func (e Entry) Pinned() string { return e.Ref + "@" + e.Digest }

// WriteLock writes l as the lock in dir, whole or not at all: the content
// goes to a temporary file in dir, which is then renamed over the lock.
// It reports whether the file changed; an identical lock is left as it is.
func WriteLock(dir string, l *Lock) (changed bool, err error) {
	path := filepath.Join(dir, LockFile)
	content := l.Format()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	f, err := os.CreateTemp(dir, "."+LockFile+"-*")
	if err != nil {
		return false, diag.OutsideErr(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(content); err != nil {
		f.Close()
		return false, diag.OutsideErr(err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return false, diag.OutsideErr(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, diag.OutsideErr(err)
	}
	if err := f.Close(); err != nil {
		return false, diag.OutsideErr(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, diag.OutsideErr(err)
	}
	return true, nil
}
