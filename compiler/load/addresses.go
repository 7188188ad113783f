package load

import (
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// withAddresses fills in what the model knows of each component's address
// and CUE cannot compute: its cluster DNS name, as
// system.components.NAME.host. A file or a config value that interpolates
// it reads the name the compiler gives the component's Service, so no
// input hard-codes one; a reference to a component that does not exist
// stays an undefined field, which CUE reports where it is written.
//
// Each component's name and namespace are read from v itself; a
// namespace that is not a concrete string gets no host, and the schema
// reports the namespace.
func withAddresses(v cue.Value) cue.Value {
	comps := v.LookupPath(cuePath(pathSystem + ".components"))
	hosts := map[string]any{}
	for _, c := range fields(comps) {
		ns, err := c.v.LookupPath(cuePath("namespace")).String()
		if err != nil || !dnsLabel.MatchString(c.label) || !dnsLabel.MatchString(ns) {
			continue
		}
		hosts[c.label] = map[string]any{"host": model.ServiceDNSName(c.label, ns)}
	}
	if len(hosts) == 0 {
		return v
	}
	return v.Unify(v.Context().Encode(map[string]any{pathSystem: map[string]any{"components": hosts}}))
}

// explainInterpolations adds to each "invalid interpolation" the reason,
// which CUE keeps only when the input is evaluated alone: unified with
// the schema, a reference to a component that does not exist says no
// more than the headline.
func explainInterpolations(v cue.Value, errs diag.List) {
	const headline = "invalid interpolation"
	var pending bool
	for _, d := range errs {
		pending = pending || strings.HasSuffix(d.Msg, ": "+headline)
	}
	if !pending {
		return
	}
	why := map[token.Pos]string{}
	for _, e := range cueerrors.Errors(v.Validate(cue.Concrete(true))) {
		if _, reason, ok := strings.Cut(e.Error(), headline+": "); ok {
			why[e.Position()] = reason
		}
	}
	for i, d := range errs {
		if r, ok := why[d.Pos]; ok && strings.HasSuffix(d.Msg, ": "+headline) {
			errs[i].Msg += ": " + r
		}
	}
}
