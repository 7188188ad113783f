package reach

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Directions index the per-direction arrays, in the order of directions.
const (
	dirIngress = iota
	dirEgress
)

var directions = [2]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}

// InvalidPolicyError reports a NetworkPolicy the API server would reject:
// what it allows is undefined, so Analyze refuses it.
type InvalidPolicyError struct {
	Policy PolicyRef
	// Field is the path of the offending field, as "spec.ingress[0].from[1]".
	Field string
	Err   error
}

func (e *InvalidPolicyError) Error() string {
	return fmt.Sprintf("NetworkPolicy %s: %s: %v", e.Policy, e.Field, e.Err)
}

func (e *InvalidPolicyError) Unwrap() error { return e.Err }

// InvalidInputError reports a namespace or workload that Analyze cannot
// reason about: a duplicate, or a port outside what Kubernetes accepts.
type InvalidInputError struct {
	// What names the namespace or workload, as "namespace shop" or
	// "workload shop/web".
	What string
	Err  error
}

func (e *InvalidInputError) Error() string { return e.What + ": " + e.Err.Error() }

func (e *InvalidInputError) Unwrap() error { return e.Err }

// policy is a NetworkPolicy compiled against the workloads.
type policy struct {
	ref PolicyRef
	// allPods is set when the podSelector is empty: the policy selects
	// every pod of its namespace, present or future.
	allPods bool
	// isolates holds the effective policyTypes.
	isolates [2]bool
	selected set
	// rules holds the rules of the effective directions only.
	rules [2][]rule
}

type rule struct {
	ref    RuleRef
	policy int
	// ports is nil when the rule allows every port.
	ports []PortMatch
	// anyPeer is set when the rule lists no peers and so matches all of
	// them, inside and outside the workloads.
	anyPeer bool
	peers   []peer
	// reach is the union of the peers' workloads; like them it is shared
	// and read-only.
	reach set
}

func (r *rule) allowsPort(p containerPort) bool {
	if r.ports == nil {
		return true
	}
	for _, m := range r.ports {
		if m.matches(p) {
			return true
		}
	}
	return false
}

// broad reports whether the rule lets every peer through on every port.
func (r *rule) broad() bool {
	if r.ports != nil {
		return false
	}
	if r.anyPeer {
		return true
	}
	return slices.ContainsFunc(r.peers, func(p peer) bool { return p.everyone })
}

type peer struct {
	// workloads are those the peer matches; empty for an ipBlock.
	workloads set
	// everyone is set for a peer that matches every pod in every namespace
	// or every address.
	everyone bool
	// outside describes what the peer matches beyond the workloads; nil
	// when it matches only workloads.
	outside *outside
}

// outside is what a peer matches beyond the workloads.
type outside struct {
	kind       ExternalKind
	cidr       string
	except     []string
	namespaces []string
	nsSelector string
	podSel     string
}

type namespace struct {
	name   string
	labels labels.Set
	// first and end delimit the namespace's workloads, which are sorted by
	// namespace.
	first, end int
}

type analyzer struct {
	namespaces []namespace
	nsIndex    map[string]int
	workloads  []workload
	peerCache  map[peerKey]set
	known      map[string]bool // namespace names, built on first use
	unlisted   map[string]unlisted
	selectors  map[string]*selector
	keyBuf     []byte
	// byLabel lists, per namespace and label, the workloads that carry
	// it, in increasing order; built on first use.
	byLabel map[labelKey][]int32
	// none and all are the empty and the full set of workloads, shared
	// read-only like every peer's set.
	none, all set
}

type labelKey struct {
	ns         int
	key, value string
}

// peerKey identifies the pods a peer selects: the pods sel matches in
// namespace ns, or, when nsSel is set, in the namespaces it matches.
// Selectors are converted once per distinct selector, so a pointer names
// one.
type peerKey struct {
	ns         string
	nsSel, sel *selector
}

// selector is a converted label selector with a key that identifies it
// among those of one Analyze call.
type selector struct {
	labels.Selector
	key string
	// exactKey and exactValue are a label the selector requires, when it
	// requires one: its pods are among those with that label.
	exactKey, exactValue string
}

