package render

import (
	"sort"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Flux API versions rendered.
const (
	KustomizationAPIVersion = "kustomize.toolkit.fluxcd.io/v1"
	GitRepositoryAPIVersion = "source.toolkit.fluxcd.io/v1"
)

// KustomizationName is the Flux Kustomization that applies layer.
func KustomizationName(system, layer string) string {
	return system + "-" + layer
}

// LayerDependencies returns, for each namespace layer, the namespace
// layers it depends on: those it sends traffic to. Layers in a cycle of
// flows cannot wait for each other (Flux would wait forever), so the
// edges inside a cycle are dropped; their other edges stay.
func LayerDependencies(sys *model.System) map[string][]string {
	edges := map[string]map[string]bool{}
	for _, ns := range sys.Namespaces {
		edges[ns.Name] = map[string]bool{}
	}
	for _, c := range sys.Components {
		for _, f := range c.TalksTo {
			if t := sys.Component(f.Target); t != nil && t.Namespace != c.Namespace {
				edges[c.Namespace][t.Namespace] = true
			}
		}
	}
	scc := components(edges)
	out := map[string][]string{}
	for from, tos := range edges {
		for to := range tos {
			if scc[from] != scc[to] {
				out[from] = append(out[from], to)
			}
		}
		sort.Strings(out[from])
	}
	return out
}

// components labels each node with its strongly connected component
// (Tarjan's algorithm, visiting nodes in name order for determinism).
func components(edges map[string]map[string]bool) map[string]int {
	var nodes []string
	for n := range edges {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	index, low, comp := map[string]int{}, map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	next, nextComp := 0, 0
	var visit func(n string)
	visit = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		var succ []string
		for m := range edges[n] {
			succ = append(succ, m)
		}
		sort.Strings(succ)
		for _, m := range succ {
			if _, seen := index[m]; !seen {
				visit(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] == index[n] {
			for {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[m] = false
				comp[m] = nextComp
				if m == n {
					break
				}
			}
			nextComp++
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	return comp
}

func (rd *renderer) flux() {
	fx := rd.env.Flux
	layers := map[string]bool{}
	sops := map[string]bool{}
	for _, o := range rd.objects {
		if o.Layer != LayerPlatform {
			layers[o.Layer] = true
		}
		if o.Raw != nil {
			sops[o.Layer] = true
		}
	}
	deps := LayerDependencies(rd.sys)
	interval, _ := time.ParseDuration(fx.Interval)
	timeout, _ := time.ParseDuration(fx.Timeout)
	prefix := "./" + fx.PathPrefix + "/" + rd.env.Name + "/"
	source := kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: fx.SourceName, Namespace: fx.SourceNamespace}
	kustomization := func(layer string, dependsOn []string) *kustomizev1.Kustomization {
		k := &kustomizev1.Kustomization{
			TypeMeta: metav1.TypeMeta{APIVersion: KustomizationAPIVersion, Kind: "Kustomization"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      KustomizationName(rd.sys.Name, layer),
				Namespace: fx.SourceNamespace,
				Labels:    map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy, "gitopsc.dev/environment": rd.env.Name},
			},
			Spec: kustomizev1.KustomizationSpec{
				Interval:      metav1.Duration{Duration: interval},
				RetryInterval: &metav1.Duration{Duration: time.Minute},
				Timeout:       &metav1.Duration{Duration: timeout},
				Path:          prefix + layer,
				Prune:         true,
				Wait:          true,
				SourceRef:     source,
			},
		}
		for _, d := range dependsOn {
			k.Spec.DependsOn = append(k.Spec.DependsOn, kustomizev1.DependencyReference{Name: KustomizationName(rd.sys.Name, d)})
		}
		if sops[layer] {
			k.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &meta.LocalObjectReference{Name: fx.DecryptionSecret}}
		}
		return k
	}
	add := func(layer string, k *kustomizev1.Kustomization) {
		rd.add(&Object{Layer: LayerFlux, APIVersion: KustomizationAPIVersion, Kind: "Kustomization",
			Namespace: fx.SourceNamespace, Name: k.Name, Obj: k, Pos: rd.env.Pos})
	}
	add(LayerPlatform, kustomization(LayerPlatform, nil))
	// Charts, then the objects of their CRDs, then the namespaces.
	before := []string{LayerPlatform}
	for _, l := range []string{LayerInfrastructure, LayerConfigs} {
		if layers[l] {
			add(l, kustomization(l, before))
			before = []string{l}
		}
	}
	for _, ns := range rd.sys.Namespaces {
		if !layers[ns.Name] {
			continue
		}
		dependsOn := append([]string{}, before...)
		for _, d := range deps[ns.Name] {
			if layers[d] {
				dependsOn = append(dependsOn, d)
			}
		}
		add(ns.Name, kustomization(ns.Name, dependsOn))
	}
	if fx.ManagedSource {
		rd.addUnstructured(LayerFlux, GitRepositoryAPIVersion, "GitRepository", fx.SourceNamespace, fx.SourceName, rd.env.Pos, map[string]any{
			"interval": fx.Interval,
			"url":      fx.URL,
			"ref":      map[string]any{"branch": fx.Branch},
		})
	}
}
