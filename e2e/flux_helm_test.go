//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cli "github.com/gitopsc/gitopsc/cmd/gitopsc/cmd"
)

// testFluxHelm commits testdata/e2e/helm as a user would (the input at
// environments/, its path chart at charts/, the gitopsc build at out/,
// bootstrap's flux-system/) and checks that the real helm-controller
// installs the chart: the infrastructure layer's HelmRelease becomes
// Ready=True from a HelmChart of the GitRepository, the namespace layer is
// applied only after it, and what Helm installed is what gitopsc checked:
// the Deployment with the values' replicas and its image pinned by the
// lock's digest through the HelmRelease's post-renderer, its pods Ready.
func testFluxHelm(t *testing.T, ctx context.Context, k *kube, root, work, repo, url, key string) {
	began := time.Now()
	tree := filepath.Join(work, "variant-helm")
	copyDir(t, filepath.Join(root, "testdata", "e2e", "helm"), tree)
	var stdout, stderr bytes.Buffer
	in := filepath.Join(tree, "environments")
	if code := cli.Run([]string{"build", in, "--out", filepath.Join(tree, "out")}, &stdout, &stderr); code != 0 {
		t.Fatalf("gitopsc build %s: exit %d\n%s%s", in, code, stdout.String(), stderr.String())
	}
	needs := buildNeeds(stdout.String())["local"]
	if !strings.Contains(strings.Join(needs, "\n"), "helm-controller") {
		t.Errorf("gitopsc build does not say the environment needs helm-controller: %q", needs)
	}
	envDir := filepath.Join(tree, "out", "local")
	writeBootstrap(t, envDir, url)
	commit := publish(t, work, repo, url, tree, "testdata/e2e/helm: a path chart")
	env, err := readEnvTree(envDir)
	if err != nil {
		t.Fatal(err)
	}
	env.name = "helm/" + env.name
	installPrerequisites(t, ctx, k, env.name, needs, key)
	layers, namespaces := env.layerNames(), env.namespaces()
	if len(layers) < 3 || layers[1] != "helm-infrastructure" {
		t.Fatalf("layers %v: want platform, then helm-infrastructure, then the namespaces", layers)
	}
	startFlux(t, ctx, k, env, layers, namespaces)
	names := append([]string{"flux-system"}, layers...)
	want := "main@sha1:" + commit
	objs, readyAt := waitKustomizations(t, ctx, k, env.name, names, namespaces, began, func(n string, o *fluxObject) bool {
		s, _, _ := o.ready()
		return s == "True" && o.Status.LastAppliedRevision == want
	})
	for _, n := range names {
		fmt.Printf("e2e: flux: %s: Kustomization flux-system/%s Ready=True after %s\n", env.name, n, readyAt[n])
	}
	checkDependsOnOrder(t, ctx, k, env, objs)

	var hr struct {
		Status struct {
			Conditions []struct{ Type, Status, Reason, Message string }
			History    []struct {
				ChartName, ChartVersion, Status string
			}
		}
	}
	hrRef := ref{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease", Namespace: "runtime", Name: "agent-runtime"}
	if err := k.get(ctx, hrRef, nil, &hr); err != nil {
		t.Fatal(err)
	}
	ready := ""
	for _, c := range hr.Status.Conditions {
		if c.Type == "Ready" {
			ready = c.Status + " " + c.Reason + ": " + c.Message
		}
	}
	if !strings.HasPrefix(ready, "True ") {
		t.Errorf("%s: Ready=%s, want True", hrRef, ready)
	} else {
		fmt.Printf("e2e: flux: %s: %s Ready=%s\n", env.name, hrRef, ready)
	}
	// reconcileStrategy Revision: the chart's version carries the git
	// revision it was built from, so a commit to the chart rolls it out.
	if h := hr.Status.History; len(h) == 0 || !strings.HasPrefix(h[0].ChartVersion, "0.3.0+"+commit[:12]) || h[0].Status != "deployed" {
		t.Errorf("%s: history %+v, want agent-runtime 0.3.0+%s deployed", hrRef, h, commit[:12])
	} else {
		fmt.Printf("e2e: flux: %s: %s deployed chart %s %s\n", env.name, hrRef, h[0].ChartName, h[0].ChartVersion)
	}

	var d struct {
		Spec struct {
			Replicas int
			Template struct {
				Spec struct {
					Containers []struct{ Name, Image string }
				}
			}
		}
		Status struct{ ReadyReplicas int }
	}
	dRef := ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "runtime", Name: "agent-runtime"}
	if err := k.get(ctx, dRef, nil, &d); err != nil {
		t.Fatalf("%s, which the chart renders: %v", dRef, err)
	}
	const pinned = "registry.example.com/agent-runtime@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	if d.Spec.Replicas != 2 || len(d.Spec.Template.Spec.Containers) != 1 || d.Spec.Template.Spec.Containers[0].Image != pinned {
		t.Errorf("%s: replicas %d, containers %+v; want 2 replicas (the chart's values) of %s (the post-renderer's pin)", dRef, d.Spec.Replicas, d.Spec.Template.Spec.Containers, pinned)
	}
	if d.Status.ReadyReplicas != 2 {
		t.Errorf("%s: %d replicas Ready, want 2", dRef, d.Status.ReadyReplicas)
	}
	fmt.Printf("e2e: flux: %s: helm-controller installed %s: %d replicas of %s, %d Ready, in %s\n",
		env.name, dRef, d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image, d.Status.ReadyReplicas, since(began))
}
