//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// What the API server stores of what was applied: a field gitopsc renders
// that the server drops, rewrites or resolves differently is a cluster that
// is not the one the output describes (and a Flux that sees drift on every
// reconciliation). These checks read objects back after the apply.

// roundTripKinds are the kinds whose every rendered field must be stored
// unchanged, and whose re-apply must be a no-op. They hold no quantities
// (which the server writes in canonical form: "1000m" is stored as "1")
// and no controller here writes to them, so a changed resourceVersion can
// only come from the apply itself. Kustomization is Flux's, from flux/
// (no Flux runs here).
var roundTripKinds = map[string]bool{
	"Service": true, "NetworkPolicy": true, "ConfigMap": true, "Ingress": true,
	"ServiceAccount": true, "Kustomization": true,
}

// portMapping is a Service port that differs from the container port it
// leads to, as the shipped system declares it (environments/external.cue:
// nginx ports: http: {port: 80, targetPort: 8080}): the Service says
// port 80, targetPort "http"; the pods say containerPort 8080 named http;
// the clients' service-discovery config says 80; NetworkPolicies, which
// match pod ports, say 8080.
type portMapping struct {
	envs          []string
	namespace     string
	service       string
	deployment    string // whose pods the Service selects
	port          int    // spec.ports[0].port
	targetPort    string // spec.ports[0].targetPort, a named port
	containerPort int    // what targetPort names in the pod template
	configMap     ref    // a client's service-discovery config ...
	configKey     string // ... whose key holds the Service port
}

