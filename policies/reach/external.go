package reach

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// ExternalKind says what outside peers an ExternalAccess opens to.
type ExternalKind string

const (
	// Unisolated: no policy isolates the workload in the direction, so
	// every peer, inside the cluster or out, gets through on every port.
	Unisolated ExternalKind = "unisolated"
	// AnyPeer: a rule lists no peers, so it matches every peer, inside the
	// cluster or out.
	AnyPeer ExternalKind = "any-peer"
	// IPBlock: a rule's ipBlock peer, addresses outside the cluster.
	IPBlock ExternalKind = "ip-block"
	// OtherNamespaces: a rule's namespaceSelector peer that can match
	// namespaces Analyze was not given, kube-system for DNS, say.
	OtherNamespaces ExternalKind = "other-namespaces"
)

// ExternalAccess is a way a workload's pods may talk to, or be reached by,
// peers outside the workloads Analyze was given.
type ExternalAccess struct {
	Workload WorkloadRef
	// Direction is Egress for connections the workload opens, Ingress for
	// those it accepts.
	Direction networkingv1.PolicyType
	Kind      ExternalKind
	// Rule is the rule, and peer, that opens the access; zero for
	// Unisolated.
	Rule RuleRef
	// CIDR and Except are the ipBlock's, for IPBlock.
	CIDR   string
	Except []string
	// Namespaces, for OtherNamespaces, are the namespaces the peer can
	// match, when its namespaceSelector names them through
	// NamespaceNameLabel; nil means any namespace not given that matches
	// NamespaceSelector.
	Namespaces []string
	// NamespaceSelector and PodSelector are the peer's selectors in label
	// selector syntax, for OtherNamespaces; an empty PodSelector matches
	// every pod.
	NamespaceSelector string
	PodSelector       string
	// Ports are the rule's ports; nil means every port. Named ports stay
	// names: the outside peer's ports are unknown.
	Ports []PortMatch
}

// String describes the access, as "ops/app egress to pods k8s-app=kube-dns in
// namespace kube-system on UDP/53, TCP/53 (ops/allow-dns spec.egress[0].to[0])".
func (e ExternalAccess) String() string {
	var b strings.Builder
	b.WriteString(e.Workload.String())
	if e.Direction == networkingv1.PolicyTypeEgress {
		b.WriteString(" egress to ")
	} else {
		b.WriteString(" ingress from ")
	}
	switch e.Kind {
	case Unisolated:
		b.WriteString("anything on any port (not isolated)")
		return b.String()
	case AnyPeer:
		b.WriteString("anything")
	case IPBlock:
		b.WriteString(e.CIDR)
		if len(e.Except) > 0 {
			b.WriteString(" except " + strings.Join(e.Except, ", "))
		}
	case OtherNamespaces:
		if e.PodSelector == "" {
			b.WriteString("all pods")
		} else {
			b.WriteString("pods " + e.PodSelector)
		}
		switch {
		case len(e.Namespaces) == 1:
			b.WriteString(" in namespace " + e.Namespaces[0])
		case len(e.Namespaces) > 1:
			b.WriteString(" in namespaces " + strings.Join(e.Namespaces, ", "))
		case e.NamespaceSelector == "":
			b.WriteString(" in every other namespace")
		default:
			b.WriteString(" in other namespaces matching " + e.NamespaceSelector)
		}
	}
	if e.Ports == nil {
		b.WriteString(" on any port")
	} else {
		ports := make([]string, len(e.Ports))
		for i, m := range e.Ports {
			ports[i] = m.String()
		}
		b.WriteString(" on " + strings.Join(ports, ", "))
	}
	fmt.Fprintf(&b, " (%s)", e.Rule)
	return b.String()
}

// ExternalOf returns the external access of workload w, in the order of
// r.External.
func (r *Result) ExternalOf(w WorkloadRef) []ExternalAccess {
	first, _ := slices.BinarySearchFunc(r.External, w, func(e ExternalAccess, w WorkloadRef) int {
		return compareRefs(e.Workload, w)
	})
	end := first
	for end < len(r.External) && r.External[end].Workload == w {
		end++
	}
	return r.External[first:end]
}

