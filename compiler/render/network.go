package render

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Where ingress traffic to an exposed component comes from: k3s routes it
// through Traefik in kube-system, minikube's ingress addon through
// ingress-nginx's controller in ingress-nginx; on EKS the load balancer
// targets pod IPs from outside the cluster.
var traefikPeer = networkingv1.NetworkPolicyPeer{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNamespace: "kube-system"}},
	PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "traefik"}},
}

var ingressNginxPeer = networkingv1.NetworkPolicyPeer{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNamespace: "ingress-nginx"}},
	PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
		"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}},
}

// egressPolicyName and ingressPolicyName name the two policies of a
// flow: the egress one in the client's namespace, the ingress one in
// the target's.
func egressPolicyName(client, target, port string) string {
	return "egress-" + client + "-to-" + target + "-" + port
}

func ingressPolicyName(client, target, port string) string {
	return "ingress-" + target + "-" + port + "-from-" + client
}

// PeerLabel is how an object in namespace ns that gitopsc renders for
// component c (a flow's policy at its other end, a Role in a namespace
// it reads) names c: by its name in c's own namespace. Elsewhere a
// tenant's component is TENANT.NAME, since its name is unique only in
// its tenant, and in a tenant's namespace a system component is
// NAMESPACE.NAME, since the tenant's own are named as the system's may
// be. No component's name has a dot, so no two of these collide.
func PeerLabel(sys *model.System, ns string, c *model.Component) string {
	switch {
	case c.Namespace == ns:
		return c.ObjectName
	case c.Tenant != "":
		return c.Tenant + "." + c.ObjectName
	case sys.Namespace(ns) != nil && sys.Namespace(ns).Tenant:
		return c.Namespace + "." + c.ObjectName
	}
	return c.ObjectName
}

// flowPolicies renders, for each declared flow of c, an egress policy at c
// and an ingress policy at the target, each naming the other end by
// namespace and pod labels and the target's port.
func (rd *renderer) flowPolicies(c *model.Component) {
	for _, f := range c.TalksTo {
		if x := rd.sys.External(f.Target); x != nil {
			rd.externalPolicy(c, f, x)
			continue
		}
		t := rd.sys.Component(f.Target)
		// A NetworkPolicy sees the connection after the Service has
		// translated it: it matches the container port.
		ports := []networkingv1.NetworkPolicyPort{policyPort(t.Port(f.Port))}
		rd.addPolicy(c, egressPolicyName(c.ObjectName, PeerLabel(rd.sys, c.Namespace, t), f.Port), f.Pos, networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{rd.peer(t)}, Ports: ports}},
		})
		rd.addPolicy(t, ingressPolicyName(PeerLabel(rd.sys, t.Namespace, c), t.ObjectName, f.Port), f.Pos, networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{rd.peer(c)}, Ports: ports}},
		})
	}
	if e := c.Expose; e != nil {
		rd.exposurePolicy(c, e)
	}
}

// policyPort is the container port of p, as a NetworkPolicy matches it.
func policyPort(p *model.Port) networkingv1.NetworkPolicyPort {
	proto := corev1.Protocol(p.Protocol)
	port := intstr.FromInt32(int32(p.Number))
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
}

// externalPolicy lets c open connections to an external's ranges on the
// flow's port. There is no other end to admit them: the external is not
// a pod.
func (rd *renderer) externalPolicy(c *model.Component, f model.Flow, x *model.External) {
	var to []networkingv1.NetworkPolicyPeer
	for _, b := range ExternalBlocks(x, rd.env.Cluster) {
		to = append(to, networkingv1.NetworkPolicyPeer{IPBlock: &b})
	}
	// The flow to the API server is the reads'; where it leads is the
	// environment's apiServer, where a finding about its ranges belongs.
	pos := f.Pos
	if f.Implicit && len(x.CIDRsPos) > 0 {
		pos = x.CIDRsPos[0]
	}
	rd.addPolicy(c, egressPolicyName(c.ObjectName, f.Target, f.Port), pos, networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress:      []networkingv1.NetworkPolicyEgressRule{{To: to, Ports: []networkingv1.NetworkPolicyPort{policyPort(x.Port(f.Port))}}},
	})
}