var portMappings = []portMapping{{
	envs:          []string{"local", "eks"},
	namespace:     "external-env",
	service:       "nginx",
	deployment:    "nginx",
	port:          80,
	targetPort:    "http",
	containerPort: 8080,
	configMap:     ref{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ai-agents", Name: "tester-agent"},
	configKey:     "NGINX_HTTP_PORT",
}}

// ipBlockPolicy is an egress NetworkPolicy to a declared external with
// ipBlock peers: the API server must store every cidr and except as
// rendered (it validates that each except lies inside its cidr).
type ipBlockPolicy struct {
	envs      []string
	namespace string
	name      string
	exceptsIn []string // environments whose rendering has except lists
}

var ipBlockPolicies = []ipBlockPolicy{{
	envs:      []string{"local", "eks"},
	namespace: "ai-agents",
	name:      "egress-planner-agent-to-llm-api-https",
	exceptsIn: []string{"local"}, // 0.0.0.0/0 and ::/0 less private ranges; eks names a /24
}}

func inList(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// getObject reads one stored object as generic JSON.
func getObject(ctx context.Context, k *kube, r ref) (map[string]any, error) {
	var obj map[string]any
	if err := k.get(ctx, r, nil, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// asJSON turns a rendered object (read from YAML) into the shapes
// encoding/json gives a stored one: numbers float64, maps map[string]any.
func asJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// subsetDiff lists where want (rendered) is not found unchanged in got
// (stored): every map key of want must be in got with the same value
// (got may have more: server defaults), and every list as long, element
// by element. Empty means the server kept everything rendered.
func subsetDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: rendered an object, stored %s", path, show(got))}
		}
		var out []string
		for _, key := range sortedKeys(w) {
			gv, ok := g[key]
			if !ok {
				if isEmpty(w[key]) {
					continue // an empty map or list may be omitted
				}
				out = append(out, fmt.Sprintf("%s.%s: rendered %s, not stored", path, key, show(w[key])))
				continue
			}
			out = append(out, subsetDiff(path+"."+key, w[key], gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: rendered %s, stored %s", path, show(want), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, subsetDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: rendered %s, stored %s", path, show(want), show(got))}
		}
		return nil
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkRoundTrip reads back every applied object of the round-trip kinds
// and requires each rendered field stored unchanged; then it applies the
// rendered object again, as Flux does on every reconciliation, and
// requires that to change nothing (the same resourceVersion): the server
// holds exactly what was rendered, not a defaulted or resolved variant
// that the next apply would fight. Deployments and StatefulSets, which
// controllers write to, get the read-back of their containers' ports.
func checkRoundTrip(t *testing.T, ctx context.Context, k *kube, tree *envTree) {
	t.Helper()
	began := time.Now()
	counts := map[string]int{}
	var rewritten []string
	layers := append([]layer{{name: "flux", files: tree.flux}}, tree.layers...)
	for _, l := range layers {
		for _, f := range l.files {
			r := refOf(f.obj)
			if isSOPS(f.obj) {
				continue // a placeholder stands in for it
			}
			switch {
			case roundTripKinds[r.Kind]:
				stored, err := getObject(ctx, k, r)
				if err != nil {
					t.Errorf("%s: read back %s: %v", f.rel, r, err)
					continue
				}
				for _, d := range subsetDiff(r.Kind, asJSON(f.obj), stored) {
					t.Errorf("%s: %s: the API server did not keep what was applied: %s", f.rel, r, d)
				}
				warnings, err := k.apply(ctx, f.obj)
				if err != nil {
					t.Errorf("%s: re-apply %s: %v", f.rel, r, err)
					continue
				}
				for _, w := range warnings {
					t.Errorf("%s: re-apply %s: the API server warned: %s", f.rel, r, w)
				}
				again, err := getObject(ctx, k, r)
				if err != nil {
					t.Errorf("%s: read back %s: %v", f.rel, r, err)
					continue
				}
				if a, b := resourceVersion(stored), resourceVersion(again); a != b {
					// Only managedFields may be rewritten (the first applies
					// of a CRD's objects, before its schema is published to
					// server-side apply, record their fields as atomic).
					if d := objectDiff("", content(stored), content(again)); len(d) > 0 {
						t.Errorf("%s: re-applying %s as rendered changed the stored object (resourceVersion %s → %s): %s", f.rel, r, a, b, strings.Join(d, "; "))
					} else {
						rewritten = append(rewritten, r.String())
					}
				}
				counts[r.Kind]++
			case r.Kind == "Deployment" || r.Kind == "StatefulSet":
				stored, err := getObject(ctx, k, r)
				if err != nil {
					t.Errorf("%s: read back %s: %v", f.rel, r, err)
					continue
				}
				want := containers(asJSON(f.obj))
				got := containers(stored)
				if len(want) != len(got) {
					t.Errorf("%s: %s: rendered %d containers, stored %d", f.rel, r, len(want), len(got))
					continue
				}
				for i := range want {
					name, _ := want[i]["name"].(string)
					for _, d := range subsetDiff(fmt.Sprintf("containers[%s].ports", name), want[i]["ports"], got[i]["ports"]) {
						t.Errorf("%s: %s: the API server did not keep the ports applied: %s", f.rel, r, d)
					}
				}
				counts[r.Kind]++
			}
		}
	}
	var parts []string
	for _, kind := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[kind], kind))
	}
	t.Logf("%s: read back after apply in %s, stored as rendered (re-apply a no-op for %s): %s",
		tree.name, since(began), strings.Join(sortedKeys(roundTripKinds), ", "), strings.Join(parts, ", "))
	if len(rewritten) > 0 {
		t.Logf("%s: re-apply rewrote only the managedFields of %s", tree.name, strings.Join(rewritten, ", "))
	}
}

// content is a stored object without what every write changes:
// metadata.resourceVersion and metadata.managedFields.
func content(obj map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		out[k] = v
	}
	meta := map[string]any{}
	m, _ := obj["metadata"].(map[string]any)
	for k, v := range m {
		if k != "resourceVersion" && k != "managedFields" {
			meta[k] = v
		}
	}
	out["metadata"] = meta
	return out
}

// objectDiff lists the paths where two JSON values differ.
func objectDiff(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var out []string
		for _, k := range sortedKeys(keys) {
			out = append(out, objectDiff(path+"."+k, am[k], bm[k])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("%s: %s → %s", strings.TrimPrefix(path, "."), show(a), show(b))}
	}
	return nil
}

func resourceVersion(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	v, _ := meta["resourceVersion"].(string)
	return v
}

// containers is spec.template.spec.containers of a workload.
func containers(obj any) []map[string]any {
	m, _ := obj.(map[string]any)
	for _, key := range []string{"spec", "template", "spec"} {
		m, _ = m[key].(map[string]any)
	}
	list, _ := m["containers"].([]any)
	var out []map[string]any
	for _, c := range list {
		cm, _ := c.(map[string]any)
		out = append(out, cm)
	}
	return out
}

