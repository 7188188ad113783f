package model

import (
	"reflect"
	"testing"
)

func TestMergeMonitoring(t *testing.T) {
	prom := &PrometheusPods{Namespace: "monitoring", Labels: []Setting{PrometheusPodLabel}}
	sys := &Monitoring{
		Discovery: DiscoveryAnnotations,
		Labels:    []Setting{{Key: "team", Value: "a"}}, LabelsSet: true,
		Alerts: []*Alert{{Name: "Down", Expr: "up == 0"}, {Name: "Restarting", Expr: "x > 1"}},
	}
	env := &Monitoring{
		Discovery:  DiscoveryOperator,
		Prometheus: prom,
		Alerts:     []*Alert{{Name: "Restarting", Expr: "x > 3"}, {Name: "Full", Expr: "y > 0.9"}},
	}
	got := MergeMonitoring(sys, env)
	if !got.Operator() || got.Prometheus != prom {
		t.Errorf("discovery %q, prometheus %v: the environment's fields replace the system's", got.Discovery, got.Prometheus)
	}
	// Labels the environment does not give are the system's.
	if !reflect.DeepEqual(got.Labels, sys.Labels) {
		t.Errorf("labels = %v, want the system's %v", got.Labels, sys.Labels)
	}
	var names, exprs []string
	for _, a := range got.Alerts {
		names, exprs = append(names, a.Name), append(exprs, a.Expr)
	}
	if want := []string{"Down", "Full", "Restarting"}; !reflect.DeepEqual(names, want) {
		t.Errorf("alerts %v, want %v (added, by name)", names, want)
	}
	if want := []string{"up == 0", "y > 0.9", "x > 3"}; !reflect.DeepEqual(exprs, want) {
		t.Errorf("alert expressions %v, want %v (the environment's replacing the system's)", exprs, want)
	}
	if sys.Discovery != DiscoveryAnnotations || len(sys.Alerts) != 2 || sys.Alerts[1].Expr != "x > 1" {
		t.Error("MergeMonitoring changed the system's monitoring")
	}
	// Given labels replace, even when empty.
	if m := MergeMonitoring(sys, &Monitoring{LabelsSet: true}); len(m.Labels) != 0 {
		t.Errorf("labels = %v, want none: the environment's replace the system's", m.Labels)
	}
	if MergeMonitoring(nil, nil) != nil || MergeMonitoring(sys, nil) != sys || MergeMonitoring(nil, env) != env {
		t.Error("a nil side should leave the other as it is")
	}
	if (*Monitoring)(nil).Operator() {
		t.Error("no monitoring is the annotations' discovery")
	}
}
