//go:build e2e

// Package e2e applies gitopsc's rendered environments to a real Kubernetes
// control plane and checks that the API server agrees with the policy
// rules: what vet admits, Kubernetes admits (every object, every pod, even
// at each HPA's maximum), and what vet refuses, Kubernetes refuses.
//
// It needs the control plane that e2e/run.sh starts: run it as make e2e.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	cli "github.com/gitopsc/gitopsc/cmd/gitopsc/cmd"
	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
)

// variant is a system under testdata/e2e/. A broken one is a copy of the
// shipped system that one rule must flag, alone, and whose pods the API
// server must refuse with a message that says the same. A clean one (rule
// "") must pass vet, and the API server must admit all of it, as it does
// the shipped environments; check then asserts what it is there for.
type variant struct {
	name      string // folder under testdata/e2e
	rule      string // the only rule whose error findings vet reports; "" for a clean variant
	refusal   string // in the FailedCreate event the API server's refusal causes
	component string // the workload refused at start; "" when refused only at the HPA maximum
	check     func(t *testing.T, ctx context.Context, k *kube, d *deployment, tree *envTree)
}

var variants = []variant{
	{name: "over-budget", rule: "QUOTA003", refusal: "exceeded quota"},
	{name: "pod-security", rule: "POD008", refusal: "violates PodSecurity", component: "coder-agent"},
	{name: "workloads", check: checkWorkloads},
	// examples/tenants: three tenants of one template, each namespace
	// under its own quota, all admitted as rendered.
	{name: "tenants"},
}

// podTimeout bounds each wait for the controllers to create (or fail to
// create) pods; E2E_POD_TIMEOUT changes it.
var podTimeout = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("E2E_POD_TIMEOUT")); err == nil {
		return d
	}
	return 90 * time.Second
}()

func TestControlPlane(t *testing.T) {
	ctx := context.Background()
	k, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(t, ctx, k, root)
	// flux bootstrap creates flux-system; the Kustomizations live there.
	if _, err := k.apply(ctx, namespace("flux-system")); err != nil {
		t.Fatalf("create namespace flux-system: %v", err)
	}

	for _, dir := range shippedOutput(t, root) {
		t.Run("shipped/"+filepath.Base(dir), func(t *testing.T) {
			testShipped(t, ctx, k, root, dir)
		})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			testVariant(t, ctx, k, root, v)
		})
	}
}

// testShipped applies one environment of the shipped output and checks
// that every object and every pod is admitted, at the start and with every
// autoscaled workload at its HPA maximum.
func testShipped(t *testing.T, ctx context.Context, k *kube, root, envDir string) {
	tree, err := readEnvTree(envDir)
	if err != nil {
		t.Fatal(err)
	}
	tree.charts = chartObjects(t, filepath.Join(root, "environments"), tree.name)
	d := deploy(t, ctx, k, tree)
	for _, n := range d.notes {
		fmt.Println("e2e: " + n)
	}
	for _, w := range d.warnings {
		t.Errorf("the API server warned: %s", w)
	}
	// What the API server stored is what was rendered: read back, and a
	// second apply changes nothing; the Service port ≠ container port
	// mappings and the ipBlock egress policies in particular.
	checkRoundTrip(t, ctx, k, tree)
	mappings := checkPortMappings(t, ctx, k, tree.name)
	checkIPBlocks(t, ctx, k, tree)

	start := waitPods(t, ctx, k, d, d.expected(false), nil)
	start.requireAdmitted(t)

	d.scaleToMaximum(t, ctx, k)
	max := waitPods(t, ctx, k, d, d.expected(true), nil)
	max.requireAdmitted(t)

	// The quota rule's worst case: every HPA at its maximum and every
	// Deployment in a rolling update, surge pods included.
	worst := waitPods(t, ctx, k, d, d.rollOut(t, ctx, k, max.pods), nil)
	worst.requireAdmitted(t)
	for _, l := range quotaUsage(t, ctx, k, d) {
		t.Log(l)
	}
	fmt.Printf("e2e: %s: %d objects applied, %d workloads; pods admitted: %d at start, %d with every HPA at its maximum, %d with every Deployment rolling out at that maximum\n",
		tree.name, d.objects, len(d.workloads), start.total(), max.total(), worst.total())

	// Last, as it makes a pod ready: Kubernetes resolves each mapping's
	// named targetPort to the container port in the EndpointSlice.
	checkEndpoints(t, ctx, k, tree.name, mappings)
}

