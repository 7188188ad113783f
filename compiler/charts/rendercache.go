package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
)

// The render cache keeps what a chart's templates render, sorted and
// decoded, under the SHA-256 of everything Helm's engine reads: the
// chart and its dependencies (metadata, values, schema, templates,
// files), the values, the release's name and namespace, the cluster
// version, and the gitopsc binary itself (its path, size and
// modification time), since what Render keeps of a rendering is its
// code. A chart whose templates call a function that gives another
// result at each render (a random string, the time, a new key) is not
// kept: each build renders it again, as Helm would.

// renderKeyVersion names what a render key covers; a change of it makes
// every older entry unused.
const renderKeyVersion = "render-v1"

// binaryIdentity tells this gitopsc binary from any other: "" when it
// cannot be told, and then nothing is kept.
var binaryIdentity = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	st, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s\x00%d\x00%d", exe, st.Size(), st.ModTime().UnixNano())
})

// renderKey is the key of rendering ch's templates with values as
// release name in namespace for kubeVersion; "" when the rendering is not
// to be kept (see changing).
func renderKey(ch *chart.Chart, name, namespace string, values map[string]any, kubeVersion string) string {
	id := binaryIdentity()
	if id == "" {
		return ""
	}
	vals, err := json.Marshal(values)
	if err != nil {
		return ""
	}
	if changing(ch, vals) {
		return ""
	}
	h := sha256.New()
	for _, s := range []string{renderKeyVersion, id, name, namespace, kubeVersion} {
		field(h, []byte(s))
	}
	field(h, vals)
	if !hashChart(h, ch) {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// field writes b to h after its length, so that no two sequences of
// fields write the same bytes.
func field(h hash.Hash, b []byte) {
	h.Write(binary.AppendUvarint(nil, uint64(len(b))))
	h.Write(b)
}

// hashChart writes to h what Helm's engine reads of c and its
// dependencies; false when a part of it does not encode.
func hashChart(h hash.Hash, c *chart.Chart) bool {
	for _, v := range []any{c.Metadata, c.Lock, c.Values} {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		field(h, b)
	}
	field(h, c.Schema)
	for _, files := range [][]*chart.File{c.Templates, c.Files} {
		field(h, binary.AppendUvarint(nil, uint64(len(files))))
		for _, f := range files {
			field(h, []byte(f.Name))
			field(h, f.Data)
		}
	}
	deps := c.Dependencies()
	field(h, binary.AppendUvarint(nil, uint64(len(deps))))
	for _, d := range deps {
		if !hashChart(h, d) {
			return false
		}
	}
	return true
}

// changingFuncs are the template functions (Sprig's and Helm's) whose
// result is not given by their arguments: random values, the time, new
// keys and certificates, salted hashes, DNS. lookup is not one: offline,
// it finds nothing, always.
var changingFuncs = map[string]bool{
	"randAlphaNum": true, "randAlpha": true, "randNumeric": true, "randAscii": true, "randBytes": true, "randInt": true,
	"shuffle": true, "uuidv4": true,
	"now": true, "ago": true,
	"genPrivateKey": true, "genCA": true, "genCAWithKey": true, "genSelfSignedCert": true, "genSelfSignedCertWithKey": true,
	"genSignedCert": true, "genSignedCertWithKey": true,
	"htpasswd": true, "bcrypt": true, "encryptAES": true,
	"getHostByName": true,
}

// changing reports whether rendering ch may give another result each
// time: whether an action ({{ … }}) of one of its templates, or of its
// dependencies', names one of changingFuncs. A chart that renders text
// with tpl may run actions held in its files or its values (vals, as
// JSON), which are then read too.
func changing(ch *chart.Chart, vals []byte) bool {
	tpl := false
	var walk func(c *chart.Chart) bool
	walk = func(c *chart.Chart) bool {
		for _, f := range c.Templates {
			if names, usesTpl := actionNames(f.Data); names {
				return true
			} else if usesTpl {
				tpl = true
			}
		}
		for _, d := range c.Dependencies() {
			if walk(d) {
				return true
			}
		}
		return false
	}
	if walk(ch) {
		return true
	}
	if !tpl {
		return false
	}
	if names, _ := actionNames(vals); names {
		return true
	}
	var files func(c *chart.Chart) bool
	files = func(c *chart.Chart) bool {
		for _, f := range c.Files {
			if names, _ := actionNames(f.Data); names {
				return true
			}
		}
		for _, d := range c.Dependencies() {
			if files(d) {
				return true
			}
		}
		return false
	}
	return files(ch)
}

// actionNames reports whether an action ({{ … }}) in text names one of
// changingFuncs, and whether one names tpl. A name is a run of letters,
// digits and underscores that no "." or "$" comes before: a field
// (.Values.now) or a variable ($now) is not a call.
func actionNames(text []byte) (changes, tpl bool) {
	for {
		i := bytes.Index(text, []byte("{{"))
		if i < 0 {
			return false, tpl
		}
		text = text[i+2:]
		end := bytes.Index(text, []byte("}}"))
		if end < 0 {
			end = len(text)
		}
		action := text[:end]
		text = text[end:]
		for j := 0; j < len(action); {
			if !identByte(action[j]) {
				j++
				continue
			}
			k := j
			for k < len(action) && identByte(action[k]) {
				k++
			}
			if j == 0 || (action[j-1] != '.' && action[j-1] != '$') {
				word := string(action[j:k])
				if changingFuncs[word] {
					return true, tpl
				}
				tpl = tpl || word == "tpl"
			}
			j = k
		}
	}
}

func identByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// renderPath is where the entry of key is kept in dir.
func renderPath(dir, key string) string {
	return filepath.Join(dir, key[:2], key+".render")
}

// readRender reads the templates' manifests kept under key; ok is false
// when there is no entry or it does not read whole.
func readRender(dir, key string) (_ []Manifest, ok bool) {
	if dir == "" || key == "" {
		return nil, false
	}
	raw, ok := readSummed(renderPath(dir, key))
	if !ok || len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return nil, false
	}
	lines := bytes.Split(raw[:len(raw)-1], []byte("\n"))
	if len(lines)%2 != 0 {
		return nil, false
	}
	out := make([]Manifest, 0, len(lines)/2)
	for i := 0; i < len(lines); i += 2 {
		var place []string
		if json.Unmarshal(lines[i], &place) != nil || len(place) == 0 {
			return nil, false
		}
		h, err := decodeHead(lines[i+1])
		if err != nil {
			return nil, false
		}
		m := Manifest{Template: place[0], raw: lines[i+1], head: h}
		if len(place) > 1 {
			m.Hook = place[1:]
		}
		out = append(out, m)
	}
	return out, true
}

// writeRender keeps ms, manifests Render decoded, under key: for each,
// a line with its template and hook events, then its compact JSON.
func writeRender(dir, key string, ms []Manifest) {
	if dir == "" || key == "" {
		return
	}
	var b bytes.Buffer
	for _, m := range ms {
		if m.raw == nil {
			return
		}
		place, err := json.Marshal(append([]string{m.Template}, m.Hook...))
		if err != nil {
			return
		}
		b.Write(place)
		b.WriteByte('\n')
		if err := json.Compact(&b, m.raw); err != nil {
			return
		}
		b.WriteByte('\n')
	}
	writeEntry(renderPath(dir, key), summed(b.Bytes()))
}
