package emit_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// shipped is the input gitopsc ships, relative to this package.
const shipped = "../../environments"

// pinnedFacts pins every image to one fake digest, published for both
// architectures, so the shipped input compiles without a lock or a
// registry.
type pinnedFacts struct{}

func (pinnedFacts) Lookup(ref string) (images.Entry, bool) {
	return images.Entry{
		Ref:       ref,
		Digest:    "sha256:" + strings.Repeat("0123456789abcdef", 4),
		Platforms: []string{"linux/amd64", "linux/arm64"},
	}, true
}

// buildShipped loads and compiles every shipped environment and writes
// each tree where its Flux Kustomizations expect it: root/<pathPrefix>/<env>.
func buildShipped(t *testing.T, root string) []*compiler.Result {
	t.Helper()
	in, err := load.Dir(shipped)
	if err != nil {
		t.Fatalf("load %s: %v", shipped, err)
	}
	if len(in.Environments) == 0 {
		t.Fatalf("%s has no environments", shipped)
	}
	var clusters []*model.Environment // Compose environments have no layers
	for _, e := range in.Environments {
		if !e.IsCompose() {
			clusters = append(clusters, e)
		}
	}
	results, err := compiler.Compile(in, clusters, pinnedFacts{})
	if err != nil {
		t.Fatalf("compile %s: %v", shipped, err)
	}
	for _, r := range results {
		if _, err := emit.Write(outDir(root, r), r.Tree); err != nil {
			t.Fatalf("write %s: %v", r.Tree.Env, err)
		}
	}
	return results
}

func outDir(root string, r *compiler.Result) string {
	return filepath.Join(root, filepath.FromSlash(r.Resolved.Env.Flux.PathPrefix))
}

// Every layer folder gitopsc writes is a kustomization that kustomize
// itself builds, as Flux's kustomize-controller does, into exactly the
// objects gitopsc rendered there, unchanged.
func TestKustomizeBuildsEveryLayer(t *testing.T) {
	root := t.TempDir()
	results := buildShipped(t, root)
	fSys := filesys.MakeFsOnDisk()
	for _, r := range results {
		envDir := filepath.Join(outDir(root, r), r.Tree.Env)
		layers := layerFolders(t, envDir)
		if want := r.Output.Layers(); !reflect.DeepEqual(sorted(layers), sorted(want)) {
			t.Errorf("%s: layer folders %v, want %v", r.Tree.Env, layers, want)
		}
		for _, layer := range layers {
			t.Run(r.Tree.Env+"/"+layer, func(t *testing.T) {
				dir := filepath.Join(envDir, layer)
				files := objectFiles(t, dir)
				var bootstrap []string // what flux bootstrap added to the folder
				if layer == render.LayerFlux {
					bootstrap = bootstrapInto(t, dir, r)
				}
				m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, dir)
				if err != nil {
					t.Fatalf("kustomize build %s: %v", dir, err)
				}
				if m.Size() != len(files)+len(bootstrap) {
					t.Errorf("kustomize built %d resources from %d object files and %d of flux bootstrap's", m.Size(), len(files), len(bootstrap))
				}

				var got, want []string
				built := map[string]any{}
				for _, res := range m.Resources() {
					id := res.GetKind() + "/" + res.GetNamespace() + "/" + res.GetName()
					got = append(got, id)
					y, err := res.AsYAML()
					if err != nil {
						t.Fatal(err)
					}
					built[id] = parse(t, id, y)
				}
				for _, o := range r.Output.Objects {
					if o.Layer != layer {
						continue
					}
					id := o.Kind + "/" + o.Namespace + "/" + o.Name
					want = append(want, id)
					// kustomize must pass every object through untouched:
					// what Flux applies is what gitopsc wrote.
					b, err := os.ReadFile(filepath.Join(dir, o.FileName()))
					if err != nil {
						t.Fatal(err)
					}
					if g, ok := built[id]; ok && !reflect.DeepEqual(g, parse(t, o.FileName(), b)) {
						t.Errorf("%s: kustomize changed the object:\n got %v\nwant %v", id, g, parse(t, o.FileName(), b))
					}
				}
				want = append(want, bootstrap...)
				if missing, extra := setDiff(want, got), setDiff(got, want); len(missing)+len(extra) > 0 {
					t.Errorf("resource IDs differ from the rendered objects:\nnot built: %v\nnot rendered: %v", missing, extra)
				}
			})
		}
		t.Run(r.Tree.Env+"/flux paths", func(t *testing.T) { checkFluxPaths(t, root, envDir, r, layers) })
	}
}

