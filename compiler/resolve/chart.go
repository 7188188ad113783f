package resolve

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/gitopsc/gitopsc/compiler/charts"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// chartRenders keeps what each chart rendered, so that environments that
// install a chart version with the same values and release render it
// once.
type chartRenders map[string]chartRender

type chartRender struct {
	manifests []charts.Manifest
	err       error
}

// charts resolves the charts env installs, the system's with the
// environment's overrides and its own, and renders each with the Helm
// SDK into the objects the rules check, appended to sys.Objects. A
// Compose environment installs no chart: they are resolved, for it to
// say so, and not rendered.
func resolveCharts(in *model.Input, env *model.Environment, sys *model.System, renders chartRenders, errs *diag.List) {
	for _, c := range in.System.Charts {
		rc := *c
		for _, o := range env.Charts {
			if o.Name == c.Name {
				rc = model.MergeChart(c, o)
				if rc.LocalPath != "" && o.Version != "" {
					errs.Add(o.VersionPos, "%s.version: a path chart's version is the one its Chart.yaml gives; leave out version", o.Path)
				}
				if k := unmatchedNull(c.Values, o.Values, ""); k != "" {
					errs.Add(o.ValuesPos, "%s.values.%s: null removes a key the system's values set, and they set none there; to turn off a chart's default, write the value that does", o.Path, k)
				}
			}
		}
		sys.Charts = append(sys.Charts, &rc)
	}
	for _, o := range env.Charts {
		if o.New {
			rc := o.Chart
			sys.Charts = append(sys.Charts, &rc)
		}
	}
	model.SortCharts(sys.Charts)
	checkChartRefs(sys, env, errs)
	var unusable diag.List
	for _, c := range sys.Charts {
		charts.Check(c, &unusable)
	}
	*errs = append(*errs, unusable...)
	if len(unusable) > 0 {
		return
	}
	if env.IsCompose() {
		return
	}
	kubeVersion, stated := charts.DefaultKubeVersion, env.Cluster.KubernetesMinorPos.IsValid()
	if stated {
		kubeVersion = fmt.Sprintf("v1.%d.0", env.Cluster.KubernetesMinor)
	}
	objs := append([]*model.Object(nil), sys.Objects...)
	// The charts that can be rendered are first listed, then those not
	// rendered yet are rendered side by side (each is Helm's template
	// engine and a decoding of its CRDs, one CPU's work), then their
	// results are taken in the charts' order.
	type job struct {
		c    *model.Chart
		name string
		pos  model.Pos
		key  string
		ch   *chart.Chart
	}
	var jobs []job
	for _, c := range sys.Charts {
		lc := in.Charts[c.Key()]
		switch {
		case c.Repository != "" && in.ChartLockErr != nil:
			if l, ok := in.ChartLockErr.(diag.List); ok {
				*errs = append(*errs, l...)
			}
			continue
		case lc == nil && c.Repository != "":
			pos := c.VersionPos
			if !pos.IsValid() {
				pos = c.Pos
			}
			errs.Add(pos, "%s: chart %s %s of %s is not in %s; run gitopsc charts lock", c.Path, c.ChartName, c.Version, c.Repository, charts.LockFile)
			continue
		case lc == nil:
			continue // the loader reported the folder
		case lc.Chart == nil:
			errs.Add(lc.ProblemPos, "%s", lc.Problem)
			continue
		}
		if c.Repository == "" {
			c.Version = lc.Chart.Metadata.Version
		}
		if stated && !charts.Compatible(lc.Chart, kubeVersion) {
			pos := c.VersionPos
			if !pos.IsValid() {
				pos = c.Pos
			}
			errs.Add(pos, "%s: chart %s %s needs Kubernetes %s (its Chart.yaml's kubeVersion), and environments.%s runs 1.%d; Helm refuses to install it", c.Path, lc.Chart.Name(), c.Version, lc.Chart.Metadata.KubeVersion, env.Name, env.Cluster.KubernetesMinor)
			continue
		}
		b, _ := json.Marshal(c.Values)
		ch := lc.Chart
		if c.LocalPath != "" {
			ch = charts.AtRevision(ch)
		}
		pos := c.ValuesPos
		if !pos.IsValid() {
			pos = c.Pos
		}
		key := strings.Join([]string{c.Key(), c.Name, c.Namespace, kubeVersion, string(b)}, "\x00")
		jobs = append(jobs, job{c, lc.Chart.Name(), pos, key, ch})
	}
	pending := map[string]*chartRender{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, j := range jobs {
		if _, done := renders[j.key]; done || pending[j.key] != nil {
			continue
		}
		r := &chartRender{}
		pending[j.key] = r
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r.manifests, r.err = charts.Render(j.ch, j.c.Name, j.c.Namespace, j.c.Values, kubeVersion)
		})
	}
	wg.Wait()
	for key, r := range pending {
		renders[key] = *r
	}
	var rendered []renderedChart
	for _, j := range jobs {
		r := renders[j.key]
		if r.err != nil {
			errs.Add(j.pos, "%s: chart %s %s does not render: %s", j.c.Path, j.name, j.c.Version, oneLine(r.err.Error()))
			continue
		}
		rendered = append(rendered, renderedChart{j.c, j.name, j.pos, r.manifests})
	}
	// A custom resource is cluster-scoped when any chart's CRD, or a CRD
	// written under objects, says its kind is.
	cluster := charts.ClusterKinds(nil, sys.Objects)
	for _, rc := range rendered {
		cluster = charts.ClusterKinds(rc.manifests, nil, cluster)
	}
	// Each chart's objects are decoded side by side (Objects spreads one
	// chart's over the CPUs too), and taken in the charts' order.
	cos := make([][]*model.Object, len(rendered))
	coErrs := make([]error, len(rendered))
	for i, rc := range rendered {
		wg.Go(func() { cos[i], coErrs[i] = charts.Objects(rc.chart, rc.manifests, cluster) })
	}
	wg.Wait()
	for i, rc := range rendered {
		if err := coErrs[i]; err != nil {
			errs.Add(rc.pos, "%s: chart %s %s renders %s", rc.chart.Path, rc.name, rc.chart.Version, oneLine(err.Error()))
			continue
		}
		objs = append(objs, cos[i]...)
	}
	sys.Objects = objs
}