// testVariant checks that vet refuses a variant with its rule alone, then
// renders it all the same and checks that the API server refuses it too.
func testVariant(t *testing.T, ctx context.Context, k *kube, root string, v variant) {
	dir := filepath.Join(root, "testdata", "e2e", v.name)
	var stdout, stderr bytes.Buffer
	code := cli.Run([]string{"vet", dir}, &stdout, &stderr)
	if v.rule == "" {
		if code != 0 || stderr.Len() > 0 {
			t.Fatalf("gitopsc vet %s: exit %d, want 0 and no findings\n%s%s", dir, code, stdout.String(), stderr.String())
		}
		t.Logf("gitopsc vet %s: exit 0, no findings: %s", v.name, strings.TrimSpace(stdout.String()))
	} else if code != 1 {
		t.Fatalf("gitopsc vet %s: exit %d, want 1 (findings)\n%s%s", dir, code, stdout.String(), stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if v.rule != "" && strings.Contains(line, " error ") && !strings.Contains(line, " error "+v.rule+":") {
			t.Errorf("gitopsc vet %s: a finding other than %s: %s", v.name, v.rule, line)
		}
	}
	if v.rule != "" && !strings.Contains(stderr.String(), " error "+v.rule+":") {
		t.Fatalf("gitopsc vet %s: no %s finding:\n%s", v.name, v.rule, stderr.String())
	}
	if v.rule != "" {
		t.Logf("gitopsc vet %s: exit 1 with %s, as expected", v.name, v.rule)
	}

	out := t.TempDir()
	results := renderUngated(t, dir, out)
	for _, r := range results {
		t.Run(r.Tree.Env, func(t *testing.T) {
			tree, err := readEnvTree(filepath.Join(out, r.Tree.Env))
			if err != nil {
				t.Fatal(err)
			}
			tree.charts = chartObjects(t, dir, tree.name)
			tree.name = v.name + "/" + tree.name
			if v.rule == "" {
				testClean(t, ctx, k, tree, v)
				return
			}
			d := deploy(t, ctx, k, tree)
			for _, n := range d.notes {
				t.Log(n)
			}
			for _, w := range d.warnings {
				t.Logf("the API server warned: %s", w)
			}
			if v.component != "" {
				refuseAtStart(t, ctx, k, d, v)
			} else {
				refuseAtMaximum(t, ctx, k, d, v)
			}
		})
	}
}

// renderUngated renders the system in dir into out as gitopsc build
// would, without the policy gate.
func renderUngated(t *testing.T, dir, out string) []*compiler.Result {
	t.Helper()
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := compiler.Compile(in, in.Environments, lock)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if _, err := emit.Write(out, r.Tree); err != nil {
			t.Fatal(err)
		}
	}
	return results
}

// testClean applies a clean variant's environment as a shipped one: every
// object accepted without a warning and stored as rendered, every pod
// admitted at the start and with every Deployment rolling out; then the
// variant's own check.
func testClean(t *testing.T, ctx context.Context, k *kube, tree *envTree, v variant) {
	d := deploy(t, ctx, k, tree)
	for _, n := range d.notes {
		fmt.Println("e2e: " + n)
	}
	for _, w := range d.warnings {
		t.Errorf("the API server warned: %s", w)
	}
	checkRoundTrip(t, ctx, k, tree)
	start := waitPods(t, ctx, k, d, d.expected(false), nil)
	start.requireAdmitted(t)
	if v.check != nil {
		v.check(t, ctx, k, d, tree)
	}
	worst := waitPods(t, ctx, k, d, d.rollOut(t, ctx, k, start.pods), nil)
	worst.requireAdmitted(t)
	for _, l := range quotaUsage(t, ctx, k, d) {
		t.Log(l)
	}
	fmt.Printf("e2e: %s: %d objects applied, %d workloads (%s); pods admitted: %d at start, %d with every Deployment rolling out\n",
		tree.name, d.objects, len(d.workloads), d.kinds(), start.total(), worst.total())
}