// Analyze computes the flows and external access the policies allow between
// and from the workloads, in the namespaces given. A namespace that holds
// workloads but is missing from namespaces is taken to be given, with only
// the NamespaceNameLabel. Policies are read as the API server stores them:
// their namespace is metadata.namespace.
//
// It returns an *InvalidPolicyError for a policy the API server would reject
// and an *InvalidInputError for duplicate or malformed namespaces and
// workloads.
func Analyze(namespaces []Namespace, workloads []Workload, policies []networkingv1.NetworkPolicy) (*Result, error) {
	a := &analyzer{nsIndex: map[string]int{}, peerCache: map[peerKey]set{}, unlisted: map[string]unlisted{}, selectors: map[string]*selector{}}
	if err := a.addWorkloads(workloads, namespaces); err != nil {
		return nil, err
	}
	n := len(a.workloads)
	a.none, a.all = set{}, fullSet(n)
	r := &Result{
		workloads: a.workloads,
		byRef:     make(map[WorkloadRef]int, n),
	}
	for i, w := range a.workloads {
		r.byRef[w.ref] = i
	}

	order := make([]int, len(policies))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(
			cmp.Compare(policies[i].Namespace, policies[j].Namespace),
			cmp.Compare(policies[i].Name, policies[j].Name),
		)
	})
	for _, i := range order {
		p, err := a.compilePolicy(&policies[i], len(r.policies))
		if err != nil {
			return nil, err
		}
		if k := len(r.policies); k > 0 && r.policies[k-1].ref == p.ref {
			return nil, &InvalidPolicyError{Policy: p.ref, Field: "metadata.name", Err: fmt.Errorf("listed twice")}
		}
		r.policies = append(r.policies, p)
	}

	var isolated [2]bitset
	for d := range directions {
		isolated[d] = newBitset(n)
		r.selectedBy[d] = make([][]int, n)
	}
	for pi := range r.policies {
		p := &r.policies[pi]
		for d := range directions {
			if !p.isolates[d] {
				continue
			}
			for w := range p.selected.all() {
				isolated[d].set(w)
				r.selectedBy[d][w] = append(r.selectedBy[d][w], pi)
			}
		}
	}
	r.allowed, r.Flows = flows(r.policies, a.workloads, isolated, r.selectedBy)
	r.External = external(r.policies, a.workloads, r.selectedBy)
	r.deny = defaultDeny(r.policies)
	return r, nil
}

func (a *analyzer) addWorkloads(workloads []Workload, namespaces []Namespace) error {
	for _, ns := range namespaces {
		if ns.Name == "" {
			return &InvalidInputError{What: "namespace", Err: fmt.Errorf("no name")}
		}
		if _, dup := a.nsIndex[ns.Name]; dup {
			return &InvalidInputError{What: "namespace " + ns.Name, Err: fmt.Errorf("listed twice")}
		}
		set := make(labels.Set, len(ns.Labels)+1)
		for k, v := range ns.Labels {
			set[k] = v
		}
		set[NamespaceNameLabel] = ns.Name
		a.nsIndex[ns.Name] = len(a.namespaces)
		a.namespaces = append(a.namespaces, namespace{name: ns.Name, labels: set})
	}

	a.workloads = make([]workload, 0, len(workloads))
	for _, w := range workloads {
		cw, err := compileWorkload(w)
		if err != nil {
			return err
		}
		a.workloads = append(a.workloads, cw)
		if _, ok := a.nsIndex[w.Namespace]; !ok {
			a.nsIndex[w.Namespace] = len(a.namespaces)
			a.namespaces = append(a.namespaces, namespace{name: w.Namespace, labels: labels.Set{NamespaceNameLabel: w.Namespace}})
		}
	}
	slices.SortFunc(a.workloads, func(x, y workload) int { return compareRefs(x.ref, y.ref) })
	for i := 1; i < len(a.workloads); i++ {
		if a.workloads[i].ref == a.workloads[i-1].ref {
			return &InvalidInputError{What: "workload " + a.workloads[i].ref.String(), Err: fmt.Errorf("listed twice")}
		}
	}

	slices.SortFunc(a.namespaces, func(x, y namespace) int { return cmp.Compare(x.name, y.name) })
	i := 0
	for k := range a.namespaces {
		ns := &a.namespaces[k]
		a.nsIndex[ns.name] = k
		ns.first = i
		for i < len(a.workloads) && a.workloads[i].ref.Namespace == ns.name {
			i++
		}
		ns.end = i
	}
	return nil
}

