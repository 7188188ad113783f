//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testFluxVariant commits a broken variant of testdata/e2e/ as a user
// would (its input, its rendering without the policy gate, bootstrap's
// flux-system/) and checks that Flux fails where the variant's rule said
// Kubernetes would refuse it: the layer of each refused workload ends
// Ready=False HealthCheckFailed, its message naming exactly the refused
// workloads, each of which carries the API server's refusal in its
// ReplicaFailure condition; the layers that depend on it end
// DependencyNotReady; every other layer is Ready. A variant refused at
// the start (v.component) fails on its first reconciliation; one refused
// only at the HPA maximum is Ready first, then scaled there as its HPAs
// would under load, and fails on the next reconciliation. The variants
// set flux.timeout to 30s, so each health check gives up quickly.
func testFluxVariant(t *testing.T, ctx context.Context, k *kube, root, work, repo, url, key, recipient string, v variant) {
	began := time.Now()
	tree := filepath.Join(work, "variant-"+v.name)
	copyDir(t, filepath.Join(root, "testdata", "e2e", v.name), filepath.Join(tree, "environments"))
	results := renderUngated(t, filepath.Join(tree, "environments"), filepath.Join(tree, "out"))
	if len(results) != 1 {
		t.Fatalf("%s renders %d environments, the test reconciles one", v.name, len(results))
	}
	r := results[0]
	envDir := filepath.Join(tree, "out", r.Tree.Env)
	reencryptSOPS(t, work, envDir, recipient)
	writeBootstrap(t, envDir, url)
	commit := publish(t, work, repo, url, tree, "testdata/e2e/"+v.name+", rendered without the policy gate")
	env, err := readEnvTree(envDir)
	if err != nil {
		t.Fatal(err)
	}
	env.name = v.name + "/" + env.name
	want := "main@sha1:" + commit

	installPrerequisites(t, ctx, k, env.name, r.Output.Prerequisites(), key)
	layers, namespaces := env.layerNames(), env.namespaces()
	startFlux(t, ctx, k, env, layers, namespaces)
	names := append([]string{"flux-system"}, layers...)

	var refused map[string]bool // Kind/namespace/name of the refused workloads
	if v.component != "" {
		refused = map[string]bool{}
		for _, l := range env.layers {
			for _, f := range l.files {
				if r := refOf(f.obj); r.Name == v.component && (r.Kind == "Deployment" || r.Kind == "StatefulSet") {
					refused[r.Kind+"/"+r.Namespace+"/"+r.Name] = true
				}
			}
		}
		if len(refused) != 1 {
			t.Fatalf("%s: %d workloads named %s rendered, want 1", v.name, len(refused), v.component)
		}
	} else {
		// Ready first, as the rule says: the start fits.
		waitKustomizations(t, ctx, k, env.name, names, namespaces, began, func(n string, o *fluxObject) bool {
			s, _, _ := o.ready()
			return s == "True" && o.Status.LastAppliedRevision == want
		})
		fmt.Printf("e2e: flux: %s: every Kustomization Ready at the start after %s, as %s predicted (it refuses only the HPA maximum)\n", env.name, since(began), v.rule)
		refused = scaleToHPAMaximum(t, ctx, k, env, v)
	}

	// Which layers hold a refused workload, and which depend on one.
	failing, blocked := map[string]bool{}, map[string]bool{}
	for _, l := range env.layers {
		for _, f := range l.files {
			r := refOf(f.obj)
			if refused[r.Kind+"/"+r.Namespace+"/"+r.Name] {
				failing[l.name] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, l := range env.layers {
			for _, d := range l.dependsOn {
				if (failing[d] || blocked[d]) && !failing[l.name] && !blocked[l.name] {
					blocked[l.name], changed = true, true
				}
			}
		}
	}

	// After the scaling, ask Flux to reconcile the failing layers now
	// rather than at their interval, and the others once those failed.
	// requestReconcile's token comes back in lastHandledReconcileAt.
	tokens := map[string]string{}
	request := func(which func(string) bool) {
		for _, n := range layers {
			if !which(n) {
				continue
			}
			r := ref{APIVersion: kustomizationAPI, Kind: "Kustomization", Namespace: "flux-system", Name: n}
			token, err := requestReconcile(ctx, k, r)
			if err != nil {
				t.Fatalf("annotate %s: %v", r, err)
			}
			tokens[n] = token
		}
	}
	handled := func(n string, o *fluxObject) bool {
		return tokens[n] == "" || o.Status.LastHandledReconcileAt == tokens[n]
	}
	expect := func(n string, o *fluxObject) bool {
		s, reason, _ := o.ready()
		switch {
		case n == "flux-system":
			return s == "True"
		case failing[n]:
			return s == "False" && reason == "HealthCheckFailed" && o.Status.LastAttemptedRevision == want && handled(n, o)
		case blocked[n]:
			return s == "False" && reason == "DependencyNotReady" && handled(n, o)
		default:
			return s == "True" && o.Status.LastAppliedRevision == want
		}
	}
	if v.component == "" {
		request(func(n string) bool { return failing[n] })
		waitKustomizations(t, ctx, k, env.name, names, namespaces, time.Now(), func(n string, o *fluxObject) bool {
			return !failing[n] || expect(n, o)
		})
		request(func(n string) bool { return blocked[n] })
	}
	objs, _ := waitKustomizations(t, ctx, k, env.name, names, namespaces, began, expect)

	// The failing layers' messages name exactly the refused workloads.
	named := map[string]bool{}
	for _, n := range layers {
		s, reason, msg := objs[n].ready()
		fmt.Printf("e2e: flux: %s: Kustomization flux-system/%s Ready=%s: %s: %s\n", env.name, n, s, reason, msg)
		if !failing[n] {
			continue
		}
		for _, m := range healthObject.FindAllStringSubmatch(msg, -1) {
			named[m[1]] = true
		}
	}
	if d := sameSet(named, refused); d != "" {
		t.Errorf("%s: the failing Kustomizations' messages do not name exactly the workloads the API server refused: %s", env.name, d)
	}
	for _, w := range sortedKeys(refused) {
		kind, rest, _ := strings.Cut(w, "/")
		ns, name, _ := strings.Cut(rest, "/")
		r := ref{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name}
		msg := replicaFailure(ctx, k, r)
		if !strings.Contains(msg, v.refusal) {
			t.Errorf("%s: %s has no ReplicaFailure condition with %q: %q", env.name, r, v.refusal, msg)
			continue
		}
		fmt.Printf("e2e: flux: %s: %s refused as %s predicted (its ReplicaFailure condition): %s\n", env.name, r, v.rule, msg)
	}
	fmt.Printf("e2e: flux: %s: failed as predicted in %s: %d layers HealthCheckFailed, %d DependencyNotReady, %d Ready\n",
		env.name, since(began), len(failing), len(blocked), len(layers)-len(failing)-len(blocked))
}

// healthObject is an object kstatus found not Current, in a health check
// message of kustomize-controller (fluxcd/pkg/ssa's WaitForSet):
// "timeout waiting for: [Deployment/ns/name status: 'InProgress', ...]".
var healthObject = regexp.MustCompile(`([A-Za-z]+/[a-z0-9.-]+/[a-z0-9.-]+) status: '[A-Za-z]+'`)

// replicaFailure is the message of the workload's ReplicaFailure=True
// condition, which the Deployment controller copies from its ReplicaSet
// when the API server refuses a pod; "" without one.
func replicaFailure(ctx context.Context, k *kube, r ref) string {
	var obj struct {
		Status struct {
			Conditions []struct{ Type, Status, Message string }
		}
	}
	if err := k.get(ctx, r, nil, &obj); err != nil {
		return err.Error()
	}
	for _, c := range obj.Status.Conditions {
		if c.Type == "ReplicaFailure" && c.Status == "True" {
			return c.Message
		}
	}
	return ""
}

// scaleToHPAMaximum scales each workload an HPA targets to the HPA's
// maxReplicas through its scale subresource, as the HPA would at full
// load (there is no metrics-server: the HPA itself does not scale, and
// Flux does not own spec.replicas of an autoscaled workload, so neither
// takes the scaling back). It waits until the API server has refused some
// of their pods with the variant's refusal and nothing changes for 3s, and
// returns the workloads with a ReplicaFailure condition.
func scaleToHPAMaximum(t *testing.T, ctx context.Context, k *kube, env *envTree, v variant) map[string]bool {
	t.Helper()
	var targets []ref
	for _, l := range env.layers {
		for _, f := range l.files {
			if refOf(f.obj).Kind != "HorizontalPodAutoscaler" {
				continue
			}
			spec, _ := f.obj["spec"].(map[string]any)
			target, _ := spec["scaleTargetRef"].(map[string]any)
			max, _ := spec["maxReplicas"].(float64)
			r := ref{APIVersion: fmt.Sprint(target["apiVersion"]), Kind: fmt.Sprint(target["kind"]), Namespace: refOf(f.obj).Namespace, Name: fmt.Sprint(target["name"])}
			if err := k.mergePatch(ctx, r, "scale", map[string]any{"spec": map[string]any{"replicas": int(max)}}); err != nil {
				t.Fatalf("scale %s to %d: %v", r, int(max), err)
			}
			t.Logf("%s: %s scaled to its HPA maximum, %d", env.name, r, int(max))
			targets = append(targets, r)
		}
	}
	if len(targets) == 0 {
		t.Fatalf("%s: no HorizontalPodAutoscaler rendered", env.name)
	}
	deadline := time.Now().Add(podTimeout)
	var last []string
	stable := time.Now()
	for {
		var now []string
		refusal := false
		for _, r := range targets {
			if msg := replicaFailure(ctx, k, r); msg != "" {
				now = append(now, r.Kind+"/"+r.Namespace+"/"+r.Name)
				refusal = refusal || strings.Contains(msg, v.refusal)
			}
		}
		if !slices.Equal(now, last) {
			last, stable = now, time.Now()
		}
		if refusal && time.Since(stable) > 3*time.Second {
			out := map[string]bool{}
			for _, w := range now {
				out[w] = true
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: at the HPA maximum no workload has a ReplicaFailure with %q after %s; with one: %v", env.name, v.refusal, podTimeout, now)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
