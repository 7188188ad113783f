// Package kinds knows the Kubernetes kinds of the built-in API groups:
// their Go types, and which of them live outside namespaces.
package kinds

import (
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Scheme knows the kinds of the built-in API groups that raw objects
// and charts' objects are decoded against.
var Scheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		admissionregistrationv1.AddToScheme, appsv1.AddToScheme, autoscalingv1.AddToScheme,
		autoscalingv2.AddToScheme, batchv1.AddToScheme, certificatesv1.AddToScheme,
		coordinationv1.AddToScheme, corev1.AddToScheme, discoveryv1.AddToScheme,
		eventsv1.AddToScheme, flowcontrolv1.AddToScheme, networkingv1.AddToScheme,
		nodev1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
		schedulingv1.AddToScheme, storagev1.AddToScheme, apiextensionsv1.AddToScheme,
		resourcev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // the registrations are fixed at build time
		}
	}
	return s
})

// ClusterScoped are the built-in kinds that live outside namespaces.
var ClusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true,
	"ClusterRole": true, "ClusterRoleBinding": true,
	"StorageClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true, "VolumeAttributesClass": true,
	"IngressClass": true, "IPAddress": true, "ServiceCIDR": true,
	"PriorityClass": true, "RuntimeClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"CustomResourceDefinition": true, "CertificateSigningRequest": true,
	"FlowSchema": true, "PriorityLevelConfiguration": true,
	"DeviceClass": true, "ResourceSlice": true,
}

// NotObjects are kinds the built-in groups register that are not objects
// one stores: requests, replies and lists.
var NotObjects = map[string]bool{
	"Status": true, "WatchEvent": true, "Scale": true, "Eviction": true, "Binding": true,
	"SerializedReference": true, "RangeAllocation": true, "PodStatusResult": true,
	"PodAttachOptions": true, "PodExecOptions": true, "PodLogOptions": true, "PodPortForwardOptions": true,
	"PodProxyOptions": true, "NodeProxyOptions": true, "ServiceProxyOptions": true,
}

// BuiltinGroup reports whether group is one the scheme has kinds of.
func BuiltinGroup(group string) bool {
	for _, gv := range Scheme().PrioritizedVersionsAllGroups() {
		if gv.Group == group {
			return true
		}
	}
	return false
}
