package render

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortObjects orders objects as the emitter lays them out: flux first,
// platform next, then the namespace layers by name, each by file name;
// objects with the same layer and file name keep their order.
func TestSortObjects(t *testing.T) {
	layers := []string{LayerFlux, LayerPlatform, "ai-agents", "monitoring", "external-env"}
	kinds := []string{"Deployment", "Service", "NetworkPolicy", "ConfigMap"}
	rng := rand.New(rand.NewPCG(1, 2))
	var objs []*Object
	for i := 0; i < 500; i++ {
		objs = append(objs, &Object{
			Layer:     layers[rng.IntN(len(layers))],
			Kind:      kinds[rng.IntN(len(kinds))],
			Namespace: "ns",
			Name:      fmt.Sprintf("c-%d", rng.IntN(40)),
			Component: fmt.Sprint(i), // the original position
		})
	}
	sortObjects(objs)
	rank := map[string]int{LayerFlux: 0, LayerPlatform: 1, "ai-agents": 2, "external-env": 3, "monitoring": 4}
	for i := 1; i < len(objs); i++ {
		a, b := objs[i-1], objs[i]
		ka := fmt.Sprintf("%d %s", rank[a.Layer], a.FileName())
		kb := fmt.Sprintf("%d %s", rank[b.Layer], b.FileName())
		if ka > kb {
			t.Fatalf("objects %d and %d out of order: %q before %q", i-1, i, ka, kb)
		}
		var pa, pb int
		fmt.Sscan(a.Component, &pa)
		fmt.Sscan(b.Component, &pb)
		if ka == kb && pa > pb {
			t.Fatalf("equal keys %q reordered: %d before %d", ka, pa, pb)
		}
	}
	if !slices.ContainsFunc(objs, func(o *Object) bool { return o.Layer == LayerFlux }) {
		t.Fatal("generator produced no flux object")
	}
}
