package load

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// redactor holds the values in the input that look like secrets, so that
// no message quotes one: CUE's own errors print the values they compare
// ("conflicting values "hunter2" and {...}"), and those reach CI logs in
// every --format.
type redactor struct {
	r *strings.Replacer
}

func newRedactor() *redactor { return &redactor{} }

// hidden replaces a secret's value in a message.
const hidden = "(value hidden)"

// collect finds secret-looking values in v: anything written where a
// secret reference belongs, and config values under secret-like names.
func (r *redactor) collect(v cue.Value) {
	var values []string
	add := func(f cue.Value) {
		if f.IncompleteKind()&cue.StructKind != 0 {
			// A reference, or a struct that is not one: its strings are
			// names, not values.
			return
		}
		values = append(values, literalForms(f)...)
	}
	for _, c := range fields(v.LookupPath(cuePath(pathSystem + ".components"))) {
		for _, s := range fields(c.v.LookupPath(cuePath("secrets"))) {
			add(s.v)
		}
		for _, s := range fields(c.v.LookupPath(cuePath("config"))) {
			if model.SecretLikeName(s.label) {
				add(s.v)
			}
		}
	}
	for _, e := range fields(v.LookupPath(cuePath(pathEnvironments))) {
		for _, c := range fields(e.v.LookupPath(cuePath("components"))) {
			for _, s := range fields(c.v.LookupPath(cuePath("config"))) {
				if model.SecretLikeName(s.label) {
					add(s.v)
				}
			}
		}
	}
	if len(values) == 0 {
		return
	}
	// Longer forms first, so a quoted value is replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	var pairs []string
	for _, s := range values {
		pairs = append(pairs, s, hidden)
	}
	r.r = strings.NewReplacer(pairs...)
}

// literalForms are the ways a message may quote f's value: as CUE prints
// it and, for a string long enough not to be a common word, bare.
func literalForms(f cue.Value) []string {
	var out []string
	bare := func(s string) {
		if len(s) >= 6 {
			out = append(out, s)
		}
	}
	if s, err := f.String(); err == nil {
		out = append(out, strconv.Quote(s))
		bare(s)
	}
	if s := fmt.Sprint(f); strings.HasPrefix(s, `"`) {
		out = append(out, s)
	} else {
		bare(s)
	}
	return out
}

// apply hides the collected values in every message of l.
func (r *redactor) apply(l diag.List) {
	if r.r == nil {
		return
	}
	for i := range l {
		l[i].Msg = r.r.Replace(l[i].Msg)
	}
}
