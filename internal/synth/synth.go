// Package synth generates synthetic gitopsc inputs of any size for the
// benchmarks: N components spread over namespaces, with cross-namespace
// flows, autoscaled and stateful members, config and E environments. The
// same (N, E, seed) always gives the same files.
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

// images is how many distinct images the components use.
const imageCount = 20

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
	}
	for i := 0; i < e; i++ {
		files[fmt.Sprintf("env-%d.cue", i)] = environment(i, n, seed)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func namespaces(n int) int {
	return (n + ComponentsPerNamespace - 1) / ComponentsPerNamespace
}

func system(n int, seed uint64) string {
	var b strings.Builder
	b.WriteString("package synth\n\nsystem: {\n\tname: \"synth\"\n\tsecrets: {}\n\tnamespaces: {\n")
	for i := 0; i < namespaces(n); i++ {
		level := "restricted"
		if i%3 == 2 {
			level = "baseline"
		}
		// Generous quotas: the benchmark measures the compiler, not a
		// failing gate.
		fmt.Fprintf(&b, "\t\t\"ns-%d\": {\n\t\t\tpodSecurity: %q\n\t\t\tquota: {requests: {cpu: \"500\", memory: \"1000Gi\"}, limits: {cpu: \"1000\", memory: \"2000Gi\"}, pods: 2000}\n\t\t}\n", i, level)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func name(i int) string { return fmt.Sprintf("svc-%d", i) }

func components(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	var b strings.Builder
	b.WriteString("package synth\n\nsystem: components: {\n")
	for i := 0; i < n; i++ {
		ns := i / ComponentsPerNamespace
		fmt.Fprintf(&b, "\t%q: {\n", name(i))
		fmt.Fprintf(&b, "\t\tnamespace: \"ns-%d\"\n", ns)
		fmt.Fprintf(&b, "\t\timage:     \"registry.example.com/synth/app-%d:1.0.%d\"\n", i%imageCount, i%imageCount)
		stateful := i%10 == 9
		if stateful {
			b.WriteString("\t\tkind: \"stateful\"\n\t\treplicas: 1\n")
			fmt.Fprintf(&b, "\t\tstorage: data: {size: \"%dGi\", mountPath: \"/data\"}\n", 1+r.IntN(20))
		} else if i%5 == 0 {
			fmt.Fprintf(&b, "\t\tautoscale: {min: 1, max: %d, cpuUtilization: 70}\n", 2+r.IntN(6))
		} else {
			fmt.Fprintf(&b, "\t\treplicas: %d\n", 1+r.IntN(3))
		}
		cpu := 50 * (1 + r.IntN(8))
		mem := 64 * (1 + r.IntN(8))
		fmt.Fprintf(&b, "\t\tresources: {\n\t\t\trequests: {cpu: \"%dm\", memory: \"%dMi\"}\n\t\t\tlimits: {cpu: \"%dm\", memory: \"%dMi\"}\n\t\t}\n", cpu, mem, 2*cpu, 2*mem)
		b.WriteString("\t\tports: {http: 8080, metrics: 9090}\n")
		b.WriteString("\t\tmetrics: port: \"metrics\"\n")
		// Two flows: one inside the namespace, one to the next namespace.
		var flows []string
		if n > 1 {
			peer := ns*ComponentsPerNamespace + (i+1)%ComponentsPerNamespace
			if peer < n && peer != i {
				flows = append(flows, fmt.Sprintf("%q", name(peer)+":http"))
			}
			far := (i + ComponentsPerNamespace) % n
			if far != i && far != peer {
				flows = append(flows, fmt.Sprintf("%q", name(far)+":http"))
			}
		}
		fmt.Fprintf(&b, "\t\ttalksTo: [%s]\n", strings.Join(flows, ", "))
		fmt.Fprintf(&b, "\t\tconfig: {LOG_LEVEL: \"info\", SHARD: \"%d\", REGION: \"r-%d\"}\n", i, r.IntN(4))
		b.WriteString("\t\twritable: [\"/tmp\"]\n")
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
		b.WriteString("\tcluster: {distribution: \"eks\", arch: [\"arm64\"], networkPolicy: \"vpc-cni\"}\n")
	default:
		b.WriteString("\tcluster: {distribution: \"k3s\", arch: [\"amd64\"]}\n")
	}
	// Every environment changes a few components.
	b.WriteString("\tcomponents: {\n")
	for c := i; c < n; c += 97 {
		if c%5 == 0 && c%10 != 9 {
			fmt.Fprintf(&b, "\t\t%q: autoscale: max: %d\n", name(c), 8+i)
		} else {
			fmt.Fprintf(&b, "\t\t%q: config: ENVIRONMENT: \"env-%d\"\n", name(c), i)
		}
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func lock() string {
	var b strings.Builder
	b.WriteString("# synthetic image lock\n")
	for i := 0; i < imageCount; i++ {
		ref := fmt.Sprintf("registry.example.com/synth/app-%d:1.0.%d", i, i)
		fmt.Fprintf(&b, "%s sha256:%x linux/amd64 linux/arm64\n", ref, sha256.Sum256([]byte(ref)))
	}
	return b.String()
}
