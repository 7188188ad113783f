package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/compiler/resolve"
	"github.com/gitopsc/gitopsc/internal/synth"
)

// viaJSON is the tree marshal built before writeYAML: json.Marshal, then
// parseJSON.
func viaJSON(v any) (any, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return parseJSON(j)
}

// yamlViaJSON is the oracle writeYAML must match: the tree of viaJSON,
// cleaned and written by encodeYAML.
func yamlViaJSON(v any) ([]byte, error) {
	tree, err := viaJSON(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	encodeYAML(&buf, clean(tree, true))
	return buf.Bytes(), nil
}

// marshalViaJSON is marshal through yamlViaJSON.
func marshalViaJSON(o *render.Object, prefix []byte) ([]byte, error) {
	b, err := yamlViaJSON(o.Obj)
	if err != nil {
		return nil, err
	}
	return append(slices.Clip(prefix), b...), nil
}

// direct is what writeYAML writes of v.
func direct(v any) ([]byte, error) {
	var buf bytes.Buffer
	_, err := writeYAML(&buf, v)
	return buf.Bytes(), err
}

// renderAll renders every environment of the input in dir.
func renderAll(t *testing.T, dir string) []*render.Object {
	t.Helper()
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	lock, err := images.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	all, err := resolve.All(in)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*render.Object
	for _, r := range all {
		out, err := render.Render(r, lock)
		if err != nil {
			t.Fatalf("render %s: %v", r.Env.Name, err)
		}
		objs = append(objs, out.Objects...)
	}
	return objs
}

// Every object of the shipped system and of a synthetic one marshals to
// the same bytes as through encoding/json.
func TestMarshalMatchesJSON(t *testing.T) {
	synthetic := t.TempDir()
	if err := synth.Write(synthetic, 300, 3, 1); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"../../environments", synthetic} {
		types := map[string]int{}
		for _, o := range renderAll(t, dir) {
			if o.Raw != nil {
				continue
			}
			types[fmt.Sprintf("%T", o.Obj)]++
			what := fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
			prefix := []byte(fmt.Sprintf(Header, "test"))
			gotB, err := marshal(o, prefix)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			wantB, err := marshalViaJSON(o, prefix)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !bytes.Equal(gotB, wantB) {
				t.Errorf("%s: marshal\n%s\nwant\n%s", what, gotB, wantB)
			}
		}
		if len(types) < 3 {
			t.Errorf("%s: only %v rendered", dir, types)
		}
		t.Logf("%s: %v", dir, types)
	}
}

