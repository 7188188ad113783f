package load

import (
	"regexp"
	"strings"
	"text/template/parse"

	"cuelang.org/go/cue"
	prommodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// promql parses alert expressions as Prometheus does, with its default
// functions and without experimental ones.
var promql = parser.NewParser(parser.Options{})

// promLabelName is a Prometheus label or annotation name as rule files
// have always allowed them (the legacy scheme, which every Prometheus
// and the operator accept).
var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// templateWhere is how text/template begins its errors.
var templateWhere = regexp.MustCompile(`^template: alert:[0-9]+: `)

// templateDefs are the variables Prometheus defines before it expands an
// alert's labels and annotations.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// monitoring decodes system.monitoring or an environment's override; nil
// when v does not exist.
func (d *decoder) monitoring(v cue.Value, path string) *model.Monitoring {
	if !v.Exists() {
		return nil
	}
	m := &model.Monitoring{Pos: v.Pos()}
	m.Discovery, m.DiscoveryPos = str(v, "discovery")
	if pv := lookup(v, "prometheus"); pv.Exists() {
		p := &model.PrometheusPods{Pos: pv.Pos(), Path: path + ".prometheus"}
		p.Namespace, p.NamespacePos = str(pv, "namespace")
		p.Labels = []model.Setting{model.PrometheusPodLabel}
		if lv := lookup(pv, "labels"); lv.Exists() {
			p.Labels = d.labelSet(lv, path+".prometheus.labels", false)
			if len(sortedFields(lv)) == 0 {
				d.errs.Add(lv.Pos(), "%s.prometheus.labels: no labels select every pod of the namespace; give the labels of the Prometheus pods, or leave labels out for the operator's app.kubernetes.io/name: prometheus", path)
			}
		}
		m.Prometheus = p
	}
	if lv := lookup(v, "labels"); lv.Exists() {
		m.Labels, m.LabelsSet, m.LabelsPos = d.labelSet(lv, path+".labels", true), true, lv.Pos()
	}
	for _, f := range sortedFields(lookup(v, "alerts")) {
		m.Alerts = append(m.Alerts, d.alert(f, path+".alerts."+f.label))
	}
	return m
}

// labelSet decodes Kubernetes labels, sorted by key; own refuses the
// keys gitopsc sets on the objects it renders.
func (d *decoder) labelSet(v cue.Value, path string, own bool) []model.Setting {
	var out []model.Setting
	for _, f := range sortedFields(v) {
		s := d.keyValue(f, path)
		if s == nil {
			continue
		}
		if own && reservedLabels[s.Key] {
			d.errs.Add(s.Pos, "%s: %q is set by gitopsc on the objects it renders; choose another key", path, s.Key)
			continue
		}
		if msgs := validation.IsValidLabelValue(s.Value); len(msgs) > 0 {
			d.errs.Add(s.Pos, "%s: %q: the value is not a label value: %s", path, s.Key, strings.Join(msgs, "; "))
			continue
		}
		out = append(out, *s)
	}
	return out
}

// alert decodes one alerting rule and checks it as Prometheus loads a
// rule file: the expression parses, the duration is one, label and
// annotation names are names and their templates parse.
func (d *decoder) alert(f field, path string) *model.Alert {
	a := &model.Alert{Name: f.label, Pos: f.v.Pos(), Path: path}
	a.Expr, a.ExprPos = str(f.v, "expr")
	if _, err := promql.ParseExpr(a.Expr); err != nil {
		d.errs.Add(a.ExprPos, "%s.expr: not a PromQL expression: %s", path, err)
	}
	var forPos model.Pos
	a.For, forPos = str(f.v, "for")
	if a.For != "" {
		if _, err := prommodel.ParseDuration(a.For); err != nil {
			d.errs.Add(forPos, "%s.for: %q is not a Prometheus duration (units from the largest down: 1h30m, not 30m1h)", path, a.For)
		}
	}
	a.Severity, _ = str(f.v, "severity")
	var summaryPos, descPos model.Pos
	a.Summary, summaryPos = str(f.v, "summary")
	a.Description, descPos = str(f.v, "description")
	d.alertTemplate(a.Summary, summaryPos, path+".summary")
	d.alertTemplate(a.Description, descPos, path+".description")
	for _, kind := range []struct {
		name  string
		set   *[]model.Setting
		taken []string
	}{
		{"labels", &a.Labels, []string{"severity", "alertname"}},
		{"annotations", &a.Annotations, []string{"summary", "description"}},
	} {
		for _, s := range sortedFields(lookup(f.v, kind.name)) {
			val, _ := s.v.String()
			where := path + "." + kind.name + "." + quoteLabel(s.label)
			switch {
			case !promLabelName.MatchString(s.label) || strings.HasPrefix(s.label, "__"):
				d.errs.Add(s.v.Pos(), "%s: %q is not a Prometheus %s name: letters, digits and '_', not starting with a digit or \"__\"", where, s.label, strings.TrimSuffix(kind.name, "s"))
				continue
			case s.label == kind.taken[0] || s.label == kind.taken[1]:
				d.errs.Add(s.v.Pos(), "%s: %q is set by gitopsc (the alert's %s); write it there", where, s.label, takenBy(s.label))
				continue
			}
			d.alertTemplate(val, s.v.Pos(), where)
			*kind.set = append(*kind.set, model.Setting{Key: s.label, Value: val, Pos: s.v.Pos()})
		}
	}
	return a
}

// takenBy says where an alert's reserved label or annotation comes from.
func takenBy(key string) string {
	if key == "alertname" {
		return "name, under alerts"
	}
	return key + " field"
}

// alertTemplate checks that text parses as the Go template Prometheus
// expands it as, with the variables it defines; the functions are
// Prometheus's and not checked.
func (d *decoder) alertTemplate(text string, pos model.Pos, path string) {
	if !strings.Contains(text, "{{") {
		return
	}
	t := parse.New("alert")
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(templateDefs+text, "{{", "}}", map[string]*parse.Tree{}); err != nil {
		// "template: alert:1: ..." names the line of the joined text.
		msg := templateWhere.ReplaceAllString(err.Error(), "")
		d.errs.Add(pos, "%s: not a template Prometheus can expand: %s", path, msg)
	}
}