// number reads a JSON number as an int (-1 when it is not one).
func number(v any) int {
	if f, ok := v.(float64); ok && f == float64(int(f)) {
		return int(f)
	}
	return -1
}

// storedPortMapping is what the API server holds of one portMapping.
type storedPortMapping struct {
	selector map[string]string // the Service's
	labels   map[string]string // the pod template's
}

// checkPortMappings asserts each known Service port ≠ container port
// mapping as the API server stores it, and returns what the endpoint
// check needs. The environment must render each mapping it is listed in.
func checkPortMappings(t *testing.T, ctx context.Context, k *kube, env string) map[*portMapping]storedPortMapping {
	t.Helper()
	out := map[*portMapping]storedPortMapping{}
	for i := range portMappings {
		m := &portMappings[i]
		if !inList(m.envs, env) {
			continue
		}
		svcRef := ref{APIVersion: "v1", Kind: "Service", Namespace: m.namespace, Name: m.service}
		var svc struct {
			Spec struct {
				Selector map[string]string
				Ports    []struct {
					Name, Protocol string
					Port           int
					TargetPort     any
				}
			}
		}
		if err := k.get(ctx, svcRef, nil, &svc); err != nil {
			t.Errorf("%s: %s: %v", env, svcRef, err)
			continue
		}
		if len(svc.Spec.Ports) == 0 {
			t.Errorf("%s: %s stored without ports", env, svcRef)
			continue
		}
		p := svc.Spec.Ports[0]
		if p.Port != m.port || p.TargetPort != m.targetPort {
			t.Errorf("%s: %s stored spec.ports[0] port %d targetPort %v, want port %d targetPort %q", env, svcRef, p.Port, show(p.TargetPort), m.port, m.targetPort)
		}

		depRef := ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: m.namespace, Name: m.deployment}
		var dep struct {
			Spec struct {
				Template struct {
					Metadata struct{ Labels map[string]string }
					Spec     struct {
						Containers []struct {
							Name  string
							Ports []struct {
								Name          string
								ContainerPort int
								Protocol      string
							}
						}
					}
				}
			}
		}
		if err := k.get(ctx, depRef, nil, &dep); err != nil {
			t.Errorf("%s: %s: %v", env, depRef, err)
			continue
		}
		declared := false
		var podPorts []string
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				podPorts = append(podPorts, fmt.Sprintf("%s %s:%d", c.Name, cp.Name, cp.ContainerPort))
				if cp.Name == m.targetPort {
					declared = declared || cp.ContainerPort == m.containerPort
					if cp.ContainerPort != m.containerPort {
						t.Errorf("%s: %s: container %s port %q stored as %d, want %d", env, depRef, c.Name, cp.Name, cp.ContainerPort, m.containerPort)
					}
				}
			}
		}
		if !declared {
			t.Errorf("%s: %s: no container declares containerPort %d named %q (stored: %v)", env, depRef, m.containerPort, m.targetPort, podPorts)
		}
		labels := dep.Spec.Template.Metadata.Labels
		if !matches(svc.Spec.Selector, labels) {
			t.Errorf("%s: %s selects %v, which the pod template of %s (labels %v) does not match", env, svcRef, svc.Spec.Selector, depRef, labels)
		}

		// The clients' config names the Service port, not the pod's.
		var cm struct{ Data map[string]string }
		if err := k.get(ctx, m.configMap, nil, &cm); err != nil {
			t.Errorf("%s: %s: %v", env, m.configMap, err)
		} else if got, want := cm.Data[m.configKey], fmt.Sprint(m.port); got != want {
			t.Errorf("%s: %s stored %s=%q, want %q (the Service port)", env, m.configMap, m.configKey, got, want)
		}

		// NetworkPolicies match the pod's port, not the Service's;
		// Ingress backends the Service's, not the pod's.
		policies := checkIngressPorts(t, ctx, k, env, m, labels)
		var svcPorts []string
		for _, sp := range svc.Spec.Ports {
			svcPorts = append(svcPorts, sp.Name, fmt.Sprint(sp.Port))
		}
		backends := checkIngressBackends(t, ctx, k, env, m, svcPorts)
		t.Logf("%s: %s stored port %d → targetPort %s; %s pods declare %v; %s %s=%s; %d ingress NetworkPolicies of its pods open %d; %d Ingress backends name a Service port",
			env, svcRef, p.Port, show(p.TargetPort), depRef, podPorts, m.configMap, m.configKey, cm.Data[m.configKey], policies, m.containerPort, backends)
		out[m] = storedPortMapping{selector: svc.Spec.Selector, labels: labels}
	}
	return out
}

