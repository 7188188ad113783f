package policies

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

var monitoringRules = []*Rule{
	{
		ID: "MON001", Family: "monitoring", Severity: Error,
		Title: "a Prometheus selects every PodMonitor and PrometheusRule, and runs where the policies admit it",
		Rationale: `The prometheus-operator gives a Prometheus the PodMonitors and
PrometheusRules its selectors match and ignores the rest without a word:
a PodMonitor no Prometheus selects is a component nobody scrapes, and a
PrometheusRule no Prometheus selects alerts nobody. A null
podMonitorSelector or ruleSelector matches nothing, {} everything; a null
namespace selector the Prometheus's own namespace only, {} every one.
When the input renders a Prometheus (a chart's, or one under objects),
the rule evaluates those selectors against the labels and namespaces of
the PodMonitors and the PrometheusRule gitopsc writes, the way the
operator does, and checks that the pods the scrape NetworkPolicies admit
(monitoring.prometheus) are that Prometheus's: the operator labels them
app.kubernetes.io/name: prometheus, app.kubernetes.io/instance and
prometheus: its name, and what spec.podMetadata.labels adds. With no
Prometheus in the input there is nothing to check; build's needs line
says what the cluster must have.`,
		Check: checkMonitorsSelected,
	},
}

// prometheusCR is what MON001 reads of a rendered Prometheus.
type prometheusCR struct {
	obj                 *render.Object
	ns, name            string
	monitors, monitorNS *metav1.LabelSelector
	rules, ruleNS       *metav1.LabelSelector
	podLabels           labels.Set
}

func (p *prometheusCR) describe() string {
	by := "under objects"
	if c := p.obj.Source.Chart; c != "" {
		by = "of chart " + c
	}
	return fmt.Sprintf("Prometheus %s/%s (%s)", p.ns, p.name, by)
}

// selects reports whether sel (a podMonitorSelector or ruleSelector) and
// nsSel take an object with labels l in namespace ns.
func (p *prometheusCR) selects(sel, nsSel *metav1.LabelSelector, l labels.Set, ns string, nsLabels map[string]labels.Set) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || !s.Matches(l) {
		return false
	}
	if nsSel == nil {
		return ns == p.ns
	}
	n, err := metav1.LabelSelectorAsSelector(nsSel)
	return err == nil && n.Matches(nsLabels[ns])
}

// selectorWords shows a selector as the rule's messages do.
func selectorWords(sel, nsSel *metav1.LabelSelector, own string) string {
	what := "nothing (a null selector)"
	if sel != nil {
		s, _ := metav1.LabelSelectorAsSelector(sel)
		what = "every object"
		if !s.Empty() {
			what = "objects labelled " + s.String()
		}
	}
	where := "in its own namespace, " + own
	if nsSel != nil {
		n, _ := metav1.LabelSelectorAsSelector(nsSel)
		where = "in every namespace"
		if !n.Empty() {
			where = "in namespaces labelled " + n.String()
		}
	}
	return what + " " + where
}

