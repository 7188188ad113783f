package render

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Names of the platform objects in each namespace.
const (
	QuotaName       = "quota"
	LimitRangeName  = "limits"
	DefaultDenyName = "default-deny"
	AllowDNSName    = "allow-dns"
)

// The LimitRange defaults apply only to containers added by hand: every
// container gitopsc renders states its own requests and limits.
var (
	limitDefaultRequest = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	limitDefault        = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")}
)

func (rd *renderer) platform() {
	for _, ns := range rd.sys.Namespaces {
		rd.namespace(ns)
	}
}

func (rd *renderer) namespace(ns *model.Namespace) {
	level := ns.PodSecurity
	labels := map[string]string{
		LabelNamespace:                       ns.Name,
		LabelPartOf:                          rd.sys.Name,
		LabelManagedBy:                       ManagedBy,
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/audit":           level,
		"pod-security.kubernetes.io/warn":            level,
	}
	if ns.Tenant {
		labels[LabelTenant] = ns.Name
	}
	rd.add(&Object{
		Layer: LayerPlatform, APIVersion: "v1", Kind: "Namespace", Name: ns.Name, Pos: ns.Pos,
		Obj: &corev1.Namespace{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{
				Name:   ns.Name,
				Labels: labels,
				// Deleting a namespace deletes everything in it: never prune.
				Annotations: map[string]string{AnnotationPrune: "disabled"},
			},
		},
	})
	if q := ns.Quota; q != nil {
		what := "namespaces." + ns.Name + ".quota"
		hard := corev1.ResourceList{
			corev1.ResourceRequestsCPU:    rd.qty(q.RequestsCPU, q.Pos, what+".requests.cpu"),
			corev1.ResourceRequestsMemory: rd.qty(q.RequestsMemory, q.Pos, what+".requests.memory"),
		}
		if q.LimitsCPU != "" {
			hard[corev1.ResourceLimitsCPU] = rd.qty(q.LimitsCPU, q.Pos, what+".limits.cpu")
			hard[corev1.ResourceLimitsMemory] = rd.qty(q.LimitsMemory, q.Pos, what+".limits.memory")
		}
		if q.RequestsEphemeral != "" {
			hard[corev1.ResourceRequestsEphemeralStorage] = rd.qty(q.RequestsEphemeral, q.Pos, what+".requests.ephemeral-storage")
		}
		if q.LimitsEphemeral != "" {
			hard[corev1.ResourceLimitsEphemeralStorage] = rd.qty(q.LimitsEphemeral, q.Pos, what+".limits.ephemeral-storage")
		}
		if q.RequestsGPU != nil {
			hard[RequestsGPU] = *resource.NewQuantity(int64(*q.RequestsGPU), resource.DecimalSI)
		}
		if q.Pods > 0 {
			hard[corev1.ResourcePods] = *resource.NewQuantity(int64(q.Pods), resource.DecimalSI)
		}
		rd.add(&Object{
			Layer: LayerPlatform, APIVersion: "v1", Kind: "ResourceQuota", Namespace: ns.Name, Name: QuotaName, Pos: q.Pos,
			Obj: &corev1.ResourceQuota{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
				ObjectMeta: rd.platformMeta(QuotaName, ns.Name),
				Spec:       corev1.ResourceQuotaSpec{Hard: hard},
			},
		})
	}
	rd.add(&Object{
		Layer: LayerPlatform, APIVersion: "v1", Kind: "LimitRange", Namespace: ns.Name, Name: LimitRangeName, Pos: ns.Pos,
		Obj: &corev1.LimitRange{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
			ObjectMeta: rd.platformMeta(LimitRangeName, ns.Name),
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type:           corev1.LimitTypeContainer,
				Default:        limitDefault,
				DefaultRequest: limitDefaultRequest,
			}}},
		},
	})
	rd.add(&Object{
		Layer: LayerPlatform, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns.Name, Name: DefaultDenyName, Pos: ns.Pos,
		Obj: &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: rd.platformMeta(DefaultDenyName, ns.Name),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			},
		},
	})
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	rd.add(&Object{
		Layer: LayerPlatform, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns.Name, Name: AllowDNSName, Pos: ns.Pos,
		Obj: &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: rd.platformMeta(AllowDNSName, ns.Name),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNamespace: "kube-system"}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
					}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
				}},
			},
		},
	})
}

func (rd *renderer) platformMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: ns,
		Labels:    map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy},
	}
}
