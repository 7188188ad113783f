//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// deployment is one environment applied to the control plane.
type deployment struct {
	env        string
	objects    int // manifests applied (a SOPS file counts once, as its placeholder)
	namespaces []string
	quotas     []ref
	workloads  []*workload
	warnings   []string // the API server's warnings, "file: text"
	notes      []string // how secrets were stood in for, and charts installed
	cluster    []ref    // cluster-scoped objects charts installed, removed at the end
}

// workload is a Deployment, StatefulSet or Job and what should run of it.
type workload struct {
	ref      ref
	selector map[string]string // a Job's: the job-name label its controller puts on its pods
	replicas int               // spec.replicas; 1, Kubernetes' default, when absent; a Job's pods at once
	ordered  bool              // a StatefulSet with OrderedReady pod management
	rolling  bool              // a Deployment with the RollingUpdate strategy
	maxSurge any               // its strategy.rollingUpdate.maxSurge: a number, "N%" or nil
	hpa      *autoscaler
}

// surge is how many pods a rolling update of the workload adds to n:
// maxSurge, a percentage rounded up as the Deployment controller does.
func (w *workload) surge(n int) int {
	if !w.rolling {
		return 0
	}
	switch v := w.maxSurge.(type) {
	case float64:
		return int(v)
	case string:
		if pct, err := strconv.Atoi(strings.TrimSuffix(v, "%")); err == nil && strings.HasSuffix(v, "%") {
			return (pct*n + 99) / 100
		}
	case nil:
		return (25*n + 99) / 100 // Kubernetes' default, 25%
	}
	return 0
}

type autoscaler struct {
	ref      ref
	min, max int
}