type (
	inner struct {
		A string `json:"a"`
		B int    `json:"b,omitempty"`
	}
	other struct {
		X string `json:"a"` // as tagged and as deep as inner.A: both dropped
		C string `json:"C"` // tagged: beats side.C
		E string // as untagged and as deep as side.E: both dropped
	}
	side struct {
		C string
		E string
		F string `json:"f"` // loses to embedding.F, shallower
	}
	tagged struct {
		D string `json:"d"`
		G string
	}
	deeper  struct{ tagged }
	deeper2 struct{ tagged }
	label   string
	hidden  struct{ Exported string }

	// embedding promotes fields by encoding/json's rules.
	embedding struct {
		inner
		*other
		side
		deeper
		label
		hidden
		Named inner  `json:"named"`
		In    inner  `json:",inline"`
		F     string `json:"f"`
		Skip  string `json:"-"`
		Dash  string `json:"-,"`
		bad   string
	}
	ambiguous struct {
		inner
		Dup inner `json:"a"` // beats inner.A: shallower
	}
	// twice embeds tagged twice at one depth, making its fields ambiguous.
	twice struct {
		deeper
		deeper2
		Also deeper `json:""`
	}
	empties struct {
		NilMap      map[string]string
		EmptyMap    map[string]string
		NilSlice    []string
		EmptySlice  []int
		OmitMap     map[string]string `json:",omitempty"`
		OmitSlice   []string          `json:",omitempty"`
		OmitStruct  inner             `json:",omitempty"`
		OmitPtr     *inner            `json:",omitempty"`
		ZeroPtr     *inner            `json:",omitempty"`
		ZeroInt     *int
		OmitInt     int       `json:",omitempty"`
		OmitFloat   float64   `json:",omitempty"`
		OmitBool    bool      `json:",omitempty"`
		OmitIface   any       `json:",omitempty"`
		NilIfacePtr any       `json:",omitempty"`
		OmitArray   [0]int    `json:",omitempty"`
		Array       [2]byte   `json:"array"`
		ZeroTime    time.Time `json:",omitzero"`
		ZeroMeta    metav1.Time
		OmitMeta    metav1.Time  `json:",omitempty,omitzero"`
		ZeroDur     *metav1.Time `json:",omitzero"`
		OmitStruct0 inner        `json:",omitzero"`
	}
	numbers struct {
		Int8    int8
		Uint64  uint64
		Half    float64
		Big     float64
		Small   float64
		Small32 float32
		Neg     float32
		Round   float64
		NegZero float64
		Num     json.Number
		NoNum   json.Number
	}
	// textKey is a map key and value written by its MarshalText.
	textKey struct{ a, b string }
	// ptrMarshaler marshals through its pointer only, so only when
	// addressable.
	ptrMarshaler struct{ V int }
	// omitted has no field written when zero.
	omitted struct {
		A string `json:"a,omitempty"`
		P *int   `json:"p"`
	}
	// nullMarshaler marshals as null.
	nullMarshaler struct{}
	node          struct {
		Name     string
		Children []node `json:",omitempty"`
		Next     *node  `json:",omitempty"`
	}
)

// ptrText marshals through its pointer only, so not as a map value.
type ptrText string

func (p *ptrText) MarshalText() ([]byte, error) { return []byte("text:" + *p), nil }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.a + "=" + k.b), nil }