func checkMonitorsSelected(ctx *Context) []Finding {
	m := ctx.Env.System.Monitoring
	if !m.Operator() || m.Prometheus == nil {
		return nil
	}
	var proms []*prometheusCR
	nsLabels := map[string]labels.Set{}
	for _, o := range ctx.Output.Objects {
		if ns, ok := o.Obj.(*corev1.Namespace); ok {
			nsLabels[ns.Name] = ns.Labels
		}
		if o.APIVersion == render.MonitoringAPIVersion && o.Kind == "Prometheus" && o.Source != nil {
			proms = append(proms, readPrometheus(o))
		}
	}
	if len(proms) == 0 {
		return nil
	}
	var fs []Finding
	for _, o := range ctx.Output.Objects {
		if o.APIVersion != render.MonitoringAPIVersion || o.Source != nil || (o.Kind != "PodMonitor" && o.Kind != "PrometheusRule") {
			continue
		}
		meta := o.Obj.(metav1.Object)
		selected := slices.ContainsFunc(proms, func(p *prometheusCR) bool {
			if o.Kind == "PodMonitor" {
				return p.selects(p.monitors, p.monitorNS, meta.GetLabels(), o.Namespace, nsLabels)
			}
			return p.selects(p.rules, p.ruleNS, meta.GetLabels(), o.Namespace, nsLabels)
		})
		if selected {
			continue
		}
		var how []string
		for _, p := range proms {
			if o.Kind == "PodMonitor" {
				how = append(how, p.describe()+" takes PodMonitors: "+selectorWords(p.monitors, p.monitorNS, p.ns))
			} else {
				how = append(how, p.describe()+" takes PrometheusRules: "+selectorWords(p.rules, p.ruleNS, p.ns))
			}
		}
		f := Finding{Pos: o.Pos, Target: o.Component, Object: o.Kind + " " + o.Namespace + "/" + o.Name}
		if o.Kind == "PodMonitor" {
			f.Message = fmt.Sprintf("no Prometheus selects PodMonitor %s/%s (labels %s), so nothing scrapes %s; %s; set monitoring.labels to labels it selects, or change its selectors",
				o.Namespace, o.Name, labels.Set(meta.GetLabels()), o.Component, strings.Join(how, "; "))
		} else {
			f.Target = "environment"
			f.Message = fmt.Sprintf("no Prometheus selects PrometheusRule %s/%s (labels %s), so none of its %s fires; %s; set monitoring.labels to labels it selects, or change its selectors",
				o.Namespace, o.Name, labels.Set(meta.GetLabels()), render.Count(len(m.Alerts), "alert"), strings.Join(how, "; "))
		}
		fs = append(fs, f)
	}
	// The scrape policies admit the pods monitoring.prometheus names: a
	// Prometheus's pods must carry those labels, in that namespace.
	p := m.Prometheus
	want := labels.SelectorFromSet(settingsSet(p.Labels))
	if !slices.ContainsFunc(proms, func(c *prometheusCR) bool { return c.ns == p.Namespace && want.Matches(c.podLabels) }) {
		var runs []string
		for _, c := range proms {
			runs = append(runs, fmt.Sprintf("%s has pods labelled %s", c.describe(), c.podLabels))
		}
		fs = append(fs, Finding{Pos: p.Pos, Target: "environment",
			Message: fmt.Sprintf("the scrape NetworkPolicies admit pods labelled %s in namespace %s, and no Prometheus of the input runs such pods there (%s), so its scrapes are refused; make monitoring.prometheus name its namespace and pod labels",
				want, p.Namespace, strings.Join(runs, "; "))})
	}
	return fs
}

// readPrometheus reads the selectors and pod labels of a rendered
// Prometheus as the operator reads them.
func readPrometheus(o *render.Object) *prometheusCR {
	p := &prometheusCR{obj: o, ns: o.Namespace, name: o.Name}
	spec, _ := o.Source.Fields["spec"].(map[string]any)
	selector := func(key string) *metav1.LabelSelector {
		v, ok := spec[key]
		if !ok || v == nil {
			return nil
		}
		b, _ := json.Marshal(v)
		var s metav1.LabelSelector
		if json.Unmarshal(b, &s) != nil {
			// Not a selector the API server would accept: it selects
			// nothing here.
			return nil
		}
		return &s
	}
	p.monitors, p.monitorNS = selector("podMonitorSelector"), selector("podMonitorNamespaceSelector")
	p.rules, p.ruleNS = selector("ruleSelector"), selector("ruleNamespaceSelector")
	// What the operator sets on the pods of a Prometheus (its
	// statefulset's pod template), over the podMetadata's.
	p.podLabels = labels.Set{}
	if pm, ok := spec["podMetadata"].(map[string]any); ok {
		if l, ok := pm["labels"].(map[string]any); ok {
			for k, v := range l {
				if s, ok := v.(string); ok {
					p.podLabels[k] = s
				}
			}
		}
	}
	maps.Copy(p.podLabels, labels.Set{
		"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": o.Name, "app.kubernetes.io/managed-by": "prometheus-operator",
		"prometheus": o.Name, "operator.prometheus.io/name": o.Name, "operator.prometheus.io/shard": "0",
	})
	return p
}

func settingsSet(ss []model.Setting) labels.Set {
	l := labels.Set{}
	for _, s := range ss {
		l[s.Key] = s.Value
	}
	return l
}