func compileWorkload(w Workload) (workload, error) {
	ref := WorkloadRef{Namespace: w.Namespace, Name: w.Name}
	invalid := func(format string, args ...any) error {
		return &InvalidInputError{What: "workload " + ref.String(), Err: fmt.Errorf(format, args...)}
	}
	if w.Namespace == "" || w.Name == "" {
		return workload{}, invalid("namespace and name are required")
	}
	cw := workload{ref: ref, labels: make(labels.Set, len(w.PodLabels))}
	for k, v := range w.PodLabels {
		cw.labels[k] = v
	}
	for _, p := range w.Ports {
		proto := protocolOrTCP(p.Protocol)
		if err := checkProtocol(proto); err != nil {
			return workload{}, invalid("port %d: %v", p.Number, err)
		}
		if p.Number < 1 || p.Number > 65535 {
			return workload{}, invalid("port %d: must be between 1 and 65535", p.Number)
		}
		if p.Name != "" {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				return workload{}, invalid("port name %q: %s", p.Name, strings.Join(errs, "; "))
			}
		}
		cw.ports = append(cw.ports, containerPort{number: p.Number, protocol: proto})
		if p.Name != "" {
			cw.ports[len(cw.ports)-1].names = []string{p.Name}
		}
	}
	// Two containers of a pod may declare the same port under different
	// names; a named-port rule then matches under any of them.
	slices.SortFunc(cw.ports, comparePorts)
	merged := cw.ports[:0]
	for _, p := range cw.ports {
		if k := len(merged) - 1; k >= 0 && comparePorts(merged[k], p) == 0 {
			merged[k].names = append(merged[k].names, p.names...)
			continue
		}
		merged = append(merged, p)
	}
	cw.ports = merged
	for i := range cw.ports {
		slices.Sort(cw.ports[i].names)
		cw.ports[i].names = slices.Compact(cw.ports[i].names)
	}
	return cw, nil
}

func checkProtocol(p corev1.Protocol) error {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return fmt.Errorf("unsupported protocol %q", p)
}

func (a *analyzer) compilePolicy(np *networkingv1.NetworkPolicy, index int) (policy, error) {
	p := policy{ref: PolicyRef{Namespace: np.Namespace, Name: np.Name}}
	invalid := func(field string, err error) error {
		return &InvalidPolicyError{Policy: p.ref, Field: field, Err: err}
	}
	if np.Namespace == "" || np.Name == "" {
		return p, invalid("metadata", fmt.Errorf("namespace and name are required"))
	}
	podSel, err := a.selector(&np.Spec.PodSelector)
	if err != nil {
		return p, invalid("spec.podSelector", err)
	}
	p.allPods = podSel.Empty()
	p.selected = a.podsIn(np.Namespace, podSel)

	if len(np.Spec.PolicyTypes) == 0 {
		p.isolates[dirIngress] = true
		p.isolates[dirEgress] = len(np.Spec.Egress) > 0
	}
	for i, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.isolates[dirIngress] = true
		case networkingv1.PolicyTypeEgress:
			p.isolates[dirEgress] = true
		default:
			return p, invalid(fmt.Sprintf("spec.policyTypes[%d]", i), fmt.Errorf("unsupported value %q", t))
		}
	}

	// Rules of a direction the policy does not isolate have no effect, but
	// the API server still validates them.
	for i, in := range np.Spec.Ingress {
		ru, err := a.compileRule(np.Namespace, RuleRef{Policy: p.ref, Direction: networkingv1.PolicyTypeIngress, Rule: i, Peer: -1}, in.Ports, in.From)
		if err != nil {
			return p, err
		}
		if p.isolates[dirIngress] {
			ru.policy = index
			p.rules[dirIngress] = append(p.rules[dirIngress], ru)
		}
	}
	for i, out := range np.Spec.Egress {
		ru, err := a.compileRule(np.Namespace, RuleRef{Policy: p.ref, Direction: networkingv1.PolicyTypeEgress, Rule: i, Peer: -1}, out.Ports, out.To)
		if err != nil {
			return p, err
		}
		if p.isolates[dirEgress] {
			ru.policy = index
			p.rules[dirEgress] = append(p.rules[dirEgress], ru)
		}
	}
	return p, nil
}

