package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/gitopsc/gitopsc/compiler/charts"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// charts decodes the charts of v, a struct of name → #Chart or
// #ChartOverride, at path.
func (d *decoder) charts(v cue.Value, path string, system bool) []*model.ChartOverride {
	var out []*model.ChartOverride
	for _, f := range sortedFields(v) {
		p := path + "." + f.label
		if !d.label(f, "chart", p) {
			continue
		}
		c := &model.ChartOverride{Chart: model.Chart{Name: f.label, Path: p, Pos: f.v.Pos()}}
		c.Namespace, c.NamespacePos = str(f.v, "namespace")
		c.Repository, c.RepositoryPos = str(f.v, "repository")
		c.Repository = strings.TrimSuffix(c.Repository, "/")
		if scheme, rest, ok := strings.Cut(c.Repository, "://"); ok {
			host, _, _ := strings.Cut(rest, "/")
			if i := strings.LastIndexByte(host, '@'); i >= 0 {
				// Not shown, here or in the messages that follow: it
				// holds a credential (a user may be a token).
				d.errs.Add(c.RepositoryPos, "%s.repository: a URL with a user or password would put a credential in the output; give the repository's URL alone, with credentials in docker login (OCI) or a Secret the HelmRepository names", p)
				c.Repository = scheme + "://" + rest[i+1:]
			}
		}
		c.LocalPath, c.LocalPathPos = str(f.v, "path")
		c.LocalPath = strings.TrimSuffix(strings.TrimPrefix(c.LocalPath, "./"), "/")
		c.ChartName, c.ChartPos = str(f.v, "chart")
		c.Version, c.VersionPos = str(f.v, "version")
		c.CRDs, _ = str(f.v, "crds")
		c.Timeout, _ = str(f.v, "timeout")
		if vv := lookup(f.v, "values"); vv.Exists() {
			c.ValuesPos = vv.Pos()
			if b, err := vv.MarshalJSON(); err != nil {
				d.errs.Add(vv.Pos(), "%s.values: %v", p, err)
			} else if err := json.Unmarshal(b, &c.Values); err != nil {
				d.errs.Add(vv.Pos(), "%s.values: %v", p, err)
			}
			if len(c.Values) == 0 {
				c.Values, c.ValuesPos = nil, model.Pos{}
			}
			if k := nullKey(c.Values, ""); k != "" && system {
				// The HelmRelease cannot carry it: Flux's manifests drop
				// nulls, and the chart's default would come back.
				d.errs.Add(vv.Pos(), "%s.values.%s: null removes a key only in an environment's values, from the system's; to turn off a chart's default, write the value that does", p, k)
			}
		}
		if dv := lookup(f.v, "dependsOn"); dv.Exists() {
			c.HasDependsOn = true
			names, pos := strsPos(f.v, "dependsOn")
			for i, n := range names {
				c.DependsOn = append(c.DependsOn, model.ChartDependency{Name: n, Pos: pos[i]})
			}
		}
		if strings.HasPrefix(c.Repository, "oci://") && strings.Contains(c.Version, "+") {
			d.errs.Add(c.VersionPos, "%s.version: %q: an OCI tag cannot hold '+' (helm push writes it as '_'); give the version as the registry tags it", p, c.Version)
		}
		if c.Repository != "" && c.LocalPath != "" {
			d.errs.Add(c.LocalPathPos, "%s.path: a chart comes from a repository or from a path, not both; leave out one", p)
		}
		if c.LocalPath != "" && c.Version != "" {
			d.errs.Add(c.VersionPos, "%s.version: a path chart's version is the one its Chart.yaml gives; leave out version", p)
		}
		if c.LocalPath != "" && c.ChartName != "" {
			d.errs.Add(c.ChartPos, "%s.chart: a path chart is the chart in its folder; leave out chart", p)
		}
		out = append(out, c)
	}
	return out
}

// systemCharts are the system's charts, each complete.
func (d *decoder) systemCharts(v cue.Value) []*model.Chart {
	var out []*model.Chart
	for _, c := range d.charts(v, "system.charts", true) {
		d.completeChart(c)
		out = append(out, &c.Chart)
	}
	return out
}

// completeChart checks that a chart says where it comes from, and fills
// in its defaults.
func (d *decoder) completeChart(c *model.ChartOverride) {
	switch {
	case c.Repository == "" && c.LocalPath == "":
		d.errs.Add(c.Pos, "%s: give repository (a Helm repository's URL, with version) or path (a folder of the git repository)", c.Path)
	case c.Repository != "" && c.Version == "":
		d.errs.Add(c.RepositoryPos, "%s.version: give the exact chart version to install from %s; charts.lock records its digest", c.Path, c.Repository)
	}
	if c.Namespace == "" {
		d.errs.Add(c.Pos, "%s.namespace: give the namespace the chart is installed in, one of system.namespaces", c.Path)
	}
	if c.ChartName == "" && c.Repository != "" {
		c.ChartName, c.ChartPos = c.Name, c.Pos
	}
	if c.CRDs == "" {
		c.CRDs = "CreateReplace"
	}
}

