//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildNeeds reads the prerequisites that gitopsc build's summary lists
// for each environment: the "  needs ..." lines under "ENV: N objects in
// ...".
func buildNeeds(stdout string) map[string][]string {
	needs := map[string][]string{}
	env := ""
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "  needs "); ok && env != "" {
			needs[env] = append(needs[env], rest)
			continue
		}
		if name, _, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") && strings.Contains(line, " objects in ") {
			env = name
			needs[env] = nil
		}
	}
	return needs
}

// esoStores is the store list of the External Secrets Operator line:
// "External Secrets Operator (API)[ and KIND NAME[ and KIND NAME...]], for
// N ExternalSecret(s)".
var esoStores = regexp.MustCompile(`^External Secrets Operator \(([^)]+)\)(?: and (.+))?, for \d+ ExternalSecrets?$`)

// installPrerequisites makes the cluster have exactly what gitopsc build
// says an environment needs, and nothing else the output names, so that a
// prerequisite the summary leaves out makes Flux fail: the External
// Secrets Operator's CRDs (from its module, E2E_ESO_CRDS) and the stores
// named, the IngressClasses and StorageClasses named (kwok provisions
// every class's claims), and the SOPS age key Secret with the test's key.
// The Flux line is what run.sh and writeBootstrap provide. metrics-server
// and NetworkPolicy enforcement cannot exist on kwok's nodes: they are
// logged, not installed (no HPA or policy decides anything the test
// checks). A line the test does not know fails it: a new prerequisite
// needs a way to provide it here. Everything is removed when the test
// ends, so the next environment starts without it.
func installPrerequisites(t *testing.T, ctx context.Context, k *kube, env string, needs []string, ageKey string) {
	t.Helper()
	if len(needs) == 0 {
		t.Fatalf("%s: gitopsc build lists no prerequisite, not even Flux", env)
	}
	var installed, absent, made []ref
	keep := func(r ref) { made = append(made, r) }
	// create applies obj, removed at the end of the test unless it goes
	// with something removed then (a store with its CRD).
	create := func(obj map[string]any, remove bool) {
		if _, err := k.apply(ctx, obj); err != nil {
			t.Fatalf("%s: create %s: %v", env, refOf(obj), err)
		}
		if remove {
			keep(refOf(obj))
		}
		installed = append(installed, refOf(obj))
	}
	t.Cleanup(func() {
		removeAndWait(t, ctx, k, made, 2*time.Minute)
	})
	for _, n := range needs {
		first, _, _ := strings.Cut(n, ":")
		switch {
		case strings.HasPrefix(n, "Flux: "):
			// run.sh runs the controllers; writeBootstrap writes what flux
			// bootstrap commits, and testFluxEnv applies its gotk-sync.yaml.
		case strings.HasPrefix(n, "Secret ") && strings.Contains(n, ": the SOPS age key (age.agekey)"):
			ns, name, ok := strings.Cut(strings.TrimPrefix(first, "Secret "), "/")
			if !ok {
				t.Fatalf("%s: needs %q: no NAMESPACE/NAME", env, n)
			}
			obj := map[string]any{
				"apiVersion": "v1", "kind": "Secret",
				"metadata":   map[string]any{"name": name, "namespace": ns},
				"stringData": map[string]any{"age.agekey": ageKey},
			}
			create(obj, true)
		case strings.HasPrefix(n, "External Secrets Operator "):
			m := esoStores.FindStringSubmatch(n)
			if m == nil {
				t.Fatalf("%s: needs %q: not the line the test reads", env, n)
			}
			dir := os.Getenv("E2E_ESO_CRDS")
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			var crds []string
			for _, f := range files {
				if filepath.Base(f) != "kustomization.yaml" {
					crds = append(crds, f)
				}
			}
			if len(crds) == 0 {
				t.Fatalf("%s: no External Secrets CRDs in E2E_ESO_CRDS=%q (run make e2e-flux)", env, dir)
			}
			for _, name := range applyCRDs(t, ctx, k, crds) {
				r := ref{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: name}
				keep(r)
			}
			installed = append(installed, ref{Kind: fmt.Sprintf("the External Secrets Operator's %d CRDs (no operator runs)", len(crds))})
			for _, s := range strings.Split(m[2], " and ") {
				if m[2] == "" {
					break // the output holds its stores
				}
				kind, name, ok := strings.Cut(s, " ")
				if !ok || (kind != "ClusterSecretStore" && kind != "SecretStore") {
					t.Fatalf("%s: needs %q: store %q is not KIND NAME", env, n, s)
				}
				meta := map[string]any{"name": name}
				if ns, nm, ok := strings.Cut(name, "/"); ok && kind == "SecretStore" {
					meta = map[string]any{"name": nm, "namespace": ns}
				}
				obj := map[string]any{
					"apiVersion": m[1], "kind": kind, "metadata": meta,
					"spec": map[string]any{"provider": map[string]any{"aws": map[string]any{
						"service": "SecretsManager", "region": "eu-west-1",
					}}},
				}
				create(obj, false)
			}
		case strings.HasPrefix(n, "IngressClass "):
			name := strings.TrimPrefix(first, "IngressClass ")
			obj := map[string]any{
				"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
				"metadata": map[string]any{"name": name},
				"spec":     map[string]any{"controller": "gitopsc.dev/e2e-" + name},
			}
			create(obj, true)
		case strings.HasPrefix(n, "StorageClass "):
			name := strings.TrimPrefix(first, "StorageClass ")
			obj := map[string]any{
				"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
				"metadata":          map[string]any{"name": name},
				"provisioner":       "kwok.x-k8s.io/volume",
				"reclaimPolicy":     "Delete",
				"volumeBindingMode": "Immediate",
			}
			create(obj, true)
		case strings.HasPrefix(n, "metrics-server, "), strings.HasPrefix(n, "NetworkPolicy enforcement"):
			absent = append(absent, ref{Kind: first})
		default:
			t.Fatalf("%s: gitopsc build says it needs %q, which the e2e does not know how to provide: teach installPrerequisites", env, n)
		}
	}
	describe := func(rs []ref) string {
		var s []string
		for _, r := range rs {
			if r.Name == "" {
				s = append(s, r.Kind)
			} else {
				s = append(s, r.String())
			}
		}
		return strings.Join(s, ", ")
	}
	fmt.Printf("e2e: flux: %s: installed what gitopsc build says it needs: %s; not on kwok's nodes: %s\n", env, describe(installed), describe(absent))
}
