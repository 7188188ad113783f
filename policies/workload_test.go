package policies_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/compiler"
)

// shop is a small clean system whose rendered pods the tests of the
// image, secret, security and quota rules edit. web carries a security
// exception, so its pod findings point at it; worker has none, so its
// point at the component.
const shop = `package demo

system: {
	name: "shop"
	namespaces: apps: {
		podSecurity: "privileged"
		quota: requests: {cpu: "4", memory: "4Gi"}
	}
	components: {
		web: {
			namespace: "apps"
			image:     "registry.example.com/web:1.0.0"
			replicas:  2
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			config: LOG_LEVEL: "info"
			initContainers: [{
				name:  "migrate"
				image: "registry.example.com/web-migrate:1.0.0"
				resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			}]
			security: {
				addCapabilities: ["NET_BIND_SERVICE"]
				reason:          "listens on port 80"
			}
		}
		worker: {
			namespace: "apps"
			image:     "registry.example.com/worker:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
		}
	}
	secrets: {}
}
environments: local: cluster: {distribution: "k3s", arch: ["amd64"]}
`

// podSpec is the pod template of a rendered Deployment.
func podSpec(t *testing.T, r *compiler.Result, name string) *corev1.PodSpec {
	t.Helper()
	return &object(t, r, "Deployment", "apps", name).Obj.(*appsv1.Deployment).Spec.Template.Spec
}
