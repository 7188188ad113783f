//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	cli "github.com/gitopsc/gitopsc/cmd/gitopsc/cmd"
	"github.com/gitopsc/gitopsc/compiler/load"
)

// TestFlux reconciles each shipped environment with the real Flux
// controllers that e2e/run.sh starts when E2E_FLUX=1 (make e2e-flux):
// source-controller and kustomize-controller as local processes, with
// kube-scheduler and kwok so that pods become Ready and Flux's wait: true
// health checks can pass. The repository is a fresh gitopsc build of
// environments/ at out/, committed with what flux bootstrap would commit
// into out/<env>/flux/flux-system/, and served by git http-backend over
// loopback HTTP.
func TestFlux(t *testing.T) {
	if os.Getenv("E2E_FLUX") != "1" {
		t.Skip("E2E_FLUX is not 1: run make e2e-flux, which starts the Flux controllers")
	}
	ctx := context.Background()
	k, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	repo := filepath.Join(work, "repo")

	// The repository as a user commits it: the input at environments/ and
	// its fresh gitopsc build at out/. full/ is that tree; pruned/ is the
	// second commit's (pruneInput: a component and a layer removed).
	full, pruned := filepath.Join(work, "full"), filepath.Join(work, "pruned")
	src := filepath.Join(root, "environments")
	copyDir(t, src, filepath.Join(full, "environments"))
	withoutChartWebhooks(t, filepath.Join(full, "environments"))
	pruneInput(t, filepath.Join(full, "environments"), filepath.Join(pruned, "environments"))
	// The path charts the input installs, read beside it.
	for _, tree := range []string{full, pruned} {
		copyDir(t, filepath.Join(root, "charts"), filepath.Join(tree, "charts"))
	}
	var needs map[string][]string
	for _, tree := range []string{full, pruned} {
		var stdout, stderr bytes.Buffer
		in := filepath.Join(tree, "environments")
		if code := cli.Run([]string{"build", in, "--out", filepath.Join(tree, "out")}, &stdout, &stderr); code != 0 {
			t.Fatalf("gitopsc build %s: exit %d\n%s%s", in, code, stdout.String(), stderr.String())
		}
		if tree == full {
			needs = buildNeeds(stdout.String())
		}
	}
	envs := envDirs(t, filepath.Join(full, "out"))
	if len(envs) == 0 {
		t.Fatal("gitopsc build rendered no environment")
	}

	// The test's own age key: the example's Secrets are encrypted for a
	// key this repository does not hold. The second commit carries the
	// same encrypted files, so its Secrets do not change.
	key, recipient := ageKey(t, work)
	secrets := map[string][]sopsSecret{}
	for _, dir := range envs {
		env := filepath.Base(dir)
		secrets[env] = reencryptSOPS(t, work, dir, recipient)
		for _, s := range secrets[env] {
			copySOPS(t, filepath.Join(dir, s.rel), filepath.Join(pruned, "out", env, s.rel))
		}
	}

	// Loopback git over HTTP, then what flux bootstrap commits per
	// environment, then one commit with all of it.
	url := serveGit(t, work)
	for _, tree := range []string{full, pruned} {
		for _, dir := range envDirs(t, filepath.Join(tree, "out")) {
			writeBootstrap(t, dir, url)
		}
	}
	setTree(t, repo, full)
	commit := commitRepo(t, work, repo, url)
	fmt.Printf("e2e: flux: %s serves environments/ and a fresh gitopsc build of it at out/ with flux bootstrap's flux-system/ in each out/<env>/flux/, commit %s\n", url, commit)

	trees := map[string]*envTree{}
	for _, dir := range envs {
		tree, err := readEnvTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		trees[tree.name] = tree
	}
	fakeNodes(t, ctx, k)
	for env := range trees {
		if _, ok := needs[env]; !ok {
			t.Fatalf("gitopsc build's summary has no line for environment %s", env)
		}
	}

	// Per environment: the full tree reconciled and checked, then the
	// pruned tree committed on top (testFluxPrune). The next environment
	// starts from the full tree again, committed anew.
	head := commit
	for i, dir := range envs {
		env := filepath.Base(dir)
		after, err := readEnvTree(filepath.Join(pruned, "out", env))
		if err != nil {
			t.Fatal(err)
		}
		// What each tree's charts render: the objects helm-controller
		// installs, and uninstalls with a HelmRelease the commit removes.
		trees[env].charts = chartObjects(t, filepath.Join(full, "environments"), env)
		after.charts = chartObjects(t, filepath.Join(pruned, "environments"), env)
		t.Run(env, func(t *testing.T) {
			if i > 0 {
				head = publish(t, work, repo, url, full, "gitopsc build of environments/ as shipped")
			}
			installPrerequisites(t, ctx, k, env, needs[env], key)
			objs := testFluxEnv(t, ctx, k, trees[env], secrets[env], head)
			if t.Failed() {
				return
			}
			base := head
			head = publish(t, work, repo, url, pruned, "remove "+prunedComponent+" and the namespace "+prunedNamespace)
			testFluxPrune(t, ctx, k, trees[env], after, objs, filepath.Join(repo, "environments"), base, head)
		})
	}

	// The broken variants, committed on top in turn: Flux fails where
	// their rule says Kubernetes refuses them.
	for _, v := range variants {
		if v.rule == "" {
			continue
		}
		t.Run("variant/"+v.name, func(t *testing.T) {
			testFluxVariant(t, ctx, k, root, work, repo, url, key, recipient, v)
		})
	}
	// A chart, installed by helm-controller before the namespace's layer.
	t.Run("variant/helm", func(t *testing.T) {
		testFluxHelm(t, ctx, k, root, work, repo, url, key)
	})
}

// fluxTimeout bounds the wait for one environment's Kustomizations to be
// Ready; E2E_FLUX_TIMEOUT changes it.
var fluxTimeout = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("E2E_FLUX_TIMEOUT")); err == nil {
		return d
	}
	return 8 * time.Minute
}()

const (
	kustomizationAPI = "kustomize.toolkit.fluxcd.io/v1"
	gitRepositoryAPI = "source.toolkit.fluxcd.io/v1"
)

// fluxObject is what the test reads of a Kustomization or GitRepository.
type fluxObject struct {
	Metadata struct {
		Name       string
		Generation int64
	}
	Spec struct {
		Path    string
		Suspend bool
		Wait    bool
	}
	Status struct {
		ObservedGeneration  int64
		LastAppliedRevision string
		Artifact            *struct{ Revision string }
		Conditions          []struct {
			Type, Status, Reason, Message string
			LastTransitionTime            time.Time
		}
		LastAttemptedRevision  string
		LastHandledReconcileAt string
		Inventory              *struct {
			Entries []struct {
				ID string `json:"id"`
				V  string `json:"v"`
			}
		}
	}
}

