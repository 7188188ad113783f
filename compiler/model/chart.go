package model

import (
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
)

// Chart is a Helm chart the system installs, as written under charts (an
// environment's fields applied, when it is a resolved system's).
type Chart struct {
	Name string // its key under charts: the HelmRelease's name
	// Path is where it is written, for messages: "system.charts.NAME", or
	// "environments.ENV.charts.NAME" for an environment's own.
	Path string
	Pos  Pos
	// Namespace is where the release and its objects live.
	Namespace    string
	NamespacePos Pos
	// Repository is the Helm repository's URL (https:// or oci://), ""
	// for a chart read from LocalPath.
	Repository    string
	RepositoryPos Pos
	// LocalPath is a folder of the git repository, relative to its root.
	LocalPath    string
	LocalPathPos Pos
	// Chart is the chart's name in its repository.
	ChartName string
	ChartPos  Pos
	// Version is the version installed; a path chart's is its
	// Chart.yaml's, filled in by the loader.
	Version    string
	VersionPos Pos
	// Values are the values as Helm reads them from a values file
	// (numbers are float64), an environment's merged in.
	Values    map[string]any
	ValuesPos Pos
	DependsOn []ChartDependency
	CRDs      string // CreateReplace unless stated
	Timeout   string // "" for Flux's default
}

// ChartDependency is a chart another one is installed after.
type ChartDependency struct {
	Name string
	Pos  Pos
}

// SortCharts sorts charts by name.
func SortCharts(cs []*Chart) {
	slices.SortFunc(cs, func(a, b *Chart) int { return strings.Compare(a.Name, b.Name) })
}

// OCI reports whether the chart comes from an OCI registry.
func (c *Chart) OCI() bool { return strings.HasPrefix(c.Repository, "oci://") }

// Target is what a waiver names for a finding on the chart's objects.
func (c *Chart) Target() string { return "chart/" + c.Name }

// Key is what identifies the chart's archive in charts.lock and in
// Input.Charts: repository, chart and version, or the path.
func (c *Chart) Key() string {
	if c.Repository == "" {
		return "path:" + c.LocalPath
	}
	return ChartKey(c.Repository, c.ChartName, c.Version)
}

// ChartKey is the key of a chart version of a repository.
func ChartKey(repository, chart, version string) string {
	return strings.TrimSuffix(repository, "/") + " " + chart + "@" + version
}

// ChartOverride is what an environment writes under charts: changes to
// the system's chart of that name, or a chart of its own (New). Empty
// fields keep the chart's.
type ChartOverride struct {
	Chart
	// New is set when the system has no chart of the name.
	New bool
	// HasDependsOn is set when dependsOn is written, replacing the
	// chart's list.
	HasDependsOn bool
}

// LoadedChart is a chart archive or folder the loader read, with the
// digest of its archive ("" for a folder). Chart is nil when the archive
// the lock names cannot be used: Problem says why, at ProblemPos (the
// lock's line).
type LoadedChart struct {
	Chart  *chart.Chart
	Digest string
	// Manifest is an OCI chart's manifest digest.
	Manifest   string
	Problem    string
	ProblemPos Pos
}

// MergeChart is c with an environment's override applied: the fields
// it gives replace the chart's (a repository or a path replacing the
// other), its values merged over the chart's as Helm merges values
// files.
func MergeChart(c *Chart, o *ChartOverride) Chart {
	out := *c
	if o.Namespace != "" {
		out.Namespace, out.NamespacePos = o.Namespace, o.NamespacePos
	}
	if o.Repository != "" {
		out.Repository, out.RepositoryPos = o.Repository, o.RepositoryPos
		if out.LocalPath != "" {
			// A path chart becomes the repository's chart of its name.
			out.LocalPath, out.LocalPathPos = "", Pos{}
			out.ChartName, out.ChartPos = c.Name, o.RepositoryPos
		}
	}
	if o.LocalPath != "" {
		out.LocalPath, out.LocalPathPos = o.LocalPath, o.LocalPathPos
		out.Repository, out.RepositoryPos, out.ChartName, out.Version = "", Pos{}, "", ""
	}
	if o.ChartName != "" {
		out.ChartName, out.ChartPos = o.ChartName, o.ChartPos
	}
	if o.Version != "" {
		out.Version, out.VersionPos = o.Version, o.VersionPos
	}
	if o.Repository != "" || o.LocalPath != "" || o.Version != "" {
		// Where this environment's chart comes from is written there.
		out.Path = o.Path
	}
	if o.CRDs != "" {
		out.CRDs = o.CRDs
	}
	if o.Timeout != "" {
		out.Timeout = o.Timeout
	}
	if o.HasDependsOn {
		out.DependsOn = o.DependsOn
	}
	if o.Values != nil {
		out.Values = MergeValues(c.Values, o.Values)
		out.ValuesPos = o.ValuesPos
	}
	return out
}

// MergeValues merges over onto base as Helm merges a values file onto
// another: objects key by key, anything else replaced, and a null
// removing the key. Neither argument is changed.
func MergeValues(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		if om, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = MergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ChartsUsed lists the charts an input installs, the system's as written
// and as each environment changes them, and the environments' own: one
// for each version and source an environment may install.
func (in *Input) ChartsUsed() []*Chart {
	var out []*Chart
	out = append(out, in.System.Charts...)
	for _, e := range in.Environments {
		for _, o := range e.Charts {
			c := o.Chart
			if base := in.System.Chart(o.Name); base != nil && !o.New {
				c = MergeChart(base, o)
			}
			out = append(out, &c)
		}
	}
	return out
}
