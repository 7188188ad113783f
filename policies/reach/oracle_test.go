package reach

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// oracleFlows evaluates every connection between the workloads directly on
// the NetworkPolicy objects, one policy at a time, as the Kubernetes
// documentation states the rules; it shares no code with Analyze but the
// selector conversion.
func oracleFlows(t testing.TB, nss []Namespace, ws []Workload, ps []networkingv1.NetworkPolicy) []string {
	t.Helper()
	nsLabels := map[string]labels.Set{}
	for _, ns := range nss {
		set := labels.Set{}
		for k, v := range ns.Labels {
			set[k] = v
		}
		set[NamespaceNameLabel] = ns.Name
		nsLabels[ns.Name] = set
	}
	for _, w := range ws {
		if nsLabels[w.Namespace] == nil {
			nsLabels[w.Namespace] = labels.Set{NamespaceNameLabel: w.Namespace}
		}
	}
	matches := func(s *metav1.LabelSelector, l map[string]string) bool {
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel.Matches(labels.Set(l))
	}
	portAllowed := func(ports []networkingv1.NetworkPolicyPort, p Port) bool {
		if len(ports) == 0 {
			return true
		}
		for _, np := range ports {
			proto := corev1.ProtocolTCP
			if np.Protocol != nil {
				proto = *np.Protocol
			}
			if proto != protocolOrTCP(p.Protocol) {
				continue
			}
			switch {
			case np.Port == nil:
				return true
			case np.Port.Type == intstr.String:
				if np.Port.StrVal == p.Name {
					return true
				}
			default:
				last := np.Port.IntVal
				if np.EndPort != nil {
					last = *np.EndPort
				}
				if np.Port.IntVal <= p.Number && p.Number <= last {
					return true
				}
			}
		}
		return false
	}
	peerAllowed := func(peers []networkingv1.NetworkPolicyPeer, policyNs string, w Workload) bool {
		if len(peers) == 0 {
			return true
		}
		for _, pe := range peers {
			switch {
			case pe.IPBlock != nil:
			case pe.NamespaceSelector == nil:
				if w.Namespace == policyNs && matches(pe.PodSelector, w.PodLabels) {
					return true
				}
			default:
				if matches(pe.NamespaceSelector, nsLabels[w.Namespace]) && (pe.PodSelector == nil || matches(pe.PodSelector, w.PodLabels)) {
					return true
				}
			}
		}
		return false
	}
	// allows decides for one end: self is the pod whose policies apply,
	// other the pod at the far end, dst the destination's port.
	allows := func(dir networkingv1.PolicyType, self, other Workload, dst Port) bool {
		isolated := false
		for _, p := range ps {
			if p.Namespace != self.Namespace || !matches(&p.Spec.PodSelector, self.PodLabels) {
				continue
			}
			has := slices.Contains(p.Spec.PolicyTypes, dir)
			if len(p.Spec.PolicyTypes) == 0 {
				has = dir == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
			}
			if !has {
				continue
			}
			isolated = true
			if dir == networkingv1.PolicyTypeIngress {
				for _, r := range p.Spec.Ingress {
					if portAllowed(r.Ports, dst) && peerAllowed(r.From, p.Namespace, other) {
						return true
					}
				}
			} else {
				for _, r := range p.Spec.Egress {
					if portAllowed(r.Ports, dst) && peerAllowed(r.To, p.Namespace, other) {
						return true
					}
				}
			}
		}
		return !isolated
	}

	flows := map[Flow]bool{}
	names := map[Flow][]string{}
	for _, from := range ws {
		for _, to := range ws {
			for _, p := range to.Ports {
				f := Flow{
					From:     WorkloadRef{Namespace: from.Namespace, Name: from.Name},
					To:       WorkloadRef{Namespace: to.Namespace, Name: to.Name},
					Port:     p.Number,
					Protocol: protocolOrTCP(p.Protocol),
				}
				if p.Name != "" {
					names[f] = append(names[f], p.Name)
				}
				if allows(networkingv1.PolicyTypeEgress, from, to, p) && allows(networkingv1.PolicyTypeIngress, to, from, p) {
					flows[f] = true
				}
			}
		}
	}
	var list []Flow
	for f := range flows {
		if n := names[f]; len(n) > 0 {
			f.PortName = slices.Min(n)
		}
		list = append(list, f)
	}
	slices.SortFunc(list, CompareFlows)
	return flowStrings(list)
}

// TestAgainstOracle runs Analyze on many small random systems and checks
// each against the oracle.
func TestAgainstOracle(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		checkRandomSystem(t, seed)
	}
}

// FuzzAgainstOracle explores further seeds: go test -fuzz FuzzAgainstOracle.
func FuzzAgainstOracle(f *testing.F) {
	f.Add(uint64(1_000_000))
	f.Fuzz(func(t *testing.T, seed uint64) { checkRandomSystem(t, seed) })
}

