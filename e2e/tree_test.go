//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// envTree is one rendered environment folder, out/<env>/, read the way
// Flux reads it: the Kustomizations in flux/, and for each of them the
// layer folder its spec.path names, in the order their dependsOn gives.
type envTree struct {
	name   string
	dir    string
	flux   []file  // the Flux Kustomizations themselves, applied first
	layers []layer // in dependsOn order
	// charts are the objects each chart renders, by the name of its
	// HelmRelease, as gitopsc rendered them (images pinned as the
	// post-renderer pins them): what helm-controller would install.
	charts map[string][]file
}

type layer struct {
	name      string // the Flux Kustomization's name
	path      string // its spec.path
	dir       string
	dependsOn []string
	files     []file
}

// file is one manifest listed by a kustomization.yaml.
type file struct {
	rel string // relative to the environment folder, for messages
	obj map[string]any
}

// readEnvTree reads envDir. Only what gitopsc renders is understood: each
// kustomization.yaml lists resources and nothing else (no patches or
// generators, which would need kustomize to apply), and flux/ has none:
// Flux builds it from every manifest it holds.
func readEnvTree(envDir string) (*envTree, error) {
	t := &envTree{name: filepath.Base(envDir), dir: envDir}
	var err error
	if t.flux, err = readManifests(envDir, "flux"); err != nil {
		return nil, err
	}
	byName := map[string]*layer{}
	for _, f := range t.flux {
		r := refOf(f.obj)
		if r.APIVersion != "kustomize.toolkit.fluxcd.io/v1" || r.Kind != "Kustomization" {
			return nil, fmt.Errorf("%s: %s in flux/, want only kustomize.toolkit.fluxcd.io/v1 Kustomizations", f.rel, r)
		}
		spec, _ := f.obj["spec"].(map[string]any)
		p, _ := spec["path"].(string)
		l := &layer{name: r.Name, path: p}
		deps, _ := spec["dependsOn"].([]any)
		for _, d := range deps {
			dm, _ := d.(map[string]any)
			n, _ := dm["name"].(string)
			l.dependsOn = append(l.dependsOn, n)
		}
		// spec.path is relative to the repository root (./out/<env>/<layer>);
		// the layer folder is the one beside flux/ with the same last element.
		if !strings.HasSuffix(path.Clean(p), "/"+t.name+"/"+path.Base(p)) {
			return nil, fmt.Errorf("%s: spec.path %q does not name a folder of environment %s", f.rel, p, t.name)
		}
		rel := path.Base(p)
		if l.files, err = readKustomization(envDir, rel); err != nil {
			return nil, fmt.Errorf("%s: spec.path %q: %v", f.rel, p, err)
		}
		l.dir = filepath.Join(envDir, rel)
		if byName[l.name] != nil {
			return nil, fmt.Errorf("%s: two Flux Kustomizations named %s", f.rel, l.name)
		}
		byName[l.name] = l
	}
	if t.layers, err = dependencyOrder(byName); err != nil {
		return nil, err
	}
	return t, nil
}

// dependencyOrder sorts the layers so that each comes after those it
// depends on; among the ready ones, by name, so the order is stable.
func dependencyOrder(byName map[string]*layer) ([]layer, error) {
	indegree := map[string]int{}
	dependents := map[string][]string{}
	for n, l := range byName {
		indegree[n] += 0
		for _, d := range l.dependsOn {
			if byName[d] == nil {
				return nil, fmt.Errorf("Flux Kustomization %s depends on %s, which is not rendered", n, d)
			}
			indegree[n]++
			dependents[d] = append(dependents[d], n)
		}
	}
	var ready, order []string
	for n, d := range indegree {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, m := range dependents[n] {
			if indegree[m]--; indegree[m] == 0 {
				ready = append(ready, m)
			}
		}
	}
	if len(order) != len(byName) {
		return nil, fmt.Errorf("the Flux Kustomizations' dependsOn has a cycle")
	}
	out := make([]layer, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out, nil
}

// readManifests reads the manifests of a folder without a
// kustomization.yaml, as Flux's kustomize-controller generates one for
// it: every .yaml file, one object each (no folder of gitopsc's holds
// another).
func readManifests(envDir, rel string) ([]file, error) {
	if _, err := os.Stat(filepath.Join(envDir, rel, "kustomization.yaml")); err == nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: gitopsc writes none there; Flux builds the folder from its manifests", rel)
	}
	names, err := filepath.Glob(filepath.Join(envDir, rel, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var files []file
	for _, n := range names {
		f, err := readFile(envDir, path.Join(rel, filepath.Base(n)))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// readFile reads one manifest of envDir, one object.
func readFile(envDir, rel string) (file, error) {
	f := file{rel: rel}
	b, err := os.ReadFile(filepath.Join(envDir, filepath.FromSlash(rel)))
	if err != nil {
		return f, err
	}
	if err := yaml.Unmarshal(b, &f.obj); err != nil {
		return f, fmt.Errorf("%s: %v", rel, err)
	}
	if f.obj == nil {
		return f, fmt.Errorf("%s: empty manifest", rel)
	}
	return f, nil
}

// readKustomization reads envDir/rel/kustomization.yaml and the manifests
// it lists, one object per file.
func readKustomization(envDir, rel string) ([]file, error) {
	b, err := os.ReadFile(filepath.Join(envDir, rel, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %v", rel, err)
	}
	for key := range k {
		if key != "apiVersion" && key != "kind" && key != "resources" {
			return nil, fmt.Errorf("%s/kustomization.yaml: field %q needs kustomize; the e2e applies resources lists only", rel, key)
		}
	}
	res, _ := k["resources"].([]any)
	var files []file
	for _, r := range res {
		name, _ := r.(string)
		f, err := readFile(envDir, path.Join(rel, name))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// isSOPS reports whether a manifest is a SOPS-encrypted file: its values
// are ENC[...] and it carries a top-level sops: block, so no API server
// accepts it as it is. Flux decrypts it before applying.
func isSOPS(obj map[string]any) bool {
	_, ok := obj["sops"]
	return ok
}

// placeholderSecret stands in for what Flux would apply after decrypting
// a SOPS-encrypted Secret, or for the Secret the External Secrets operator
// would create from an ExternalSecret: the same name, namespace, type and
// keys, with placeholder values. Pods that read those keys are then
// admitted as they would be on a cluster whose secrets are in place.
func placeholderSecret(obj map[string]any) (map[string]any, []string) {
	r := refOf(obj)
	name, typ := r.Name, "Opaque"
	keys := map[string]bool{}
	switch r.Kind {
	case "Secret":
		if t, ok := obj["type"].(string); ok {
			typ = t
		}
		for _, field := range []string{"data", "stringData"} {
			m, _ := obj[field].(map[string]any)
			for k := range m {
				keys[k] = true
			}
		}
	case "ExternalSecret":
		spec, _ := obj["spec"].(map[string]any)
		if target, ok := spec["target"].(map[string]any); ok {
			if n, ok := target["name"].(string); ok && n != "" {
				name = n
			}
		}
		data, _ := spec["data"].([]any)
		for _, d := range data {
			dm, _ := d.(map[string]any)
			if k, ok := dm["secretKey"].(string); ok {
				keys[k] = true
			}
		}
	}
	values := map[string]any{}
	var list []string
	for k := range keys {
		values[k] = "e2e-placeholder"
		list = append(list, k)
	}
	sort.Strings(list)
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata": map[string]any{
			"name":      name,
			"namespace": r.Namespace,
			"labels":    map[string]any{"gitopsc.dev/e2e-placeholder": "true"},
		},
		"type":       typ,
		"stringData": values,
	}, list
}
