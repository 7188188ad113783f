//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// checkWorkloads is the workloads variant's check: the pods the
// controllers created (admitted under the restricted Pod Security level)
// are the rendered pod templates, and between them they hold every shape
// the variant is there for, so that it cannot silently stop covering one:
// a native sidecar (an init container with restartPolicy Always) in a
// Deployment's pods, a Job's pods, a pod pinned to a tainted pool
// (tolerations and a pool nodeSelector), a ConfigMap volume and a Secret
// volume.
func checkWorkloads(t *testing.T, ctx context.Context, k *kube, d *deployment, tree *envTree) {
	t.Helper()
	rendered := map[ref]map[string]any{}
	for _, l := range tree.layers {
		for _, f := range l.files {
			rendered[refOf(f.obj)] = asJSON(f.obj).(map[string]any)
		}
	}
	restricted := map[string]bool{}
	for _, ns := range d.namespaces {
		obj, err := getObject(ctx, k, ref{APIVersion: "v1", Kind: "Namespace", Name: ns})
		if err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		labels, _ := dig(obj, "metadata", "labels").(map[string]any)
		restricted[ns] = labels["pod-security.kubernetes.io/enforce"] == "restricted"
	}

	seen := map[string][]string{} // shape → the pods that have it
	shapes := []string{"native sidecar", "Job pod", "tainted pool", "ConfigMap volume", "Secret volume", "API token"}
	for _, w := range d.workloads {
		tmpl, _ := dig(rendered[w.ref], "spec", "template", "spec").(map[string]any)
		if tmpl == nil {
			t.Errorf("%s: no rendered pod template", w.ref)
			continue
		}
		if !restricted[w.ref.Namespace] {
			t.Errorf("%s: namespace %s does not enforce the restricted Pod Security level", w.ref, w.ref.Namespace)
		}
		pods, err := listPods(ctx, k, w.ref.Namespace, w.selector)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) == 0 {
			t.Errorf("%s: no pod to check", w.ref)
		}
		for _, p := range pods {
			name, _ := dig(p, "metadata", "name").(string)
			spec, _ := p["spec"].(map[string]any)
			if tmpl["automountServiceAccountToken"] == true {
				if token := withoutAPIToken(spec); token != "" {
					seen["API token"] = append(seen["API token"], fmt.Sprintf("%s (%s)", name, token))
				}
			}
			// The pod holds its template as rendered, but for the
			// tolerations admission adds (DefaultTolerationSeconds).
			want := map[string]any{}
			for key, v := range tmpl {
				if key != "tolerations" {
					want[key] = v
				}
			}
			for _, diff := range subsetDiff("spec", want, spec) {
				t.Errorf("%s: pod %s: not its rendered template: %s", w.ref, name, diff)
			}
			tolerations, _ := spec["tolerations"].([]any)
			wantTol, _ := tmpl["tolerations"].([]any)
			for _, tol := range wantTol {
				found := false
				for _, got := range tolerations {
					found = found || len(subsetDiff("", tol, got)) == 0
				}
				if !found {
					t.Errorf("%s: pod %s: rendered toleration %s missing: %s", w.ref, name, show(tol), show(tolerations))
				}
			}

			owner := controllerOf(p)
			if w.ref.Kind == "Job" && owner == "Job/"+w.ref.Name {
				seen["Job pod"] = append(seen["Job pod"], name)
			}
			inits, _ := spec["initContainers"].([]any)
			for _, c := range inits {
				cm, _ := c.(map[string]any)
				if cm["restartPolicy"] == "Always" && w.ref.Kind == "Deployment" && strings.HasPrefix(owner, "ReplicaSet/") {
					seen["native sidecar"] = append(seen["native sidecar"], fmt.Sprintf("%s (%s)", name, cm["name"]))
				}
			}
			selector, _ := spec["nodeSelector"].(map[string]any)
			pinned := false
			for key := range selector {
				pinned = pinned || (key != "kubernetes.io/arch" && key != "kubernetes.io/os")
			}
			if pinned && len(wantTol) > 0 {
				seen["tainted pool"] = append(seen["tainted pool"], name)
			}
			volumes, _ := spec["volumes"].([]any)
			for _, v := range volumes {
				vm, _ := v.(map[string]any)
				sources := []any{vm}
				if proj, ok := dig(vm, "projected", "sources").([]any); ok {
					sources = proj
				}
				for _, src := range sources {
					sm, _ := src.(map[string]any)
					if sm["configMap"] != nil {
						seen["ConfigMap volume"] = append(seen["ConfigMap volume"], fmt.Sprintf("%s (%s)", name, vm["name"]))
					}
					if sm["secret"] != nil {
						seen["Secret volume"] = append(seen["Secret volume"], fmt.Sprintf("%s (%s)", name, vm["name"]))
					}
				}
			}
		}
	}
	var parts []string
	for _, s := range shapes {
		if len(seen[s]) == 0 {
			t.Errorf("%s: no admitted pod has a %s: the variant no longer covers it", tree.name, s)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", s, seen[s][0]))
	}
	if t.Failed() {
		t.FailNow()
	}
	fmt.Printf("e2e: %s: pods created by the controllers and admitted as restricted, each its rendered template: %s\n", tree.name, strings.Join(parts, "; "))
}

