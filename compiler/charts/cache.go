package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// cacheMin is the size from which a rendered file's decoded documents are
// kept in the decode cache: below it, decoding costs little more than
// reading the cache. A chart's CRDs (a prometheus-operator's are 786 KiB in one
// file) are what it is for: YAML decoding costs about 75 ms a MiB, JSON
// decoding about a sixth of that.
const cacheMin = 16 << 10

// cacheVersion names the layout of an entry; a change of it makes every
// older entry unused.
const cacheVersion = "decoded-v2"

var cacheDirOnce = sync.OnceValue(func() string {
	dir := os.Getenv("GITOPSC_CACHE")
	if dir == "off" {
		return ""
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "gitopsc")
	}
	return filepath.Join(dir, cacheVersion)
})

// decodeCached is decodeAll, its result kept in the decode cache (the
// user's cache folder, gitopsc/; $GITOPSC_CACHE moves it, and "off" turns
// it off) under the SHA-256 of b, for files of cacheMin bytes or more.
// Only a file that decodes without an error is kept, so an error is
// always decodeAll's own. The cache is an accelerator only: an entry that
// cannot be read or does not decode is decoded again and rewritten, and a
// cache folder that cannot be written is left alone.
func decodeCached(b []byte) ([]doc, error) {
	return decodeIn(cacheDirOnce(), b)
}

// decodeIn is decodeCached with the cache in dir ("": none). An entry
// holds the SHA-256 of the rest on its first line, then the file's
// documents as JSON, one a line (compact JSON has no line break). The
// documents are not checked as JSON when read (which costs as much as
// decoding them) but by the sum.
func decodeIn(dir string, b []byte) ([]doc, error) {
	if len(b) < cacheMin || dir == "" {
		return decodeAll(b)
	}
	sum := sha256.Sum256(b)
	name := hex.EncodeToString(sum[:])
	path := filepath.Join(dir, name[:2], name+".json")
	if out, ok := readEntry(path); ok {
		return out, nil
	}
	out, err := decodeAll(b)
	if err != nil {
		return nil, err
	}
	var docs bytes.Buffer
	for _, d := range out {
		if err := json.Compact(&docs, d.raw); err != nil {
			return out, nil
		}
		docs.WriteByte('\n')
	}
	sum = sha256.Sum256(docs.Bytes())
	writeEntry(path, append([]byte(hex.EncodeToString(sum[:])+"\n"), docs.Bytes()...))
	return out, nil
}

// readEntry reads the entry at path; ok is false when there is none or
// one of its lines is not an object.
func readEntry(path string) ([]doc, bool) {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return nil, false
	}
	want, raw, _ := bytes.Cut(raw, []byte("\n"))
	sum := sha256.Sum256(raw)
	if string(want) != hex.EncodeToString(sum[:]) || len(raw) == 0 {
		return nil, false
	}
	var out []doc
	for line := range bytes.SplitSeq(raw[:len(raw)-1], []byte("\n")) {
		h, err := decodeHead(line)
		if err != nil {
			return nil, false
		}
		out = append(out, doc{raw: line, head: h})
	}
	return out, true
}

// writeEntry writes an entry whole or not at all: into a temporary file
// beside it, renamed over it.
func writeEntry(path string, raw []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
