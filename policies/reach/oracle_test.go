package reach

import (
	"cmp"
	"fmt"
	"maps"
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
	nsLabels := oracleNamespaces(nss, ws)
	matches := func(s *metav1.LabelSelector, l map[string]string) bool { return oracleMatches(t, s, l) }
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
			if !oracleIsolates(&p, dir) {
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

// oracleNamespaces returns the labels of every namespace the workloads live
// in or that is given, with NamespaceNameLabel set as the API server sets it.
func oracleNamespaces(nss []Namespace, ws []Workload) map[string]labels.Set {
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
	return nsLabels
}

func oracleMatches(t testing.TB, s *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(l))
}

func oracleSelectorString(t testing.TB, s *metav1.LabelSelector) string {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel.String()
}

// oracleIsolates reports whether p isolates the pods it selects in
// direction dir: policyTypes says so or, when it is empty, every policy
// isolates ingress and one with egress rules isolates egress too.
func oracleIsolates(p *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return dir == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, dir)
}

// unmentioned is a label value no selector in the tests mentions, nor any
// namespace is named.
const unmentioned = "zz-unmentioned"

// oracleLabelSets lists label sets that together try every way s can be
// met: each key s mentions absent, or with each value s mentions, or with
// one it does not. Whether s matches a label set depends only on those
// choices, so s is satisfiable exactly when it matches one of them. The key
// always, when not empty, is present in every set.
func oracleLabelSets(s *metav1.LabelSelector, always string) []labels.Set {
	values := map[string][]string{}
	if always != "" {
		values[always] = nil
	}
	for k, v := range s.MatchLabels {
		values[k] = append(values[k], v)
	}
	for _, e := range s.MatchExpressions {
		values[e.Key] = append(values[e.Key], e.Values...)
	}
	sets := []labels.Set{{}}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		choices := append(slices.Clone(values[k]), unmentioned)
		var next []labels.Set
		for _, set := range sets {
			if k != always {
				next = append(next, set) // k absent
			}
			for _, v := range choices {
				with := maps.Clone(set)
				with[k] = v
				next = append(next, with)
			}
		}
		sets = next
	}
	return sets
}

