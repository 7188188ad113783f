// Package charts holds what gitopsc knows of Helm charts: the lock that
// records, for each chart version an input installs from a Helm
// repository, the digest of its archive (kept beside the lock, so that
// vet and build run offline), fetching them for "gitopsc charts lock",
// and rendering a chart with its values through the Helm SDK, without a
// cluster, into the objects the rules check.
package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// LockFile is the lock's name inside the input folder; ArchiveDir the
// folder beside it that keeps the archives.
const (
	LockFile   = "charts.lock"
	ArchiveDir = "charts"
)

const lockHeader = `# gitopsc chart lock: for each chart version installed from a Helm
# repository, the digest of its archive (kept in charts/ beside this file,
# which vet and build read offline) and, from an OCI registry, the digest
# of its manifest. Written by "gitopsc charts lock"; review changes like
# go.sum, do not edit by hand.
`

// Entry is what the lock records of one chart version.
type Entry struct {
	Repository string // the URL as written, without a trailing '/'
	Chart      string
	Version    string
	Digest     string // sha256:... of the archive
	// Manifest is the digest of an OCI chart's manifest, which the
	// OCIRepository pins; "" for an HTTP repository.
	Manifest string
	// Pos is the entry's line, for messages about its archive.
	Pos token.Pos
}

// Key is the entry's key: model.ChartKey.
func (e Entry) Key() string { return model.ChartKey(e.Repository, e.Chart, e.Version) }

// Archive is the archive's path relative to the input folder.
func (e Entry) Archive() string { return ArchiveDir + "/" + e.Chart + "-" + e.Version + ".tgz" }

// Lock is the parsed lock, keyed by Entry.Key.
type Lock struct {
	Entries map[string]Entry
}

// Digest is how the lock writes the digest of an archive.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ReadLock reads the lock in dir; a missing file is an empty lock.
func ReadLock(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Entries: map[string]Entry{}}, nil
	}
	if err != nil {
		return nil, diag.OutsideErr(diag.List{{File: path, Class: diag.ClassFile, Msg: "cannot read the chart lock: " + pathReason(err)}})
	}
	return ParseLock(path, b)
}

func pathReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error() // the path is the diagnostic's own
	}
	return err.Error()
}

// ParseLock parses the lock's content; name is the file its errors name.
// Each malformed line is reported at the field that is wrong; with the
// error, the lock of the well-formed lines is returned.
func ParseLock(name string, b []byte) (*Lock, error) {
	l := &Lock{Entries: map[string]Entry{}}
	file := token.NewFile(name, -1, len(b))
	file.SetLinesForContent(b)
	var errs diag.List
	firstLine := map[string]int{}
	byArchive := map[string]string{}
	for _, ln := range images.LockLines(b) {
		line := ln.N
		fields := make([]string, len(ln.Fields))
		for i, f := range ln.Fields {
			fields[i] = f.S
		}
		pos := func(i int) token.Pos { return file.Pos(ln.Fields[i].Off, token.NoRelPos) }
		bad := func(i int, format string, args ...any) {
			errs.Add(pos(i), format+"; run gitopsc charts lock to rewrite the lock", args...)
		}
		if len(fields) < 3 || len(fields) > 4 {
			bad(0, "a chart lock line is REPOSITORY CHART@VERSION DIGEST [manifest=DIGEST], not %d fields", len(fields))
			continue
		}
		e := Entry{Repository: fields[0], Pos: pos(0)}
		var ok bool
		if e.Chart, e.Version, ok = strings.Cut(fields[1], "@"); !ok || !chartName.MatchString(e.Chart) || !chartVersion.MatchString(e.Version) {
			bad(1, "%q is not CHART@VERSION", fields[1])
			continue
		}
		if !strings.HasPrefix(e.Repository, "https://") && !strings.HasPrefix(e.Repository, "http://") && !strings.HasPrefix(e.Repository, "oci://") {
			bad(0, "%q is not a Helm repository URL (https:// or oci://)", e.Repository)
			continue
		}
		e.Digest = fields[2]
		if !validDigest(e.Digest) {
			bad(2, "%q is not a sha256 digest", e.Digest)
			continue
		}
		if len(fields) == 4 {
			m, ok := strings.CutPrefix(fields[3], "manifest=")
			if !ok || !validDigest(m) {
				bad(3, "%q is not manifest=DIGEST", fields[3])
				continue
			}
			e.Manifest = m
		}
		if (e.Manifest != "") != strings.HasPrefix(e.Repository, "oci://") {
			bad(0, "an OCI chart has a manifest digest, and only an OCI chart")
			continue
		}
		if first, dup := firstLine[e.Key()]; dup {
			bad(0, "%s is locked twice (first at line %d)", e.Key(), first)
			continue
		}
		if other, dup := byArchive[e.Archive()]; dup {
			bad(1, "%s and %s would both be kept as %s; the lock keeps one chart version of a name", other, e.Key(), e.Archive())
			continue
		}
		firstLine[e.Key()] = line
		byArchive[e.Archive()] = e.Key()
		l.Entries[e.Key()] = e
	}
	if err := errs.Err(); err != nil {
		// The well-formed lines, for charts lock to clean up after.
		return l, err
	}
	return l, nil
}

// chartName and chartVersion are the schema's: an archive's name is made
// of them, and must stay a file of ArchiveDir.
var (
	chartName    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$`)
	chartVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// Format renders entries as the lock file, sorted by key.
func Format(entries []Entry) []byte {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key() < entries[j].Key() })
	var b bytes.Buffer
	b.WriteString(lockHeader)
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %s@%s %s", e.Repository, e.Chart, e.Version, e.Digest)
		if e.Manifest != "" {
			fmt.Fprintf(&b, " manifest=%s", e.Manifest)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Check reports what keeps a chart, as an environment installs it (its
// overrides applied), from being locked or fetched: a repository chart
// without a version, and an OCI version an OCI tag cannot hold.
func Check(c *model.Chart, errs *diag.List) {
	if c.Repository == "" {
		return
	}
	if c.Version == "" {
		errs.Add(c.RepositoryPos, "%s.version: give the exact chart version to install from %s; charts.lock records its digest", c.Path, c.Repository)
		return
	}
	if c.OCI() && strings.Contains(c.Version, "+") {
		errs.Add(c.VersionPos, "%s.version: %q: an OCI tag cannot hold '+' (helm push writes it as '_'); give the version as the registry tags it", c.Path, c.Version)
	}
}
