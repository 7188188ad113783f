// Package synth generates synthetic gitopsc inputs of any size for the
// benchmarks: N components spread over namespaces, with cross-namespace
// flows, autoscaled and stateful members, jobs and cron jobs, port
// mappings, config files that read other components' addresses, native
// sidecars, flows to externals, GPU workloads on a tainted node pool, pod
// labels and annotations, readers of the Kubernetes API, tenants of a
// template, raw objects and E environments: k3s, EKS with node pools,
// and Docker Compose, in turn. The same (N, E, seed) always gives the
// same files.
package synth

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// ComponentsPerNamespace is how many components share a namespace.
const ComponentsPerNamespace = 50

// images is how many distinct application images the components use.
const imageCount = 20

// The images besides the applications': a log shipper every sidecar
// runs, and a model server, built for amd64 only as CUDA images are.
const (
	shipperImage = "registry.example.com/synth/shipper:2.1.0"
	modelImage   = "registry.example.com/synth/model-server:2.1.0"
)

// The shapes of a component, by its index: in every 50, one cron job
// (23) and one run-to-completion job (37), 2% each; in every 200, one
// GPU model server (61); every tenth stateful (9), every fifth
// autoscaled (0); every tenth has a log-shipper sidecar (4), every
// fifth mounts a config file (2, jobs among them), every fourth maps
// its Service port 80 to container port 8080 (1), every twentieth
// calls an external (6), every fifth has pod labels and annotations (3),
// and in every 50 one reads pods and EndpointSlices from the API (11), as
// a scraper or a mesh controller does.
func isCronJob(i int) bool  { return i%ComponentsPerNamespace == 23 }
func isJob(i int) bool      { return i%ComponentsPerNamespace == 37 }
func isBatch(i int) bool    { return isCronJob(i) || isJob(i) }
func isGPU(i int) bool      { return i%200 == 61 }
func isStateful(i int) bool { return i%10 == 9 }
func hasSidecar(i int) bool { return i%10 == 4 }
func hasFiles(i int) bool   { return i%5 == 2 }
func mapsPort(i int) bool   { return i%4 == 1 }
func callsOut(i int) bool   { return i%20 == 6 }
func hasPodMeta(i int) bool { return i%5 == 3 }
func readsAPI(i int) bool   { return i%ComponentsPerNamespace == 11 }

// externals are the services outside the cluster, each with its one port.
var externals = []struct {
	name, host, port string
	number           int
}{
	{"payments", "api.payments.example.com", "https", 443},
	{"llm", "api.llm.example.com", "https", 443},
	{"object-store", "s3.eu-west-1.amazonaws.com", "https", 443},
	{"smtp", "smtp.mail.example.com", "submission", 587},
}