// checkIngressPorts requires every stored ingress NetworkPolicy that
// selects the mapping's pods to name the container port (8080 or "http"),
// never the Service port, and at least one such policy; it returns how
// many there are.
func checkIngressPorts(t *testing.T, ctx context.Context, k *kube, env string, m *portMapping, labels map[string]string) int {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct {
				PodSelector struct{ MatchLabels map[string]string }
				Ingress     []struct {
					Ports []struct{ Port any }
				}
			}
		}
	}
	if err := k.get(ctx, ref{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: m.namespace}, nil, &list); err != nil {
		t.Errorf("%s: list NetworkPolicies in %s: %v", env, m.namespace, err)
		return 0
	}
	n := 0
	for _, np := range list.Items {
		if len(np.Spec.Ingress) == 0 || !matches(np.Spec.PodSelector.MatchLabels, labels) {
			continue
		}
		n++
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if number(p.Port) != m.containerPort && p.Port != m.targetPort {
					t.Errorf("%s: NetworkPolicy %s/%s lets in port %s to %s's pods, which listen on %d (%q); the Service port %d is not a pod port",
						env, m.namespace, np.Metadata.Name, show(p.Port), m.deployment, m.containerPort, m.targetPort, m.port)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s: no ingress NetworkPolicy selects the pods of %s/%s", env, m.namespace, m.deployment)
	}
	return n
}