// Ranges an external without cidrs of its own never reaches: the
// cluster's pods and Services live in private (RFC 1918), shared (RFC
// 6598) or unique-local addresses, link-local holds the cloud metadata
// service (169.254.169.254, fd00:ec2::254) and its instance credentials,
// and NAT64 (64:ff9b::/96) reaches private IPv4 from IPv6. (IPv4-mapped
// addresses, ::ffff:0:0/96, cannot be excepted: the API server reads them
// as IPv4, outside ::/0, and refuses the policy.) The cluster's own ranges are excepted too, for clusters
// whose pods have public or global IPv6 addresses.
var (
	notPublicV4 = []string{"10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"}
	notPublicV6 = []string{"64:ff9b::/96", "fc00::/7", "fe80::/10"}
)

// notAnyV4 and notAnyV6 are what an external outside the cluster, at an
// address nobody knows, never reaches: link-local and the cloud metadata
// service.
var (
	notAnyV4 = []string{"169.254.0.0/16"}
	notAnyV6 = []string{"fd00:ec2::254/128", "fe80::/10"}
)

// ExternalBlocks are the ipBlocks that stand for an external on cluster:
// its declared ranges, or the public internet, or for one outside the
// cluster at an unknown address every address but the cluster's and
// link-local ones.
func ExternalBlocks(x *model.External, cluster model.Cluster) []networkingv1.IPBlock {
	if len(x.CIDRs) > 0 {
		var out []networkingv1.IPBlock
		for _, c := range x.CIDRs {
			out = append(out, networkingv1.IPBlock{CIDR: c})
		}
		return out
	}
	v4, v6 := slices.Clone(notPublicV4), slices.Clone(notPublicV6)
	if x.OutsideCluster {
		v4, v6 = slices.Clone(notAnyV4), slices.Clone(notAnyV6)
	}
	for _, r := range slices.Concat(cluster.PodCIDRs, cluster.ServiceCIDRs) {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			continue
		}
		switch {
		case p.Addr().Is4() && !covered(p, v4):
			v4 = append(v4, p.Masked().String())
		case p.Addr().Is6() && !covered(p, v6):
			v6 = append(v6, p.Masked().String())
		}
	}
	slices.Sort(v4)
	slices.Sort(v6)
	return []networkingv1.IPBlock{
		{CIDR: "0.0.0.0/0", Except: v4},
		{CIDR: "::/0", Except: v6},
	}
}

// covered reports whether p lies inside one of the ranges.
func covered(p netip.Prefix, ranges []string) bool {
	for _, r := range ranges {
		if q, err := netip.ParsePrefix(r); err == nil && q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// exposurePolicy admits traffic from the ingress controller or the load
// balancer to the exposed port.
func (rd *renderer) exposurePolicy(c *model.Component, e *model.Expose) {
	var from []networkingv1.NetworkPolicyPeer
	switch {
	case e.Ingress && rd.env.Cluster.Distribution == "k3s":
		from = []networkingv1.NetworkPolicyPeer{traefikPeer}
	case e.Ingress && rd.env.Cluster.Distribution == "minikube":
		from = []networkingv1.NetworkPolicyPeer{ingressNginxPeer}
	default:
		// An AWS load balancer, a k3s ServiceLB or minikube tunnel
		// reaches pods from addresses outside the cluster.
		from = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}
	}
	rd.addPolicy(c, "ingress-"+c.ObjectName+"-from-outside", e.Pos, networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: from, Ports: []networkingv1.NetworkPolicyPort{policyPort(exposedPort(c, e))}}},
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
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: rd.namespaceSelector(c.Namespace)},
		PodSelector:       &metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)},
	}
}

func (rd *renderer) flowMeta(name string, owner *model.Component) metav1.ObjectMeta {
	l, ok := rd.ownerLabels[owner]
	if !ok {
		l = map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy, LabelInstance: owner.ObjectName}
		if rd.ownerLabels == nil {
			rd.ownerLabels = map[*model.Component]map[string]string{}
		}
		rd.ownerLabels[owner] = l
	}
	return metav1.ObjectMeta{Name: name, Namespace: owner.Namespace, Labels: l}
}
