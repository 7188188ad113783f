package reach

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// renderedSystem builds what gitopsc renders for n workloads in namespaces of
// 50: in each namespace a default deny and DNS egress to kube-system; per
// workload an ingress policy admitting its callers on the named port "http"
// and the monitoring namespace on "metrics", and an egress policy to each of
// the three workloads it talks to.
func renderedSystem(n int) ([]Namespace, []Workload, []networkingv1.NetworkPolicy) {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	var nss []Namespace
	var ws []Workload
	for i := range n {
		ns := fmt.Sprintf("ns%03d", i/50)
		if i%50 == 0 {
			nss = append(nss, Namespace{Name: ns, Labels: map[string]string{"gitopsc.io/system": "bench"}})
		}
		ws = append(ws, Workload{
			Namespace: ns,
			Name:      fmt.Sprintf("w%04d", i),
			PodLabels: map[string]string{"app.kubernetes.io/name": fmt.Sprintf("w%04d", i), "app.kubernetes.io/part-of": "bench"},
			Ports:     []Port{{Name: "http", Number: 8080 + int32(i%3)}, {Name: "metrics", Number: 9090}},
		})
	}
	nss = append(nss, Namespace{Name: "monitoring"})
	ws = append(ws, Workload{Namespace: "monitoring", Name: "prometheus",
		PodLabels: map[string]string{"app.kubernetes.io/name": "prometheus"}, Ports: []Port{{Name: "http", Number: 9090}}})

	var ps []networkingv1.NetworkPolicy
	for _, ns := range nss {
		ps = append(ps, denyAll(ns.Name)...)
		ps = append(ps, netpol(ns.Name, "allow-dns", selecting(sel()), types(egress),
			allowOut(on(udp(53), tcp(53)), podsInNamespaces(sel(NamespaceNameLabel, "kube-system"), sel("k8s-app", "kube-dns")))))
	}
	callers := make([][]int, n)
	for i := range n {
		out := netpol(ws[i].Namespace, ws[i].Name+"-egress", selecting(sel("app.kubernetes.io/name", ws[i].Name)), types(egress))
		for range 3 {
			j := rng.IntN(n)
			callers[j] = append(callers[j], i)
			allowOut(on(tcp(8080+int32(j%3))), podsInNamespaces(sel(NamespaceNameLabel, ws[j].Namespace), sel("app.kubernetes.io/name", ws[j].Name)))(&out)
		}
		ps = append(ps, out)
	}
	for j := range n {
		in := netpol(ws[j].Namespace, ws[j].Name+"-ingress", selecting(sel("app.kubernetes.io/name", ws[j].Name)), types(ingress),
			allowIn(on(named("metrics")), namespaces(sel(NamespaceNameLabel, "monitoring"))))
		for _, i := range callers[j] {
			allowIn(on(named("http")), podsInNamespaces(sel(NamespaceNameLabel, ws[i].Namespace), sel("app.kubernetes.io/name", ws[i].Name)))(&in)
		}
		ps = append(ps, in)
	}
	ps = append(ps, netpol("monitoring", "prometheus-egress", selecting(sel("app.kubernetes.io/name", "prometheus")), types(egress),
		allowOut(on(named("metrics")), namespaces(sel("gitopsc.io/system", "bench")))))
	return nss, ws, ps
}

func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		nss, ws, ps := renderedSystem(n)
		b.Run(fmt.Sprintf("rendered/workloads=%d/policies=%d", len(ws), len(ps)), func(b *testing.B) {
			var r *Result
			for b.Loop() {
				var err error
				if r, err = Analyze(nss, ws, ps); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(r.Flows)), "flows")
		})
	}
	// Without policies every pair is a flow: the output is quadratic.
	nss, ws, _ := renderedSystem(1000)
	b.Run(fmt.Sprintf("unisolated/workloads=%d", len(ws)), func(b *testing.B) {
		var r *Result
		for b.Loop() {
			var err error
			if r, err = Analyze(nss, ws, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(r.Flows)), "flows")
	})
}

func BenchmarkExplain(b *testing.B) {
	nss, ws, ps := renderedSystem(1000)
	r, err := Analyze(nss, ws, ps)
	if err != nil {
		b.Fatal(err)
	}
	f := r.Flows[len(r.Flows)/2]
	for b.Loop() {
		if v, _ := r.Explain(f.From, f.To, f.Port, corev1.ProtocolTCP); !v.Allowed() {
			b.Fatal("flow not allowed")
		}
	}
}

// The rendered system's flows are what its policies say: every call on http,
// monitoring on metrics, and nothing else.
func TestRenderedSystemFlows(t *testing.T) {
	nss, ws, ps := renderedSystem(60)
	r, err := Analyze(nss, ws, ps)
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r, nss, ws, ps)
	fromPrometheus := 0
	for _, f := range r.Flows {
		if f.From.Name == "prometheus" {
			fromPrometheus++
		}
	}
	if fromPrometheus != 60 {
		t.Errorf("%d flows from prometheus, want 60", fromPrometheus)
	}
	if calls := len(r.Flows) - fromPrometheus; calls == 0 || calls > 3*60 {
		t.Errorf("%d flows between workloads, want 1 to %d: three calls each", calls, 3*60)
	}
}