// Write generates a system of n components and e environments into dir
// (created if needed): system.cue, one file per environment and an
// images.lock whose digests are derived from the references.
func Write(dir string, n, e int, seed uint64) error {
	if n < 1 || e < 1 {
		return fmt.Errorf("synth: need at least one component and one environment")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"system.cue":     system(n, seed),
		"images.lock":    lock(),
		"components.cue": components(n, seed),
		"tenants.cue":    tenancy(n),
		"objects.cue":    objects(n),
	}
	for ns := 0; ns < namespaces(n); ns++ {
		files[fmt.Sprintf("files-ns-%d.cue", ns)] = configFiles(ns, n)
	}
	for i := 0; i < e; i++ {
		files[fmt.Sprintf("env-%d.cue", i)] = environment(i, n, seed)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return writeCharts(dir)
}

func namespaces(n int) int {
	return (n + ComponentsPerNamespace - 1) / ComponentsPerNamespace
}

func gpus(n int) int {
	c := 0
	for i := 0; i < n; i++ {
		if isGPU(i) {
			c++
		}
	}
	return c
}

func system(n int, seed uint64) string {
	var b strings.Builder
	b.WriteString("package synth\n\nsystem: {\n\tname: \"synth\"\n\tsecrets: {}\n\texternals: {\n")
	for _, x := range externals {
		fmt.Fprintf(&b, "\t\t%q: {hosts: [%q], ports: %s: %d}\n", x.name, x.host, x.port, x.number)
	}
	b.WriteString("\t}\n\tnamespaces: {\n")
	for i := 0; i < namespaces(n); i++ {
		level := "restricted"
		if i%3 == 2 {
			level = "baseline"
		}
		// Generous quotas: the benchmark measures the compiler, not a
		// failing gate.
		fmt.Fprintf(&b, "\t\t\"ns-%d\": {\n\t\t\tpodSecurity: %q\n\t\t\tquota: {requests: {cpu: \"500\", memory: \"1000Gi\"}, limits: {cpu: \"1000\", memory: \"2000Gi\"}, pods: 2000}\n\t\t}\n", i, level)
	}
	b.WriteString("\t}\n")
	// A chart or two, as a platform installs its operators and gateways.
	b.WriteString("\tcharts: {\n")
	for i, c := range synthCharts {
		fmt.Fprintf(&b, "\t\t%q: {namespace: \"ns-%d\", repository: %q, version: %q, values: replicas: 1}\n", c.name, i%namespaces(n), chartRepository, chartVersion)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func name(i int) string { return fmt.Sprintf("svc-%d", i) }

// server is the first component from j on (wrapping at n) that serves,
// that is, is not a job; -1 when that is i itself or there is none.
func server(j, i, n int) int {
	for k := 0; k < n; k++ {
		c := (j + k) % n
		if !isBatch(c) {
			if c == i {
				return -1
			}
			return c
		}
	}
	return -1
}

// httpPort is how CUE reads component c's http Service port.
func httpPort(c int) string {
	if mapsPort(c) {
		return fmt.Sprintf("system.components[%q].ports.http.port", name(c))
	}
	return fmt.Sprintf("system.components[%q].ports.http", name(c))
}

// peerOf is the serving component i's first flow goes to, inside its
// namespace; -1 when there is none.
func peerOf(i, n int) int {
	if n < 2 {
		return -1
	}
	ns := i / ComponentsPerNamespace
	return server(ns*ComponentsPerNamespace+(i+1)%ComponentsPerNamespace, i, n)
}

// configFiles is namespace ns's config files, kept in a file of their own
// as a team would keep them: each names its component's upstream through
// the model (system.components.NAME.host and its port), never by a
// hard-coded host.
func configFiles(ns, n int) string {
	var b strings.Builder
	b.WriteString("package synth\n\nsystem: components: {\n")
	for i := ns * ComponentsPerNamespace; i < n && i < (ns+1)*ComponentsPerNamespace; i++ {
		peer := peerOf(i, n)
		if !hasFiles(i) || peer < 0 {
			continue
		}
		fmt.Fprintf(&b, "\t%q: files: \"/etc/app/upstream.conf\": \"\"\"\n\t\t[upstream]\n\t\thost = \"\\(system.components[%q].host)\"\n\t\tport = \\(%s)\n\t\tshard = %d\n\n\t\t\"\"\"\n", name(i), name(peer), httpPort(peer), i)
	}
	b.WriteString("}\n")
	return b.String()
}

func components(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	var b strings.Builder
	b.WriteString("package synth\n\nsystem: components: {\n")
	for i := 0; i < n; i++ {
		ns := i / ComponentsPerNamespace
		fmt.Fprintf(&b, "\t%q: {\n", name(i))
		fmt.Fprintf(&b, "\t\tnamespace: \"ns-%d\"\n", ns)
		image := fmt.Sprintf("registry.example.com/synth/app-%d:1.0.%d", i%imageCount, i%imageCount)
		if isGPU(i) {
			image = modelImage
		}
		fmt.Fprintf(&b, "\t\timage:     %q\n", image)
		switch {
		case isCronJob(i):
			b.WriteString("\t\tkind: \"cronjob\"\n")
			fmt.Fprintf(&b, "\t\tschedule: {cron: \"%d %d * * *\", timeZone: \"Europe/Berlin\"}\n", r.IntN(60), r.IntN(24))
			fmt.Fprintf(&b, "\t\tjob: {activeDeadlineSeconds: %d, ttlSecondsAfterFinished: 86400, backoffLimit: 2}\n", 600*(1+r.IntN(6)))
		case isJob(i):
			b.WriteString("\t\tkind: \"job\"\n")
			fmt.Fprintf(&b, "\t\tjob: {activeDeadlineSeconds: 900, parallelism: %d, restartPolicy: \"OnFailure\"}\n", 1+r.IntN(3))
		case isStateful(i):
			b.WriteString("\t\tkind: \"stateful\"\n\t\treplicas: 1\n")
			fmt.Fprintf(&b, "\t\tstorage: data: {size: \"%dGi\", mountPath: \"/data\"}\n", 1+r.IntN(20))
		case i%5 == 0:
			fmt.Fprintf(&b, "\t\tautoscale: {min: 1, max: %d, cpuUtilization: 70}\n", 2+r.IntN(6))
		case isGPU(i):
			b.WriteString("\t\treplicas: 1\n")
		default:
			fmt.Fprintf(&b, "\t\treplicas: %d\n", 1+r.IntN(3))
		}
		cpu := 50 * (1 + r.IntN(8))
		mem := 64 * (1 + r.IntN(8))
		if isGPU(i) {
			// One GPU, on a g5.xlarge-sized node.
			b.WriteString("\t\tresources: {\n\t\t\trequests: {cpu: \"2\", memory: \"8Gi\"}\n\t\t\tlimits: {cpu: \"3\", memory: \"12Gi\", \"nvidia.com/gpu\": 1}\n\t\t}\n")
		} else {
			fmt.Fprintf(&b, "\t\tresources: {\n\t\t\trequests: {cpu: \"%dm\", memory: \"%dMi\"}\n\t\t\tlimits: {cpu: \"%dm\", memory: \"%dMi\"}\n\t\t}\n", cpu, mem, 2*cpu, 2*mem)
		}
		if !isBatch(i) {
			if mapsPort(i) {
				b.WriteString("\t\tports: {http: {port: 80, targetPort: 8080}, metrics: 9090}\n")
			} else {
				b.WriteString("\t\tports: {http: 8080, metrics: 9090}\n")
			}
			b.WriteString("\t\tmetrics: port: \"metrics\"\n")
		}
		// Two flows to serving components: one inside the namespace, one
		// to the next namespace; every twentieth also calls an external.
		var flows []string
		peer := peerOf(i, n)
		if n > 1 {
			if peer >= 0 {
				flows = append(flows, fmt.Sprintf("%q", name(peer)+":http"))
			}
			far := server((i+ComponentsPerNamespace)%n, i, n)
			if far >= 0 && far != peer {
				flows = append(flows, fmt.Sprintf("%q", name(far)+":http"))
			}
		}
		if callsOut(i) {
			x := externals[(i/20)%len(externals)]
			flows = append(flows, fmt.Sprintf("%q", x.name+":"+x.port))
		}
		fmt.Fprintf(&b, "\t\ttalksTo: [%s]\n", strings.Join(flows, ", "))
		fmt.Fprintf(&b, "\t\tconfig: {LOG_LEVEL: \"info\", SHARD: \"%d\", REGION: \"r-%d\"}\n", i, r.IntN(4))
		b.WriteString("\t\twritable: [\"/tmp\"]\n")
		if hasPodMeta(i) {
			fmt.Fprintf(&b, "\t\tpod: {labels: team: \"team-%d\", annotations: \"example.com/owner\": \"team-%d\"}\n", i%7, i%7)
		}
		if readsAPI(i) {
			b.WriteString("\t\tserviceAccount: reads: [{resources: [\"pods\", \"endpointslices.discovery.k8s.io\"]}]\n")
		}
		if hasSidecar(i) {
			b.WriteString("\t\tsidecars: \"log-shipper\": {\n")
			fmt.Fprintf(&b, "\t\t\timage: %q\n", shipperImage)
			b.WriteString("\t\t\targs: [\"--config=/etc/shipper/shipper.conf\"]\n")
			b.WriteString("\t\t\tresources: {\n\t\t\t\trequests: {cpu: \"20m\", memory: \"32Mi\"}\n\t\t\t\tlimits: {cpu: \"50m\", memory: \"64Mi\"}\n\t\t\t}\n")
			b.WriteString("\t\t\tports: shipper: 2020\n")
			b.WriteString("\t\t\tprobes: readiness: http: path: \"/ready\"\n")
			b.WriteString("\t\t\tconfig: LOG_LEVEL: \"info\"\n")
			fmt.Fprintf(&b, "\t\t\tfiles: \"/etc/shipper/shipper.conf\": \"\"\"\n\t\t\t\t[input]\n\t\t\t\tpath = /tmp/*.log\n\t\t\t\t[output]\n\t\t\t\ttag = %s\n\n\t\t\t\t\"\"\"\n", name(i))
			b.WriteString("\t\t}\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func environment(i, n int, seed uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package synth\n\nenvironments: \"env-%d\": {\n", i)
	switch i % 3 {
	case 1:
		// EKS: arm64 Graviton nodes for everything, and amd64 GPU nodes
		// tainted so that only the model servers land there. The pools
		// are as large as the namespaces' quotas together.
		b.WriteString("\tcluster: {\n\t\tdistribution: \"eks\"\n\t\tarch: [\"arm64\", \"amd64\"]\n\t\tnetworkPolicy: \"vpc-cni\"\n\t\tpodCIDRs: [\"10.0.0.0/16\"]\n")
		// The control plane's interfaces, outside the pods' range.
		b.WriteString("\t\tapiServer: cidrs: [\"10.3.0.10/32\", \"10.3.16.10/32\"]\n\t\tpools: {\n")
		fmt.Fprintf(&b, "\t\t\tgeneral: {instanceType: \"m7g.4xlarge\", arch: \"arm64\", cpu: \"15890m\", memory: \"57Gi\", pods: 234, max: %d, default: true}\n", 32*namespaces(n))
		fmt.Fprintf(&b, "\t\t\tgpu: {\n\t\t\t\tinstanceType: \"g5.xlarge\"\n\t\t\t\tarch: \"amd64\"\n\t\t\t\tcpu: \"3920m\"\n\t\t\t\tmemory: \"14Gi\"\n\t\t\t\tpods: 58\n\t\t\t\tgpus: 1\n\t\t\t\ttaints: [{key: \"nvidia.com/gpu\", value: \"true\", effect: \"NoSchedule\"}]\n\t\t\t\tmax: %d\n\t\t\t}\n", gpus(n)+1)
		b.WriteString("\t\t}\n\t}\n")
		// The LLM API is reached through a proxy in the VPC.
		b.WriteString("\texternals: llm: {hosts: [\"llm-proxy.internal.example.com\"], cidrs: [\"10.1.96.0/24\"], ports: https: 8443}\n")
	case 2:
		// Docker Compose on a developer's machine, the platform's phase
		// before Kubernetes: one compose.yaml of every component.
		fmt.Fprintf(&b, "\tcompose: {arch: \"amd64\", cpu: \"%d\", memory: \"%dGi\"}\n", 64*namespaces(n), 256*namespaces(n))
		// Tenants that call one system component share its network
		// there, which a developer's machine accepts.
		b.WriteString("\tpolicy: waivers: [{rule: \"NET007\", target: \"*\", reason: \"one developer's machine runs every tenant\", expires: \"2099-12-31\"}]\n")
	default:
		b.WriteString("\tcluster: {distribution: \"k3s\", arch: [\"amd64\"]}\n")
	}
	// Environments of two kinds run the gateway at two sizes: each chart
	// renders once per distinct values.
	fmt.Fprintf(&b, "\tcharts: gateway: values: replicas: %d\n", 1+i%2)
	// Every environment changes a few components.
	b.WriteString("\tcomponents: {\n")
	for c := i; c < n; c += 97 {
		if c%5 == 0 && !isStateful(c) {
			fmt.Fprintf(&b, "\t\t%q: autoscale: max: %d\n", name(c), 8+i)
		} else {
			fmt.Fprintf(&b, "\t\t%q: config: ENVIRONMENT: \"env-%d\"\n", name(c), i)
		}
	}
	if i%3 == 2 {
		// On Compose a sidecar shares the network of one container only:
		// the components with one run once, as a developer's machine
		// would run them.
		for c := 0; c < n; c++ {
			if hasSidecar(c) {
				fmt.Fprintf(&b, "\t\t%q: replicas: 1\n", name(c))
			}
		}
	}
	b.WriteString("\t}\n")
	// And one tenant's web front, and the staging issuer in every second
	// environment.
	fmt.Fprintf(&b, "\ttenants: \"tenant-%d\": components: web: autoscale: max: %d\n", i%tenants(n), 2+i)
	if i%2 == 1 {
		fmt.Fprintf(&b, "\tobjects: letsencrypt: %s\n", issuer("https://acme-staging-v02.api.letsencrypt.org/directory"))
	}
	b.WriteString("}\n")
	return b.String()
}

// lock lists every image with its digest, platforms and the numeric
// user each runs as, so that runAsNonRoot holds (POD010).
func lock() string {
	var b strings.Builder
	b.WriteString("# synthetic image lock\n")
	line := func(ref string, platforms ...string) {
		fmt.Fprintf(&b, "%s sha256:%x", ref, sha256.Sum256([]byte(ref)))
		for _, p := range platforms {
			fmt.Fprintf(&b, " %s;user=10001", p)
		}
		b.WriteString("\n")
	}
	for i := 0; i < imageCount; i++ {
		line(fmt.Sprintf("registry.example.com/synth/app-%d:1.0.%d", i, i), "linux/amd64", "linux/arm64")
	}
	line(shipperImage, "linux/amd64", "linux/arm64")
	line(modelImage, "linux/amd64")
	for _, c := range synthCharts {
		line(c.image, "linux/amd64", "linux/arm64")
	}
	return b.String()
}
