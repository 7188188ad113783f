package render

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// MonitoringAPIVersion is the prometheus-operator's API.
const MonitoringAPIVersion = "monitoring.coreos.com/v1"

// AlertsName is the name of the PrometheusRule that holds the alerts.
const AlertsName = "alerts"

// monitoring renders, with discovery "operator", a PodMonitor for each
// component with metrics and the NetworkPolicies that let the Prometheus
// pods scrape it, and the alerts as one PrometheusRule in the
// Prometheus's namespace. With annotations the pods carry them instead
// (podTemplate) and nothing is rendered here.
func (rd *renderer) monitoring() {
	m := rd.sys.Monitoring
	if !m.Operator() || m.Prometheus == nil {
		return
	}
	for _, c := range rd.sys.Components {
		if c.Metrics != nil && c.Port(c.Metrics.Port) != nil {
			rd.podMonitor(c, m)
		}
	}
	if len(m.Alerts) > 0 {
		rd.prometheusRule(m)
	}
}

// monitorLabels are gitopsc's labels l with the input's monitoring
// labels added.
func monitorLabels(l map[string]string, m *model.Monitoring) map[string]string {
	for _, s := range m.Labels {
		l[s.Key] = s.Value
	}
	return l
}

func (rd *renderer) podMonitor(c *model.Component, m *model.Monitoring) {
	port, path := c.Metrics.Port, c.Metrics.Path
	rd.add(&Object{
		Layer: c.Namespace, APIVersion: MonitoringAPIVersion, Kind: "PodMonitor", Namespace: c.Namespace,
		Name: c.ObjectName, Component: c.Name, Pos: c.Metrics.Pos,
		Obj: &monitoringv1.PodMonitor{
			TypeMeta:   metav1.TypeMeta{APIVersion: MonitoringAPIVersion, Kind: "PodMonitor"},
			ObjectMeta: metav1.ObjectMeta{Name: c.ObjectName, Namespace: c.Namespace, Labels: monitorLabels(rd.componentLabels(c), m)},
			Spec: monitoringv1.PodMonitorSpec{
				Selector:            metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)},
				PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: &port, Path: path}},
			},
		},
	})
	// The scrape is a flow from the Prometheus pods to the metrics port:
	// admitted at the component, and let out of the Prometheus's
	// namespace.
	p := m.Prometheus
	ports := []networkingv1.NetworkPolicyPort{policyPort(c.Port(port))}
	promPeer := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: rd.namespaceSelector(p.Namespace)},
		PodSelector:       &metav1.LabelSelector{MatchLabels: settingsMap(p.Labels)},
	}
	// Named apart from flows' policies, whose names say both ends: the
	// prometheus component of the annotations' way has those.
	rd.addPolicy(c, "scrape-"+c.ObjectName+"-"+port, c.Metrics.Pos, networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{promPeer}, Ports: ports}},
	})
	name := "scrape-to-" + PeerLabel(rd.sys, p.Namespace, c) + "-" + port
	rd.add(&Object{
		Layer: p.Namespace, APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: p.Namespace,
		Name: name, Component: c.Name, Pos: c.Metrics.Pos,
		Obj: &networkingv1.NetworkPolicy{
			TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace,
				Labels: map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy, LabelInstance: "prometheus"}},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: settingsMap(p.Labels)},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{rd.peer(c)}, Ports: ports}},
			},
		},
	})
}

func (rd *renderer) prometheusRule(m *model.Monitoring) {
	ns := m.Prometheus.Namespace
	group := monitoringv1.RuleGroup{Name: rd.sys.Name}
	for _, a := range m.Alerts {
		r := monitoringv1.Rule{
			Alert:       a.Name,
			Expr:        intstr.FromString(a.Expr),
			Labels:      settingsMap(a.Labels),
			Annotations: settingsMap(a.Annotations),
		}
		if a.For != "" {
			d := monitoringv1.Duration(a.For)
			r.For = &d
		}
		r.Labels["severity"] = a.Severity
		r.Annotations["summary"] = a.Summary
		if a.Description != "" {
			r.Annotations["description"] = a.Description
		}
		group.Rules = append(group.Rules, r)
	}
	pos := m.Pos
	if len(m.Alerts) > 0 {
		pos = m.Alerts[0].Pos
	}
	labels := map[string]string{LabelName: AlertsName, LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy}
	rd.add(&Object{
		Layer: ns, APIVersion: MonitoringAPIVersion, Kind: "PrometheusRule", Namespace: ns, Name: AlertsName, Pos: pos,
		Obj: &monitoringv1.PrometheusRule{
			TypeMeta:   metav1.TypeMeta{APIVersion: MonitoringAPIVersion, Kind: "PrometheusRule"},
			ObjectMeta: metav1.ObjectMeta{Name: AlertsName, Namespace: ns, Labels: monitorLabels(labels, m)},
			Spec:       monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}},
		},
	})
}

// settingsMap is a set of labels as a map, never nil.
func settingsMap(ss []model.Setting) map[string]string {
	m := make(map[string]string, len(ss))
	for _, s := range ss {
		m[s.Key] = s.Value
	}
	return m
}
