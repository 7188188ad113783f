package emit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/compiler/resolve"
)

// BenchmarkParseJSON measures what the JSON reader (for values with a
// MarshalJSON of their own, raw objects' among them) saves over
// encoding/json decoding into maps with UseNumber, which is what it
// stands for, on the JSON of every object the shipped system renders.
func BenchmarkParseJSON(b *testing.B) {
	in, err := load.Dir("../../environments")
	if err != nil {
		b.Fatal(err)
	}
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		b.Fatal(err)
	}
	all, err := resolve.All(in)
	if err != nil {
		b.Fatal(err)
	}
	var docs [][]byte
	for _, r := range all {
		if r.Env.IsCompose() {
			continue
		}
		out, err := render.Render(r, lock)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range out.Objects {
			if o.Obj == nil {
				continue
			}
			j, err := json.Marshal(o.Obj)
			if err != nil {
				b.Fatal(err)
			}
			docs = append(docs, j)
		}
	}
	b.Run("gitopsc", func(b *testing.B) {
		for b.Loop() {
			for _, d := range docs {
				if _, err := parseJSON(d); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			for _, d := range docs {
				dec := json.NewDecoder(bytes.NewReader(d))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
