package load

import (
	"strings"
	"sync"

	"cuelang.org/go/cue"
)

// The decoder reads each struct of the input by name, field after field,
// most of them absent: a component is asked for some forty fields and
// states a dozen. cue.Value.LookupPath makes an evaluation context for
// every call, and an error value for every field it does not find; at
// 5,000 components that was a quarter of what loading allocated. In a
// context of the fast check's, lookup answers from the list of a
// struct's fields that the check made as it checked the struct, or
// lists them once itself, the first time one is asked for.
//
// A field found is the value LookupPath finds: the same field of the
// same struct, evaluated. A field not found is the value LookupPath gave
// for the first field not found in that context, which differs from what
// it gives for another only in its message and its Path (the struct's):
// it does not exist, has no position and is an error, and the decoder
// reads no more of an absent field than that.
// Only contexts of inputs written as plain data are indexed (see
// plainData): no disjunction, default or reference that would make the
// struct LookupPath reads differ from the one Fields lists.
func lookup(v cue.Value, path string) cue.Value {
	fx, _ := indexed.Load(v.Context())
	if fx == nil || path == "" || strings.Contains(path, "#") {
		return v.LookupPath(cuePath(path))
	}
	return fx.(*fieldIndexes).lookup(v, strings.Split(path, "."))
}

// lookupLabels is v.LookupPath of the path of these labels, string
// labels all, answered as lookup answers.
func lookupLabels(v cue.Value, labels ...string) cue.Value {
	fx, _ := indexed.Load(v.Context())
	if fx == nil {
		return v.LookupPath(strPath(labels))
	}
	return fx.(*fieldIndexes).lookup(v, labels)
}

func strPath(labels []string) cue.Path {
	sels := make([]cue.Selector, len(labels))
	for i, l := range labels {
		sels[i] = cue.Str(l)
	}
	return cue.MakePath(sels...)
}

// indexed holds the fieldIndexes of each indexed context. A context is
// used by one goroutine at a time, and so is its fieldIndexes.
var indexed sync.Map // *cue.Context → *fieldIndexes

// indexing lookup's answers in ctx until the returned function is
// called; indexAtBuild off turns it off, for the tests that compare.
func indexing(ctx *cue.Context) (done func()) {
	if !indexAtBuild {
		return func() {}
	}
	indexed.Store(ctx, &fieldIndexes{})
	return func() { indexed.Delete(ctx) }
}

var indexAtBuild = true

// fieldIndexes are the structs listed so far: by the fast check, which
// lists every struct of a component before the decoder reads it, or by
// lookup. The decoder reaches a struct through the values of the list
// of its parent, the values the check was given, so the check's lists
// serve it. All go when there are too many.
type fieldIndexes struct {
	byValue map[cue.Value]*fieldIndex
	// missing is what looking up an absent field gave, once asked.
	missing    cue.Value
	hasMissing bool
}

// maxIndexes bounds the lists kept, some 4 MB.
const maxIndexes = 1 << 14

type fieldIndex struct {
	listed bool // a struct whose fields are listed
	labels []string
	values []cue.Value
}

func (fx *fieldIndexes) lookup(v cue.Value, labels []string) cue.Value {
	for k, label := range labels {
		ix := fx.of(v)
		if !ix.listed {
			// Nothing is found in what does not exist.
			if fx.hasMissing && !v.Exists() {
				return fx.missing
			}
			return v.LookupPath(strPath(labels[k:]))
		}
		i := 0
		for i < len(ix.labels) && ix.labels[i] != label {
			i++
		}
		if i == len(ix.labels) {
			if !fx.hasMissing {
				fx.missing, fx.hasMissing = v.LookupPath(strPath(labels[k:])), true
			}
			return fx.missing
		}
		v = ix.values[i]
	}
	return v
}

// of is the index of v, listing its fields when it has none yet.
func (fx *fieldIndexes) of(v cue.Value) *fieldIndex {
	if ix := fx.byValue[v]; ix != nil {
		return ix
	}
	ix := &fieldIndex{}
	if v.IncompleteKind() == cue.StructKind {
		if it, err := v.Fields(cue.Optional(true)); err == nil {
			ix.listed = true
			for it.Next() {
				// LookupPath finds regular fields only: an optional or
				// required one is a constraint, not a field.
				if sel := it.Selector(); sel.LabelType() == cue.StringLabel && sel.ConstraintType() == 0 {
					ix.labels = append(ix.labels, sel.Unquoted())
					ix.values = append(ix.values, it.Value())
				}
			}
		}
	}
	fx.put(v, ix)
	return ix
}

func (fx *fieldIndexes) put(v cue.Value, ix *fieldIndex) {
	if fx.byValue == nil || len(fx.byValue) >= maxIndexes {
		fx.byValue = make(map[cue.Value]*fieldIndex, 256)
	}
	fx.byValue[v] = ix
}

// indexOf is the fieldIndexes of v's context, nil when it is not
// indexed. The fast check records in it the fields of each struct it
// reads, in the order Fields gives them.
func indexOf(v cue.Value) *fieldIndexes {
	fx, _ := indexed.Load(v.Context())
	if fx == nil {
		return nil
	}
	return fx.(*fieldIndexes)
}

// indexedFields are the fields of v lookup has listed, in the order
// Fields gives them; ok is false when it has listed none.
func indexedFields(v cue.Value) (fs []field, ok bool) {
	fx, _ := indexed.Load(v.Context())
	if fx == nil {
		return nil, false
	}
	ix := fx.(*fieldIndexes).byValue[v]
	if ix == nil || !ix.listed {
		return nil, false
	}
	fs = make([]field, len(ix.labels))
	for i := range fs {
		fs[i] = field{label: ix.labels[i], v: ix.values[i]}
	}
	return fs, true
}