// refuseAtStart: every workload but v.component gets its pods; that one
// gets none, and a FailedCreate event with the API server's reason.
func refuseAtStart(t *testing.T, ctx context.Context, k *kube, d *deployment, v variant) {
	var target *workload
	for _, w := range d.workloads {
		if w.ref.Name == v.component {
			target = w
		}
	}
	if target == nil {
		t.Fatalf("%s: no workload %s rendered", v.name, v.component)
	}
	want := d.expected(false)
	s := waitPods(t, ctx, k, d, want, func(s *snapshot) bool {
		for _, w := range d.workloads {
			if w != target && s.pods[w] != want[w] {
				return false
			}
		}
		return refusedWith(s.failed[target], v.refusal) != ""
	})
	msg := refusedWith(s.failed[target], v.refusal)
	if msg == "" {
		t.Fatalf("%s: the API server did not refuse the pods of %s with %q; pods: %s; events: %v", v.name, target.ref, v.refusal, s.counts(), s.failed)
	}
	if s.pods[target] != 0 {
		t.Errorf("%s: %d pods of %s admitted, want none", v.name, s.pods[target], target.ref)
	}
	for _, w := range d.workloads {
		if w != target && (s.pods[w] != want[w] || len(s.failed[w]) > 0) {
			t.Errorf("%s: %s: %d pods admitted, want %d; refusals: %v", v.name, w.ref, s.pods[w], want[w], s.failed[w])
		}
	}
	fmt.Printf("e2e: %s: %s refused by the API server as %s predicted: %s\n", d.env, target.ref, v.rule, msg)
}

// refuseAtMaximum: every pod is admitted at the start; scaled to the HPA
// maximum, some are refused.
func refuseAtMaximum(t *testing.T, ctx context.Context, k *kube, d *deployment, v variant) {
	start := waitPods(t, ctx, k, d, d.expected(false), nil)
	start.requireAdmitted(t)
	d.scaleToMaximum(t, ctx, k)
	want := d.expected(true)
	var first time.Time
	s := waitPods(t, ctx, k, d, want, func(s *snapshot) bool {
		for _, msgs := range s.failed {
			if refusedWith(msgs, v.refusal) != "" {
				// Let the controllers create what still fits.
				if first.IsZero() {
					first = time.Now()
				}
				return time.Since(first) > 3*time.Second
			}
		}
		return false
	})
	var msg string
	for _, w := range d.workloads {
		if m := refusedWith(s.failed[w], v.refusal); m != "" && msg == "" {
			msg = m
		}
	}
	if msg == "" {
		t.Fatalf("%s: at the HPA maximum no pod was refused with %q; pods: %s", v.name, v.refusal, s.counts())
	}
	wanted := 0
	for _, n := range want {
		wanted += n
	}
	if s.total() >= wanted {
		t.Errorf("%s: %d pods admitted at the HPA maximum, want fewer than %d", v.name, s.total(), wanted)
	}
	for _, l := range quotaUsage(t, ctx, k, d) {
		t.Log(l)
	}
	fmt.Printf("e2e: %s: at the HPA maximum the API server admitted %d of %d pods, as %s predicted: %s\n", d.env, s.total(), wanted, v.rule, msg)
}

func refusedWith(msgs []string, reason string) string {
	for _, m := range msgs {
		if strings.Contains(m, reason) {
			return m
		}
	}
	return ""
}

