package synth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/policies"
)

// A generated system loads, compiles and passes every rule, and the same
// parameters give the same files.
func TestGeneratedSystemIsValid(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, 120, 3, 7); err != nil {
		t.Fatal(err)
	}
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := images.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := compiler.Compile(in, in.Environments, lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("got %d environments, want 3", len(results))
	}
	for _, r := range results {
		if r.Resolved.Env.IsCompose() {
			checkCompose(t, r, lock)
			continue
		}
		// Both charts render, their Deployments and the gateway's HPA
		// among what the rules check.
		kinds := map[string]int{}
		for _, o := range r.Output.Charted {
			kinds[o.Kind]++
		}
		if kinds["Deployment"] != 2 || kinds["HorizontalPodAutoscaler"] != 1 || kinds["CustomResourceDefinition"] != 1 {
			t.Errorf("%s: the charts render %v", r.Resolved.Env.Name, kinds)
		}
		// The tenants' components and the raw objects are there, in the
		// tenants' namespaces and the system's.
		var tenantDeployments, rawDeployments, issuers int
		issuer := ""
		for _, o := range r.Output.Objects {
			switch {
			case o.Kind == "Deployment" && o.Source != nil:
				rawDeployments++
			case o.Kind == "Deployment" && strings.HasPrefix(o.Namespace, "tenant-"):
				tenantDeployments++
			case o.Kind == "ClusterIssuer":
				issuers++
				issuer = o.Source.Pos.String()
			}
		}
		if want := tenants(120) * ComponentsPerTenant; tenantDeployments != want {
			t.Errorf("%s: %d Deployments in tenants' namespaces, want %d", r.Resolved.Env.Name, tenantDeployments, want)
		}
		if rawDeployments != namespaces(120) || issuers != 1 {
			t.Errorf("%s: %d raw Deployments (want %d) and %d ClusterIssuers (want 1)", r.Resolved.Env.Name, rawDeployments, namespaces(120), issuers)
		}
		// Every second environment has its own issuer.
		if wantEnv := r.Resolved.Env.Name == "env-1"; strings.Contains(issuer, "env-1.cue") != wantEnv {
			t.Errorf("%s: the issuer comes from %s", r.Resolved.Env.Name, issuer)
		}
		checkClean(t, r, lock)
	}
	if !results[2].Resolved.Env.IsCompose() {
		t.Errorf("env-2 is not a Compose environment")
	}
	again := t.TempDir()
	if err := Write(again, 120, 3, 7); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(again, rel))
		if string(a) != string(b) {
			t.Errorf("%s differs between two generations", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkCompose checks the Compose environment: services for every
// component, the tenants' too, and more for the sidecars (every tenth
// system component has a log shipper); no chart or raw object rendered.
func checkCompose(t *testing.T, r *compiler.Result, lock *images.Lock) {
	t.Helper()
	services := 0
	of := map[string]bool{}
	for _, o := range r.Output.Objects {
		if o.Kind == composefile.KindService {
			services++
			of[o.Component] = true
		}
		if o.Source != nil {
			t.Errorf("%s: raw object %s/%s rendered on Compose", r.Resolved.Env.Name, o.Kind, o.Name)
		}
	}
	if want := 120 + tenants(120)*ComponentsPerTenant; len(of) != want || services <= want {
		t.Errorf("%s: %d services of %d components; want services of %d components, and more for sidecars", r.Resolved.Env.Name, services, len(of), want)
	}
	if len(r.Output.Charted) != 0 {
		t.Errorf("%s: %d chart objects rendered on Compose", r.Resolved.Env.Name, len(r.Output.Charted))
	}
	checkClean(t, r, lock)
}

// checkClean fails on any error or warning finding the environment has.
func checkClean(t *testing.T, r *compiler.Result, lock *images.Lock) {
	t.Helper()
	for _, f := range policies.Check(r.Resolved, r.Output, lock, policies.Options{}) {
		if f.Severity == policies.Error || f.Severity == policies.Warning {
			t.Errorf("%s: %s %s", f.Env, f.Rule, f.Message)
		}
	}
}