type renderedChart struct {
	chart     *model.Chart
	name      string
	pos       model.Pos
	manifests []charts.Manifest
}

// oneLine folds Helm's multi-line messages (schema violations, one per
// line) into one.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

// checkChartRefs refuses a chart in a namespace the system does not own
// and a dependsOn naming no chart, itself, or closing a cycle.
func checkChartRefs(sys *model.System, env *model.Environment, errs *diag.List) {
	for _, c := range sys.Charts {
		if sys.Namespace(c.Namespace) == nil {
			var names []string
			for _, n := range sys.Namespaces {
				names = append(names, n.Name)
			}
			errs.Add(c.NamespacePos, "%s.namespace: %q is not one of system.namespaces (%s) in environments.%s; a chart's namespace is the system's, with its quota and Pod Security level", c.Path, c.Namespace, strings.Join(names, ", "), env.Name)
		}
		for _, d := range c.DependsOn {
			switch {
			case d.Name == c.Name:
				errs.Add(d.Pos, "%s.dependsOn: a chart cannot wait for itself", c.Path)
			case sys.Chart(d.Name) == nil:
				errs.Add(d.Pos, "%s.dependsOn: %q is not a chart of environments.%s%s", c.Path, d.Name, env.Name, didYouMean(d.Name, chartNames(sys)))
			}
		}
	}
	// A cycle: each chart waits for the next, and Flux would wait forever.
	state := map[string]int{}
	var visit func(c *model.Chart, path []string) bool
	visit = func(c *model.Chart, path []string) bool {
		state[c.Name] = 1
		for _, d := range c.DependsOn {
			next := sys.Chart(d.Name)
			if next == nil || next == c {
				continue
			}
			switch state[d.Name] {
			case 1:
				errs.Add(d.Pos, "%s.dependsOn: %s waits for itself (%s → %s); Flux would wait forever: drop one of them", c.Path, d.Name, strings.Join(append(path, c.Name), " → "), d.Name)
				return true
			case 0:
				if visit(next, append(path, c.Name)) {
					return true
				}
			}
		}
		state[c.Name] = 2
		return false
	}
	for _, c := range sys.Charts {
		if state[c.Name] == 0 && visit(c, nil) {
			return
		}
	}
}

func chartNames(sys *model.System) []string {
	var out []string
	for _, c := range sys.Charts {
		out = append(out, c.Name)
	}
	return out
}

// unmatchedNull is the path of the first null of over whose key base does
// not set, or "".
func unmatchedNull(base, over map[string]any, prefix string) string {
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, inBase := base[k]
		switch t := over[k].(type) {
		case nil:
			if !inBase {
				return prefix + k
			}
		case map[string]any:
			bm, _ := b.(map[string]any)
			if p := unmatchedNull(bm, t, prefix+k+"."); p != "" {
				return p
			}
		}
	}
	return ""
}
