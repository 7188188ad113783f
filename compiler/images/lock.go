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

// Publishes reports whether the entry lists platform ("linux/arm64"); an
// entry for "linux/arm64/v8" satisfies "linux/arm64" and the reverse, as
// v1.Platform.Satisfies treats arm64 variants.
func (e Entry) Publishes(platform string) bool {
	want := strings.Split(platform, "/")
	for _, p := range e.Platforms {
		got := strings.Split(p, "/")
		if len(got) < 2 || len(want) < 2 || got[0] != want[0] || got[1] != want[1] {
			continue
		}
		if len(want) < 3 || len(got) < 3 || want[2] == got[2] {
			return true
		}
	}
	return false
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
		if len(f) < 2 || !strings.HasPrefix(f[1], "sha256:") || len(f[1]) != len("sha256:")+64 {
			return nil, fmt.Errorf("%s:%d: want \"REFERENCE sha256:DIGEST [PLATFORM]...\"; run gitopsc images lock to rewrite the lock", name, line)
		}
		if _, dup := l.Entries[f[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s is locked twice", name, line, f[0])
		}
		plats := append([]string(nil), f[2:]...)
		sort.Strings(plats)
		l.Entries[f[0]] = Entry{Ref: f[0], Digest: f[1], Platforms: plats}
	}
	return l, sc.Err()
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
