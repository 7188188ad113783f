package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// cacheMin is the size from which a rendered file's decoded documents are
// kept in the decode cache: below it, decoding costs little more than
// reading the cache. A chart's CRDs (a prometheus-operator's are 786 KiB in one
// file) are what it is for: YAML decoding costs about 75 ms a MiB, JSON
// decoding about a sixth of that.
const cacheMin = 16 << 10

// typedMin is the size from which a CRD's protobuf copy is kept: a
// chart's CRDs are mostly schema, and one of a few KiB decodes from JSON
// in a tenth of a millisecond or more.
const typedMin = 2 << 10

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
	writeEntry(path, summed(docs.Bytes()))
	return out, nil
}

// protoObject is a type of the Kubernetes API with protobuf encoding.
type protoObject interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	GetObjectKind() schema.ObjectKind
}

// decodeTyped decodes the JSON raw, an object of kind gvk, into obj, of
// that kind's type, as encoding/json does. For a CRD of typedMin bytes or
// more, the decode cache keeps obj's protobuf encoding, which decodes
// several times faster (a CRD's schema: 28 MB/s from JSON, 120 from
// protobuf). Protobuf leaves out apiVersion and kind, which gvk gives
// back. Only a copy that gives what the JSON gave, encoded as JSON again,
// is kept, so that an object is the same whether it came from the cache
// or not. An error is always encoding/json's own.
func decodeTyped(raw []byte, obj any, gvk schema.GroupVersionKind) error {
	return decodeTypedIn(cacheDirOnce(), raw, obj, gvk)
}

func decodeTypedIn(dir string, raw []byte, obj any, gvk schema.GroupVersionKind) error {
	// Only CRDs: their schemas are where decoding JSON is slow, and no
	// rule reads them, so an empty list that protobuf gives back as none
	// (the same JSON) changes nothing.
	po, ok := obj.(protoObject)
	if len(raw) < typedMin || dir == "" || !ok || gvk.Group != "apiextensions.k8s.io" {
		return json.Unmarshal(raw, obj)
	}
	path := typedPath(dir, raw, obj, gvk)
	if b, ok := readSummed(path); ok {
		if po.Unmarshal(b) == nil {
			po.GetObjectKind().SetGroupVersionKind(gvk)
			return nil
		}
		reflect.ValueOf(obj).Elem().SetZero() // undo a part decoded
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return err
	}
	b, err := po.Marshal()
	if err != nil {
		return nil
	}
	back := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(protoObject)
	if back.Unmarshal(b) != nil {
		return nil
	}
	back.GetObjectKind().SetGroupVersionKind(gvk)
	want, err1 := json.Marshal(obj)
	got, err2 := json.Marshal(back)
	if err1 == nil && err2 == nil && bytes.Equal(want, got) {
		writeEntry(path, summed(b))
	}
	return nil
}

// typedPath is where the protobuf copy of raw, decoded into obj as kind
// gvk by this gitopsc binary (whose types decode it), is kept in dir.
func typedPath(dir string, raw []byte, obj any, gvk schema.GroupVersionKind) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%T\x00%s\x00", binaryIdentity(), obj, gvk)
	h.Write(raw)
	name := hex.EncodeToString(h.Sum(nil))
	return filepath.Join(dir, name[:2], name+".pb")
}

// typedKept reports whether dir keeps a protobuf copy of raw decoded
// into obj as kind gvk: one is kept only for JSON that this binary's
// types decode without an error, so that its decoding can wait until it
// is read (a CRD's schema, which only diff reads). A copy that turns out not to read is
// decoded from the JSON again then, as decodeTyped does.
func typedKept(dir string, raw []byte, obj any, gvk schema.GroupVersionKind) bool {
	if len(raw) < typedMin || dir == "" || gvk.Group != "apiextensions.k8s.io" || binaryIdentity() == "" {
		return false
	}
	if _, ok := obj.(protoObject); !ok {
		return false
	}
	st, err := os.Stat(typedPath(dir, raw, obj, gvk))
	return err == nil && st.Mode().IsRegular()
}

// summed is an entry of the cache: the SHA-256 of payload, in hex, on a
// line, then payload.
func summed(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	return append([]byte(hex.EncodeToString(sum[:])+"\n"), payload...)
}

// readSummed reads the payload of the entry at path; ok is false when
// there is none or its sum does not hold.
func readSummed(path string) ([]byte, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	want, payload, found := bytes.Cut(raw, []byte("\n"))
	sum := sha256.Sum256(payload)
	return payload, found && string(want) == hex.EncodeToString(sum[:])
}

// readEntry reads the entry at path; ok is false when there is none or
// one of its lines is not an object.
func readEntry(path string) ([]doc, bool) {
	raw, ok := readSummed(path)
	if !ok || len(raw) == 0 || raw[len(raw)-1] != '\n' {
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
