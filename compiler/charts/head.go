package charts

import (
	"bytes"
	"encoding/json"
	"errors"
)

// head is the part of a manifest read to place it and to know its type:
// the rest is skipped. Each value is as JSON decodes it, so that a
// mistyped one is told apart from a missing one as Object would tell it.
type head struct {
	APIVersion any
	Kind       any
	Metadata   any
	// Items is kept as JSON: only a List's are decoded.
	Items json.RawMessage
	// Spec is what a CustomResourceDefinition says of its kind.
	Spec struct {
		Group, Scope any
		Names        struct{ Kind any }
	}
}

// headOf reads the head of an object already decoded.
func headOf(obj map[string]any) *head {
	h := &head{APIVersion: obj["apiVersion"], Kind: obj["kind"], Metadata: obj["metadata"]}
	if items, ok := obj["items"].([]any); ok {
		h.Items, _ = json.Marshal(items)
	}
	spec, _ := obj["spec"].(map[string]any)
	h.Spec.Group, h.Spec.Scope = spec["group"], spec["scope"]
	names, _ := spec["names"].(map[string]any)
	h.Spec.Names.Kind = names["kind"]
	return h
}

// decodeHead reads the head of a JSON object: the few values it holds
// are decoded, and every other is stepped over by its brackets and
// strings, several times faster than encoding/json skips it. A value of
// another shape than head's (a spec that is a string) is read as
// missing, as a lookup in the decoded object finds nothing there.
//
// The JSON is trusted to be valid (a YAML document converted, or a cache
// entry whose checksum holds): what is stepped over is not checked, and
// its decoding into a type checks it later. Invalid JSON gives an error
// or a head, never a panic.
func decodeHead(raw []byte) (*head, error) {
	h := &head{}
	end, err := fields(raw, skipSpace(raw, 0), func(key string, val []byte) error {
		var err error
		switch key {
		case "apiVersion":
			h.APIVersion, err = decodeValue(val)
		case "kind":
			h.Kind, err = decodeValue(val)
		case "metadata":
			h.Metadata, err = decodeValue(val)
		case "items":
			h.Items = val
		case "spec":
			h.Spec.Group, h.Spec.Scope, h.Spec.Names.Kind = nil, nil, nil
			if val[0] != '{' {
				return nil
			}
			_, err = fields(val, 0, func(key string, val []byte) error {
				var err error
				switch key {
				case "group":
					h.Spec.Group, err = decodeValue(val)
				case "scope":
					h.Spec.Scope, err = decodeValue(val)
				case "names":
					h.Spec.Names.Kind = nil
					if val[0] != '{' {
						return nil
					}
					_, err = fields(val, 0, func(key string, val []byte) error {
						var err error
						if key == "kind" {
							h.Spec.Names.Kind, err = decodeValue(val)
						}
						return err
					})
				}
				return err
			})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if skipSpace(raw, end) != len(raw) {
		return nil, errors.New("JSON goes on after the object")
	}
	return h, nil
}

var errJSON = errors.New("not a JSON object")

// fields calls fn with each key of the object at b[i:] and its value's
// JSON, and returns the index after the object.
func fields(b []byte, i int, fn func(key string, val []byte) error) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, errJSON
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errJSON
		}
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		key := string(b[i+1 : end-1])
		if bytes.IndexByte(b[i:end], '\\') >= 0 {
			if err := json.Unmarshal(b[i:end], &key); err != nil {
				return 0, err
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, errJSON
		}
		i = skipSpace(b, i+1)
		end, err = skipValue(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(key, b[i:end]); err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errJSON
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, errJSON
		}
	}
}

// skipValue returns the index after the JSON value at b[i:].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch b[i] {
	case '"':
		// The next quote not escaped: one after an even run of
		// backslashes.
		for j := i + 1; ; j++ {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return 0, errJSON
			}
			j += k
			n := 0
			for p := j - 1; p > i && b[p] == '\\'; p-- {
				n++
			}
			if n%2 == 0 {
				return j + 1, nil
			}
		}
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			k := bytes.IndexAny(b[j:], `"{}[]`)
			if k < 0 {
				return 0, errJSON
			}
			j += k
			switch b[j] {
			case '"':
				end, err := skipValue(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
	}
	j := i
	for j < len(b) && literal(b[j]) {
		j++
	}
	if j == i {
		return 0, errJSON
	}
	return j, nil
}

// literal reports whether c can be part of a number, true, false or null.
func literal(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// decodeValue decodes one JSON value, numbers as json.Number.
func decodeValue(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
