package compiler_test

import (
	"bytes"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/compiler/resolve"
)

// BenchmarkEncode measures what gitopsc's own YAML writer saves over the
// libraries, on every object of the 1,000-component system's three
// environments: sigs.k8s.io/yaml (encoding/json, then JSON to YAML) and
// go.yaml.in/yaml/v3 from the object as unstructured maps (no JSON).
// The libraries' output differs in details gitopsc cleans (nulls, empty
// status); the cost is what is compared.
func BenchmarkEncode(b *testing.B) {
	in := benchInputs(b)[1]
	input, lock := mustLoad(b, in.dir)
	all, err := resolve.All(input)
	if err != nil {
		b.Fatal(err)
	}
	var objs []*render.Object
	for _, r := range all {
		if r.Env.IsCompose() {
			continue // its services are no Kubernetes manifests
		}
		o, err := render.Render(r, lock)
		if err != nil {
			b.Fatal(err)
		}
		for _, obj := range o.Objects {
			if obj.Obj != nil {
				objs = append(objs, obj)
			}
		}
	}
	b.Run("gitopsc", func(b *testing.B) {
		for b.Loop() {
			for _, o := range objs {
				if _, err := emit.Marshal(o); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("sigs.k8s.io-yaml", func(b *testing.B) {
		for b.Loop() {
			for _, o := range objs {
				if _, err := sigsyaml.Marshal(o.Obj); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("yaml.v3-unstructured", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			for _, o := range objs {
				// A custom resource written under objects is a map already.
				m, isMap := o.Obj.(map[string]any)
				if !isMap {
					var err error
					if m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(o.Obj); err != nil {
						b.Fatal(err)
					}
				}
				buf.Reset()
				enc := yamlv3.NewEncoder(&buf)
				enc.SetIndent(2)
				if err := enc.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
