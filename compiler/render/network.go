package render

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Where ingress traffic to an exposed component comes from: k3s routes it
// through Traefik in kube-system; on EKS the load balancer targets pod IPs
// from outside the cluster.
var traefikPeer = networkingv1.NetworkPolicyPeer{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNamespace: "kube-system"}},
	PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "traefik"}},
}

// EgressPolicyName and IngressPolicyName name the two policies of a flow.
func EgressPolicyName(client string, f model.Flow) string {
	return "egress-" + client + "-to-" + f.Target + "-" + f.Port
}

func IngressPolicyName(client string, f model.Flow) string {
	return "ingress-" + f.Target + "-" + f.Port + "-from-" + client
}

// flowPolicies renders, for each declared flow of c, an egress policy at c
// and an ingress policy at the target, each naming the other end by
// namespace and pod labels and the target's port.
func (rd *renderer) flowPolicies(c *model.Component) {
	tcp := corev1.ProtocolTCP
	for _, f := range c.TalksTo {
		t := rd.sys.Component(f.Target)
		port := intstr.FromInt32(int32(t.Port(f.Port).Number))
		ports := []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}
		rd.addPolicy(c, EgressPolicyName(c.Name, f), f.Pos, networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{rd.peer(t)}, Ports: ports}},
		})
		rd.addPolicy(t, IngressPolicyName(c.Name, f), f.Pos, networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{rd.peer(c)}, Ports: ports}},
		})
	}
	if e := c.Expose; e != nil {
		rd.exposurePolicy(c, e)
	}
}

// exposurePolicy admits traffic from the ingress controller or the load
// balancer to the exposed port.
func (rd *renderer) exposurePolicy(c *model.Component, e *model.Expose) {
	tcp := corev1.ProtocolTCP
	port := intstr.FromInt32(int32(exposedPort(c, e).Number))
	var from []networkingv1.NetworkPolicyPeer
	switch {
	case e.Ingress && rd.env.Cluster.Distribution == "k3s":
		from = []networkingv1.NetworkPolicyPeer{traefikPeer}
	default:
		// An AWS load balancer or a k3s ServiceLB reaches pods from
		// addresses outside the cluster.
		from = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}
	}
	rd.addPolicy(c, "ingress-"+c.Name+"-from-outside", e.Pos, networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: from, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}}},
	})
}

// addPolicy adds a NetworkPolicy in owner's namespace and layer that
// selects owner's pods.
func (rd *renderer) addPolicy(owner *model.Component, name string, pos model.Pos, spec networkingv1.NetworkPolicySpec) {
	spec.PodSelector = metav1.LabelSelector{MatchLabels: rd.selectorLabels(owner)}
	rd.add(&Object{
		Layer: owner.Namespace, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: owner.Namespace,
		Name: name, Component: owner.Name, Pos: pos,
		Obj: &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: rd.flowMeta(name, owner),
			Spec:       spec,
		},
	})
}

// peer selects the pods of c wherever the policy sits: by namespace name
// and pod labels together.
func (rd *renderer) peer(c *model.Component) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNamespace: c.Namespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)},
	}
}

func (rd *renderer) flowMeta(name string, owner *model.Component) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: owner.Namespace,
		Labels:    map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy, LabelInstance: owner.Name},
	}
}
