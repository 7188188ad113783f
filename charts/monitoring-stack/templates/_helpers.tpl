{{/* Labels of every object: name, instance, part-of, managed-by. */}}
{{- define "monitoring-stack.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: {{ .root.Values.partOf }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of a workload's pods. */}}
{{- define "monitoring-stack.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Egress to the Kubernetes API server. */}}
{{- define "monitoring-stack.apiServerEgress" -}}
- to:
  {{- range .Values.apiServer.cidrs }}
  - ipBlock:
      cidr: {{ . }}
  {{- end }}
  ports:
  - protocol: TCP
    port: {{ .Values.apiServer.port }}
{{- end }}
