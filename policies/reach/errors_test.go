package reach

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Policies the API server would reject have no defined meaning: Analyze
// refuses them and names the field.
func TestAnalyzeRejectsInvalidPolicies(t *testing.T) {
	endPort := func(p networkingv1.NetworkPolicyPort, end int32) networkingv1.NetworkPolicyPort {
		p.EndPort = &end
		return p
	}
	sctpIsFine := corev1.ProtocolSCTP
	icmp := corev1.Protocol("ICMP")
	tests := []struct {
		name   string
		policy networkingv1.NetworkPolicy
		field  string
	}{{
		name:   "a peer with no selector and no ipBlock",
		policy: netpol("shop", "p", allowIn(anyPort, networkingv1.NetworkPolicyPeer{})),
		field:  "spec.ingress[0].from[0]",
	}, {
		name:   "an ipBlock beside a selector",
		policy: netpol("shop", "p", allowOut(anyPort, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: sel()})),
		field:  "spec.egress[0].to[0]",
	}, {
		name:   "a malformed CIDR",
		policy: netpol("shop", "p", allowOut(anyPort, pods(sel()), cidr("10.0.0.0/33"))),
		field:  "spec.egress[0].to[1]",
	}, {
		name:   "an except outside its CIDR",
		policy: netpol("shop", "p", allowOut(anyPort, cidr("10.0.0.0/8", "192.168.0.0/16"))),
		field:  "spec.egress[0].to[0]",
	}, {
		name:   "an except equal to its CIDR",
		policy: netpol("shop", "p", allowOut(anyPort, cidr("10.0.0.0/8", "10.0.0.0/8"))),
		field:  "spec.egress[0].to[0]",
	}, {
		name:   "an unknown selector operator",
		policy: netpol("shop", "p", selecting(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Gt", Values: []string{"1"}}}})),
		field:  "spec.podSelector",
	}, {
		name:   "In without values",
		policy: netpol("shop", "p", allowIn(anyPort, namespaces(sel("team In")))),
		field:  "spec.ingress[0].from[0]",
	}, {
		name:   "an invalid label value",
		policy: netpol("shop", "p", allowIn(anyPort, pods(sel("app", "not valid")))),
		field:  "spec.ingress[0].from[0]",
	}, {
		name:   "endPort below port",
		policy: netpol("shop", "p", allowIn(on(tcp(80), endPort(tcp(9000), 8000)), pods(sel()))),
		field:  "spec.ingress[0].ports[1]",
	}, {
		name:   "endPort with a named port",
		policy: netpol("shop", "p", allowIn(on(endPort(named("http"), 9000)), pods(sel()))),
		field:  "spec.ingress[0].ports[0]",
	}, {
		name:   "endPort without port",
		policy: netpol("shop", "p", allowIn(on(endPort(networkingv1.NetworkPolicyPort{Protocol: &sctpIsFine}, 9000)), pods(sel()))),
		field:  "spec.ingress[0].ports[0]",
	}, {
		name:   "port 0",
		policy: netpol("shop", "p", allowIn(on(tcp(0)), pods(sel()))),
		field:  "spec.ingress[0].ports[0]",
	}, {
		name: "a numeric string as a port name",
		policy: netpol("shop", "p", allowIn(on(networkingv1.NetworkPolicyPort{Port: func() *intstr.IntOrString {
			p := intstr.FromString("8080")
			return &p
		}()}), pods(sel()))),
		field: "spec.ingress[0].ports[0]",
	}, {
		name:   "an unsupported protocol",
		policy: netpol("shop", "p", allowOut(on(networkingv1.NetworkPolicyPort{Protocol: &icmp}), pods(sel()))),
		field:  "spec.egress[0].ports[0]",
	}, {
		name:   "an unknown policy type",
		policy: netpol("shop", "p", types(ingress, "Sideways")),
		field:  "spec.policyTypes[1]",
	}, {
		name:   "invalid rules of a direction the policy does not isolate",
		policy: netpol("shop", "p", types(egress), allowIn(anyPort, networkingv1.NetworkPolicyPeer{})),
		field:  "spec.ingress[0].from[0]",
	}, {
		name:   "no namespace",
		policy: netpol("", "p"),
		field:  "metadata",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(worldNamespaces, world, []networkingv1.NetworkPolicy{tt.policy})
			var perr *InvalidPolicyError
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want an *InvalidPolicyError", err)
			}
			if perr.Field != tt.field || perr.Policy != (PolicyRef{Namespace: tt.policy.Namespace, Name: "p"}) {
				t.Errorf("error at %s %s, want %s: %v", perr.Policy, perr.Field, tt.field, err)
			}
		})
	}
}

func TestAnalyzeRejectsInvalidInput(t *testing.T) {
	web := world[0]
	tests := []struct {
		name       string
		namespaces []Namespace
		workloads  []Workload
		policies   []networkingv1.NetworkPolicy
		want       string
	}{{
		name:      "a workload listed twice",
		workloads: []Workload{web, world[1], web},
		want:      "workload shop/web: listed twice",
	}, {
		name:       "a namespace listed twice",
		namespaces: []Namespace{{Name: "shop"}, {Name: "shop"}},
		want:       "namespace shop: listed twice",
	}, {
		name:      "a port out of range",
		workloads: []Workload{{Namespace: "shop", Name: "web", Ports: []Port{{Number: 70000}}}},
		want:      "workload shop/web: port 70000: must be between 1 and 65535",
	}, {
		name:      "a port with an invalid name",
		workloads: []Workload{{Namespace: "shop", Name: "web", Ports: []Port{{Name: "HTTP", Number: 80}}}},
		want:      `workload shop/web: port name "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)`,
	}, {
		name:     "a policy listed twice",
		policies: []networkingv1.NetworkPolicy{netpol("shop", "p"), netpol("shop", "p")},
		want:     "NetworkPolicy shop/p: metadata.name: listed twice",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(tt.namespaces, tt.workloads, tt.policies)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}