func checkRandomSystem(t *testing.T, seed uint64) {
	t.Helper()
	nss, ws, ps := randomSystem(rand.New(rand.NewPCG(seed, 0)))
	r, err := Analyze(nss, ws, ps)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
		checkConsistent(t, r, nss, ws, ps)
	})
}

// randomSystem draws namespaces, workloads and valid policies from small
// vocabularies, so that selectors, named ports and ranges collide often.
func randomSystem(rng *rand.Rand) ([]Namespace, []Workload, []networkingv1.NetworkPolicy) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	nsNames := []string{"a", "b", "c", "d"}
	var nss []Namespace
	for _, n := range nsNames {
		if rng.IntN(5) == 0 {
			continue // workloads there get an implicit namespace
		}
		l := map[string]string{}
		if rng.IntN(3) > 0 {
			l["team"] = pick("x", "y")
		}
		if rng.IntN(2) == 0 {
			l["env"] = pick("x", "y")
		}
		nss = append(nss, Namespace{Name: n, Labels: l})
	}

	portPool := []Port{
		{Name: "http", Number: 80},
		{Name: "http", Number: 8080},
		{Name: "web", Number: 80},
		{Name: "metrics", Number: 9100},
		{Name: "dns", Number: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", Number: 53},
		{Number: 443},
		{Number: 8500},
		{Name: "sctp", Number: 5000, Protocol: corev1.ProtocolSCTP},
	}
	var ws []Workload
	for i := range 2 + rng.IntN(11) {
		w := Workload{Namespace: pick(nsNames...), Name: fmt.Sprintf("w%d", i), PodLabels: map[string]string{}}
		if rng.IntN(4) > 0 {
			w.PodLabels["app"] = pick("p", "q", "r")
		}
		if rng.IntN(2) == 0 {
			w.PodLabels["tier"] = pick("p", "q")
		}
		for range rng.IntN(4) {
			w.Ports = append(w.Ports, portPool[rng.IntN(len(portPool))])
		}
		ws = append(ws, w)
	}

	selector := func(keys []string, values ...string) *metav1.LabelSelector {
		s := &metav1.LabelSelector{}
		for range rng.IntN(3) {
			key := keys[rng.IntN(len(keys))]
			switch rng.IntN(5) {
			case 0:
				s.MatchLabels = map[string]string{key: pick(values...)}
			case 1:
				s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{
					Key: key, Operator: metav1.LabelSelectorOpIn, Values: []string{pick(values...), pick(values...)}})
			case 2:
				s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{
					Key: key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{pick(values...)}})
			case 3:
				s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpExists})
			case 4:
				s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpDoesNotExist})
			}
		}
		return s
	}
	podSel := func() *metav1.LabelSelector { return selector([]string{"app", "tier"}, "p", "q", "r") }
	nsSel := func() *metav1.LabelSelector {
		return selector([]string{"team", "env", NamespaceNameLabel}, "x", "y", "a", "b", "c", "kube-system")
	}
	peers := func() []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for range rng.IntN(3) {
			switch rng.IntN(4) {
			case 0:
				out = append(out, pods(podSel()))
			case 1:
				out = append(out, namespaces(nsSel()))
			case 2:
				out = append(out, podsInNamespaces(nsSel(), podSel()))
			case 3:
				out = append(out, cidr("10.0.0.0/8", "10.1.0.0/16"))
			}
		}
		return out
	}
	portRules := []networkingv1.NetworkPolicyPort{
		tcp(80), tcp(53), udp(53), tcp(443), named("http"), named("metrics"), named("dns"), named("dns-tcp"),
		tcpRange(8000, 9000), tcpRange(50, 100), allOf(corev1.ProtocolUDP), allOf(corev1.ProtocolTCP), allOf(corev1.ProtocolSCTP),
	}
	ports := func() []networkingv1.NetworkPolicyPort {
		var out []networkingv1.NetworkPolicyPort
		for range rng.IntN(3) {
			out = append(out, portRules[rng.IntN(len(portRules))])
		}
		return out
	}
	typeChoices := [][]networkingv1.PolicyType{nil, {ingress}, {egress}, {ingress, egress}}

	var ps []networkingv1.NetworkPolicy
	for i := range rng.IntN(9) {
		p := netpol(pick(nsNames...), fmt.Sprintf("p%d", i), types(typeChoices[rng.IntN(len(typeChoices))]...))
		if rng.IntN(3) > 0 {
			p.Spec.PodSelector = *podSel()
		}
		for range rng.IntN(3) {
			allowIn(ports(), peers()...)(&p)
		}
		for range rng.IntN(3) {
			allowOut(ports(), peers()...)(&p)
		}
		ps = append(ps, p)
	}
	return nss, ws, ps
}