func (a *analyzer) compileRule(ns string, ref RuleRef, ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer) (rule, error) {
	r := rule{ref: ref, reach: a.none}
	// invalid reports an error in the rule's list named list, item i.
	invalid := func(list string, i int, err error) error {
		field := strings.TrimPrefix(ref.String(), ref.Policy.String()+" ")
		return &InvalidPolicyError{Policy: ref.Policy, Field: fmt.Sprintf("%s.%s[%d]", field, list, i), Err: err}
	}
	for i, np := range ports {
		m, err := compilePort(np)
		if err != nil {
			return r, invalid("ports", i, err)
		}
		r.ports = append(r.ports, m)
	}
	if len(peers) == 0 {
		r.anyPeer = true
		r.reach = a.all
		return r, nil
	}
	for i, np := range peers {
		p, err := a.compilePeer(ns, np)
		if err != nil {
			peers := "from"
			if ref.Direction == networkingv1.PolicyTypeEgress {
				peers = "to"
			}
			return r, invalid(peers, i, err)
		}
		r.peers = append(r.peers, p)
	}
	if len(r.peers) == 1 {
		r.reach = r.peers[0].workloads
	} else {
		sets := make([]set, len(r.peers))
		for i, p := range r.peers {
			sets[i] = p.workloads
		}
		r.reach = union(len(a.workloads), sets)
	}
	return r, nil
}

func compilePort(np networkingv1.NetworkPolicyPort) (PortMatch, error) {
	m := PortMatch{Protocol: corev1.ProtocolTCP}
	if np.Protocol != nil {
		m.Protocol = *np.Protocol
	}
	if err := checkProtocol(m.Protocol); err != nil {
		return m, err
	}
	if np.Port == nil {
		if np.EndPort != nil {
			return m, fmt.Errorf("endPort requires port")
		}
		return m, nil
	}
	if np.Port.Type == intstr.String {
		if errs := validation.IsValidPortName(np.Port.StrVal); len(errs) > 0 {
			return m, fmt.Errorf("port %q: %s", np.Port.StrVal, strings.Join(errs, "; "))
		}
		if np.EndPort != nil {
			return m, fmt.Errorf("endPort may not be set with the named port %q", np.Port.StrVal)
		}
		m.Name = np.Port.StrVal
		return m, nil
	}
	m.Number = np.Port.IntVal
	if m.Number < 1 || m.Number > 65535 {
		return m, fmt.Errorf("port %d: must be between 1 and 65535", m.Number)
	}
	if np.EndPort != nil {
		end := *np.EndPort
		if end < m.Number || end > 65535 {
			return m, fmt.Errorf("endPort %d: must be between port %d and 65535", end, m.Number)
		}
		if end > m.Number {
			m.EndPort = end
		}
	}
	return m, nil
}

func (a *analyzer) compilePeer(ns string, np networkingv1.NetworkPolicyPeer) (peer, error) {
	p := peer{workloads: a.none}
	if b := np.IPBlock; b != nil {
		if np.PodSelector != nil || np.NamespaceSelector != nil {
			return p, fmt.Errorf("may not specify both ipBlock and another peer")
		}
		cidr, err := netip.ParsePrefix(b.CIDR)
		if err != nil {
			return p, fmt.Errorf("ipBlock.cidr: %v", err)
		}
		for i, e := range b.Except {
			ex, err := netip.ParsePrefix(e)
			if err != nil {
				return p, fmt.Errorf("ipBlock.except[%d]: %v", i, err)
			}
			if ex.Addr().Is4() != cidr.Addr().Is4() || ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()) {
				return p, fmt.Errorf("ipBlock.except[%d]: %s is not a strict subset of %s", i, e, b.CIDR)
			}
		}
		p.everyone = cidr.Bits() == 0
		p.outside = &outside{kind: IPBlock, cidr: b.CIDR, except: slices.Clone(b.Except)}
		return p, nil
	}
	if np.PodSelector == nil && np.NamespaceSelector == nil {
		return p, fmt.Errorf("must specify a peer")
	}
	var podSel, nsSel *selector
	var err error
	if np.PodSelector != nil {
		if podSel, err = a.selector(np.PodSelector); err != nil {
			return p, fmt.Errorf("podSelector: %v", err)
		}
	}
	if np.NamespaceSelector == nil {
		p.workloads = a.podsIn(ns, podSel)
		return p, nil
	}
	if nsSel, err = a.selector(np.NamespaceSelector); err != nil {
		return p, fmt.Errorf("namespaceSelector: %v", err)
	}
	p.workloads = a.podsInNamespaces(nsSel, podSel)
	p.everyone = nsSel.Empty() && (podSel == nil || podSel.Empty())
	if names, ok := a.unlistedNamespaces(nsSel); ok && (podSel == nil || podSel.satisfiable()) {
		p.outside = &outside{kind: OtherNamespaces, namespaces: names, nsSelector: nsSel.String()}
		if podSel != nil {
			p.outside.podSel = podSel.String()
		}
	}
	return p, nil
}