func (nullMarshaler) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"wrapped": %d}`, p.V)), nil
}

// Awkward values, and values clean changes, give the same YAML through
// writeYAML as through encoding/json.
func TestWriteYAMLMatchesJSON(t *testing.T) {
	two := 2
	values := map[string]any{
		"quantities": map[string]any{
			"cpu": resource.MustParse("100m"), "mem": ptr(resource.MustParse("1.5Gi")), "nil": (*resource.Quantity)(nil),
			"list": corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("129e6")},
		},
		"intOrString": &struct {
			Int, Str intstr.IntOrString
			Ptr      *intstr.IntOrString
			Nil      *intstr.IntOrString
		}{intstr.FromInt32(8080), intstr.FromString("http"), ptr(intstr.FromString("50%")), nil},
		"empties":    &empties{EmptyMap: map[string]string{}, EmptySlice: []int{}, OmitPtr: &inner{}, NilIfacePtr: (*int)(nil)},
		"embedding":  &embedding{inner{"a", 1}, &other{"x", "c", "e"}, side{"sc", "se", "sf"}, deeper{tagged{"d", "g"}}, "l", hidden{"h"}, inner{"n", 0}, inner{}, "f", "s", "-", "x"},
		"nilEmbed":   embedding{},
		"ambiguous":  &ambiguous{inner{"a", 2}, inner{"dup", 3}},
		"twice":      twice{deeper{tagged{"d", "g"}}, deeper2{tagged{"d2", "g2"}}, deeper{tagged{"ad", "ag"}}},
		"bytes":      map[string]any{"b": []byte("hi\x00there"), "nil": []byte(nil), "empty": []byte{}},
		"numbers":    &numbers{Int8: -8, Uint64: math.MaxUint64, Half: 0.5, Big: 1e21, Small: 1e-7, Small32: 1e-7, Neg: -3.25, Round: 123456789, NegZero: math.Copysign(0, -1), Num: "12.50"},
		"numbersVal": numbers{Big: 1.5e300, Small: 5e-324, Half: 1e20},
		"unstructured": map[string]any{
			"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
			"metadata": map[string]any{"name": "x", "labels": map[string]any{"a": "b"}},
			"spec":     map[string]any{"list": []any{1, 2.5, "three", true, nil, map[string]any{}, []any{}}, "n": int64(-1), "u": uint8(7)},
		},
		"textKeys":  map[textKey]textKey{{"a", "b"}: {"c", "d"}, {"0", ""}: {"", ""}},
		"intKeys":   map[int]string{10: "ten", -2: "minus two", 9: "nine"},
		"uintKeys":  map[uint16]bool{65535: true, 0: false},
		"textValue": struct{ IP net.IP }{net.IPv4(10, 0, 0, 1)},
		"ptrMarshal": &struct {
			Field ptrMarshaler
			Map   map[string]ptrMarshaler
			Slice []ptrMarshaler
			Iface any
		}{ptrMarshaler{1}, map[string]ptrMarshaler{"m": {2}}, []ptrMarshaler{{3}}, ptrMarshaler{4}},
		"ptrMarshalVal": struct{ Field ptrMarshaler }{ptrMarshaler{5}},
		"ptrText": &struct {
			Field ptrText
			Map   map[ptrText]ptrText
		}{"f", map[ptrText]ptrText{"k": "v"}},
		"strings": map[string]string{
			"html": "<a href='x'>&amp;</a>", "bad": "a\xffb\xc3", "sep": "x\u2028y\u2029", "ctl": "\x00\x01\t\n\"\\", "fffd": "\ufffd", "emoji": "😀",
		},
		"badKeys":   map[string]int{"a\xff": 1, "a\xfe": 2, "b": 3},
		"raw":       &runtime.RawExtension{Raw: []byte(` {"b": 1, "a": [true, null, "\u003c"]} `)},
		"times":     struct{ T, Z metav1.Time }{metav1.NewTime(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)), metav1.Time{}},
		"duration":  &metav1.Duration{Duration: 90 * time.Second},
		"pointers":  &struct{ P **int }{ptr(&two)},
		"recursive": &node{"root", []node{{Name: "a", Next: &node{Name: "b"}}, {Name: "c"}}, nil},
		"meta":      &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {1, 2}}},

		// What clean drops or keeps.
		"emptyUnderResources": &struct {
			Spec struct {
				Resources omitted        `json:"resources"` // dropped
				Other     omitted        `json:"other"`     // {}
				Strategy  map[string]any `json:"strategy"`  // dropped once its null is
				Keep      int            `json:"keep"`
			} `json:"spec"`
		}{},
		"nilLabels": map[string]any{"kind": "X", "metadata": map[string]any{"labels": map[string]string(nil)}},
		"nilLabelsTyped": &struct {
			Kind     string
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}{Kind: "X"},
		"lists": map[string]any{
			"items": []any{
				map[string]any{}, omitted{}, map[string]any{"n": nil}, // - {}
				[]any{[]any{1, []any{}}, []any{}, []any{map[string]any{"a": 1, "b": 2}}},
				[]int{}, nil, "s",
				map[string]any{"a": nil, "b": 1, "c": map[string]any{"d": nil, "e": []any{map[string]any{"x": nil, "y": 2, "z": 3}}}},
			},
			"empty":  []string{},
			"nested": [][]int{{1, 2}, {}, {3}},
			"first":  map[string]any{"a": nil, "b": map[string]any{"a": nil, "b": []any{}}},
		},
		"topStatus": map[string]any{
			"kind": "X", "status": map[string]any{"phase": "Ready"},
			"spec": map[string]any{"status": map[string]any{"a": 1}, "inner": map[string]any{"status": map[string]any{"n": nil}}},
		},
		"topStatusTyped": &struct {
			Kind   string `json:"kind"`
			Status inner  `json:"status"`
			Spec   struct {
				Status  inner   `json:"status"`
				Empty   omitted `json:"status2"`
				Nested  omitted `json:"metadata"`
				Pointer *inner  `json:"resources"`
			} `json:"spec"`
		}{Kind: "K", Status: inner{A: "up"}},
		"onlyStatus": map[string]any{"status": 1},
		"nullMarshaler": &struct {
			N    nullMarshaler
			P    *nullMarshaler
			L    []nullMarshaler
			M    map[string]nullMarshaler
			Keep string
		}{L: make([]nullMarshaler, 2), M: map[string]nullMarshaler{"k": {}}},
		"rawTop":    &runtime.RawExtension{Raw: []byte(`{"status": {"x": 1}, "metadata": {}, "spec": {"a": null, "resources": {"b": null}, "l": [null, {}]}}`)},
		"emptyTop":  struct{}{},
		"scalarTop": 5,
		"nullTop":   (*int)(nil),
		"listTop":   []any{1, map[string]any{}, []any{map[string]any{"a": 1}}},
	}
	for name, v := range values {
		want, err := yamlViaJSON(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := direct(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
		}
	}
}

// The layout is pinned apart from the oracle, which shares the writing of
// lines and indentation: entries dropped first, objects emptied by their
// nulls, lists of objects and of lists.
func TestWriteYAMLLayout(t *testing.T) {
	got, err := direct(map[string]any{
		"empty": []string{},
		"first": map[string]any{"a": nil, "b": map[string]any{"a": nil, "b": []any{}}},
		"items": []any{
			map[string]any{"n": nil},
			[]any{[]any{1, []any{}}, []any{map[string]any{"a": 1, "b": 2}}},
			nil,
			map[string]any{"a": nil, "b": 1, "c": map[string]any{"d": nil, "e": []any{map[string]any{"x": nil, "y": 2, "z": 3}}}},
		},
		"metadata": map[string]any{"labels": map[string]string(nil)},
		"other":    omitted{},
		"status":   "x",
	})
	want := `empty: []
