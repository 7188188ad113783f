package policies_test

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/policies"
)

// agents has flows within ai-agents, from external-env into it and back,
// two servers on the same port in each namespace, so that a policy wider
// than its flow lets in traffic nobody declared.
const agents = `package demo

system: {
	name: "platform"
	namespaces: {
		"ai-agents": quota: requests: {cpu: "4", memory: "4Gi"}
		"external-env": quota: requests: {cpu: "4", memory: "4Gi"}
	}
	components: {
		"planner-agent": {
			namespace: "ai-agents"
			image:     "registry.example.com/agents/planner:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
		}
		"coder-agent": {
			namespace: "ai-agents"
			image:     "registry.example.com/agents/coder:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			talksTo: ["planner-agent:http", "mysql:mysql"]
		}
		"php-app": {
			namespace: "external-env"
			image:     "registry.example.com/php-app:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			talksTo: ["planner-agent:http", "mysql:mysql"]
		}
		webhook: {
			namespace: "external-env"
			image:     "registry.example.com/webhook:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			talksTo: ["coder-agent:http"]
		}
		mysql: {
			namespace: "external-env"
			image:     "registry.example.com/mysql:8.4"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: mysql: 3306
		}
	}
	secrets: {}
}
environments: local: cluster: {distribution: "k3s", arch: ["amd64"]}
`

// flowPolicies are the policies rendered for declared flows.
func flowPolicies(r *compiler.Result) []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, o := range r.Output.Objects {
		if p, ok := o.Obj.(*networkingv1.NetworkPolicy); ok && o.Layer != "platform" && o.Component != "" {
			out = append(out, p)
		}
	}
	return out
}

// peers calls edit on every peer of every flow policy.
func peers(r *compiler.Result, edit func(*networkingv1.NetworkPolicyPeer)) {
	for _, p := range flowPolicies(r) {
		for i := range p.Spec.Ingress {
			for j := range p.Spec.Ingress[i].From {
				edit(&p.Spec.Ingress[i].From[j])
			}
		}
		for i := range p.Spec.Egress {
			for j := range p.Spec.Egress[i].To {
				edit(&p.Spec.Egress[i].To[j])
			}
		}
	}
}

func TestNetworkRules(t *testing.T) {
	s := loadSystem(t, agents)
	if got := s.check(s.compile(t, "local"), policies.Options{}); len(got) > 0 {
		t.Fatalf("the rendered system is not clean:\n%v", got)
	}
	// An undeclared flow is reported at the talksTo whose policy let it
	// in at the destination.
	coderFlow := s.at(t, `"planner-agent:http"`, 1)
	phpFlow := s.at(t, `"planner-agent:http"`, 2)
	webhookFlow := s.at(t, `"coder-agent:http"`, 1)

	for _, tc := range []struct {
		name string
		edit func(*testing.T, *compiler.Result)
		want []string
	}{{
		// A renderer that forgets the pod half of a peer selects whole
		// namespaces: php-app may then reach every ai-agents pod on 8080
		// that admits anyone from external-env, and webhook likewise.
		name: "peers without podSelector",
		edit: func(t *testing.T, r *compiler.Result) {
			peers(r, func(p *networkingv1.NetworkPolicyPeer) { p.PodSelector = nil })
		},
		want: []string{
			phpFlow + ": error NET001: external-env/webhook can reach ai-agents/planner-agent on TCP/8080, but no talksTo of webhook declares planner-agent:http (traffic from external-env into ai-agents); allowed by ai-agents/ingress-planner-agent-http-from-php-app spec.ingress[0].from[0], external-env/egress-webhook-to-coder-agent-http spec.egress[0].to[0]",
			webhookFlow + ": error NET001: external-env/php-app can reach ai-agents/coder-agent on TCP/8080, but no talksTo of php-app declares coder-agent:http (traffic from external-env into ai-agents); allowed by ai-agents/ingress-coder-agent-http-from-webhook spec.ingress[0].from[0], external-env/egress-php-app-to-planner-agent-http spec.egress[0].to[0]",
		},
	}, {
		// namespaceSelector: {} alone is every pod of every namespace:
		// within ai-agents too, coder-agent's pods reach one another;
		// planner-agent still reaches nobody (it has no egress flow).
		name: "peers of every namespace",
		edit: func(t *testing.T, r *compiler.Result) {
			peers(r, func(p *networkingv1.NetworkPolicyPeer) {
				p.NamespaceSelector, p.PodSelector = &metav1.LabelSelector{}, nil
			})
		},
		want: []string{
			coderFlow + ": error NET001: external-env/webhook can reach ai-agents/planner-agent on TCP/8080, but no talksTo of webhook declares planner-agent:http (traffic from external-env into ai-agents); allowed by ai-agents/ingress-planner-agent-http-from-coder-agent spec.ingress[0].from[0], ai-agents/ingress-planner-agent-http-from-php-app spec.ingress[0].from[0], external-env/egress-webhook-to-coder-agent-http spec.egress[0].to[0]",
			webhookFlow + ": error NET001: ai-agents/coder-agent can reach ai-agents/coder-agent on TCP/8080, but no talksTo of coder-agent declares coder-agent:http; allowed by ai-agents/ingress-coder-agent-http-from-webhook spec.ingress[0].from[0], ai-agents/egress-coder-agent-to-planner-agent-http spec.egress[0].to[0]",
			webhookFlow + ": error NET001: external-env/php-app can reach ai-agents/coder-agent on TCP/8080, but no talksTo of php-app declares coder-agent:http (traffic from external-env into ai-agents); allowed by ai-agents/ingress-coder-agent-http-from-webhook spec.ingress[0].from[0], external-env/egress-php-app-to-planner-agent-http spec.egress[0].to[0]",
		},
	}, {
		// Without its egress policy the client is still isolated by the
		// namespace's default-deny: the declared flow is blocked, at its
		// talksTo.
		name: "egress policy of a flow deleted",
		edit: func(t *testing.T, r *compiler.Result) {
			remove(t, r, "NetworkPolicy", "external-env", "egress-php-app-to-planner-agent-http")
		},
		want: []string{
			phpFlow + ": error NET002: declared flow external-env/php-app -> ai-agents/planner-agent TCP/8080 (http) blocked: egress from external-env/php-app is isolated by external-env/allow-dns, external-env/default-deny, external-env/egress-php-app-to-mysql-mysql and no rule allows ai-agents/planner-agent on TCP/8080",
		},
	}, {
		name: "ingress policy of a flow deleted",
		edit: func(t *testing.T, r *compiler.Result) {
			remove(t, r, "NetworkPolicy", "ai-agents", "ingress-planner-agent-http-from-coder-agent")
		},
		want: []string{
			coderFlow + ": error NET002: declared flow ai-agents/coder-agent -> ai-agents/planner-agent TCP/8080 (http) blocked: ingress to ai-agents/planner-agent is isolated by ai-agents/default-deny, ai-agents/ingress-planner-agent-http-from-php-app and no rule allows ai-agents/coder-agent on TCP/8080",
		},
	}, {
		// allow-dns still isolates egress; ingress is open to pods no flow
		// policy selects.
		name: "default-deny deleted",
		edit: func(t *testing.T, r *compiler.Result) {
			remove(t, r, "NetworkPolicy", "ai-agents", "default-deny")
		},
		want: []string{
			s.at(t, `"ai-agents": quota`, 1) + ": error NET003: namespace ai-agents does not deny ingress by default",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.compile(t, "local")
			tc.edit(t, r)
			sameLines(t, s.check(r, policies.Options{}), tc.want)
		})
	}
}