// selector converts s, once for each distinct selector: rendered policies
// repeat the same few selectors many times, and conversion validates every
// key and value.
func (a *analyzer) selector(s *metav1.LabelSelector) (*selector, error) {
	var small [4]string
	keys := small[:0]
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := a.keyBuf[:0]
	for _, k := range keys {
		b = append(append(append(append(b, k...), 0), s.MatchLabels[k]...), 1)
	}
	for _, e := range s.MatchExpressions {
		b = append(append(append(append(b, 2), e.Key...), 0), e.Operator...)
		for _, v := range e.Values {
			b = append(append(b, 0), v...)
		}
	}
	a.keyBuf = b
	if sel, ok := a.selectors[string(b)]; ok {
		return sel, nil
	}
	conv, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, err
	}
	sel := &selector{Selector: conv, key: string(b)}
	if reqs, ok := conv.Requirements(); ok {
		for _, r := range reqs {
			switch r.Operator() {
			case selection.Equals, selection.DoubleEquals, selection.In:
				if v := r.ValuesUnsorted(); len(v) == 1 && sel.exactKey == "" {
					sel.exactKey, sel.exactValue = r.Key(), v[0]
				}
			}
		}
	}
	a.selectors[sel.key] = sel
	return sel, nil
}

// satisfiable reports whether some pod's labels can match s.
func (s *selector) satisfiable() bool {
	_, ok := satisfiable(s.Selector, "", nil)
	return ok
}

// matches reports whether l matches s; a nil s matches everything.
func (s *selector) matches(l labels.Set) bool { return s == nil || s.Matches(l) }

// podsIn returns the workloads of namespace ns that sel matches; a nil sel
// matches them all.
func (a *analyzer) podsIn(ns string, sel *selector) set {
	key := peerKey{ns: ns, sel: sel}
	if s, ok := a.peerCache[key]; ok {
		return s
	}
	var members []int32
	if k, ok := a.nsIndex[ns]; ok {
		members = a.addPods(members, a.namespaces[k], sel)
	}
	s := makeSet(len(a.workloads), members)
	a.peerCache[key] = s
	return s
}

// podsInNamespaces returns the workloads that podSel matches in the
// namespaces that nsSel matches; a nil podSel matches every pod.
func (a *analyzer) podsInNamespaces(nsSel, podSel *selector) set {
	key := peerKey{nsSel: nsSel, sel: podSel}
	if s, ok := a.peerCache[key]; ok {
		return s
	}
	var members []int32
	// A selector on the namespace name, the usual kind, needs no scan.
	if name, ok := nsSel.RequiresExactMatch(NamespaceNameLabel); ok {
		if k, ok := a.nsIndex[name]; ok && nsSel.Matches(a.namespaces[k].labels) {
			members = a.addPods(members, a.namespaces[k], podSel)
		}
	} else {
		// Namespaces are sorted, and so are their workloads.
		for _, ns := range a.namespaces {
			if nsSel.Matches(ns.labels) {
				members = a.addPods(members, ns, podSel)
			}
		}
	}
	s := makeSet(len(a.workloads), members)
	a.peerCache[key] = s
	return s
}

// addPods appends to members the workloads of ns that sel matches, in
// increasing order. A selector requiring a label looks only at the
// workloads that carry it: a namespace may hold thousands.
func (a *analyzer) addPods(members []int32, ns namespace, sel *selector) []int32 {
	if sel == nil || sel.exactKey == "" {
		for i := ns.first; i < ns.end; i++ {
			if sel.matches(a.workloads[i].labels) {
				members = append(members, int32(i))
			}
		}
		return members
	}
	if a.byLabel == nil {
		a.byLabel = map[labelKey][]int32{}
		for k, ns := range a.namespaces {
			for i := ns.first; i < ns.end; i++ {
				for key, value := range a.workloads[i].labels {
					lk := labelKey{k, key, value}
					a.byLabel[lk] = append(a.byLabel[lk], int32(i))
				}
			}
		}
	}
	for _, i := range a.byLabel[labelKey{a.nsIndex[ns.name], sel.exactKey, sel.exactValue}] {
		if sel.matches(a.workloads[i].labels) {
			members = append(members, i)
		}
	}
	return members
}
