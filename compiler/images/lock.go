// Package images holds what gitopsc knows of container images: the lock
// file that records, for every image reference of an input, the digest its
// tag pointed to, the platforms it publishes and the user each platform's
// image runs as. vet and build read only the lock, so they run offline and
// deterministically.
package images

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue/token"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// LockFile is the lock's name inside the input folder.
const LockFile = "images.lock"

const lockHeader = `# gitopsc image lock: for each image reference, the digest its tag resolved
# to and the platforms it publishes, each with the user its image config
# names. Written by "gitopsc images lock"; review changes like go.sum, do
# not edit by hand.
`

// Entry is what the lock records of one image reference.
type Entry struct {
	Ref       string   // repository:tag as written in the input
	Digest    string   // sha256:... of the manifest or index the tag points to
	Platforms []string // os/arch[/variant], sorted; attestations left out
	// Users holds, by platform, the user that platform's image config
	// names ("101", "101:101", "nginx"; "" when it names none, so the
	// image runs as root). A platform missing from it has no user on
	// record: the lock was written before users were.
	Users map[string]string
}

// userAttribute is how the lock writes a platform's user:
// "linux/amd64;user=101".
const userAttribute = "user="

// Facts answers what is known of an image reference. The lock is one
// implementation; tests may fill another.
type Facts interface {
	Lookup(ref string) (Entry, bool)
}

// Lock is the parsed lock file, keyed by reference.
type Lock struct {
	Entries map[string]Entry
	// Absent is set when the input folder has no lock file at all.
	Absent bool
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
	return len(e.satisfying(platform)) > 0
}

// UsersOn returns the users recorded for the published platforms that
// satisfy platform, as Publishes matches them, by published platform.
// It is empty when none is published or the lock records no user for it.
func (e Entry) UsersOn(platform string) map[string]string {
	out := map[string]string{}
	for _, p := range e.satisfying(platform) {
		if u, ok := e.Users[p]; ok {
			out[p] = u
		}
	}
	return out
}

// satisfying lists the published platforms that satisfy platform.
func (e Entry) satisfying(platform string) []string {
	want, err := ParsePlatform(platform)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range e.Platforms {
		got, err := ParsePlatform(p)
		if err != nil {
			continue
		}
		if got.Architecture == "arm64" && got.Variant == "" {
			got.Variant = "v8"
		}
		if got.Satisfies(want) {
			out = append(out, p)
		}
	}
	return out
}

// ParsePlatform parses a platform as the lock writes it: "os/arch" or
// "os/arch/variant".
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	bad := len(parts) < 2 || len(parts) > 3
	for _, p := range parts {
		bad = bad || p == "" || strings.ContainsAny(p, " \t:;")
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

// ReadLock reads the lock in dir. A missing file is an empty lock marked
// Absent, so that every image is reported as not locked; a file that
// cannot be read is an outside failure at the file.
func ReadLock(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Entries: map[string]Entry{}, Absent: true}, nil
	}
	if err != nil {
		reason := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err // the path is the diagnostic's own
		}
		return nil, diag.OutsideErr(diag.List{{File: path, Class: diag.ClassFile, Msg: "cannot read the image lock: " + reason.Error()}})
	}
	return ParseLock(path, b)
}

// rewriteHint ends every message about a malformed lock line.
const rewriteHint = "; run gitopsc images lock to rewrite the lock"