// deploy applies the Flux Kustomizations, then each layer in dependsOn
// order, every object with server-side apply; it fails the test with the
// API server's message for every object refused. The namespaces it
// creates are deleted when the test ends.
func deploy(t *testing.T, ctx context.Context, k *kube, tree *envTree) *deployment {
	t.Helper()
	began := time.Now()
	d := &deployment{env: tree.name}
	t.Cleanup(func() { d.teardown(t, ctx, k) })
	apply := func(f file, obj map[string]any) bool {
		warnings, err := k.apply(ctx, obj)
		if err != nil {
			t.Errorf("%s: the API server refused %s: %v", f.rel, refOf(obj), err)
			return false
		}
		for _, w := range warnings {
			d.warnings = append(d.warnings, f.rel+": "+w)
		}
		return true
	}
	for _, f := range tree.flux {
		if apply(f, f.obj) {
			d.objects++
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	var order []string
	for _, l := range tree.layers {
		order = append(order, l.name)
		files := append([]file(nil), l.files...)
		sortForApply(files)
		for _, f := range files {
			obj := f.obj
			if isSOPS(obj) {
				// Flux decrypts SOPS files with the cluster's age key, which
				// a test does not have; apply what decryption would give.
				var keys []string
				obj, keys = placeholderSecret(obj)
				d.notes = append(d.notes, fmt.Sprintf("%s: %s is SOPS-encrypted: applied a placeholder in its place, %s with the same keys %v", tree.name, f.rel, refOf(obj), keys))
			}
			if !apply(f, obj) {
				continue
			}
			d.objects++
			d.record(t, obj)
			if r := refOf(obj); r.Kind == "HelmRelease" {
				d.installChart(t, ctx, k, tree, f, r)
			}
			if refOf(obj).Kind == "ExternalSecret" {
				// No operator runs here: create the Secret it would.
				s, keys := placeholderSecret(obj)
				d.notes = append(d.notes, fmt.Sprintf("%s: %s is an ExternalSecret: applied it, and in the operator's stead a placeholder %s with its keys %v", tree.name, f.rel, refOf(s), keys))
				apply(f, s)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		d.waitForQuotas(t, ctx, k)
	}
	t.Logf("%s: applied %d objects in %s; layers in dependsOn order: flux, %s", tree.name, d.objects, since(began), strings.Join(order, ", "))

	for _, w := range d.workloads {
		if w.ordered && w.replicas > 1 {
			t.Logf("%s: OrderedReady: only its first pod can be created without a kubelet to make it Ready", w.ref)
		}
	}
	return d
}

// applyOrder is the kind order kustomize and Flux apply a layer in.
var applyOrder = func() map[string]int {
	first := []string{"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
		"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
		"ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
		"PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget"}
	last := []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
	m := map[string]int{}
	for i, k := range first {
		m[k] = i - len(first) - 1
	}
	for i, k := range last {
		m[k] = i + 1
	}
	return m
}()

func sortForApply(files []file) {
	sort.SliceStable(files, func(i, j int) bool {
		a, b := refOf(files[i].obj), refOf(files[j].obj)
		if applyOrder[a.Kind] != applyOrder[b.Kind] {
			return applyOrder[a.Kind] < applyOrder[b.Kind]
		}
		if a.APIVersion+a.Kind != b.APIVersion+b.Kind {
			return a.APIVersion+a.Kind < b.APIVersion+b.Kind
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}

// record notes what the checks need of an applied object.
func (d *deployment) record(t *testing.T, obj map[string]any) {
	r := refOf(obj)
	var spec struct {
		Spec struct {
			Replicas            *int
			Selector            struct{ MatchLabels map[string]string }
			PodManagementPolicy string
			Strategy            struct {
				Type          string
				RollingUpdate struct{ MaxSurge any }
			}
			Parallelism    *int
			Completions    *int
			ScaleTargetRef struct{ APIVersion, Kind, Name string }
			MinReplicas    *int
			MaxReplicas    int
		}
	}
	b, _ := json.Marshal(obj)
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	s := spec.Spec
	switch r.Kind {
	case "Namespace":
		d.namespaces = append(d.namespaces, r.Name)
	case "ResourceQuota":
		d.quotas = append(d.quotas, r)
	case "Deployment", "StatefulSet":
		w := &workload{ref: r, selector: s.Selector.MatchLabels, replicas: 1}
		if s.Replicas != nil {
			w.replicas = *s.Replicas
		}
		w.ordered = r.Kind == "StatefulSet" && s.PodManagementPolicy != "Parallel"
		w.rolling = r.Kind == "Deployment" && s.Strategy.Type != "Recreate"
		w.maxSurge = s.Strategy.RollingUpdate.MaxSurge
		d.workloads = append(d.workloads, w)
	case "Job":
		// The Job controller creates parallelism pods at once (1 by
		// default), no more than completions, and labels them with the
		// Job's name; its selector (the Job's uid) is its own.
		w := &workload{ref: r, selector: map[string]string{"batch.kubernetes.io/job-name": r.Name}, replicas: 1}
		if s.Parallelism != nil {
			w.replicas = *s.Parallelism
		}
		if s.Completions != nil && *s.Completions < w.replicas {
			w.replicas = *s.Completions
		}
		d.workloads = append(d.workloads, w)
	case "HorizontalPodAutoscaler":
		h := &autoscaler{ref: r, min: 1, max: s.MaxReplicas}
		if s.MinReplicas != nil {
			h.min = *s.MinReplicas
		}
		for _, w := range d.workloads {
			if w.ref.Kind == s.ScaleTargetRef.Kind && w.ref.Name == s.ScaleTargetRef.Name && w.ref.Namespace == r.Namespace {
				w.hpa = h
			}
		}
		if !d.hasTarget(h) {
			t.Errorf("%s scales %s %s, which this environment does not render", r, s.ScaleTargetRef.Kind, s.ScaleTargetRef.Name)
		}
	}
}

func (d *deployment) hasTarget(h *autoscaler) bool {
	for _, w := range d.workloads {
		if w.hpa == h {
			return true
		}
	}
	return false
}

// waitForQuotas waits until the quota controller has computed the status
// of every ResourceQuota applied so far: until then quota admission
// refuses every pod of the namespace ("status unknown for quota").
func (d *deployment) waitForQuotas(t *testing.T, ctx context.Context, k *kube) {
	deadline := time.Now().Add(30 * time.Second)
	for _, q := range d.quotas {
		for {
			var rq struct {
				Status struct{ Hard, Used map[string]string }
			}
			if err := k.get(ctx, q, nil, &rq); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if len(rq.Status.Hard) > 0 && rq.Status.Used != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the quota controller computed no status in 30s", q)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// expected is how many pods each workload should have: its HPA's minimum
// (the HPA controller raises replicas to it) or maximum, else its replicas.
func (d *deployment) expected(atMaximum bool) map[*workload]int {
	want := map[*workload]int{}
	for _, w := range d.workloads {
		n := w.replicas
		if w.hpa != nil {
			n = w.hpa.min
			if atMaximum {
				n = w.hpa.max
			}
		}
		if w.ordered && n > 1 {
			n = 1
		}
		want[w] = n
	}
	return want
}

// scaleToMaximum deletes each HPA, so that its controller leaves the
// replicas alone, and scales its target to the HPA's maximum.
func (d *deployment) scaleToMaximum(t *testing.T, ctx context.Context, k *kube) {
	for _, w := range d.workloads {
		if w.hpa == nil {
			continue
		}
		if err := k.remove(ctx, w.hpa.ref); err != nil {
			t.Fatalf("delete %s: %v", w.hpa.ref, err)
		}
		patch := map[string]any{"spec": map[string]any{"replicas": w.hpa.max}}
		if err := k.mergePatch(ctx, w.ref, "scale", patch); err != nil {
			t.Fatalf("scale %s to %d: %v", w.ref, w.hpa.max, err)
		}
		t.Logf("%s: scaled to its HPA maximum, %d", w.ref, w.hpa.max)
	}
}

// rollOut starts a rolling update of every Deployment at once, as
// kubectl rollout restart does, and returns the pods each workload should
// then have: with no kubelet no pod becomes ready, so the Deployment
// controller holds each at its replicas plus its surge, old and new pods
// together. That is the quota rule's worst case, all at the same time.
func (d *deployment) rollOut(t *testing.T, ctx context.Context, k *kube, now map[*workload]int) map[*workload]int {
	want := map[*workload]int{}
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	for _, w := range d.workloads {
		want[w] = now[w]
		if !w.rolling {
			continue
		}
		patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]any{"gitopsc.dev/e2e-restarted-at": stamp}}}}}
		if err := k.mergePatch(ctx, w.ref, "", patch); err != nil {
			t.Fatalf("restart %s: %v", w.ref, err)
		}
		want[w] += w.surge(now[w])
	}
	return want
}

// snapshot is what the controllers have done so far.
type snapshot struct {
	order  []*workload
	want   map[*workload]int
	pods   map[*workload]int      // pods admitted (and not being deleted)
	failed map[*workload][]string // messages of FailedCreate events
}

func (s *snapshot) total() int {
	n := 0
	for _, c := range s.pods {
		n += c
	}
	return n
}

func (s *snapshot) counts() string {
	var parts []string
	for _, w := range s.order {
		parts = append(parts, fmt.Sprintf("%s/%s %d/%d", w.ref.Namespace, w.ref.Name, s.pods[w], s.want[w]))
	}
	return strings.Join(parts, ", ")
}

func (s *snapshot) complete() bool {
	for _, w := range s.order {
		if s.pods[w] != s.want[w] {
			return false
		}
	}
	return true
}

// requireAdmitted fails the test unless every workload has the pods it
// should and none was refused, quoting the API server's refusals.
func (s *snapshot) requireAdmitted(t *testing.T) {
	t.Helper()
	for _, w := range s.order {
		for _, m := range s.failed[w] {
			t.Errorf("%s: the API server refused a pod: %s", w.ref, m)
		}
		if s.pods[w] != s.want[w] {
			t.Errorf("%s: %d pods admitted, want %d", w.ref, s.pods[w], s.want[w])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// waitPods polls until done says so (by default: every workload has the
// pods it should, or a pod was refused) or E2E_POD_TIMEOUT passes.
func waitPods(t *testing.T, ctx context.Context, k *kube, d *deployment, want map[*workload]int, done func(*snapshot) bool) *snapshot {
	t.Helper()
	if done == nil {
		done = func(s *snapshot) bool {
			for _, m := range s.failed {
				if len(m) > 0 {
					return true
				}
			}
			return s.complete()
		}
	}
	began := time.Now()
	deadline := began.Add(podTimeout)
	for {
		s, err := d.observe(ctx, k, want)
		if err != nil {
			t.Fatal(err)
		}
		if done(s) {
			t.Logf("pods after %s: %s", since(began), s.counts())
			return s
		}
		if time.Now().After(deadline) {
			t.Logf("gave up waiting after %s: pods %s", podTimeout, s.counts())
			return s
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (d *deployment) observe(ctx context.Context, k *kube, want map[*workload]int) (*snapshot, error) {
	s := &snapshot{order: d.workloads, want: want, pods: map[*workload]int{}, failed: map[*workload][]string{}}
	byNamespace := map[string][]*workload{}
	for _, w := range d.workloads {
		byNamespace[w.ref.Namespace] = append(byNamespace[w.ref.Namespace], w)
	}
	for _, ns := range sortedKeys(byNamespace) {
		var pods struct {
			Items []struct {
				Metadata struct {
					Labels            map[string]string
					DeletionTimestamp *string
				}
			}
		}
		if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Pod", Namespace: ns}, nil, &pods); err != nil {
			return nil, fmt.Errorf("list pods in %s: %v", ns, err)
		}
		for _, p := range pods.Items {
			if p.Metadata.DeletionTimestamp != nil {
				continue
			}
			for _, w := range byNamespace[ns] {
				if matches(w.selector, p.Metadata.Labels) {
					s.pods[w]++
				}
			}
		}
		var events struct {
			Items []struct {
				Reason, Message string
				InvolvedObject  struct{ Kind, Name string }
			}
		}
		q := url.Values{"fieldSelector": {"reason=FailedCreate"}}
		if err := k.get(ctx, ref{APIVersion: "v1", Kind: "Event", Namespace: ns}, q, &events); err != nil {
			return nil, fmt.Errorf("list events in %s: %v", ns, err)
		}
		for _, e := range events.Items {
			for _, w := range byNamespace[ns] {
				if owns(w, e.InvolvedObject.Kind, e.InvolvedObject.Name) && !contains(s.failed[w], e.Message) {
					s.failed[w] = append(s.failed[w], e.Message)
				}
			}
		}
	}
	return s, nil
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// owns reports whether an event's object is the workload's: the
// StatefulSet or Job itself, or a ReplicaSet of the Deployment (NAME-HASH).
func owns(w *workload, kind, name string) bool {
	switch w.ref.Kind {
	case "StatefulSet", "Job":
		return kind == w.ref.Kind && name == w.ref.Name
	case "Deployment":
		i := strings.LastIndex(name, "-")
		return kind == "ReplicaSet" && i > 0 && name[:i] == w.ref.Name
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kinds counts the workloads by kind: "2 Deployment, 1 Job".
func (d *deployment) kinds() string {
	n := map[string]int{}
	for _, w := range d.workloads {
		n[w.ref.Kind]++
	}
	var parts []string
	for _, k := range sortedKeys(n) {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
	}
	return strings.Join(parts, ", ")
}

// quotaUsage lists each quota's use as the API server accounts it.
func quotaUsage(t *testing.T, ctx context.Context, k *kube, d *deployment) []string {
	var out []string
	for _, q := range d.quotas {
		var rq struct {
			Status struct{ Hard, Used map[string]string }
		}
		if err := k.get(ctx, q, nil, &rq); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var parts []string
		for _, r := range sortedKeys(rq.Status.Hard) {
			parts = append(parts, fmt.Sprintf("%s %s/%s", r, rq.Status.Used[r], rq.Status.Hard[r]))
		}
		out = append(out, fmt.Sprintf("%s used: %s", q, strings.Join(parts, ", ")))
	}
	return out
}

// teardown deletes the environment's namespaces and waits until the
// namespace controller has removed them with everything in them, so the
// next environment starts clean.
func (d *deployment) teardown(t *testing.T, ctx context.Context, k *kube) {
	began := time.Now()
	defer func() { t.Logf("%s: namespaces deleted in %s", d.env, since(began)) }()
	if len(d.cluster) > 0 {
		defer removeAndWait(t, ctx, k, d.cluster, 2*time.Minute)
	}
	for _, ns := range d.namespaces {
		if err := k.remove(ctx, ref{APIVersion: "v1", Kind: "Namespace", Name: ns}); err != nil {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, ns := range d.namespaces {
		for {
			var obj map[string]any
			err := k.get(ctx, ref{APIVersion: "v1", Kind: "Namespace", Name: ns}, nil, &obj)
			if isNotFound(err) {
				break
			}
			if err != nil {
				t.Errorf("namespace %s: %v", ns, err)
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("namespace %s still there 2 minutes after its deletion", ns)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(100 * time.Millisecond)
}

// installChart does what helm-controller does for the HelmRelease r, which
// no controller reconciles here: it applies the objects its chart renders,
// CRDs first and established before anything else, the rest in Helm's
// kind order, each checked as the layers' objects are (the API server must
// take it without a warning, its pods are waited for). A HelmRelease
// gitopsc rendered no objects for fails the test.
func (d *deployment) installChart(t *testing.T, ctx context.Context, k *kube, tree *envTree, f file, r ref) {
	t.Helper()
	objs, ok := tree.charts[r.Name]
	if !ok {
		t.Fatalf("%s: %s: no chart objects for it (tree.charts has %d charts)", f.rel, r, len(tree.charts))
	}
	var crds, rest []file
	var webhooks []string
	for _, o := range objs {
		switch refOf(o.obj).Kind {
		case "CustomResourceDefinition":
			crds = append(crds, o)
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
			// Served by a pod of the chart, which no kubelet runs here:
			// the API server would refuse what it checks.
			webhooks = append(webhooks, refOf(o.obj).String())
		default:
			rest = append(rest, o)
		}
	}
	var names []string
	for _, c := range crds {
		// One the test installed before (the reduced External Secrets
		// CRD) is replaced by the chart's, and kept at the end.
		var existing map[string]any
		err := k.get(ctx, refOf(c.obj), nil, &existing)
		existed := err == nil
		if _, err := k.apply(ctx, c.obj); err != nil {
			t.Errorf("%s: the API server refused %s: %v", c.rel, refOf(c.obj), err)
			continue
		}
		names = append(names, refOf(c.obj).Name)
		if !existed {
			d.cluster = append(d.cluster, refOf(c.obj))
		}
	}
	waitEstablished(t, ctx, k, names)
	sortForApply(rest)
	for _, o := range rest {
		warnings, err := k.apply(ctx, o.obj)
		if err != nil {
			t.Errorf("%s: the API server refused %s: %v", o.rel, refOf(o.obj), err)
			continue
		}
		for _, w := range warnings {
			d.warnings = append(d.warnings, o.rel+": "+w)
		}
		if or := refOf(o.obj); or.Namespace == "" {
			d.cluster = append(d.cluster, or)
		}
		d.record(t, o.obj)
	}
	d.objects += len(crds) + len(rest)
	d.notes = append(d.notes, fmt.Sprintf("%s: %s: no helm-controller runs here: applied in its stead the %d objects its chart renders (%d CRDs first)", tree.name, r, len(crds)+len(rest), len(crds)))
	if len(webhooks) > 0 {
		d.notes = append(d.notes, fmt.Sprintf("%s: %s: not applied, as no kubelet runs the pod that would answer them: %s", tree.name, r, strings.Join(webhooks, ", ")))
	}
}

// chartObjects renders the input in dir for env and returns, by chart
// name (the name of its HelmRelease), the objects each chart renders.
func chartObjects(t *testing.T, dir, env string) map[string][]file {
	t.Helper()
	in, err := load.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var selected []*model.Environment
	for _, e := range in.Environments {
		if e.Name == env {
			selected = append(selected, e)
		}
	}
	results, err := compiler.Render(in, selected, lock)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]file{}
	for _, r := range results {
		for _, o := range r.Output.Charted {
			whole, err := o.Whole()
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(whole)
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			obj["apiVersion"], obj["kind"] = o.APIVersion, o.Kind
			delete(obj, "status")
			chart := o.Source.Chart
			out[chart] = append(out[chart], file{rel: "chart " + chart + ": " + o.Source.Template, obj: obj})
		}
	}
	return out
}
