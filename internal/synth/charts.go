package synth

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gitopsc/gitopsc/compiler/charts"
	"github.com/gitopsc/gitopsc/compiler/charts/charttest"
)

const (
	chartRepository = "https://charts.example.com/synth"
	chartVersion    = "1.0.0"
)

// synthCharts are the charts of every generated system: an operator with
// its CRD and cluster role, and an autoscaled gateway.
var synthCharts = []struct {
	name, image string
	templates   map[string]string
}{
	{"operator", "registry.example.com/synth/operator:1.0.0", map[string]string{
		"crds/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.synth.example.com
spec:
  group: synth.example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
		"templates/rbac.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}
rules:
- apiGroups: [synth.example.com]
  resources: [widgets]
  verbs: [get, list, watch, update]
`,
	}},
	{"gateway", "registry.example.com/synth/gateway:1.0.0", map[string]string{
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app.kubernetes.io/name: {{ .Release.Name }}}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`,
		"templates/pdb.yaml": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app.kubernetes.io/name: {{ .Release.Name }}}
`,
		"templates/hpa.yaml": `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ .Release.Name }}}
  minReplicas: {{ .Values.replicas }}
  maxReplicas: {{ mul .Values.replicas 4 }}
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
`,
	}},
}

// deployment is every chart's Deployment, of the chart's image.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app.kubernetes.io/name: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ .Release.Name }}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: main
        image: %q
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: http}}
        livenessProbe: {httpGet: {path: /live, port: http}}
        resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 100m, memory: 128Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`

// writeCharts packages the charts into dir/charts/, as charts lock keeps
// them, and writes dir/charts.lock.
func writeCharts(dir string) error {
	src, err := os.MkdirTemp("", "synth-charts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	var entries []charts.Entry
	for _, c := range synthCharts {
		files := map[string]string{
			"Chart.yaml":                fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", c.name, chartVersion),
			"values.yaml":               "replicas: 1\n",
			"templates/deployment.yaml": fmt.Sprintf(deployment, c.image),
		}
		for k, v := range c.templates {
			files[k] = v
		}
		cdir := filepath.Join(src, c.name)
		for rel, content := range files {
			p := filepath.Join(cdir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		pkg, err := charttest.Package(cdir)
		if err != nil {
			return err
		}
		e := charts.Entry{Repository: chartRepository, Chart: c.name, Version: chartVersion, Digest: charts.Digest(pkg.Archive)}
		if err := os.MkdirAll(filepath.Join(dir, charts.ArchiveDir), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(e.Archive())), pkg.Archive, 0o644); err != nil {
			return err
		}
		entries = append(entries, e)
	}
	return os.WriteFile(filepath.Join(dir, charts.LockFile), charts.Format(entries), 0o644)
}
