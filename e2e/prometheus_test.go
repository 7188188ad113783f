//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsc/gitopsc/compiler/composefile"
)

// promConfigSamples prove that the checker is Prometheus's loader with the
// Kubernetes service discovery registered: a valid scrape config of the
// shape the example renders loads, and each broken one is refused with
// Prometheus's own message.
var promConfigSamples = []struct {
	name string
	yml  string
	want string // in the checker's output; with exit 0 for the valid one, 1 for the others
	ok   bool
}{
	{name: "valid", ok: true, want: "job agents: /metrics every 15s, kubernetes_sd role=pod namespaces=ai-agents", yml: `
global:
  scrape_interval: 30s
scrape_configs:
  - job_name: agents
    metrics_path: /metrics
    scrape_interval: 15s
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          names: [ai-agents]
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
        regex: (planner|coder)-agent
        action: keep
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        regex: metrics
        action: keep
`},
	{name: "unknown-role", want: `unknown Kubernetes SD role "nodes"`, yml: `
scrape_configs:
  - job_name: agents
    kubernetes_sd_configs:
      - role: nodes
`},
	{name: "bad-regex", want: "error parsing regexp: missing closing )", yml: `
scrape_configs:
  - job_name: agents
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
        regex: "(planner"
        action: keep
`},
	{name: "unknown-field", want: "field metric_path not found", yml: `
scrape_configs:
  - job_name: agents
    metric_path: /metrics
    kubernetes_sd_configs:
      - role: pod
`},
	{name: "no-scrape-configs", want: "no scrape_configs", yml: `
global:
  scrape_interval: 30s
`},
}

// TestPrometheusConfig loads every rendered prometheus.yml (the data key of
// a ConfigMap) with Prometheus's own config loader, e2e/promconfig, which
// run.sh builds and names in E2E_PROMCONFIG. Each environment must have
// one at least. It needs no control plane.
func TestPrometheusConfig(t *testing.T) {
	checker := os.Getenv("E2E_PROMCONFIG")
	if checker == "" {
		t.Fatal("E2E_PROMCONFIG is not set: run make e2e, which builds e2e/promconfig and then runs this test")
	}
	t.Run("samples", func(t *testing.T) {
		for _, s := range promConfigSamples {
			out, code := runPromConfig(t, checker, s.yml)
			switch {
			case s.ok && code != 0:
				t.Errorf("%s: exit %d, want 0:\n%s", s.name, code, out)
			case !s.ok && code != 1:
				t.Errorf("%s: exit %d, want 1:\n%s", s.name, code, out)
			case !strings.Contains(out, s.want):
				t.Errorf("%s: exit %d as expected, but the output lacks %q:\n%s", s.name, code, s.want, out)
			default:
				t.Logf("%s: exit %d: %s", s.name, code, strings.ReplaceAll(strings.TrimSpace(out), "\n", " | "))
			}
		}
	})
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range shippedOutput(t, root) {
		t.Run("shipped/"+filepath.Base(dir), func(t *testing.T) {
			checkPrometheusConfigs(t, checker, dir)
		})
	}
	// A Compose environment mounts its prometheus.yml from files/ (make
	// test keeps out/ up to date).
	composes, _ := filepath.Glob(filepath.Join(root, "out", "*", composefile.FileName))
	for _, file := range composes {
		dir := filepath.Dir(file)
		t.Run("shipped/"+filepath.Base(dir), func(t *testing.T) {
			ymls, _ := filepath.Glob(filepath.Join(dir, "files", "*", "etc", "prometheus", "prometheus.yml"))
			if len(ymls) == 0 {
				t.Fatalf("%s mounts no prometheus.yml", dir)
			}
			for _, y := range ymls {
				b, err := os.ReadFile(y)
				if err != nil {
					t.Fatal(err)
				}
				if out, code := runPromConfig(t, checker, string(b)); code != 0 {
					t.Errorf("%s: exit %d:\n%s", y, code, out)
				}
			}
		})
	}
}

