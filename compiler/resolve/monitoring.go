package resolve

import (
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// monitoring is the system's monitoring with env's override applied,
// checked against the environment's system: the operator's discovery
// needs to know the Prometheus pods, in a namespace of the system.
func monitoring(m *model.Monitoring, env *model.Environment, sys *model.System, errs *diag.List) *model.Monitoring {
	m = model.MergeMonitoring(m, env.Monitoring)
	if m == nil || env.Compose != nil {
		return m
	}
	if p := m.Prometheus; p != nil {
		if ns := sys.Namespace(p.Namespace); ns == nil || ns.Tenant {
			errs.Add(p.NamespacePos, "%s.namespace: %q is not one of system.namespaces; the Prometheus's PrometheusRule and NetworkPolicies are written in its namespace", p.Path, p.Namespace)
		}
	}
	if m.Operator() && m.Prometheus == nil {
		errs.Add(m.DiscoveryPos, "environments.%s: monitoring discovery \"operator\" needs monitoring.prometheus: the namespace and labels of the Prometheus pods, which the NetworkPolicies let scrape each metrics port", env.Name)
	}
	return m
}