// oracleExternal lists, for each workload (in order) and direction (egress
// first), the access the policies give it to and from peers outside the
// workloads: Unisolated when no policy isolates the direction; otherwise,
// for every rule of the policies that do, in policy and rule order, AnyPeer
// for a rule without peers, and for each peer in turn an IPBlock entry for
// an ipBlock, whatever other peers the rule has, and an OtherNamespaces
// entry for a namespaceSelector that can match a namespace not given, with
// pods its podSelector can match. Ports are the rule's, nil for every port,
// named ports kept as names. Like oracleFlows it reads the NetworkPolicy
// objects directly and shares no code with Analyze but the selector
// conversion; namespaces are tried by enumeration (oracleLabelSets) rather
// than solved for.
func oracleExternal(t testing.TB, nss []Namespace, ws []Workload, ps []networkingv1.NetworkPolicy) []ExternalAccess {
	t.Helper()
	nsLabels := oracleNamespaces(nss, ws)
	ports := func(nps []networkingv1.NetworkPolicyPort) []PortMatch {
		if len(nps) == 0 {
			return nil // every port
		}
		var out []PortMatch
		for _, np := range nps {
			m := PortMatch{Protocol: corev1.ProtocolTCP}
			if np.Protocol != nil {
				m.Protocol = *np.Protocol
			}
			switch {
			case np.Port == nil:
			case np.Port.Type == intstr.String:
				m.Name = np.Port.StrVal
			default:
				m.Number = np.Port.IntVal
				if np.EndPort != nil && *np.EndPort != m.Number {
					m.EndPort = *np.EndPort
				}
			}
			out = append(out, m)
		}
		return out
	}
	// otherNamespaces reports whether pe can match pods in a namespace not
	// given and, when it can only match namespaces named in its selector,
	// which.
	otherNamespaces := func(pe networkingv1.NetworkPolicyPeer) ([]string, bool) {
		if pe.NamespaceSelector == nil {
			return nil, false // the policy's own namespace only
		}
		if pe.PodSelector != nil && !slices.ContainsFunc(oracleLabelSets(pe.PodSelector, ""), func(l labels.Set) bool {
			return oracleMatches(t, pe.PodSelector, l)
		}) {
			return nil, false
		}
		names := map[string]bool{}
		for _, l := range oracleLabelSets(pe.NamespaceSelector, NamespaceNameLabel) {
			if nsLabels[l[NamespaceNameLabel]] == nil && oracleMatches(t, pe.NamespaceSelector, l) {
				names[l[NamespaceNameLabel]] = true
			}
		}
		if len(names) == 0 {
			return nil, false
		}
		if names[unmentioned] {
			return nil, true // any name will do
		}
		return slices.Sorted(maps.Keys(names)), true
	}

	sorted := slices.Clone(ws)
	slices.SortFunc(sorted, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	byName := slices.Clone(ps)
	slices.SortFunc(byName, func(a, b networkingv1.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	var out []ExternalAccess
	for _, w := range sorted {
		ref := WorkloadRef{Namespace: w.Namespace, Name: w.Name}
		for _, dir := range []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress} {
			isolated := false
			for _, p := range byName {
				if p.Namespace != w.Namespace || !oracleMatches(t, &p.Spec.PodSelector, w.PodLabels) || !oracleIsolates(&p, dir) {
					continue
				}
				isolated = true
				type rule struct {
					ports []networkingv1.NetworkPolicyPort
					peers []networkingv1.NetworkPolicyPeer
				}
				var rules []rule
				if dir == networkingv1.PolicyTypeIngress {
					for _, r := range p.Spec.Ingress {
						rules = append(rules, rule{r.Ports, r.From})
					}
				} else {
					for _, r := range p.Spec.Egress {
						rules = append(rules, rule{r.Ports, r.To})
					}
				}
				for i, r := range rules {
					at := RuleRef{Policy: PolicyRef{Namespace: p.Namespace, Name: p.Name}, Direction: dir, Rule: i, Peer: -1}
					e := ExternalAccess{Workload: ref, Direction: dir, Kind: AnyPeer, Rule: at, Ports: ports(r.ports)}
					if len(r.peers) == 0 {
						out = append(out, e)
						continue
					}
					for k, pe := range r.peers {
						e := e
						e.Rule.Peer = k
						if b := pe.IPBlock; b != nil {
							e.Kind, e.CIDR, e.Except = IPBlock, b.CIDR, b.Except
							out = append(out, e)
							continue
						}
						names, ok := otherNamespaces(pe)
						if !ok {
							continue
						}
						e.Kind, e.Namespaces = OtherNamespaces, names
						e.NamespaceSelector = oracleSelectorString(t, pe.NamespaceSelector)
						if pe.PodSelector != nil {
							e.PodSelector = oracleSelectorString(t, pe.PodSelector)
						}
						out = append(out, e)
					}
				}
			}
			if !isolated {
				out = append(out, ExternalAccess{Workload: ref, Direction: dir, Kind: Unisolated})
			}
		}
	}
	return out
}

// sameExternal reports whether a and b are equal, telling nil Ports
// (every port) from an empty list.
func sameExternal(a, b ExternalAccess) bool {
	return a.Workload == b.Workload && a.Direction == b.Direction && a.Kind == b.Kind && a.Rule == b.Rule &&
		a.CIDR == b.CIDR && slices.Equal(a.Except, b.Except) &&
		slices.Equal(a.Namespaces, b.Namespaces) && a.NamespaceSelector == b.NamespaceSelector && a.PodSelector == b.PodSelector &&
		(a.Ports == nil) == (b.Ports == nil) && slices.Equal(a.Ports, b.Ports)
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
	// The small systems' sets are bitsets at the usual threshold; the
	// analysis must not depend on the form.
	defer func(d int) { denseFrom = d }(denseFrom)
	for _, form := range []struct {
		name  string
		dense int
	}{{"lists", 0}, {"bitsets", 1 << 30}} {
		t.Run(form.name, func(t *testing.T) {
			denseFrom = form.dense
			for seed := range uint64(seeds / 4) {
				checkRandomSystem(t, seed)
			}
		})
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
	// The ipBlocks are those gitopsc renders for externals, a declared range
	// or the public internet as two peers, and for a load balancer, 0.0.0.0/0.
	publicInternet := []networkingv1.NetworkPolicyPeer{
		cidr("0.0.0.0/0", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"),
		cidr("::/0", "fc00::/7", "fe80::/10"),
	}
	peers := func() []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for range rng.IntN(3) {
			switch rng.IntN(7) {
			case 0:
				out = append(out, pods(podSel()))
			case 1:
				out = append(out, namespaces(nsSel()))
			case 2:
				out = append(out, podsInNamespaces(nsSel(), podSel()))
			case 3:
				out = append(out, cidr("10.0.0.0/8", "10.1.0.0/16"))
			case 4:
				out = append(out, publicInternet...)
			case 5:
				out = append(out, cidr(pick("52.216.0.0/15", "2600:1f18::/33", "10.1.0.0/16")))
			case 6:
				out = append(out, cidr(pick("0.0.0.0/0", "::/0")))
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