// checkPrometheusConfigs checks the prometheus.yml of every ConfigMap that
// the environment's Flux Kustomizations apply, and that each namespace its
// Kubernetes service discovery names is one the environment renders, where
// a rendered Role and RoleBinding let Prometheus's ServiceAccount list
// pods.
func checkPrometheusConfigs(t *testing.T, checker, envDir string) {
	tree, err := readEnvTree(envDir)
	if err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]bool{}
	// podReaders are, by namespace, the "NAMESPACE/NAME" of the
	// ServiceAccounts a rendered Role lets list pods there.
	podReaders := map[string]map[string]bool{}
	roles := map[string]bool{} // "ns/name" of Roles granting list on pods
	var bindings []map[string]any
	for _, l := range tree.layers {
		for _, f := range l.files {
			r := refOf(f.obj)
			switch {
			case r.APIVersion == "v1" && r.Kind == "Namespace":
				namespaces[r.Name] = true
			case r.Kind == "Role":
				rules, _ := f.obj["rules"].([]any)
				for _, rule := range rules {
					rm, _ := rule.(map[string]any)
					if fmt.Sprint(rm["apiGroups"]) == "[]" && strings.Contains(fmt.Sprint(rm["resources"]), "pods") && strings.Contains(fmt.Sprint(rm["verbs"]), "list") {
						roles[r.Namespace+"/"+r.Name] = true
					}
				}
			case r.Kind == "RoleBinding":
				bindings = append(bindings, f.obj)
			}
		}
	}
	for _, b := range bindings {
		r := refOf(b)
		if !roles[r.Namespace+"/"+fmt.Sprint(dig(b, "roleRef", "name"))] {
			continue
		}
		subjects, _ := b["subjects"].([]any)
		for _, sub := range subjects {
			sm, _ := sub.(map[string]any)
			if sm["kind"] == "ServiceAccount" {
				if podReaders[r.Namespace] == nil {
					podReaders[r.Namespace] = map[string]bool{}
				}
				podReaders[r.Namespace][fmt.Sprint(sm["namespace"])+"/"+fmt.Sprint(sm["name"])] = true
			}
		}
	}
	found := 0
	for _, l := range tree.layers {
		for _, f := range l.files {
			if r := refOf(f.obj); r.APIVersion != "v1" || r.Kind != "ConfigMap" {
				continue
			}
			data, _ := f.obj["data"].(map[string]any)
			v, ok := data["prometheus.yml"]
			if !ok {
				continue
			}
			found++
			yml, ok := v.(string)
			if !ok {
				t.Errorf("%s: data[prometheus.yml] is a %T, not a string", f.rel, v)
				continue
			}
			out, code := runPromConfig(t, checker, yml)
			if code != 0 {
				t.Errorf("%s: Prometheus's config loader refuses data[prometheus.yml] (exit %d):\n%s", f.rel, code, out)
				continue
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				line = strings.TrimPrefix(line, "prometheus.yml: ")
				fmt.Printf("e2e: %s: %s prometheus.yml: %s\n", tree.name, f.rel, line)
				reader := refOf(f.obj).Namespace + "/" + prometheusAccount
				for _, ns := range sdNamespaces(line) {
					if !namespaces[ns] {
						t.Errorf("%s: prometheus.yml: %s: namespace %s is not rendered in %s", f.rel, line, ns, tree.name)
					}
					if !podReaders[ns][reader] {
						t.Errorf("%s: prometheus.yml: %s: no rendered Role and RoleBinding let ServiceAccount %s list pods in %s, so its discovery there finds nothing", f.rel, line, reader, ns)
					}
				}
			}
		}
	}
	if found == 0 {
		t.Errorf("%s: no ConfigMap with a data key prometheus.yml (the Prometheus in monitoring/ would have no configuration): want one in each environment", tree.name)
	}
}

// prometheusAccount is the ServiceAccount the shipped Prometheus runs as,
// in the namespace of its ConfigMap: gitopsc names it after the component.
const prometheusAccount = "prometheus"

// sdNamespaces are the namespaces that one job line of promconfig names
// (...namespaces=a,b; ...), without "all" and "(own)".
func sdNamespaces(line string) []string {
	var names []string
	for _, part := range strings.Split(line, "namespaces=")[1:] {
		part, _, _ = strings.Cut(part, ";")
		part, _, _ = strings.Cut(part, " ")
		for _, n := range strings.Split(part, ",") {
			if n != "" && n != "all" && n != "(own)" {
				names = append(names, n)
			}
		}
	}
	return names
}

// runPromConfig writes yml to prometheus.yml in a folder of its own and
// runs the checker on it there; it returns what the checker printed and its
// exit status (1: the loader refused the file). Any other failure to run
// it ends the test.
func runPromConfig(t *testing.T, checker, yml string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, checker, "prometheus.yml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return string(out), 1
	default:
		t.Fatalf("%s prometheus.yml: %v\n%s", checker, err, out)
		return "", 0
	}
}
