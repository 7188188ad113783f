package load

import (
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/schema"
)

// Every pattern explained exists in the schema, so a schema change that
// renames or rewrites one fails here instead of silently losing its help.
func TestPatternHelpMatchesSchema(t *testing.T) {
	ctx := cuecontext.New()
	sv, err := Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range schemaSources() {
		src.WriteString(f)
	}
	for _, p := range patternHelp {
		if strings.HasPrefix(p.pattern, "#") {
			if v := sv.LookupPath(cue.ParsePath(p.pattern)); !v.Exists() {
				t.Errorf("%s: no such definition in the schema", p.pattern)
			}
			continue
		}
		if !strings.Contains(src.String(), p.pattern) {
			t.Errorf("%s: the schema uses no such pattern", p.pattern)
		}
	}
}

// schemaSources is the text of the embedded schema files.
func schemaSources() []string {
	var out []string
	for _, f := range schema.Files() {
		out = append(out, string(f.Source))
	}
	return out
}

// The folder names a namespace may not take are the renderer's.
func TestReservedLayerNames(t *testing.T) {
	want := []string{render.LayerFlux, render.LayerPlatform, render.LayerInfrastructure, render.LayerConfigs}
	if !slices.Equal(reservedLayers, want) {
		t.Errorf("load reserves %q, the renderer writes %q", reservedLayers, want)
	}
}
