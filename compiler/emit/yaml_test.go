package emit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// roundTrip encodes v and reads it back with a YAML 1.1 parser (the one
// under sigs.k8s.io/yaml, stricter than YAML 1.2 about what is a string).
func roundTrip(t testing.TB, v map[string]any) map[string]any {
	var buf bytes.Buffer
	encodeYAML(&buf, v)
	var back map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("encoded YAML does not parse: %v\n%s", err, buf.String())
	}
	return back
}

func normalise(t testing.TB, v any) map[string]any {
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Strings that a YAML parser could read as something else, or that break
// plain style, come back as the same strings.
func TestEncodeYAMLStringsSurvive(t *testing.T) {
	for _, s := range []string{
		"", " ", "a b", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~",
		"0", "12", "-3", "+4", "1.5", "1e3", "0x1F", "0o17", "017", "1_000", ".5", "-.5", ".inf", "-.inf", ".nan",
		"1:20", "2001-12-14", "2001-12-14T21:59:43Z", "1.4.0", "10.0.0.0/8", "3306",
		"-", "--flag=x", "- item", "---", "...", "?", "? x", ":x", "a: b", "a #b", "a#b", "#c", "trailing ", "colon:",
		"[x]", "{x}", "*ref", "&anchor", "!tag", "|", ">", "'q'", `"q"`, "%x", "@x", "`x`", "=x",
		"line\nbreak", "tab\there", "\x00nul", "caf\u00e9", "\u2028sep", "./out/eks/platform", "/healthz",
		`[{"HTTP":80}]`, "registry.example.com/x:1.0@sha256:abc",
		"two\nlines\n", "no final\nbreak", "\nleading break\n", "gap\n\n\nlines\n", "  indented\nfirst\n",
		"first\n  indented\n", "trailing \nspace\n", "tab\t\nend\n", "final breaks\n\n", "\n", "\n\n",
		"- item\n- item\n", "key: value\n# comment\n", "\"quoted\"\n'single'\n", "|\n>\n", "tabs\n\tin\n",
		"crlf\r\nline\r\n", "caf\u00e9\nna\u00efve\n", "nel\u0085line\n", "---\n...\n", "a\n \nb\n",
		"non\ufffechar", "non\uffffchar\nline\n", "block\ufffe\nline\n",
	} {
		in := map[string]any{"v": s, s + "k": "key"}
		if s == "" {
			in = map[string]any{"v": s}
		}
		if got := roundTrip(t, in); !reflect.DeepEqual(got, in) {
			t.Errorf("%q: got %#v", s, got)
		}
	}
}

// Nested structures keep their shape: maps in lists in maps, empty maps
// and lists, numbers and booleans.
func TestEncodeYAMLShapes(t *testing.T) {
	in := normalise(t, map[string]any{
		"a": []any{map[string]any{"x": 1, "y": []any{"p", "q"}}, map[string]any{}, []any{1, 2}, []any{}},
		"b": map[string]any{"c": map[string]any{"d": true, "e": nil, "f": 2.5}},
		"e": map[string]any{},
		"l": []any{},
		"n": int64(1) << 40,
	})
	if got := roundTrip(t, in); !reflect.DeepEqual(got, in) {
		t.Errorf("got %#v\nwant %#v", got, in)
	}
}

func FuzzEncodeYAMLString(f *testing.F) {
	for _, s := range []string{"yes", "1.0", "a: b", "-x", "2001-12-14", "two\nlines\n", "x\n  y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := normalise(t, map[string]any{"v": s})
		if got := roundTrip(t, in); !reflect.DeepEqual(got, in) {
			t.Errorf("%q: got %#v", s, got)
		}
	})
}

// parseJSON reads what encoding/json writes exactly as json.Decoder with
// UseNumber does.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-3e4,true,false,null,"x\"\\\u00e9\ud83d\ude00"],"b":{}}`, `[]`, `"s"`, `{"":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want any
		dec := json.NewDecoder(bytes.NewReader([]byte(s)))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil || dec.More() {
			return // only well-formed documents matter
		}
		canonical, err := json.Marshal(want)
		if err != nil {
			return
		}
		parsed, err := parseJSON(canonical)
		if err != nil {
			t.Fatalf("%s: %v", canonical, err)
		}
		got := toAny(parsed)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %#v, want %#v", canonical, got, want)
		}
	})
}

// toAny turns objects back into maps, as json.Decoder returns them.
func toAny(v any) any {
	switch t := v.(type) {
	case object:
		m := make(map[string]any, len(t))
		for _, kv := range t {
			m[kv.key] = toAny(kv.val)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = toAny(x)
		}
		return out
	}
	return v
}
