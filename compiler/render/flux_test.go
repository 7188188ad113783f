package render

import (
	"reflect"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/model"
)

func system(flows map[string][]string, namespaceOf map[string]string) *model.System {
	sys := &model.System{Name: "s"}
	seen := map[string]bool{}
	for _, ns := range namespaceOf {
		if !seen[ns] {
			sys.Namespaces = append(sys.Namespaces, &model.Namespace{Name: ns})
			seen[ns] = true
		}
	}
	for c, ns := range namespaceOf {
		comp := &model.Component{Name: c, Namespace: ns, Ports: []model.Port{{Name: "p", Number: 1}}}
		for _, t := range flows[c] {
			comp.TalksTo = append(comp.TalksTo, model.Flow{Target: t, Port: "p"})
		}
		sys.Components = append(sys.Components, comp)
	}
	return sys
}

// A layer waits for the layers it sends traffic to; layers that send
// traffic to each other cannot wait for each other, so the edges inside
// the cycle go and the others stay.
func TestLayerDependencies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flows map[string][]string
		ns    map[string]string
		want  map[string][]string
	}{
		{
			name:  "a chain",
			flows: map[string][]string{"web": {"api"}, "api": {"db"}},
			ns:    map[string]string{"web": "front", "api": "back", "db": "data"},
			want:  map[string][]string{"front": {"back"}, "back": {"data"}},
		},
		{
			name:  "flows inside a namespace add nothing",
			flows: map[string][]string{"web": {"api"}},
			ns:    map[string]string{"web": "apps", "api": "apps"},
			want:  map[string][]string{},
		},
		{
			name:  "a cycle keeps its edges out",
			flows: map[string][]string{"a": {"b"}, "b": {"a", "c"}, "d": {"a"}},
			ns:    map[string]string{"a": "one", "b": "two", "c": "three", "d": "four"},
			want:  map[string][]string{"two": {"three"}, "four": {"one"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LayerDependencies(system(tc.flows, tc.ns))
			for k, v := range got {
				if len(v) == 0 {
					delete(got, k)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