// bootstrapInto does to the flux folder of r's tree what flux bootstrap
// and then Flux do: bootstrap writes flux-system/ there (its own
// kustomization.yaml, the GitRepository and the Kustomization that builds
// this very folder), and kustomize-controller, finding no kustomization.yaml
// in the folder, generates one from the manifests in it (a folder with a
// kustomization.yaml of its own goes in whole; see fluxcd/pkg/kustomize's
// generator). It returns the IDs of bootstrap's objects.
func bootstrapInto(t *testing.T, dir string, r *compiler.Result) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err == nil {
		t.Fatalf("%s has a kustomization.yaml: Flux would build only what it lists, and not flux bootstrap's flux-system/", dir)
	}
	fx := r.Resolved.Env.Flux
	sys := filepath.Join(dir, "flux-system")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	sync := fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@github.com/example/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  interval: 10m0s
  path: ./%[3]s/%[4]s/flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: %[1]s
`, fx.SourceName, fx.SourceNamespace, fx.PathPrefix, r.Tree.Env)
	for name, content := range map[string]string{
		"gotk-sync.yaml":     sync,
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-sync.yaml\n",
	} {
		if err := os.WriteFile(filepath.Join(sys, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What kustomize-controller generates for a folder without one.
	resources := []string{"./flux-system"}
	for _, f := range objectFiles(t, dir) {
		resources = append(resources, "./"+filepath.Base(f))
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"GitRepository/" + fx.SourceNamespace + "/" + fx.SourceName, "Kustomization/" + fx.SourceNamespace + "/" + fx.SourceName}
}

// checkFluxPaths checks that the flux layer applies every other layer
// folder, once, by the path the folder has in the repository (root), and
// that every dependsOn names one of its Kustomizations.
func checkFluxPaths(t *testing.T, root, envDir string, r *compiler.Result, layers []string) {
	names := map[string]bool{}
	applied := map[string]int{}
	var deps []string
	for _, o := range r.Output.Objects {
		if o.Layer != render.LayerFlux || o.Kind != "Kustomization" {
			continue
		}
		var k struct {
			Metadata struct{ Name string }
			Spec     struct {
				Path      string
				DependsOn []struct{ Name string }
			}
		}
		b, err := os.ReadFile(filepath.Join(envDir, render.LayerFlux, o.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &k); err != nil {
			t.Fatalf("%s: %v", o.FileName(), err)
		}
		names[k.Metadata.Name] = true
		for _, d := range k.Spec.DependsOn {
			deps = append(deps, d.Name)
		}
		rel, err := filepath.Rel(envDir, filepath.Join(root, filepath.FromSlash(k.Spec.Path)))
		if err != nil || strings.Contains(rel, string(filepath.Separator)) || rel == "." || rel == ".." {
			t.Errorf("%s: spec.path %s is not a layer folder of %s", k.Metadata.Name, k.Spec.Path, envDir)
			continue
		}
		applied[rel]++
	}
	for _, layer := range layers {
		if n := applied[layer]; layer != render.LayerFlux && n != 1 {
			t.Errorf("layer %s is applied by %d Kustomizations, want 1", layer, n)
		}
	}
	for layer := range applied {
		if !slices.Contains(layers, layer) {
			t.Errorf("a Kustomization applies %s, which is not a layer folder", layer)
		}
	}
	for _, d := range deps {
		if !names[d] {
			t.Errorf("dependsOn %s names no Kustomization of the flux layer", d)
		}
	}
}

// The same input renders the same bytes: twice, and whether environments
// are compiled one at a time or in parallel.
func TestBuildIsDeterministic(t *testing.T) {
	parallel := runtime.GOMAXPROCS(0)
	if parallel == 1 {
		// Still run the environments on separate goroutines that may
		// interleave.
		parallel = 4
	}
	build := func(procs int) map[string]string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		root := t.TempDir()
		buildShipped(t, root)
		return snapshot(t, root)
	}
	first := build(parallel)
	if len(first) == 0 {
		t.Fatal("the build wrote nothing")
	}
	for _, run := range []struct {
		name  string
		procs int
	}{{"again", parallel}, {"GOMAXPROCS=1", 1}} {
		if got := build(run.procs); !reflect.DeepEqual(got, first) {
			t.Errorf("%s: the tree differs from the first build:\n%s", run.name, diffTrees(first, got))
		}
	}
}

// layerFolders are the folders of an environment's tree.
func layerFolders(t *testing.T, envDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(envDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// objectFiles are the object files of a layer folder: every .yaml but
// kustomization.yaml.
func objectFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
}

// parse decodes one YAML object into its JSON form, so objects compare
// whatever the key order and number encoding.
func parse(t *testing.T, what string, b []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// setDiff is the sorted elements of a not in b.
func setDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// snapshot is every file below dir, by slash path, with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// diffTrees names the files that differ between two snapshots.
func diffTrees(a, b map[string]string) string {
	var out []string
	for p, c := range a {
		if d, ok := b[p]; !ok {
			out = append(out, "only in first: "+p)
		} else if d != c {
			out = append(out, fmt.Sprintf("differs: %s\n--- first\n%s--- second\n%s", p, c, d))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "only in second: "+p)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
