package synth

import (
	"fmt"
	"strings"
)

// ComponentsPerTenant is how many components one tenant runs (the
// workspace template's), and tenants(n) how many tenants a system of n
// components serves: one per 100 of its own components, so that the
// tenants' components are about 3% of all.
const ComponentsPerTenant = 3

func tenants(n int) int { return max(1, n/100) }

// tenancy is the template every tenant runs (a web front autoscaled, a
// worker and their cache; the web front calls a system component) and
// the tenants, every fifth with a larger quota and web front of its own.
func tenancy(n int) string {
	var b strings.Builder
	image := "registry.example.com/synth/app-0:1.0.0"
	b.WriteString("package synth\n\nsystem: templates: workspace: {\n")
	b.WriteString("\tquota: {requests: {cpu: \"4\", memory: \"8Gi\"}, limits: {cpu: \"8\", memory: \"16Gi\"}, pods: 40}\n")
	b.WriteString("\tcomponents: {\n")
	fmt.Fprintf(&b, "\t\tweb: {\n\t\t\timage: %q\n\t\t\tautoscale: {min: 1, max: 4, cpuUtilization: 70}\n", image)
	b.WriteString("\t\t\tresources: {requests: {cpu: \"250m\", memory: \"256Mi\"}, limits: {cpu: \"500m\", memory: \"512Mi\"}}\n")
	b.WriteString("\t\t\tports: http: 8080\n\t\t\twritable: [\"/tmp\"]\n")
	fmt.Fprintf(&b, "\t\t\ttalksTo: [\"cache:redis\", %q]\n\t\t}\n", name(server(1, -1, n))+":http")
	fmt.Fprintf(&b, "\t\tworker: {\n\t\t\timage: %q\n\t\t\treplicas: 2\n", image)
	b.WriteString("\t\t\tresources: {requests: {cpu: \"100m\", memory: \"128Mi\"}, limits: {cpu: \"200m\", memory: \"256Mi\"}}\n")
	b.WriteString("\t\t\tports: http: 8080\n\t\t\twritable: [\"/tmp\"]\n\t\t\ttalksTo: [\"cache:redis\"]\n\t\t}\n")
	fmt.Fprintf(&b, "\t\tcache: {\n\t\t\timage: %q\n", image)
	b.WriteString("\t\t\tresources: {requests: {cpu: \"100m\", memory: \"128Mi\"}, limits: {cpu: \"200m\", memory: \"256Mi\"}}\n")
	b.WriteString("\t\t\tports: redis: 6379\n\t\t\tprobes: readiness: tcp: {}\n\t\t\twritable: [\"/tmp\"]\n\t\t}\n")
	b.WriteString("\t}\n}\n\nsystem: tenants: {\n")
	for t := 0; t < tenants(n); t++ {
		if t%5 == 4 {
			fmt.Fprintf(&b, "\t\"tenant-%d\": {\n\t\ttemplate: \"workspace\"\n", t)
			b.WriteString("\t\tquota: {requests: {cpu: \"8\", memory: \"16Gi\"}, limits: {cpu: \"16\", memory: \"32Gi\"}, pods: 60}\n")
			b.WriteString("\t\tcomponents: web: autoscale: max: 8\n\t}\n")
			continue
		}
		fmt.Fprintf(&b, "\t\"tenant-%d\": template: \"workspace\"\n", t)
	}
	b.WriteString("}\n")
	return b.String()
}

// objects is what a platform writes beside its components: in every
// namespace a Deployment gitopsc does not model (its pods checked as a
// component's) and a ConfigMap another tool reads, and one cluster-wide custom
// resource, a cert-manager ClusterIssuer.
func objects(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package synth\n\nsystem: objects: letsencrypt: %s\n\n", issuer("https://acme-v02.api.letsencrypt.org/directory"))
	b.WriteString("system: namespaces: {\n")
	for ns := 0; ns < namespaces(n); ns++ {
		fmt.Fprintf(&b, "\t\"ns-%d\": objects: {\n", ns)
		fmt.Fprintf(&b, "\t\t\"cache-warmer\": %s\n", warmer())
		b.WriteString("\t\tdashboards: {\n\t\t\tapiVersion: \"v1\"\n\t\t\tkind:       \"ConfigMap\"\n\t\t\tmetadata: {name: \"dashboards\", labels: \"grafana.example.com/dashboard\": \"1\"}\n")
		fmt.Fprintf(&b, "\t\t\tdata: \"ns-%d.json\": \"{\\\"title\\\": \\\"ns-%d\\\"}\"\n\t\t}\n\t}\n", ns, ns)
	}
	b.WriteString("}\n")
	return b.String()
}

// issuer is the ClusterIssuer letsencrypt of the ACME server at url; an
// environment's object replaces the system's whole.
func issuer(url string) string {
	return fmt.Sprintf("{\n\tapiVersion: \"cert-manager.io/v1\"\n\tkind:       \"ClusterIssuer\"\n\tmetadata: name: \"letsencrypt\"\n\tspec: acme: {server: %q, privateKeySecretRef: name: \"letsencrypt\"}\n}", url)
}

// warmer is a Deployment written as the object itself, restricted as the
// namespaces' components are.
func warmer() string {
	return `{
			apiVersion: "apps/v1"
			kind:       "Deployment"
			metadata: name: "cache-warmer"
			spec: {
				replicas: 1
				selector: matchLabels: "app.kubernetes.io/name": "cache-warmer"
				template: {
					metadata: labels: "app.kubernetes.io/name": "cache-warmer"
					spec: {
						automountServiceAccountToken: false
						securityContext: {runAsNonRoot: true, seccompProfile: type: "RuntimeDefault"}
						containers: [{
							name:  "warmer"
							image: "registry.example.com/synth/app-1:1.0.1"
							args: ["--interval=60s"]
							resources: {requests: {cpu: "50m", memory: "64Mi"}, limits: {cpu: "100m", memory: "128Mi"}}
							securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: drop: ["ALL"]}
							livenessProbe: exec: command: ["/warmer", "--alive"]
							readinessProbe: exec: command: ["/warmer", "--check"]
						}]
					}
				}
			}
		}`
}
