package policies_test

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/policies"
)

// outside has an agent that calls an API on the internet and a worker
// that reaches a store in a declared range.
const outside = `package demo

system: {
	name: "platform"
	namespaces: apps: quota: requests: {cpu: "4", memory: "4Gi"}
	components: {
		agent: {
			namespace: "apps"
			image:     "registry.example.com/agent:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			talksTo: ["llm:https"]
		}
		worker: {
			namespace: "apps"
			image:     "registry.example.com/worker:1.0.0"
			resources: {requests: {cpu: "100m", memory: "128Mi"}, limits: {cpu: "200m", memory: "256Mi"}}
			ports: http: 8080
			talksTo: ["store:s3"]
		}
	}
	externals: {
		llm: {hosts: ["api.example.com"], ports: https: 443}
		store: {hosts: ["s3.example.com"], cidrs: ["52.216.0.0/15"], ports: s3: 443}
	}
	secrets: {}
}
environments: local: cluster: {distribution: "k3s", arch: ["amd64"]}
`

// egressOf returns the egress policy of a flow.
func egressOf(t *testing.T, r *compiler.Result, name string) *networkingv1.NetworkPolicy {
	t.Helper()
	for _, p := range flowPolicies(r) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no NetworkPolicy %s", name)
	return nil
}

func TestExternalFlows(t *testing.T) {
	s := loadSystem(t, outside)
	if got := s.check(s.compile(t, "local"), policies.Options{}); len(got) > 0 {
		t.Fatalf("the rendered system is not clean:\n%v", got)
	}
	llmFlow := s.at(t, `"llm:https"`, 1)
	storeFlow := s.at(t, `"store:s3"`, 1)
	for _, tc := range []struct {
		name string
		edit func(*testing.T, *compiler.Result)
		want []string
	}{{
		// A renderer that forgets the excepts opens the cluster's own
		// private ranges and the metadata address to the agent: NET005
		// says so from the policy alone, whatever the renderer's list.
		name: "public internet without its excepts",
		edit: func(t *testing.T, r *compiler.Result) {
			egressOf(t, r, "egress-agent-to-llm-https").Spec.Egress[0].To[0].IPBlock.Except = nil
		},
		want: []string{
			llmFlow + ": error NET001: apps/agent egress to 0.0.0.0/0 on TCP/443, but no talksTo of agent names an external with that range and port",
			llmFlow + ": error NET002: declared flow apps/agent -> external llm:https is blocked: no policy lets apps/agent send to 0.0.0.0/0 except 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16 on TCP/443",
			llmFlow + ": error NET005: apps/agent egress to 0.0.0.0/0 on TCP/443 reaches the cluster's pod range (10.42.0.0/16)",
			llmFlow + ": error NET005: apps/agent egress to 0.0.0.0/0 on TCP/443 reaches the cluster's Service range (10.43.0.0/16)",
			llmFlow + ": error NET005: apps/agent egress to 0.0.0.0/0 on TCP/443 reaches the cloud metadata service (169.254.169.254/32)",
		},
	}, {
		name: "a range and port no flow declares",
		edit: func(t *testing.T, r *compiler.Result) {
			p := egressOf(t, r, "egress-worker-to-store-s3")
			p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
				To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}},
			})
		},
		want: []string{
			storeFlow + ": error NET001: apps/worker egress to 10.0.0.0/8 on any port, but no talksTo of worker names an external with that range and port",
			storeFlow + ": error NET005: apps/worker egress to 10.0.0.0/8 on any port reaches the cluster's pod range (10.42.0.0/16)",
			storeFlow + ": error NET005: apps/worker egress to 10.0.0.0/8 on any port reaches the cluster's Service range (10.43.0.0/16)",
		},
	}, {
		name: "egress policy of an external flow deleted",
		edit: func(t *testing.T, r *compiler.Result) {
			remove(t, r, "NetworkPolicy", "apps", "egress-worker-to-store-s3")
		},
		want: []string{
			storeFlow + ": error NET002: declared flow apps/worker -> external store:s3 is blocked: no policy lets apps/worker send to 52.216.0.0/15 on TCP/443",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.compile(t, "local")
			tc.edit(t, r)
			sameLines(t, s.check(r, policies.Options{}), tc.want)
		})
	}
}