// shippedOutput is the folders of out/ to test, out/<env>, when they are
// what environments/ renders (gitopsc build --check). When they are not,
// or out/ holds none, it is a fresh gitopsc build of environments/ into a
// temporary folder: what the next build would commit. (make test fails on
// a stale out/; this test is about what Kubernetes makes of the output.)
//
// E2E_OUT names another output folder (of gitopsc build --out DIR) to test
// instead, as it is: no --check against environments/, no fresh build.
func shippedOutput(t *testing.T, root string) []string {
	if dir := os.Getenv("E2E_OUT"); dir != "" {
		dirs := envDirs(t, dir)
		if len(dirs) == 0 {
			t.Fatalf("E2E_OUT=%s holds no rendered environment (no <env>/.gitopsc-files)", dir)
		}
		fmt.Printf("e2e: testing E2E_OUT=%s as it is (%d environments)\n", dir, len(dirs))
		return dirs
	}
	outDir := filepath.Join(root, "out")
	src := filepath.Join(root, "environments")
	dirs := envDirs(t, outDir)
	var stdout, stderr bytes.Buffer
	if len(dirs) > 0 {
		code := cli.Run([]string{"build", src, "--out", outDir, "--check"}, &stdout, &stderr)
		if code == 0 {
			return dirs
		}
		if code != 1 {
			t.Fatalf("gitopsc build --check: exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
		fmt.Printf("e2e: out/ is stale (gitopsc build --check lists %d files): testing a fresh gitopsc build of environments/ instead\n",
			strings.Count(stdout.String(), "\n"))
	} else {
		fmt.Printf("e2e: out/ holds no rendered environment: testing a fresh gitopsc build of environments/ instead\n")
	}
	tmp := t.TempDir()
	stdout.Reset()
	stderr.Reset()
	if code := cli.Run([]string{"build", src, "--out", tmp}, &stdout, &stderr); code != 0 {
		t.Fatalf("gitopsc build %s: exit %d\n%s%s", src, code, stdout.String(), stderr.String())
	}
	return envDirs(t, tmp)
}

// envDirs lists the cluster environment folders of an output folder: those a
// build wrote, which hold the manifest of its files.
func envDirs(t *testing.T, outDir string) []string {
	entries, err := os.ReadDir(outDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		d := filepath.Join(outDir, e.Name())
		if _, err := os.Stat(filepath.Join(d, composefile.FileName)); err == nil {
			continue // Docker Compose's, not a cluster's
		}
		if _, err := os.Stat(filepath.Join(d, emit.ManifestFile)); e.IsDir() && err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// installCRDs applies Flux's CRDs (E2E_FLUX_CRDS, by default the copy in
// testdata/e2e/crds/flux, made by e2e/flux-crds.sh) and the reduced External
// Secrets CRD in testdata/e2e/crds, and waits until they are served.
func installCRDs(t *testing.T, ctx context.Context, k *kube, root string) {
	fluxDir := os.Getenv("E2E_FLUX_CRDS")
	if fluxDir == "" {
		fluxDir = filepath.Join(root, "testdata", "e2e", "crds", "flux")
	}
	var files []string
	for _, dir := range []string{fluxDir, filepath.Join(root, "testdata", "e2e", "crds")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if len(m) == 0 {
			t.Fatalf("no CRD files in %s (set E2E_FLUX_CRDS to the folder of Flux's CRDs)", dir)
		}
		files = append(files, m...)
	}
	names := applyCRDs(t, ctx, k, files)
	t.Logf("installed %d CRDs: %s", len(names), strings.Join(names, ", "))
}

// applyCRDs applies the CRDs of the files, waits until each is served,
// and returns their names.
func applyCRDs(t *testing.T, ctx context.Context, k *kube, files []string) []string {
	t.Helper()
	var names []string
	for _, f := range files {
		docs, err := readDocuments(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range docs {
			if _, err := k.apply(ctx, obj); err != nil {
				t.Fatalf("%s: apply %s: %v", f, refOf(obj), err)
			}
			names = append(names, refOf(obj).Name)
		}
	}
	waitEstablished(t, ctx, k, names)
	return names
}

// waitEstablished waits until each CRD named is served.
func waitEstablished(t *testing.T, ctx context.Context, k *kube, names []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range names {
		for {
			var crd struct {
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			r := ref{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: n}
			if err := k.get(ctx, r, nil, &crd); err != nil {
				t.Fatal(err)
			}
			established := false
			for _, c := range crd.Status.Conditions {
				established = established || (c.Type == "Established" && c.Status == "True")
			}
			if established {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not established after 30s", n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// readDocuments reads every object of a multi-document YAML file.
func readDocuments(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []map[string]any
	for {
		doc, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
}

func namespace(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
}

// sortedKeys is for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