func (o *fluxObject) ready() (status, reason, message string) {
	return o.condition("Ready")
}

func (o *fluxObject) condition(typ string) (status, reason, message string) {
	for _, c := range o.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason, c.Message
		}
	}
	return "Unknown", "", "no " + typ + " condition yet"
}

// inventoryID is how kustomize-controller names an object in its
// inventory: namespace_name_group_kind.
func inventoryID(r ref) string {
	group := ""
	if i := strings.Index(r.APIVersion, "/"); i >= 0 {
		group = r.APIVersion[:i]
	}
	return r.Namespace + "_" + r.Name + "_" + group + "_" + r.Kind
}

func (o *fluxObject) inventory() map[string]bool {
	inv := map[string]bool{}
	if o.Status.Inventory != nil {
		for _, e := range o.Status.Inventory.Entries {
			inv[e.ID] = true
		}
	}
	return inv
}

// testFluxEnv bootstraps one environment as flux bootstrap would (apply
// gotk-sync.yaml's GitRepository and Kustomization), waits until Flux has
// reconciled every layer and checks what it applied; it returns the
// Kustomizations as they were then (flux-system and each layer's). Its
// cleanup lets Flux prune the environment.
func testFluxEnv(t *testing.T, ctx context.Context, k *kube, tree *envTree, secrets []sopsSecret, commit string) map[string]*fluxObject {
	began := time.Now()
	layers, namespaces := tree.layerNames(), tree.namespaces()
	startFlux(t, ctx, k, tree, layers, namespaces)

	// Wait until flux-system and every gitopsc Kustomization is Ready=True
	// for its current generation.
	names := append([]string{"flux-system"}, layers...)
	objs, readyAt := waitKustomizations(t, ctx, k, tree.name, names, namespaces, began, func(n string, o *fluxObject) bool {
		s, _, _ := o.ready()
		return s == "True" && o.Status.ObservedGeneration == o.Metadata.Generation
	})

	want := "main@sha1:" + commit
	var g fluxObject
	if err := k.get(ctx, ref{APIVersion: gitRepositoryAPI, Kind: "GitRepository", Namespace: "flux-system", Name: "flux-system"}, nil, &g); err != nil {
		t.Fatal(err)
	}
	if s, reason, msg := g.ready(); s != "True" || g.Status.Artifact == nil || g.Status.Artifact.Revision != want {
		t.Errorf("GitRepository flux-system: Ready=%s %s: %s; want Ready=True with an artifact for %s", s, reason, msg, want)
	} else {
		fmt.Printf("e2e: flux: %s: GitRepository flux-system/flux-system Ready=True: %s: %s\n", tree.name, reason, msg)
	}
	for _, n := range names {
		o := objs[n]
		_, reason, msg := o.ready()
		fmt.Printf("e2e: flux: %s: Kustomization flux-system/%s Ready=True after %s: %s: %s\n", tree.name, n, readyAt[n], reason, msg)
		if o.Status.LastAppliedRevision != want {
			t.Errorf("Kustomization %s: lastAppliedRevision %q, want %q", n, o.Status.LastAppliedRevision, want)
		}
		// wait: true: Ready means kstatus found every applied object
		// Current (Deployments rolled out, StatefulSets' pods Ready).
		if o.Spec.Wait {
			if s, reason, msg := o.condition("Healthy"); s != "True" {
				t.Errorf("Kustomization %s has wait: true but Healthy=%s %s: %s", n, s, reason, msg)
			} else {
				fmt.Printf("e2e: flux: %s: Kustomization flux-system/%s Healthy=True: %s: %s\n", tree.name, n, reason, msg)
			}
		}
	}

	checkDependsOnOrder(t, ctx, k, tree, objs)

	// Each layer's inventory is what gitopsc rendered for it: every object
	// its kustomization.yaml lists, and nothing else.
	for _, l := range tree.layers {
		inv := objs[l.name].inventory()
		for _, f := range l.files {
			if id := inventoryID(refOf(f.obj)); !inv[id] {
				t.Errorf("Kustomization %s: %s (%s) is not in its inventory", l.name, refOf(f.obj), f.rel)
			}
		}
		if len(inv) != len(l.files) {
			t.Errorf("Kustomization %s: inventory holds %d objects, %s renders %d", l.name, len(inv), l.path, len(l.files))
		}
	}

	// Bootstrap's layout: flux-system builds out/<env>/flux, so it
	// applies (and prunes) its own GitRepository and Kustomization from
	// flux-system/ and gitopsc's Kustomizations beside them.
	inv := objs["flux-system"].inventory()
	wantInv := []string{
		"flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository",
		"flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization",
	}
	for _, n := range layers {
		wantInv = append(wantInv, "flux-system_"+n+"_kustomize.toolkit.fluxcd.io_Kustomization")
	}
	for _, id := range wantInv {
		if !inv[id] {
			t.Errorf("Kustomization flux-system: inventory lacks %s; it holds %v", id, sortedKeys(inv))
		}
	}
	if len(inv) != len(wantInv) {
		t.Errorf("Kustomization flux-system: inventory holds %d objects, want %d: %v", len(inv), len(wantInv), sortedKeys(inv))
	}
	fmt.Printf("e2e: flux: %s: Kustomization flux-system's inventory: itself, GitRepository flux-system and %d gitopsc Kustomizations (%s)\n",
		tree.name, len(layers), strings.Join(layers, ", "))

	// SOPS: kustomize-controller decrypted each Secret with the sops-age
	// key; the Secret holds exactly the declared keys, with their values.
	for _, s := range secrets {
		var got struct {
			Type string
			Data map[string]string
		}
		r := ref{APIVersion: "v1", Kind: "Secret", Namespace: s.namespace, Name: s.name}
		if err := k.get(ctx, r, nil, &got); err != nil {
			t.Errorf("%s (from %s): %v", r, s.rel, err)
			continue
		}
		if strings.Join(sortedKeys(got.Data), ",") != strings.Join(sortedKeys(s.values), ",") {
			t.Errorf("%s: keys %v, want exactly the declared %v", r, sortedKeys(got.Data), sortedKeys(s.values))
		}
		for key, v := range s.values {
			b, err := base64.StdEncoding.DecodeString(got.Data[key])
			if err != nil || string(b) != v {
				t.Errorf("%s: key %s holds %q, want the value the test encrypted, %q", r, key, got.Data[key], v)
			}
		}
		fmt.Printf("e2e: flux: %s: %s decrypted by kustomize-controller from %s (SOPS, the test's age key): keys %v\n",
			tree.name, r, s.rel, sortedKeys(got.Data))
	}
	if len(secrets) == 0 {
		t.Logf("%s: no SOPS-encrypted Secret rendered", tree.name)
	}
	for _, p := range notReadyPods(ctx, k, namespaces) {
		t.Errorf("with every Kustomization Ready, a pod is not: %s", strings.TrimSpace(p))
	}
	checkPodArch(t, ctx, k, tree.name, namespaces)
	objects := 0
	for _, l := range tree.layers {
		objects += len(l.files)
	}
	fmt.Printf("e2e: flux: %s: %d Kustomizations Ready in %s, %d objects in gitopsc's layers' inventories; %s\n",
		tree.name, len(names), since(began), objects, podSummary(ctx, k, namespaces))
	return objs
}