first:
  b:
    b: []
items:
- {}
- - - 1
    - []
  - - a: 1
      b: 2
- null
- b: 1
  c:
    e:
    - "y": 2
      z: 3
other: {}
`
	if err != nil || string(got) != want {
		t.Errorf("got %v\n%s\nwant\n%s", err, got, want)
	}
	if _, err := marshal(&render.Object{Kind: "K", Name: "n", Obj: []int{1}}, nil); err == nil || !strings.Contains(err.Error(), "not an object") {
		t.Errorf("a list: got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// Values encoding/json refuses are errors, not panics.
func TestWriteYAMLErrors(t *testing.T) {
	type cycle struct{ Next *cycle }
	loop := &cycle{}
	loop.Next = loop
	for name, v := range map[string]any{
		"chan":       map[string]any{"c": make(chan int)},
		"func":       struct{ F func() }{},
		"complex":    []any{complex(1, 2)},
		"nan":        math.NaN(),
		"inf":        float32(math.Inf(-1)),
		"mapKey":     map[[2]int]string{{1, 2}: "x"},
		"badNumber":  json.Number("1e"),
		"badRaw":     runtime.RawExtension{Raw: []byte(`{"a":}`)},
		"cycle":      loop,
		"failedText": map[string]any{"k": failingText{}},
	} {
		if _, err := json.Marshal(v); err == nil {
			t.Fatalf("%s: json.Marshal succeeded", name)
		}
		if _, err := direct(v); err == nil {
			t.Errorf("%s: writeYAML succeeded", name)
		}
	}
	// The ",string" option, which no Kubernetes type uses, is refused.
	_, err := direct(struct {
		N int `json:",string"`
	}{})
	if err == nil || !strings.Contains(err.Error(), "string option") {
		t.Errorf(`",string": got %v`, err)
	}
}

type failingText struct{}

func (failingText) MarshalText() ([]byte, error) { return nil, fmt.Errorf("no") }