// withoutAPIToken takes out of a pod's spec the token volume that the
// ServiceAccount admission plugin adds to a pod that mounts one (a
// projected serviceAccountToken, kube-api-access-*) and its mount in
// every container, so that the rest compares with the rendered template;
// it returns the volume's name, "" when there is none.
func withoutAPIToken(spec map[string]any) string {
	volumes, _ := spec["volumes"].([]any)
	token := ""
	var kept []any
	for _, v := range volumes {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		sources, _ := dig(vm, "projected", "sources").([]any)
		isToken := false
		for _, src := range sources {
			sm, _ := src.(map[string]any)
			isToken = isToken || (sm["serviceAccountToken"] != nil && strings.HasPrefix(name, "kube-api-access-"))
		}
		if isToken {
			token = name
			continue
		}
		kept = append(kept, v)
	}
	if token == "" {
		return ""
	}
	spec["volumes"] = kept
	for _, list := range []string{"initContainers", "containers"} {
		ctrs, _ := spec[list].([]any)
		for _, c := range ctrs {
			cm, _ := c.(map[string]any)
			mounts, _ := cm["volumeMounts"].([]any)
			var keep []any
			for _, m := range mounts {
				if mm, _ := m.(map[string]any); mm["name"] != token {
					keep = append(keep, m)
				}
			}
			cm["volumeMounts"] = keep
		}
	}
	return token
}

// listPods lists the pods with the labels, not being deleted, by name.
func listPods(ctx context.Context, k *kube, ns string, labels map[string]string) ([]map[string]any, error) {
	var sel []string
	for _, key := range sortedKeys(labels) {
		sel = append(sel, key+"="+labels[key])
	}
	var list struct{ Items []map[string]any }
	q := url.Values{"labelSelector": {strings.Join(sel, ",")}}
	if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, q, &list); err != nil {
		return nil, fmt.Errorf("list pods in %s: %v", ns, err)
	}
	var out []map[string]any
	for _, p := range list.Items {
		if dig(p, "metadata", "deletionTimestamp") == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := dig(out[i], "metadata", "name").(string)
		b, _ := dig(out[j], "metadata", "name").(string)
		return a < b
	})
	return out, nil
}

// controllerOf is "Kind/name" of an object's controller owner, or "".
func controllerOf(obj map[string]any) string {
	owners, _ := dig(obj, "metadata", "ownerReferences").([]any)
	for _, o := range owners {
		om, _ := o.(map[string]any)
		if om["controller"] == true {
			return fmt.Sprintf("%s/%s", om["kind"], om["name"])
		}
	}
	return ""
}

// dig follows map keys into generic JSON; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, key := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}