// checkIngressBackends requires every stored Ingress backend that leads
// to the mapping's Service to name one of its ports (by name or number),
// not the pods' port; it returns how many there are.
func checkIngressBackends(t *testing.T, ctx context.Context, k *kube, env string, m *portMapping, svcPorts []string) int {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct {
				Rules []struct {
					HTTP *struct {
						Paths []struct {
							Backend struct {
								Service *struct {
									Name string
									Port struct {
										Name   string
										Number int
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if err := k.get(ctx, ref{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: m.namespace}, nil, &list); err != nil {
		t.Errorf("%s: list Ingresses in %s: %v", env, m.namespace, err)
		return 0
	}
	n := 0
	for _, ing := range list.Items {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				if b == nil || b.Name != m.service {
					continue
				}
				n++
				port := b.Port.Name
				if port == "" {
					port = fmt.Sprint(b.Port.Number)
				}
				if !inList(svcPorts, port) {
					t.Errorf("%s: Ingress %s/%s leads to port %s of Service %s, which has ports %v", env, m.namespace, ing.Metadata.Name, port, m.service, svcPorts)
				}
			}
		}
	}
	return n
}

// checkIPBlocks requires each listed egress NetworkPolicy stored with its
// ipBlock peers exactly as rendered: cidr and except list, in order.
func checkIPBlocks(t *testing.T, ctx context.Context, k *kube, tree *envTree) {
	t.Helper()
	rendered := map[ref]map[string]any{}
	for _, l := range tree.layers {
		for _, f := range l.files {
			rendered[refOf(f.obj)] = f.obj
		}
	}
	for _, p := range ipBlockPolicies {
		if !inList(p.envs, tree.name) {
			continue
		}
		r := ref{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: p.namespace, Name: p.name}
		obj, ok := rendered[r]
		if !ok {
			t.Errorf("%s: %s is not rendered", tree.name, r)
			continue
		}
		stored, err := getObject(ctx, k, r)
		if err != nil {
			t.Errorf("%s: %s: %v", tree.name, r, err)
			continue
		}
		want, got := ipBlocks(asJSON(obj)), ipBlocks(stored)
		if len(want) == 0 {
			t.Errorf("%s: %s renders no ipBlock egress peer", tree.name, r)
			continue
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: %s: egress ipBlocks rendered %s, stored %s", tree.name, r, show(want), show(got))
			continue
		}
		excepts := 0
		var cidrs []string
		for _, b := range want {
			excepts += len(b.Except)
			cidrs = append(cidrs, fmt.Sprintf("%s less %d", b.CIDR, len(b.Except)))
		}
		if inList(p.exceptsIn, tree.name) && excepts == 0 {
			t.Errorf("%s: %s renders no except list: the e2e no longer checks that one is stored intact", tree.name, r)
		}
		t.Logf("%s: %s stored with its egress ipBlocks intact: %s", tree.name, r, strings.Join(cidrs, ", "))
	}
}

type ipBlock struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// ipBlocks lists the egress ipBlock peers of a NetworkPolicy, in order.
func ipBlocks(obj any) []ipBlock {
	var np struct {
		Spec struct {
			Egress []struct {
				To []struct {
					IPBlock *ipBlock `json:"ipBlock"`
				} `json:"to"`
			} `json:"egress"`
		} `json:"spec"`
	}
	b, _ := json.Marshal(obj)
	_ = json.Unmarshal(b, &np)
	var out []ipBlock
	for _, e := range np.Spec.Egress {
		for _, peer := range e.To {
			if peer.IPBlock != nil {
				out = append(out, *peer.IPBlock)
			}
		}
	}
	return out
}

// endpointNode is the Node the endpoint check binds one pod to. Nothing
// runs on it: it exists so that the EndpointSlice controller, which skips
// pods whose node it cannot find, takes the pod in.
const endpointNode = "gitopsc-e2e-endpoints"

// checkEndpoints lets Kubernetes itself resolve each mapping's named
// targetPort: one pod of the Deployment is bound to a stand-in Node and
// given the status a kubelet would report (Running, an IP, Ready), and
// the EndpointSlice controller must then publish it for the Service with
// port 8080 under the name "http". Without a kubelet nothing else makes a
// pod ready. The pod is removed afterwards (force, as no kubelet would
// confirm a graceful deletion), and the Node with it; run this last.
func checkEndpoints(t *testing.T, ctx context.Context, k *kube, env string, mappings map[*portMapping]storedPortMapping) {
	t.Helper()
	if len(mappings) == 0 {
		return
	}
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": endpointNode, "labels": map[string]any{"gitopsc.dev/e2e": "endpoints"}},
	}
	nodeRef := refOf(node)
	if _, err := k.apply(ctx, node); err != nil {
		t.Errorf("%s: create %s: %v", env, nodeRef, err)
		return
	}
	defer func() {
		if err := k.remove(ctx, nodeRef); err != nil {
			t.Errorf("delete %s: %v", nodeRef, err)
		}
	}()
	ip := 10
	for m, s := range mappings {
		ip++
		podIP := fmt.Sprintf("10.244.0.%d", ip)
		pod, err := newestPod(ctx, k, m.namespace, s.labels)
		if err != nil {
			t.Errorf("%s: %s/%s: %v", env, m.namespace, m.deployment, err)
			continue
		}
		podRef := ref{APIVersion: "v1", Kind: "Pod", Namespace: m.namespace, Name: pod}
		func() {
			defer forceDelete(t, ctx, k, podRef)
			if err := bind(ctx, k, podRef, endpointNode); err != nil {
				t.Errorf("%s: bind %s to %s: %v", env, podRef, nodeRef, err)
				return
			}
			now := time.Now().UTC().Format(time.RFC3339)
			status := map[string]any{"status": map[string]any{
				"phase":  "Running",
				"podIP":  podIP,
				"podIPs": []any{map[string]any{"ip": podIP}},
				"conditions": []any{
					map[string]any{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
					map[string]any{"type": "Initialized", "status": "True", "lastTransitionTime": now},
					map[string]any{"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
					map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": now},
				},
			}}
			if err := k.mergePatch(ctx, podRef, "status", status); err != nil {
				t.Errorf("%s: report %s ready at %s: %v", env, podRef, podIP, err)
				return
			}
			began := time.Now()
			got, err := waitEndpoint(ctx, k, m.namespace, m.service, podIP)
			if err != nil {
				t.Errorf("%s: Service %s/%s: %v", env, m.namespace, m.service, err)
				return
			}
			want := fmt.Sprintf("%s %d/TCP", m.targetPort, m.containerPort)
			if !inList(got, want) {
				t.Errorf("%s: EndpointSlice of Service %s/%s publishes ready pod %s with ports %v, want %s (Service port %d, targetPort %q)",
					env, m.namespace, m.service, podIP, got, want, m.port, m.targetPort)
				return
			}
			fmt.Printf("e2e: %s: Service %s/%s port %d, targetPort %q: the EndpointSlice controller published ready pod %s at %s with port %s after %s\n",
				env, m.namespace, m.service, m.port, m.targetPort, pod, podIP, want, since(began))
		}()
	}
}

// newestPod is the most recently created pod with the labels that is
// not being deleted: in a rolling update, one of the new ReplicaSet's.
func newestPod(ctx context.Context, k *kube, ns string, labels map[string]string) (string, error) {
	var sel []string
	for _, key := range sortedKeys(labels) {
		sel = append(sel, key+"="+labels[key])
	}
	var pods struct {
		Items []struct {
			Metadata struct {
				Name              string
				CreationTimestamp string
				DeletionTimestamp *string
			}
		}
	}
	q := url.Values{"labelSelector": {strings.Join(sel, ",")}}
	if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, q, &pods); err != nil {
		return "", err
	}
	items := pods.Items[:0]
	for _, p := range pods.Items {
		if p.Metadata.DeletionTimestamp == nil {
			items = append(items, p)
		}
	}
	if len(items) == 0 {
		return "", fmt.Errorf("no pod to make ready")
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].Metadata, items[j].Metadata
		if a.CreationTimestamp != b.CreationTimestamp {
			return a.CreationTimestamp > b.CreationTimestamp
		}
		return a.Name < b.Name
	})
	return items[0].Metadata.Name, nil
}

// bind assigns a pod to a node, as the scheduler does.
func bind(ctx context.Context, k *kube, pod ref, node string) error {
	p, err := k.path(ctx, pod)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Binding",
		"metadata": map[string]any{"name": pod.Name, "namespace": pod.Namespace},
		"target":   map[string]any{"apiVersion": "v1", "kind": "Node", "name": node},
	})
	_, _, err = k.do(ctx, http.MethodPost, p+"/binding", nil, "application/json", body)
	return err
}

// forceDelete removes a pod at once: a pod bound to a node is otherwise
// kept until its kubelet confirms, and there is none.
func forceDelete(t *testing.T, ctx context.Context, k *kube, pod ref) {
	p, err := k.path(ctx, pod)
	if err == nil {
		body := []byte(`{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}`)
		_, _, err = k.do(ctx, http.MethodDelete, p, nil, "application/json", body)
	}
	if err != nil && !isNotFound(err) {
		t.Errorf("force-delete %s: %v", pod, err)
	}
}

// waitEndpoint waits until an EndpointSlice of the Service lists ip as
// ready and returns that slice's ports as "name port/protocol".
func waitEndpoint(ctx context.Context, k *kube, ns, service, ip string) ([]string, error) {
	q := url.Values{"labelSelector": {"kubernetes.io/service-name=" + service}}
	deadline := time.Now().Add(podTimeout)
	var last string
	for {
		var slices struct {
			Items []struct {
				Metadata  struct{ Name string }
				Endpoints []struct {
					Addresses  []string
					Conditions struct{ Ready *bool }
				}
				Ports []struct {
					Name     *string
					Port     *int
					Protocol *string
				}
			}
		}
		if err := k.get(ctx, ref{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice", Namespace: ns}, q, &slices); err != nil {
			return nil, err
		}
		var seen []string
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				ready := e.Conditions.Ready != nil && *e.Conditions.Ready
				seen = append(seen, fmt.Sprintf("%s %v ready=%v", s.Metadata.Name, e.Addresses, ready))
				if !ready || !inList(e.Addresses, ip) {
					continue
				}
				var ports []string
				for _, p := range s.Ports {
					name, proto, port := "", "TCP", -1
					if p.Name != nil {
						name = *p.Name
					}
					if p.Protocol != nil {
						proto = *p.Protocol
					}
					if p.Port != nil {
						port = *p.Port
					}
					ports = append(ports, fmt.Sprintf("%s %d/%s", name, port, proto))
				}
				return ports, nil
			}
		}
		last = fmt.Sprintf("%d EndpointSlices, endpoints %v", len(slices.Items), seen)
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no EndpointSlice lists ready pod %s after %s (%s)", ip, podTimeout, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
