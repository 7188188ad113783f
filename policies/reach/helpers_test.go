package reach

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Builders that keep the table rows close to the YAML they stand for.

type policyOption func(*networkingv1.NetworkPolicy)

func netpol(ns, name string, opts ...policyOption) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// selecting sets spec.podSelector.
func selecting(s *metav1.LabelSelector) policyOption {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PodSelector = *s }
}

func types(ts ...networkingv1.PolicyType) policyOption {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PolicyTypes = ts }
}

const (
	ingress = networkingv1.PolicyTypeIngress
	egress  = networkingv1.PolicyTypeEgress
)

// allowIn adds an ingress rule; allowOut an egress rule.
func allowIn(ports []networkingv1.NetworkPolicyPort, from ...networkingv1.NetworkPolicyPeer) policyOption {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: ports, From: from})
	}
}

func allowOut(ports []networkingv1.NetworkPolicyPort, to ...networkingv1.NetworkPolicyPeer) policyOption {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: ports, To: to})
	}
}

// sel builds a selector from key, value pairs and expressions such as
// "tier DoesNotExist" or "team NotIn ops,data"; sel() is the empty
// selector.
func sel(terms ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for i := 0; i < len(terms); i++ {
		f := strings.Fields(terms[i])
		if len(f) == 1 {
			if s.MatchLabels == nil {
				s.MatchLabels = map[string]string{}
			}
			s.MatchLabels[terms[i]] = terms[i+1]
			i++
			continue
		}
		e := metav1.LabelSelectorRequirement{Key: f[0], Operator: metav1.LabelSelectorOperator(f[1])}
		if len(f) > 2 {
			e.Values = strings.Split(f[2], ",")
		}
		s.MatchExpressions = append(s.MatchExpressions, e)
	}
	return s
}

func pods(s *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: s}
}

func namespaces(s *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: s}
}

func podsInNamespaces(ns, pod *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: ns, PodSelector: pod}
}

func cidr(block string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: block, Except: except}}
}

func on(ports ...networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort { return ports }

// anyPort is a rule without ports.
var anyPort []networkingv1.NetworkPolicyPort

func tcp(n int32) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(n)
	return networkingv1.NetworkPolicyPort{Port: &p}
}

func udp(n int32) networkingv1.NetworkPolicyPort {
	p := tcp(n)
	proto := corev1.ProtocolUDP
	p.Protocol = &proto
	return p
}

func tcpRange(first, last int32) networkingv1.NetworkPolicyPort {
	p := tcp(first)
	p.EndPort = &last
	return p
}

func named(name string) networkingv1.NetworkPolicyPort {
	p := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Port: &p}
}

// denyAll is the platform layer's default-deny policy in each namespace.
func denyAll(nss ...string) []networkingv1.NetworkPolicy {
	var ps []networkingv1.NetworkPolicy
	for _, ns := range nss {
		ps = append(ps, netpol(ns, "default-deny", selecting(sel()), types(ingress, egress)))
	}
	return ps
}

// openEgress lets every pod of each namespace send anywhere.
func openEgress(nss ...string) []networkingv1.NetworkPolicy {
	var ps []networkingv1.NetworkPolicy
	for _, ns := range nss {
		ps = append(ps, netpol(ns, "egress-open", selecting(sel()), types(egress), allowOut(anyPort)))
	}
	return ps
}

func policies(groups ...any) []networkingv1.NetworkPolicy {
	var ps []networkingv1.NetworkPolicy
	for _, g := range groups {
		switch g := g.(type) {
		case networkingv1.NetworkPolicy:
			ps = append(ps, g)
		case []networkingv1.NetworkPolicy:
			ps = append(ps, g...)
		default:
			panic(fmt.Sprintf("policies: %T", g))
		}
	}
	return ps
}

// parseFlow reads "shop/web -> data/mysql TCP/3306", the form of
// Flow.String without the port name.
func parseFlow(t testing.TB, s string) Flow {
	t.Helper()
	var from, to, port string
	if _, err := fmt.Sscanf(s, "%s -> %s %s", &from, &to, &port); err != nil {
		t.Fatalf("flow %q: %v", s, err)
	}
	ref := func(s string) WorkloadRef {
		ns, name, _ := strings.Cut(s, "/")
		return WorkloadRef{Namespace: ns, Name: name}
	}
	proto, num, _ := strings.Cut(port, "/")
	n, err := strconv.Atoi(num)
	if err != nil {
		t.Fatalf("flow %q: %v", s, err)
	}
	return Flow{From: ref(from), To: ref(to), Port: int32(n), Protocol: corev1.Protocol(proto)}
}

func flowStrings(fs []Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

func externalStrings(es []ExternalAccess) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

func refs(ws []Workload) []WorkloadRef {
	var out []WorkloadRef
	for _, w := range ws {
		out = append(out, WorkloadRef{Namespace: w.Namespace, Name: w.Name})
	}
	slices.SortFunc(out, compareRefs)
	return out
}
