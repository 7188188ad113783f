package model

import "sort"

// Discovery modes: how Prometheus finds the metrics endpoints.
const (
	DiscoveryAnnotations = "annotations"
	DiscoveryOperator    = "operator"
)

// PrometheusPodLabel is the label the prometheus-operator gives the pods
// of every Prometheus it runs, which selects them when the input names
// no labels.
var PrometheusPodLabel = Setting{Key: "app.kubernetes.io/name", Value: "prometheus"}

// Monitoring is how Prometheus finds what to scrape, and the alerts it
// evaluates: the system's, or the system's with an environment's
// override applied.
type Monitoring struct {
	Pos          Pos
	Discovery    string // DiscoveryAnnotations unless set
	DiscoveryPos Pos
	// Prometheus are the pods of the operator's Prometheus; nil when not
	// given.
	Prometheus *PrometheusPods
	// Labels go on every PodMonitor and PrometheusRule; LabelsSet says
	// they were given (an override replaces them then).
	Labels    []Setting
	LabelsSet bool
	LabelsPos Pos
	Alerts    []*Alert // sorted by name
}

// PrometheusPods are the pods of a Prometheus by namespace and labels.
type PrometheusPods struct {
	Pos          Pos
	Namespace    string
	NamespacePos Pos
	Labels       []Setting // sorted by key
	Path         string    // "system.monitoring.prometheus"
}

// Alert is one alerting rule.
type Alert struct {
	Name        string
	Pos         Pos
	Path        string // "system.monitoring.alerts.NAME"
	Expr        string
	ExprPos     Pos
	For         string
	Severity    string
	Summary     string
	Description string
	Labels      []Setting // sorted by key
	Annotations []Setting // sorted by key
}

// Operator reports whether m asks for the prometheus-operator's objects.
func (m *Monitoring) Operator() bool {
	return m != nil && m.Discovery == DiscoveryOperator
}

// MergeMonitoring is sys with an environment's override o applied: the
// fields o gives replace sys's, and its alerts add to sys's, one of the
// same name replacing it. Either may be nil.
func MergeMonitoring(sys, o *Monitoring) *Monitoring {
	switch {
	case o == nil:
		return sys
	case sys == nil:
		return o
	}
	m := *sys
	if o.Discovery != "" {
		m.Discovery, m.DiscoveryPos = o.Discovery, o.DiscoveryPos
	}
	if o.Prometheus != nil {
		m.Prometheus = o.Prometheus
	}
	if o.LabelsSet {
		m.Labels, m.LabelsSet, m.LabelsPos = o.Labels, true, o.LabelsPos
	}
	byName := map[string]*Alert{}
	for _, a := range sys.Alerts {
		byName[a.Name] = a
	}
	for _, a := range o.Alerts {
		byName[a.Name] = a
	}
	m.Alerts = make([]*Alert, 0, len(byName))
	for _, a := range byName {
		m.Alerts = append(m.Alerts, a)
	}
	sort.Slice(m.Alerts, func(i, j int) bool { return m.Alerts[i].Name < m.Alerts[j].Name })
	return &m
}