// envCharts are an environment's charts: overrides of the system's, and
// its own, which must be complete.
func (d *decoder) envCharts(v cue.Value, path string, sys *model.System) []*model.ChartOverride {
	out := d.charts(v, path, false)
	for _, c := range out {
		if sys.Chart(c.Name) == nil {
			c.New = true
			d.completeChart(c)
			if k := nullKey(c.Values, ""); k != "" {
				d.errs.Add(c.ValuesPos, "%s.values.%s: null removes a key of the system's values, and the system has no chart %s; to turn off a chart's default, write the value that does", c.Path, k, c.Name)
			}
		}
	}
	return out
}

// loadCharts reads charts.lock and the archives it keeps for the chart
// versions the input installs, and the path charts' folders, into
// in.Charts. A malformed lock is an error; an archive missing or not
// matching the lock is recorded on the chart, for an environment that
// installs it to report.
func loadCharts(in *model.Input) error {
	var errs diag.List
	used := in.ChartsUsed()
	if len(used) == 0 {
		return nil
	}
	in.Charts = map[string]*model.LoadedChart{}
	var lock *charts.Lock
	for _, c := range used {
		key := c.Key()
		if _, done := in.Charts[key]; done {
			continue
		}
		if c.Repository == "" {
			dir := filepath.Join(filepath.Dir(in.Dir), filepath.FromSlash(c.LocalPath))
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				errs.Add(c.LocalPathPos, "%s.path: %s %s in the repository; a path is relative to the repository's root, which gitopsc takes to be the folder that holds the input folder", c.Path, noChartFolder, c.LocalPath)
				continue
			}
			ch, err := loader.LoadDir(dir)
			if err != nil {
				errs.Add(c.LocalPathPos, "%s.path: cannot load the chart in %s: %s", c.Path, c.LocalPath, err)
				continue
			}
			charts.Prefetch(ch)
			in.Charts[key] = &model.LoadedChart{Chart: ch}
			continue
		}
		if lock == nil {
			l, err := charts.ReadLock(in.Dir)
			if _, bad := err.(diag.List); bad {
				// Reported where an environment installs a chart from a
				// repository; charts lock rewrites it.
				in.ChartLockErr = err
				return errs.Err()
			}
			if err != nil {
				return err
			}
			lock = l
		}
		e, ok := lock.Entries[key]
		if !ok {
			continue // not locked: reported where an environment installs it
		}
		lc := &model.LoadedChart{Digest: e.Digest, Manifest: e.Manifest, ProblemPos: e.Pos}
		in.Charts[key] = lc
		b, err := os.ReadFile(filepath.Join(in.Dir, filepath.FromSlash(e.Archive())))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			lc.Problem = fmt.Sprintf("%s, the archive of %s, is missing; run gitopsc charts lock to fetch it", e.Archive(), key)
		case err != nil:
			lc.Problem = fmt.Sprintf("cannot read %s: %v", e.Archive(), err)
		case charts.Digest(b) != e.Digest:
			lc.Problem = fmt.Sprintf("%s has digest %s, not the %s that charts.lock records for %s; run gitopsc charts lock to fetch it again", e.Archive(), charts.Digest(b), e.Digest, key)
		default:
			ch, err := loader.LoadArchive(strings.NewReader(string(b)))
			if err != nil {
				lc.Problem = fmt.Sprintf("%s is not a chart archive: %s", e.Archive(), err)
			} else {
				charts.Prefetch(ch)
				lc.Chart = ch
			}
		}
	}
	return errs.Err()
}

// noChartFolder begins the message of a path chart's missing folder.
const noChartFolder = "there is no folder"

// MissingPathChart reports whether err says that a path chart's folder is
// missing: for diff, which checks out the input folder alone unless the
// input reads charts beside it.
func MissingPathChart(err error) bool {
	l, ok := err.(diag.List)
	if !ok {
		return false
	}
	for _, d := range l {
		if strings.Contains(d.Msg, ".path: "+noChartFolder+" ") {
			return true
		}
	}
	return false
}

// nullKey is the path of the first null in values, or "".
func nullKey(values map[string]any, prefix string) string {
	for _, k := range sortedKeys(values) {
		switch t := values[k].(type) {
		case nil:
			return prefix + k
		case map[string]any:
			if p := nullKey(t, prefix+k+"."); p != "" {
				return p
			}
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
