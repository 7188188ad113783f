package diff

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// parseYAML reads a manifest into plain JSON values (maps, slices,
// float64, string, bool); nil when it is not YAML.
func parseYAML(b []byte) any {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil
	}
	return v
}

// fieldChanges lists the leaves that differ between a and b, in key
// order. A subtree present on one side only contributes all its leaves.
func fieldChanges(a, b any) []Field {
	var out []Field
	walkFields("", a, b, true, true, &out)
	return out
}

func walkFields(path string, a, b any, inA, inB bool, out *[]Field) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	switch {
	case inA && inB && aIsMap && bIsMap && (len(am) > 0 || len(bm) > 0):
		for _, k := range unionKeys(am, bm) {
			av, okA := am[k]
			bv, okB := bm[k]
			walkFields(joinKey(path, k), av, bv, okA, okB, out)
		}
	case inA && inB && aIsList && bIsList && (len(al) > 0 || len(bl) > 0):
		for i := range max(len(al), len(bl)) {
			var av, bv any
			if i < len(al) {
				av = al[i]
			}
			if i < len(bl) {
				bv = bl[i]
			}
			walkFields(path+"["+strconv.Itoa(i)+"]", av, bv, i < len(al), i < len(bl), out)
		}
	case inA && inB && reflect.DeepEqual(a, b):
	case inA && inB && isLeaf(a) && isLeaf(b):
		*out = append(*out, Field{Path: path, Before: a, After: b})
	default:
		// Present on one side only, or a leaf replaced by a subtree.
		if inA {
			leaves(path, a, func(p string, v any) { *out = append(*out, Field{Path: p, Before: v}) })
		}
		if inB {
			leaves(path, b, func(p string, v any) { *out = append(*out, Field{Path: p, After: v}) })
		}
	}
}

// isLeaf reports whether v is a scalar or an empty map or list.
func isLeaf(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return true
}

func leaves(path string, v any, f func(string, any)) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			break
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			leaves(joinKey(path, k), t[k], f)
		}
		return
	case []any:
		if len(t) == 0 {
			break
		}
		for i, x := range t {
			leaves(path+"["+strconv.Itoa(i)+"]", x, f)
		}
		return
	}
	f(path, v)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// joinKey appends a map key to a field path: ".key", or `["key"]` for a
// key that is not a plain identifier ("app.kubernetes.io/name").
func joinKey(path, k string) string {
	if !plainKey.MatchString(k) {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

// fieldLines shows field changes as "- path: old" and "+ path: new".
func fieldLines(fs []Field) []string {
	var out []string
	for _, f := range fs {
		if f.Before != nil {
			out = append(out, "- "+f.Path+": "+scalar(f.Before))
		}
		if f.After != nil {
			out = append(out, "+ "+f.Path+": "+scalar(f.After))
		}
	}
	return out
}

// scalar formats a leaf value as YAML would show it, quoting strings that
// would otherwise read as another type or hide whitespace.
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		if t == "" || strings.TrimSpace(t) != t || strings.ContainsAny(t, "\n\r\t\"") || t == "true" || t == "false" || t == "null" {
			return strconv.Quote(t)
		}
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return strconv.Quote(t)
		}
		return t
	case map[string]any:
		return "{}"
	case []any:
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// secretFields are the fields of a Secret that hold values.
var secretFields = []string{"data", "stringData"}

// secretKeys compares the keys of two Secret manifests (base nil for a new
// one) by value, without returning any value: for a SOPS file, a changed
// ciphertext is a changed key.
func secretKeys(base, head []byte) ([]KeyChange, string) {
	const unreadable = "its content is not a YAML manifest; nothing of it is shown"
	hv, ok := parseYAML(head).(map[string]any)
	if !ok {
		return nil, unreadable
	}
	bv := map[string]any{}
	if base != nil {
		if bv, ok = parseYAML(base).(map[string]any); !ok {
			return nil, unreadable
		}
	}
	var out []KeyChange
	for _, field := range secretFields {
		bm, _ := bv[field].(map[string]any)
		hm, _ := hv[field].(map[string]any)
		for _, k := range unionKeys(bm, hm) {
			b, inB := bm[k]
			h, inH := hm[k]
			switch {
			case !inB:
				out = append(out, KeyChange{Key: field + "." + k, Change: Added})
			case !inH:
				out = append(out, KeyChange{Key: field + "." + k, Change: Removed})
			case !reflect.DeepEqual(b, h):
				out = append(out, KeyChange{Key: field + "." + k, Change: Changed})
			}
		}
	}
	return out, ""
}

// keyLines shows a Secret's key changes; values are never shown.
func keyLines(ks []KeyChange, note string) []string {
	if note != "" {
		return []string{note}
	}
	out := []string{"keys only; values are never shown:"}
	for _, k := range ks {
		sign := "~"
		switch k.Change {
		case Added:
			sign = "+"
		case Removed:
			sign = "-"
		}
		out = append(out, sign+" "+k.Key+": "+string(k.Change))
	}
	return out
}

// unionKeys is the keys of a and b together, sorted.
func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