func external(policies []policy, workloads []workload, selectedBy [2][][]int) []ExternalAccess {
	var out []ExternalAccess
	for w := range workloads {
		ref := workloads[w].ref
		// Egress sorts before Ingress, as PolicyType strings.
		for _, d := range []int{dirEgress, dirIngress} {
			if len(selectedBy[d][w]) == 0 {
				out = append(out, ExternalAccess{Workload: ref, Direction: directions[d], Kind: Unisolated})
				continue
			}
			for _, pi := range selectedBy[d][w] {
				for _, r := range policies[pi].rules[d] {
					if r.anyPeer {
						out = append(out, ExternalAccess{Workload: ref, Direction: directions[d], Kind: AnyPeer, Rule: r.ref, Ports: r.ports})
						continue
					}
					for k, p := range r.peers {
						o := p.outside
						if o == nil {
							continue
						}
						rr := r.ref
						rr.Peer = k
						out = append(out, ExternalAccess{
							Workload:          ref,
							Direction:         directions[d],
							Kind:              o.kind,
							Rule:              rr,
							CIDR:              o.cidr,
							Except:            o.except,
							Namespaces:        o.namespaces,
							NamespaceSelector: o.nsSelector,
							PodSelector:       o.podSel,
							Ports:             r.ports,
						})
					}
				}
			}
		}
	}
	return out
}

// unlistedNamespaces reports whether sel can match a namespace that is not
// among a's namespaces and, when sel restricts NamespaceNameLabel to a set of
// names, which of them are not among a's.
func (a *analyzer) unlistedNamespaces(sel *selector) ([]string, bool) {
	if u, ok := a.unlisted[sel.key]; ok {
		return u.names, u.ok
	}
	if a.known == nil {
		a.known = make(map[string]bool, len(a.namespaces))
		for _, ns := range a.namespaces {
			a.known[ns.name] = true
		}
	}
	var u unlisted
	u.names, u.ok = satisfiable(sel.Selector, NamespaceNameLabel, a.known)
	a.unlisted[sel.key] = u
	return u.names, u.ok
}

type unlisted struct {
	names []string
	ok    bool
}

// constraint is what the requirements of a selector on one key demand.
type constraint struct {
	present, absent bool
	allowed         map[string]bool // nil: any value
	forbidden       map[string]bool
}

// satisfiable reports whether some label set satisfies sel, given that the
// label key, when not empty, is always present with a value not in exclude.
// When sel restricts key to a set of values, it returns those it can take.
func satisfiable(sel labels.Selector, key string, exclude map[string]bool) ([]string, bool) {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, false
	}
	byKey := map[string]*constraint{}
	if key != "" {
		byKey[key] = &constraint{present: true}
	}
	for _, r := range reqs {
		c := byKey[r.Key()]
		if c == nil {
			c = &constraint{}
			byKey[r.Key()] = c
		}
		switch r.Operator() {
		case selection.In, selection.Equals, selection.DoubleEquals:
			c.present = true
			vals := map[string]bool{}
			for _, v := range r.ValuesUnsorted() {
				if c.allowed == nil || c.allowed[v] {
					vals[v] = true
				}
			}
			c.allowed = vals
		case selection.NotIn, selection.NotEquals:
			if c.forbidden == nil {
				c.forbidden = map[string]bool{}
			}
			for _, v := range r.ValuesUnsorted() {
				c.forbidden[v] = true
			}
		case selection.Exists:
			c.present = true
		case selection.DoesNotExist:
			c.absent = true
		default:
			// Gt and Lt do not occur in a metav1.LabelSelector; take
			// them to be satisfiable.
			c.present = true
		}
	}
	var pinned []string
	for k, c := range byKey {
		if c.present && c.absent {
			return nil, false
		}
		if c.allowed == nil {
			continue // infinitely many values, or none, will do
		}
		var ex map[string]bool
		if k == key {
			ex = exclude
		}
		var vals []string
		for v := range c.allowed {
			if !c.forbidden[v] && !ex[v] {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			return nil, false
		}
		if k == key {
			slices.Sort(vals)
			pinned = vals
		}
	}
	return pinned, true
}