// ParseLock parses lock file content; name is the file the positions of
// its errors name. Every malformed line is reported, each at the field
// that is wrong, as a diag.List.
func ParseLock(name string, b []byte) (*Lock, error) {
	l := &Lock{Entries: map[string]Entry{}}
	file := token.NewFile(name, -1, len(b))
	file.SetLinesForContent(b)
	var errs diag.List
	bad := func(offset int, format string, args ...any) {
		errs.Add(file.Pos(offset, token.NoRelPos), format+rewriteHint, args...)
	}
	firstLine := map[string]int{}
	for _, ln := range LockLines(b) {
		line, f := ln.N, ln.Fields
		e, off, problem := parseLockLine(f)
		if problem != "" {
			bad(off, "%s", problem)
			continue
		}
		if first, dup := firstLine[e.Ref]; dup {
			bad(f[0].Off, "%s is locked twice (first at line %d)", e.Ref, first)
			continue
		}
		firstLine[e.Ref] = line
		l.Entries[e.Ref] = e
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// LockField is one blank-separated field of a lock file's line and its
// offset in the file.
type LockField struct {
	S   string
	Off int
}

// LockLine is a line of a lock file that holds more than blanks or a
// comment: its number and its fields.
type LockLine struct {
	N      int
	Fields []LockField
}

// LockLines splits a lock file (the image lock, the chart lock) into its
// lines that hold fields, a comment (#) or a blank line left out.
func LockLines(b []byte) []LockLine {
	var out []LockLine
	line, start := 0, 0
	for start < len(b) {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		line++
		f := lockFields(string(b[start:end]), start)
		start = end + 1
		if len(f) == 0 || strings.HasPrefix(f[0].S, "#") {
			continue
		}
		out = append(out, LockLine{N: line, Fields: f})
	}
	return out
}

func lockFields(text string, offset int) []LockField {
	var out []LockField
	i := 0
	for i < len(text) {
		for i < len(text) && isBlank(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !isBlank(text[j]) {
			j++
		}
		if j > i {
			out = append(out, LockField{text[i:j], offset + i})
		}
		i = j
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// parseLockLine reads "REFERENCE sha256:DIGEST [PLATFORM[;user=USER]]..."
// or says what is wrong with it and where.
func parseLockLine(f []LockField) (e Entry, offset int, problem string) {
	ref := f[0]
	for _, marker := range []string{"<<<<<<<", "|||||||", "=======", ">>>>>>>"} {
		if strings.HasPrefix(ref.S, marker) {
			return e, ref.Off, "a merge conflict marker"
		}
	}
	if strings.HasPrefix(ref.S, "sha256:") {
		return e, ref.Off, "the line starts with a digest; want \"REFERENCE sha256:DIGEST [PLATFORM]...\""
	}
	if msg := refProblem(ref.S); msg != "" {
		return e, ref.Off, msg
	}
	if len(f) < 2 {
		return e, ref.Off + len(ref.S), fmt.Sprintf("%s has no digest; want \"REFERENCE sha256:DIGEST [PLATFORM]...\"", ref.S)
	}
	d := f[1]
	if off, msg := digestProblem(d.S); msg != "" {
		return e, d.Off + off, msg
	}
	plats := make([]string, 0, len(f)-2)
	users := map[string]string{}
	seen := map[string]bool{}
	for _, p := range f[2:] {
		plat, attrs, hasAttrs := strings.Cut(p.S, ";")
		if _, err := ParsePlatform(plat); err != nil {
			return e, p.Off, err.Error()
		}
		if seen[plat] {
			return e, p.Off, fmt.Sprintf("platform %s is listed twice", plat)
		}
		seen[plat] = true
		plats = append(plats, plat)
		if !hasAttrs {
			continue
		}
		user, ok := strings.CutPrefix(attrs, userAttribute)
		if !ok {
			return e, p.Off + len(plat) + 1, fmt.Sprintf("platform %s: %q is not user=USER", plat, attrs)
		}
		if strings.Contains(user, ";") {
			return e, p.Off + len(plat) + 1 + len(userAttribute) + strings.IndexByte(user, ';'), fmt.Sprintf("platform %s: one user=USER, not %q", plat, attrs)
		}
		users[plat] = user
	}
	sort.Strings(plats)
	if len(users) == 0 {
		users = nil
	}
	return Entry{Ref: ref.S, Digest: d.S, Platforms: plats, Users: users}, 0, ""
}

// refProblem says why s is not a reference the lock can hold: a
// repository and a tag, as the input writes image references.
func refProblem(s string) string {
	if strings.Contains(s, "@") {
		return fmt.Sprintf("reference %q carries a digest; the lock writes the digest as the second field", s)
	}
	if i := strings.LastIndexByte(s, ':'); i < strings.LastIndexByte(s, '/') || i < 0 {
		return fmt.Sprintf("reference %q names no tag", s)
	}
	if _, err := name.NewTag(s); err != nil {
		return fmt.Sprintf("reference %q does not parse: %v", s, err)
	}
	return ""
}

// digestProblem says what is wrong with d as a digest, "sha256:" and 64
// lower-case hex digits, and the offset in d of the first wrong part.
func digestProblem(d string) (offset int, problem string) {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok {
		plat, _, _ := strings.Cut(d, ";")
		if _, err := ParsePlatform(plat); err == nil {
			return 0, fmt.Sprintf("no digest before platform %s; want \"REFERENCE sha256:DIGEST [PLATFORM]...\"", plat)
		}
		return 0, fmt.Sprintf("digest %q does not start with sha256:", shortDigest(d))
	}
	for i, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return len("sha256:") + i, fmt.Sprintf("digest %q is not 64 lower-case hex digits: %q is not one", shortDigest(d), string(c))
		}
	}
	if len(hex) != 64 {
		return 0, fmt.Sprintf("digest %q has %d hex digits, not 64", shortDigest(d), len(hex))
	}
	return 0, ""
}

// shortDigest cuts a digest to what a message needs to recognise it: the
// algorithm and 12 digits.
func shortDigest(d string) string {
	keep := strings.IndexByte(d, ':') + 1 + 12
	if len(d) <= keep+4 {
		return d
	}
	return d[:keep] + "…"
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
			if u, ok := e.Users[p]; ok {
				b.WriteString(";" + userAttribute + u)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Pinned returns ref pinned by the entry's digest: "repo:tag@sha256:...".
func (e Entry) Pinned() string { return e.Ref + "@" + e.Digest }

// WriteLock writes l as the lock in dir, whole or not at all (see
// WriteFile). It reports whether the file changed; an identical lock is
// left as it is.
func WriteLock(dir string, l *Lock) (changed bool, err error) {
	path := filepath.Join(dir, LockFile)
	content := l.Format()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	if err := WriteFile(path, content); err != nil {
		return false, err
	}
	return true, nil
}

// WriteFile writes a lock file (or an archive it keeps) whole or not at
// all: the content goes to a temporary file beside path, synced, which is
// then renamed over it. Failures are outside failures.
func WriteFile(path string, content []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return diag.OutsideErr(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(content); err != nil {
		f.Close()
		return diag.OutsideErr(err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return diag.OutsideErr(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return diag.OutsideErr(err)
	}
	if err := f.Close(); err != nil {
		return diag.OutsideErr(err)
	}
	return diag.OutsideErr(os.Rename(tmp, path))
}