// layerNames are the names of the tree's Flux Kustomizations, in
// dependsOn order.
func (tree *envTree) layerNames() []string {
	var out []string
	for _, l := range tree.layers {
		out = append(out, l.name)
	}
	return out
}

// namespaces are the Namespaces the tree renders.
func (tree *envTree) namespaces() []string {
	var out []string
	for _, l := range tree.layers {
		for _, f := range l.files {
			if r := refOf(f.obj); r.Kind == "Namespace" {
				out = append(out, r.Name)
			}
		}
	}
	return out
}

// startFlux applies what flux bootstrap applies besides the controllers,
// the GitRepository and the Kustomization flux-system of the environment's
// gotk-sync.yaml, and tears the environment down when the test ends.
func startFlux(t *testing.T, ctx context.Context, k *kube, tree *envTree, layers, namespaces []string) {
	t.Helper()
	t.Cleanup(func() { fluxTeardown(t, ctx, k, tree.name, layers, namespaces) })
	sync, err := readDocuments(filepath.Join(tree.dir, "flux", "flux-system", "gotk-sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range sync {
		if _, err := k.apply(ctx, obj); err != nil {
			t.Fatalf("apply %s from gotk-sync.yaml: %v", refOf(obj), err)
		}
	}
}

// waitKustomizations polls the Kustomizations until done holds for each,
// logging each change of their Ready condition, and fails after
// fluxTimeout from began with their last states, the GitRepository's and
// the pods that are not Ready. It returns the Kustomizations as last read
// and when done first held for each.
func waitKustomizations(t *testing.T, ctx context.Context, k *kube, env string, names, namespaces []string, began time.Time, done func(string, *fluxObject) bool) (map[string]*fluxObject, map[string]time.Duration) {
	t.Helper()
	last := map[string]string{}
	at := map[string]time.Duration{}
	deadline := began.Add(fluxTimeout)
	for {
		objs := map[string]*fluxObject{}
		all := true
		for _, n := range names {
			var o fluxObject
			err := k.get(ctx, ref{APIVersion: kustomizationAPI, Kind: "Kustomization", Namespace: "flux-system", Name: n}, nil, &o)
			if err != nil && !isNotFound(err) {
				t.Fatalf("get Kustomization %s: %v", n, err)
			}
			state := "not created yet"
			if err == nil {
				objs[n] = &o
				s, reason, msg := o.ready()
				state = fmt.Sprintf("Ready=%s %s: %s", s, reason, msg)
				if done(n, &o) {
					if _, ok := at[n]; !ok {
						at[n] = since(began)
					}
				} else {
					all = false
				}
			} else {
				all = false
			}
			if last[n] != state {
				t.Logf("%s: after %s: Kustomization %s %s", env, since(began), n, state)
				last[n] = state
			}
		}
		if all {
			return objs, at
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, n := range names {
				lines = append(lines, fmt.Sprintf("  Kustomization %s: %s", n, last[n]))
			}
			var g fluxObject
			if err := k.get(ctx, ref{APIVersion: gitRepositoryAPI, Kind: "GitRepository", Namespace: "flux-system", Name: "flux-system"}, nil, &g); err == nil {
				s, reason, msg := g.ready()
				lines = append(lines, fmt.Sprintf("  GitRepository flux-system: Ready=%s %s: %s", s, reason, msg))
			}
			lines = append(lines, helmReleases(ctx, k)...)
			lines = append(lines, notReadyPods(ctx, k, namespaces)...)
			t.Fatalf("%s: the Kustomizations did not reach the state the test waits for after %s (E2E_FLUX_TIMEOUT):\n%s", env, fluxTimeout, strings.Join(lines, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// helmReleases shows the Ready condition of every HelmRelease, for a
// failure whose cause is Helm's: helm-controller writes it there, not in
// its log.
func helmReleases(ctx context.Context, k *kube) []string {
	b, _, err := k.do(ctx, "GET", "/apis/helm.toolkit.fluxcd.io/v2/helmreleases", nil, "", nil)
	if err != nil {
		return nil
	}
	var list struct{ Items []fluxObject }
	if json.Unmarshal(b, &list) != nil {
		return nil
	}
	var lines []string
	for _, hr := range list.Items {
		s, reason, msg := hr.ready()
		lines = append(lines, fmt.Sprintf("  HelmRelease %s: Ready=%s %s: %s", hr.Metadata.Name, s, reason, msg))
	}
	return lines
}

// checkDependsOnOrder checks that Flux applied each layer only after the
// layers it depends on were Ready: every object of a layer was created at
// or after the moment (to the second) each of its dependencies became
// Ready. Without dependsOn, kustomize-controller applies every layer at
// once, seconds before the health checks of the first ones pass.
func checkDependsOnOrder(t *testing.T, ctx context.Context, k *kube, tree *envTree, objs map[string]*fluxObject) {
	t.Helper()
	readyAt := map[string]time.Time{}
	for n, o := range objs {
		for _, c := range o.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				readyAt[n] = c.LastTransitionTime
			}
		}
	}
	checked := 0
	for _, l := range tree.layers {
		if len(l.dependsOn) == 0 {
			continue
		}
		var first time.Time
		var firstRef ref
		for _, f := range l.files {
			r := refOf(f.obj)
			var obj struct {
				Metadata struct{ CreationTimestamp time.Time }
			}
			if err := k.get(ctx, r, nil, &obj); err != nil {
				t.Errorf("%s: %s: %v", l.name, r, err)
				continue
			}
			if first.IsZero() || obj.Metadata.CreationTimestamp.Before(first) {
				first, firstRef = obj.Metadata.CreationTimestamp, r
			}
		}
		for _, d := range l.dependsOn {
			at, ok := readyAt[d]
			if !ok {
				t.Errorf("Kustomization %s depends on %s, which is not Ready", l.name, d)
				continue
			}
			if first.Before(at) {
				t.Errorf("Kustomization %s applied %s at %s, before its dependency %s was Ready (%s)", l.name, firstRef, first.Format(time.RFC3339), d, at.Format(time.RFC3339))
			}
			checked++
		}
	}
	fmt.Printf("e2e: flux: %s: each layer's objects created after the layers it depends on were Ready (%d dependsOn edges)\n", tree.name, checked)
}

// fluxTeardown removes an environment as an operator would: flux-system
// suspended (so it does not recreate them), gitopsc's Kustomizations
// deleted (prune: true: their finalizer deletes what they applied), then
// flux-system and its GitRepository, and last the namespaces are waited
// for, so the next environment starts clean.
func fluxTeardown(t *testing.T, ctx context.Context, k *kube, env string, layers, namespaces []string) {
	began := time.Now()
	fs := ref{APIVersion: kustomizationAPI, Kind: "Kustomization", Namespace: "flux-system", Name: "flux-system"}
	if err := k.mergePatch(ctx, fs, "", map[string]any{"spec": map[string]any{"suspend": true}}); err != nil && !isNotFound(err) {
		t.Errorf("suspend %s: %v", fs, err)
	}
	var refs []ref
	for _, n := range layers {
		refs = append(refs, ref{APIVersion: kustomizationAPI, Kind: "Kustomization", Namespace: "flux-system", Name: n})
	}
	removeAndWait(t, ctx, k, refs, 3*time.Minute)
	pruned := since(began)
	removeAndWait(t, ctx, k, []ref{fs, {APIVersion: gitRepositoryAPI, Kind: "GitRepository", Namespace: "flux-system", Name: "flux-system"}}, time.Minute)
	var nsRefs []ref
	for _, ns := range namespaces {
		nsRefs = append(nsRefs, ref{APIVersion: "v1", Kind: "Namespace", Name: ns})
	}
	removeAndWait(t, ctx, k, nsRefs, 3*time.Minute)
	t.Logf("%s: gitopsc's Kustomizations deleted (and pruned by their finalizers) in %s, everything gone in %s", env, pruned, since(began))
}

// removeAndWait deletes the objects and waits until each is gone.
func removeAndWait(t *testing.T, ctx context.Context, k *kube, refs []ref, timeout time.Duration) {
	for _, r := range refs {
		if err := k.remove(ctx, r); err != nil {
			t.Errorf("delete %s: %v", r, err)
		}
	}
	deadline := time.Now().Add(timeout)
	for _, r := range refs {
		for {
			var obj map[string]any
			err := k.get(ctx, r, nil, &obj)
			if isNotFound(err) {
				break
			}
			if err != nil {
				t.Errorf("%s: %v", r, err)
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s still there %s after its deletion", r, timeout)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// podSummary counts the pods of the namespaces by phase and readiness.
func podSummary(ctx context.Context, k *kube, namespaces []string) string {
	total, ready := 0, 0
	nodes := map[string]int{}
	for _, ns := range namespaces {
		var pods podList
		if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, nil, &pods); err != nil {
			return err.Error()
		}
		for _, p := range pods.Items {
			total++
			if p.isReady() {
				ready++
			}
			nodes[p.Spec.NodeName]++
		}
	}
	var on []string
	for _, n := range sortedKeys(nodes) {
		on = append(on, fmt.Sprintf("%d on %s", nodes[n], n))
	}
	return fmt.Sprintf("%d pods, %d Ready (kwok), scheduled %s", total, ready, strings.Join(on, ", "))
}

type podList struct {
	Items []pod
}

// checkPodArch checks that each pod runs on a node of the architecture
// its nodeSelector names, and that in an environment whose cluster runs
// arm64 only (eks) every pod names it, as gitopsc pins them there: the
// scheduler places them on the arm64 node, never the amd64 one.
func checkPodArch(t *testing.T, ctx context.Context, k *kube, env string, namespaces []string) {
	t.Helper()
	in, err := load.Dir(filepath.Join("..", "environments"))
	if err != nil {
		t.Fatalf("load environments: %v", err)
	}
	e := in.Environment(env)
	if e == nil {
		t.Fatalf("no environment %s in environments/", env)
	}
	only := ""
	if e.Cluster.ArchOnly("arm64") {
		only = "arm64"
	}
	pinned := 0
	for _, ns := range namespaces {
		var pods podList
		if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, nil, &pods); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			arch := p.Spec.NodeSelector["kubernetes.io/arch"]
			switch {
			case arch == "" && only != "":
				t.Errorf("%s/%s: no kubernetes.io/arch nodeSelector in an environment whose cluster runs %s only", ns, p.Metadata.Name, only)
			case arch != "" && p.Spec.NodeName != "kwok-"+arch:
				t.Errorf("%s/%s: selects %s nodes, but runs on %s", ns, p.Metadata.Name, arch, p.Spec.NodeName)
			case arch != "":
				pinned++
			}
		}
	}
	if only != "" {
		fmt.Printf("e2e: flux: %s: the cluster runs %s only: %d pods select it, each on kwok-%s\n", env, only, pinned, only)
	}
}

type pod struct {
	Metadata struct{ Namespace, Name string }
	Spec     struct {
		NodeName     string
		NodeSelector map[string]string
	}
	Status struct {
		Phase      string
		Conditions []struct{ Type, Status, Reason, Message string }
	}
}

func (p *pod) isReady() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// notReadyPods describes the pods that are not Ready, for a timeout.
func notReadyPods(ctx context.Context, k *kube, namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		var pods podList
		if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, nil, &pods); err != nil {
			continue
		}
		for _, p := range pods.Items {
			if p.isReady() || p.Status.Phase == "Succeeded" {
				continue
			}
			var why []string
			for _, c := range p.Status.Conditions {
				if c.Status != "True" {
					why = append(why, strings.TrimSpace(c.Type+" "+c.Reason+" "+c.Message))
				}
			}
			out = append(out, fmt.Sprintf("  pod %s/%s %s on %q: %s", ns, p.Metadata.Name, p.Status.Phase, p.Spec.NodeName, strings.Join(why, "; ")))
		}
	}
	return out
}

// fakeNodes creates the Nodes kwok plays the kubelet of (annotation
// kwok.x-k8s.io/node: fake): one amd64 and one arm64 (the eks environment
// pins its pods to arm64), and lifts the not-ready taint that admission
// puts on a new Node, which the node-lifecycle controller (disabled here)
// would lift.
func fakeNodes(t *testing.T, ctx context.Context, k *kube) {
	for _, arch := range []string{"amd64", "arm64"} {
		name := "kwok-" + arch
		r := ref{APIVersion: "v1", Kind: "Node", Name: name}
		resources := map[string]any{"cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "200Gi"}
		if _, err := k.apply(ctx, map[string]any{
			"apiVersion": "v1", "kind": "Node",
			"metadata": map[string]any{
				"name":        name,
				"annotations": map[string]any{"kwok.x-k8s.io/node": "fake"},
				"labels": map[string]any{
					"kubernetes.io/arch": arch, "kubernetes.io/os": "linux",
					"kubernetes.io/hostname": name, "type": "kwok",
				},
			},
			"status": map[string]any{
				"allocatable": resources, "capacity": resources,
				"nodeInfo": map[string]any{"architecture": arch, "operatingSystem": "linux"},
			},
		}); err != nil {
			t.Fatalf("create %s: %v", r, err)
		}
		if err := k.mergePatch(ctx, r, "", map[string]any{"spec": map[string]any{"taints": nil}}); err != nil {
			t.Fatalf("remove the taints of %s: %v", r, err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, arch := range []string{"amd64", "arm64"} {
		r := ref{APIVersion: "v1", Kind: "Node", Name: "kwok-" + arch}
		for {
			var n struct {
				Spec struct {
					Taints []struct{ Key, Effect string }
				}
				Status struct {
					Allocatable map[string]string
					Conditions  []struct{ Type, Status string }
				}
			}
			if err := k.get(ctx, r, nil, &n); err != nil {
				t.Fatal(err)
			}
			ready := false
			for _, c := range n.Status.Conditions {
				ready = ready || (c.Type == "Ready" && c.Status == "True")
			}
			if ready && len(n.Spec.Taints) == 0 {
				t.Logf("%s Ready (kwok), allocatable %v", r, n.Status.Allocatable)
				break
			}
			if len(n.Spec.Taints) > 0 {
				// A taint put back (the taint manager would on NotReady).
				_ = k.mergePatch(ctx, r, "", map[string]any{"spec": map[string]any{"taints": nil}})
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not Ready without taints after 1m (is kwok running?): taints %v, conditions %v", r, n.Spec.Taints, n.Status.Conditions)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// ageKey makes an age key with age-keygen (E2E_AGE_KEYGEN, built by
// run.sh) and returns the key file's content and its recipient.
func ageKey(t *testing.T, work string) (key, recipient string) {
	keygen := os.Getenv("E2E_AGE_KEYGEN")
	if keygen == "" {
		t.Fatal("E2E_AGE_KEYGEN is not set: run make e2e-flux")
	}
	file := filepath.Join(work, "age.agekey")
	if out, err := exec.Command(keygen, "-o", file).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if r, ok := strings.CutPrefix(line, "# public key: "); ok {
			return string(b), strings.TrimSpace(r)
		}
	}
	t.Fatalf("%s: no public key line", file)
	return "", ""
}

// sopsSecret is a SOPS-encrypted Secret of the test's repository.
type sopsSecret struct {
	rel             string // relative to out/<env>
	namespace, name string
	values          map[string]string // what the test encrypted, by key
}

// reencryptSOPS replaces each SOPS-encrypted file of an environment with
// one encrypted for the test's key: the same object (name, namespace,
// type, labels, the declared keys), with values the test chooses, so it
// can tell that Flux decrypted them. The encrypted_regex is the
// original's, so the same fields are encrypted.
func reencryptSOPS(t *testing.T, work, envDir, recipient string) []sopsSecret {
	sops := os.Getenv("E2E_SOPS")
	if sops == "" {
		t.Fatal("E2E_SOPS is not set: run make e2e-flux")
	}
	var out []sopsSecret
	err := filepath.Walk(envDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil || !isSOPS(obj) {
			return nil
		}
		rel, _ := filepath.Rel(envDir, p)
		meta, _ := obj["sops"].(map[string]any)
		regex, _ := meta["encrypted_regex"].(string)
		if regex == "" {
			return fmt.Errorf("%s: SOPS file without encrypted_regex: the test re-encrypts only those", rel)
		}
		r := refOf(obj)
		if r.Kind != "Secret" {
			return fmt.Errorf("%s: SOPS-encrypted %s, the test re-encrypts Secrets only", rel, r)
		}
		s := sopsSecret{rel: rel, namespace: r.Namespace, name: r.Name, values: map[string]string{}}
		delete(obj, "sops")
		for _, field := range []string{"data", "stringData"} {
			m, _ := obj[field].(map[string]any)
			for key := range m {
				v := fmt.Sprintf("e2e-flux %s/%s %s", r.Namespace, r.Name, key)
				s.values[key] = v
				if field == "data" {
					m[key] = base64.StdEncoding.EncodeToString([]byte(v))
				} else {
					m[key] = v
				}
			}
		}
		plain, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		in := filepath.Join(work, "plain-"+strings.ReplaceAll(filepath.ToSlash(rel), "/", "-"))
		if err := os.WriteFile(in, plain, 0o600); err != nil {
			return err
		}
		cmd := exec.Command(sops, "--encrypt", "--age", recipient, "--encrypted-regex", regex,
			"--input-type", "yaml", "--output-type", "yaml", in)
		cmd.Dir = work // no .sops.yaml up from here
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		enc, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("sops --encrypt %s: %v\n%s", rel, err, stderr.String())
		}
		if err := os.WriteFile(p, enc, 0o644); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// writeBootstrap writes what flux bootstrap commits into out/<env>/flux/:
// flux-system/kustomization.yaml and gotk-sync.yaml with the GitRepository
// and the Kustomization flux-system.
func writeBootstrap(t *testing.T, envDir, url string) {
	env := filepath.Base(envDir)
	dir := filepath.Join(envDir, "flux", "flux-system")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kustomization := `# As flux bootstrap writes it, but without gotk-components.yaml: that file
# installs the controllers into the cluster, and here source-controller and
# kustomize-controller run as local processes (e2e/run.sh, E2E_FLUX=1).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-sync.yaml
`
	sync := fmt.Sprintf(`# This manifest was generated by flux. DO NOT EDIT.
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10s
  ref:
    branch: main
  url: %s
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./out/%s/flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`, url, env)
	for name, content := range map[string]string{"kustomization.yaml": kustomization, "gotk-sync.yaml": sync} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// git runs git in dir, isolated from the user's and the system's config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=gitopsc e2e", "-c", "user.email=e2e@gitopsc.invalid",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitRepo commits the work tree on branch main and publishes it as the
// bare repository that serveGit serves; it returns the commit.
func commitRepo(t *testing.T, work, repo, url string) string {
	git(t, repo, "init", "-q", "-b", "main")
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "gitopsc build, and flux bootstrap's flux-system/ per environment")
	commit := git(t, repo, "rev-parse", "HEAD")
	git(t, work, "clone", "-q", "--bare", repo, filepath.Join(work, "srv", "gitopsc.git"))
	// The served repository answers as Flux will ask it.
	if out := git(t, work, "ls-remote", url, "refs/heads/main"); !strings.HasPrefix(out, commit) {
		t.Fatalf("git ls-remote %s: %q, want %s", url, out, commit)
	}
	return commit
}

// serveGit serves work/srv with git http-backend behind net/http/cgi on a
// free loopback port, and returns the repository's URL.
func serveGit(t *testing.T, work string) string {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	srv := filepath.Join(work, "srv")
	if err := os.MkdirAll(srv, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + srv, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String() + "/gitopsc.git"
}

// The second commit of each environment's run: the input without one
// stateless component and without one namespace with everything in it
// (Prometheus, a StatefulSet), so that Flux prunes objects from a layer
// that stays and deletes a whole layer, whose Kustomization flux-system
// prunes.
const (
	prunedComponent = "architect-agent"
	prunedNamespace = "monitoring"
)

// pruneInput copies the input from src to dst without prunedComponent
// (its block in agents.cue and the planner's talksTo entry that names it)
// and without prunedNamespace (its block in system.cue, and
// monitoring.cue, which declares the only component there). It fails if
// the input no longer reads as it expects, so that a change there is
// noticed rather than tested as no change.
func pruneInput(t *testing.T, src, dst string) {
	copyDir(t, src, dst)
	edit := func(name string, f func(string) (string, error)) {
		p := filepath.Join(dst, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f(string(b))
		if err != nil {
			t.Fatalf("the second commit's input: %s: %v", name, err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("agents.cue", func(s string) (string, error) {
		s, err := cutBlock(s, "\t\""+prunedComponent+"\": _agent & {")
		if err != nil {
			return "", err
		}
		line := "\t\t\t\"" + prunedComponent + ":mcp\",\n"
		if strings.Count(s, line) != 1 {
			return "", fmt.Errorf("want one talksTo entry %q", strings.TrimSpace(line))
		}
		s = strings.Replace(s, line, "", 1)
		if strings.Contains(s, prunedComponent) {
			return "", fmt.Errorf("%s is still named", prunedComponent)
		}
		return s, nil
	})
	edit("system.cue", func(s string) (string, error) {
		return cutBlock(s, "\t\t\""+prunedNamespace+"\": {")
	})
	// The Compose environment's Prometheus configuration goes with it,
	// and the monitoring stack eks installs there.
	for _, f := range []string{"monitoring.cue", "compose.cue", "eks-monitoring.cue"} {
		if err := os.Remove(filepath.Join(dst, f)); err != nil {
			t.Fatal(err)
		}
	}
}

// cutBlock removes the line that starts with start (which ends with '{')
// through the line of its matching '}'. The blocks it cuts hold no brace
// in a string.
func cutBlock(s, start string) (string, error) {
	i := strings.Index(s, "\n"+start)
	if i < 0 || strings.Count(s, "\n"+start) != 1 {
		return "", fmt.Errorf("want one line %q", start)
	}
	i++
	depth := 0
	for j := i + len(start) - 1; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				end := j + 1
				if end < len(s) && s[end] == '\n' {
					end++
				}
				return s[:i] + s[end:], nil
			}
		}
	}
	return "", fmt.Errorf("%q: no matching '}'", start)
}

// copyDir copies the regular files of a folder tree.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the folder src to dst, following symbolic links (the
// variants of testdata/e2e/ link most of their files to environments/).
func copyTree(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		p, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			err = copyTree(p, to)
		case info.Mode().IsRegular():
			var b []byte
			if b, err = os.ReadFile(p); err == nil {
				err = os.WriteFile(to, b, 0o644)
			}
		default:
			err = fmt.Errorf("%s: not a regular file", p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copySOPS puts the re-encrypted file from into the pruned tree, where
// gitopsc rendered the original: the same Secret, the same ciphertext.
func copySOPS(t *testing.T, from, to string) {
	if _, err := os.Stat(to); err != nil {
		t.Fatalf("the second commit renders no %s: %v", to, err)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// setTree makes the repository's work tree environments/, out/ and charts/ of tree.
func setTree(t *testing.T, repo, tree string) {
	for _, d := range []string{"environments", "out", "charts"} {
		if err := os.RemoveAll(filepath.Join(repo, d)); err != nil {
			t.Fatal(err)
		}
		// charts/ holds the path charts, in the trees that have them.
		if _, err := os.Stat(filepath.Join(tree, d)); d == "charts" && os.IsNotExist(err) {
			continue
		}
		copyDir(t, filepath.Join(tree, d), filepath.Join(repo, d))
	}
}

// publish commits tree on main on top of what the repository holds and
// pushes it to the served repository; it returns the commit.
func publish(t *testing.T, work, repo, url, tree, message string) string {
	setTree(t, repo, tree)
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "--allow-empty", "-m", message)
	commit := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "push", "-q", filepath.Join(work, "srv", "gitopsc.git"), "HEAD:refs/heads/main")
	if out := git(t, work, "ls-remote", url, "refs/heads/main"); !strings.HasPrefix(out, commit) {
		t.Fatalf("git ls-remote %s: %q, want %s", url, out, commit)
	}
	return commit
}

// requestReconcile annotates a Flux object as flux reconcile does; the
// controller reports the token in status.lastHandledReconcileAt once it
// handled the request.
func requestReconcile(ctx context.Context, k *kube, r ref) (token string, err error) {
	token = time.Now().UTC().Format(time.RFC3339Nano)
	return token, k.mergePatch(ctx, r, "", map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		"reconcile.fluxcd.io/requestedAt": token,
	}}})
}

// inventoryRefs are the objects of Kustomizations' inventories, by
// inventory ID (namespace_name_group_kind, each entry with its version).
func inventoryRefs(objs map[string]*fluxObject) map[string]ref {
	out := map[string]ref{}
	for _, o := range objs {
		if o.Status.Inventory == nil {
			continue
		}
		for _, e := range o.Status.Inventory.Entries {
			p := strings.Split(e.ID, "_")
			if len(p) != 4 {
				continue
			}
			api := e.V
			if p[2] != "" {
				api = p[2] + "/" + e.V
			}
			out[e.ID] = ref{APIVersion: api, Kind: p[3], Namespace: p[0], Name: p[1]}
		}
	}
	return out
}

// minus is what a holds and b does not.
func minus[V, W any](a map[string]V, b map[string]W) map[string]bool {
	out := map[string]bool{}
	for id := range a {
		if _, ok := b[id]; !ok {
			out[id] = true
		}
	}
	return out
}

// sameSet says how two sets of inventory IDs differ, or "" if they do not.
func sameSet(got, want map[string]bool) string {
	var extra, missing []string
	for _, id := range sortedKeys(got) {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	for _, id := range sortedKeys(want) {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	if len(extra)+len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%d more: %v; %d fewer: %v", len(extra), extra, len(missing), missing)
}

// renderedIDs are the inventory IDs of what an environment renders: the
// layers' objects and, in flux/, the Kustomizations flux-system applies.
// prune tells which carry kustomize.toolkit.fluxcd.io/prune: disabled.
func renderedIDs(tree *envTree) (ids map[string]ref, pruneDisabled map[string]bool) {
	ids, pruneDisabled = map[string]ref{}, map[string]bool{}
	add := func(f file) {
		r := refOf(f.obj)
		id := inventoryID(r)
		ids[id] = r
		meta, _ := f.obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if v, _ := ann["kustomize.toolkit.fluxcd.io/prune"].(string); v == "disabled" {
			pruneDisabled[id] = true
		}
	}
	for _, f := range tree.flux {
		add(f)
	}
	for _, l := range tree.layers {
		for _, f := range l.files {
			add(f)
		}
	}
	return ids, pruneDisabled
}

// testFluxPrune follows an environment from the commit base, which Flux
// has reconciled (objs), to commit, the pruned tree (after): it asks
// Flux to reconcile now, as flux reconcile does, waits until every
// Kustomization that remains applied commit and the removed layer's is
// gone, and checks that Flux pruned what the commit removed but the
// objects marked prune: disabled, and that gitopsc diff --base base
// lists exactly what the inventories lost and gained.
func testFluxPrune(t *testing.T, ctx context.Context, k *kube, before, after *envTree, objs map[string]*fluxObject, input, base, commit string) {
	began := time.Now()
	want := "main@sha1:" + commit
	gr := ref{APIVersion: gitRepositoryAPI, Kind: "GitRepository", Namespace: "flux-system", Name: "flux-system"}
	if _, err := requestReconcile(ctx, k, gr); err != nil {
		t.Fatalf("annotate %s: %v", gr, err)
	}
	kustomization := func(n string) ref {
		return ref{APIVersion: kustomizationAPI, Kind: "Kustomization", Namespace: "flux-system", Name: n}
	}
	names := []string{"flux-system"}
	stays := map[string]bool{}
	for _, l := range after.layers {
		names = append(names, l.name)
		stays[l.name] = true
	}
	var gone []string
	for _, l := range before.layers {
		if !stays[l.name] {
			gone = append(gone, l.name)
		}
	}
	if len(gone) == 0 {
		t.Errorf("the second commit removes no layer of %s: the test's change of the input no longer does what it says", before.name)
	}

	// Wait until the GitRepository has the commit (then ask each
	// Kustomization to reconcile), each remaining Kustomization applied it
	// and is Ready, and each removed one is deleted (its finalizer ran).
	deadline := began.Add(fluxTimeout)
	last := map[string]string{}
	requested := false
	var now map[string]*fluxObject
	for {
		done := true
		var g fluxObject
		state := "not found"
		if err := k.get(ctx, gr, nil, &g); err == nil {
			s, reason, msg := g.ready()
			state = fmt.Sprintf("Ready=%s %s: %s", s, reason, msg)
			if g.Status.Artifact == nil || g.Status.Artifact.Revision != want {
				done = false
			} else if !requested {
				for _, n := range names {
					if _, err := requestReconcile(ctx, k, kustomization(n)); err != nil {
						t.Errorf("annotate Kustomization %s: %v", n, err)
					}
				}
				requested = true
			}
		} else if !isNotFound(err) {
			t.Fatalf("get %s: %v", gr, err)
		} else {
			done = false
		}
		states := map[string]string{"GitRepository flux-system": state}
		now = map[string]*fluxObject{}
		for _, n := range names {
			var o fluxObject
			err := k.get(ctx, kustomization(n), nil, &o)
			if err != nil && !isNotFound(err) {
				t.Fatalf("get Kustomization %s: %v", n, err)
			}
			state := "not found"
			if err == nil {
				now[n] = &o
				s, reason, msg := o.ready()
				state = fmt.Sprintf("Ready=%s %s: %s (applied %s)", s, reason, msg, o.Status.LastAppliedRevision)
				if s != "True" || o.Status.ObservedGeneration != o.Metadata.Generation || o.Status.LastAppliedRevision != want {
					done = false
				}
			} else {
				done = false
			}
			states["Kustomization "+n] = state
		}
		for _, n := range gone {
			var o fluxObject
			err := k.get(ctx, kustomization(n), nil, &o)
			state := "deleted"
			if err == nil {
				done = false
				state = "still there"
			} else if !isNotFound(err) {
				t.Fatalf("get Kustomization %s: %v", n, err)
			}
			states["Kustomization "+n+" (removed)"] = state
		}
		for _, n := range sortedKeys(states) {
			if last[n] != states[n] {
				t.Logf("%s: after %s: %s %s", before.name, since(began), n, states[n])
				last[n] = states[n]
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, n := range sortedKeys(last) {
				lines = append(lines, fmt.Sprintf("  %s: %s", n, last[n]))
			}
			t.Fatalf("%s: commit %s not reconciled after %s (E2E_FLUX_TIMEOUT):\n%s", before.name, commit, fluxTimeout, strings.Join(lines, "\n"))
		}
		time.Sleep(time.Second)
	}
	reconciled := since(began)

	// The inventories now are what the commit renders, and they lost
	// exactly what it no longer renders.
	for _, l := range after.layers {
		inv := now[l.name].inventory()
		ids := map[string]bool{}
		for _, f := range l.files {
			ids[inventoryID(refOf(f.obj))] = true
		}
		if d := sameSet(inv, ids); d != "" {
			t.Errorf("Kustomization %s after commit %s: its inventory differs from what %s renders: %s", l.name, commit, l.path, d)
		}
	}
	beforeInv, afterInv := inventoryRefs(objs), inventoryRefs(now)
	lost, gained := minus(beforeInv, afterInv), minus(afterInv, beforeInv)
	beforeIDs, disabled := renderedIDs(before)
	afterIDs, _ := renderedIDs(after)
	if d := sameSet(lost, minus(beforeIDs, afterIDs)); d != "" {
		t.Errorf("the inventories lost other objects than the commit removes: %s", d)
	}
	if d := sameSet(gained, minus(afterIDs, beforeIDs)); d != "" {
		t.Errorf("the inventories gained other objects than the commit adds: %s", d)
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount"} {
		id := inventoryID(ref{APIVersion: map[string]string{"Deployment": "apps/v1"}[kind], Kind: kind, Namespace: "ai-agents", Name: prunedComponent})
		if !lost[id] {
			t.Errorf("the inventories did not lose %s ai-agents/%s (%s)", kind, prunedComponent, id)
		}
	}

	// In the cluster: what the inventories lost is deleted, but what is
	// marked prune: disabled (Namespaces, StatefulSets) is still there.
	pruned := map[string]int{}
	var kept []string
	prunedN := 0
	waitGone := time.Now().Add(time.Minute)
	for _, id := range sortedKeys(lost) {
		r := beforeInv[id]
		var obj struct {
			Metadata struct{ DeletionTimestamp *string }
		}
		if disabled[id] {
			if err := k.get(ctx, r, nil, &obj); err != nil {
				t.Errorf("%s is marked kustomize.toolkit.fluxcd.io/prune: disabled but did not survive its removal: %v", r, err)
			} else if obj.Metadata.DeletionTimestamp != nil {
				t.Errorf("%s is marked kustomize.toolkit.fluxcd.io/prune: disabled but is being deleted", r)
			} else {
				kept = append(kept, r.String())
			}
			continue
		}
		for {
			err := k.get(ctx, r, nil, &obj)
			if isNotFound(err) {
				pruned[r.Kind]++
				prunedN++
				break
			}
			if err != nil {
				t.Errorf("%s: %v", r, err)
				break
			}
			if time.Now().After(waitGone) {
				t.Errorf("%s: Flux's inventory lost it but it is still in the cluster", r)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	wantKept := []string{"Namespace " + prunedNamespace}
	for _, id := range sortedKeys(lost) {
		if r := beforeInv[id]; r.Kind == "StatefulSet" && disabled[id] {
			wantKept = append(wantKept, r.String())
		}
	}
	if len(wantKept) < 2 {
		t.Errorf("the second commit removes no StatefulSet: the test no longer checks that one marked prune: disabled survives")
	}
	for _, w := range wantKept {
		found := false
		for _, r := range kept {
			found = found || r == w
		}
		if !found {
			t.Errorf("%s: want it kept (prune: disabled) after the second commit; kept %v", w, kept)
		}
	}
	var byKind []string
	for _, kind := range sortedKeys(pruned) {
		byKind = append(byKind, fmt.Sprintf("%d %s", pruned[kind], kind))
	}
	fmt.Printf("e2e: flux: %s: commit %s removes component %s and namespace %s (layer %s): reconciled in %s; Flux pruned %d objects (%s; the Kustomization from flux-system's inventory) and kept the %d marked prune: disabled (%s)\n",
		before.name, commit, prunedComponent, prunedNamespace, strings.Join(gone, ", "), reconciled, prunedN, strings.Join(byKind, ", "),
		len(kept), strings.Join(kept, ", "))

	// What helm-controller uninstalls with the HelmReleases the
	// inventories lost: the objects their charts render, deleted, except
	// the CRDs of a chart's crds/ folder, which Helm never deletes.
	beforeCharts, helmKeeps := chartIDs(before)
	afterCharts, _ := chartIDs(after)
	uninstalled := minus(beforeCharts, afterCharts)
	helmKept, helmDeleted := 0, 0
	for _, id := range sortedKeys(uninstalled) {
		r := beforeCharts[id]
		var obj struct {
			Metadata struct{ DeletionTimestamp *string }
		}
		if helmKeeps[id] {
			if err := k.get(ctx, r, nil, &obj); err != nil {
				t.Errorf("%s: a CRD of a chart's crds/ folder, which helm uninstall keeps: %v", r, err)
			}
			helmKept++
			continue
		}
		for {
			err := k.get(ctx, r, nil, &obj)
			if isNotFound(err) {
				helmDeleted++
				break
			}
			if err != nil {
				t.Errorf("%s: %v", r, err)
				break
			}
			if time.Now().After(waitGone) {
				t.Errorf("%s: its chart's HelmRelease is gone but it is still in the cluster", r)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if len(uninstalled) > 0 {
		fmt.Printf("e2e: flux: %s: helm-controller uninstalled what the removed HelmReleases' charts render: %d objects deleted, %d CRDs of their crds/ folders kept (Helm never deletes those)\n",
			before.name, helmDeleted, helmKept)
	}

	// gitopsc diff --base between the two commits, in the repository.
	var stdout, stderr bytes.Buffer
	args := []string{"diff", input, "--base", base, "--env", before.name, "--format", "json"}
	if code := cli.Run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("gitopsc %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	var report struct {
		Base         struct{ Commit string }
		Environments []struct {
			Name    string
			Objects []struct{ Change, APIVersion, Kind, Namespace, Name string }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("gitopsc diff --format json: %v\n%s", err, stdout.String())
	}
	if report.Base.Commit != base {
		t.Errorf("gitopsc diff --base %s compared with %s", base, report.Base.Commit)
	}
	removed, added := map[string]bool{}, map[string]bool{}
	changed := 0
	for _, e := range report.Environments {
		if e.Name != before.name {
			t.Errorf("gitopsc diff --env %s reports environment %s", before.name, e.Name)
			continue
		}
		for _, o := range e.Objects {
			id := inventoryID(ref{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
			switch o.Change {
			case "removed":
				removed[id] = true
			case "added":
				added[id] = true
			case "changed":
				changed++
			}
		}
	}
	// gitopsc diff shows a chart's objects like its own: what Flux's
	// inventories lost and gained, and what the charts render less or more.
	wantRemoved, wantAdded := union(lost, uninstalled), union(gained, minus(afterCharts, beforeCharts))
	if d := sameSet(removed, wantRemoved); d != "" {
		t.Errorf("gitopsc diff --base %s: the objects it reports removed are not those Flux's inventories lost and the removed charts rendered: %s", base, d)
	}
	if d := sameSet(added, wantAdded); d != "" {
		t.Errorf("gitopsc diff --base %s: the objects it reports added are not those Flux's inventories gained and the added charts render: %s", base, d)
	}
	fmt.Printf("e2e: flux: %s: gitopsc diff --base %.12s: %d removed, %d added, %d changed; removed and added are the %d objects Flux's inventories lost and the %d they gained, with the %d the removed charts rendered\n",
		before.name, base, len(removed), len(added), changed, len(lost), len(gained), len(uninstalled))
}

// chartIDs are the objects tree's charts render, by inventory ID, and
// which of them are CRDs of a chart's crds/ folder (Helm installs those
// and never upgrades or deletes them).
func chartIDs(tree *envTree) (ids map[string]ref, crdsFolder map[string]bool) {
	ids, crdsFolder = map[string]ref{}, map[string]bool{}
	for _, objs := range tree.charts {
		for _, f := range objs {
			r := refOf(f.obj)
			id := inventoryID(r)
			ids[id] = r
			if r.Kind == "CustomResourceDefinition" && strings.Contains(f.rel, "crds/") {
				crdsFolder[id] = true
			}
		}
	}
	return ids, crdsFolder
}

// union is the set of the keys of a and b.
func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// withoutChartWebhooks adds to the input in dir what leaves the admission
// webhooks of the External Secrets Operator's chart out: kwok runs no
// container, so no server answers them, and the chart's store webhooks
// are fixed at failurePolicy Fail (only the ExternalSecret one follows
// webhook.failurePolicy), so the API server would refuse every
// ClusterSecretStore. Everything else is installed as shipped.
func withoutChartWebhooks(t *testing.T, dir string) {
	t.Helper()
	const f = "e2e-webhooks.cue"
	src := "package platform\n\n// Written by the e2e (withoutChartWebhooks): kwok runs no webhook server.\nenvironments: eks: charts: \"external-secrets\": values: webhook: create: false\n"
	if err := os.WriteFile(filepath.Join(dir, f), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("e2e: flux: %s: the External Secrets Operator chart is installed without its admission webhooks (webhook.create: false): kwok runs no server to answer them\n", f)
}
