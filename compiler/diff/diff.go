// Package diff compares two renders of an input, a base (a git revision)
// and a head (the working tree), object by object in each environment. It
// reports what changed (counts by kind), what deserves a reviewer's eye
// before the details (deletions of data, immutable or risky field changes,
// image changes, network flows that open or close), the policy findings
// the change introduces or fixes, and each object's change as a unified
// diff or field paths. Secret values, plain or encrypted, are never part
// of a report.
package diff

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue/token"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies"
	"github.com/gitopsc/gitopsc/policies/reach"
)

// Change says what happened to an object or an environment.
type Change string

const (
	Added     Change = "added"
	Removed   Change = "removed"
	Changed   Change = "changed"
	Unchanged Change = "unchanged"
)

// Side is one render of the input.
type Side struct {
	// Results are the compiled environments to compare.
	Results []*compiler.Result
	// Facts are the image facts the side was rendered with.
	Facts images.Facts
	// Locate formats a CUE position of this side as the user reads it:
	// "sys/system.cue:12:3", relative to where they run gitopsc.
	Locate func(token.Pos) string
}

// Options tune a comparison.
type Options struct {
	// Today decides which waivers have expired, on both sides alike.
	Today time.Time
}

// Report is the comparison of two renders. Every list is sorted, so the
// same input gives the same report.
type Report struct {
	// Input is the input folder as the user named it.
	Input string `json:"input"`
	Base  Base   `json:"base"`
	// HeadErrors is set when the working tree's input does not compile:
	// nothing was compared, and these are its first problems.
	HeadErrors []string `json:"headErrors,omitempty"`
	// Changed is set when any environment is added, removed or has a
	// changed object.
	Changed      bool           `json:"changed"`
	Environments []*Environment `json:"environments"`
}

// Base says what the head was compared with.
type Base struct {
	Ref    string `json:"ref"`
	Commit string `json:"commit,omitempty"`
	// Compiles is false when the base input does not compile; Errors then
	// holds its first problems and every object of the head is added.
	Compiles bool     `json:"compiles"`
	Errors   []string `json:"errors,omitempty"`
}

// Environment is the change of one environment.
type Environment struct {
	Name     string      `json:"name"`
	Status   Change      `json:"status"`
	Summary  []KindCount `json:"summary"`
	Risks    []Risk      `json:"risks"`
	Flows    Flows       `json:"flows"`
	Findings Findings    `json:"findings"`
	Objects  []*Object   `json:"objects"`
}

// KindCount counts the changed objects of one kind.
type KindCount struct {
	Kind    string `json:"kind"`
	Added   int    `json:"added"`
	Changed int    `json:"changed"`
	Removed int    `json:"removed"`
}

// Flows are the connections the NetworkPolicies allow in the head but not
// in the base, and the other way round: between workloads, and with peers
// outside them (addresses outside the cluster, other namespaces).
type Flows struct {
	Allowed []Flow `json:"newlyAllowed"`
	Blocked []Flow `json:"newlyBlocked"`
	// OutsideAllowed and OutsideBlocked describe access to or from peers
	// outside the workloads: "apps/web ingress from 0.0.0.0/0 on TCP/8080".
	OutsideAllowed []string `json:"newlyAllowedOutside"`
	OutsideBlocked []string `json:"newlyBlockedOutside"`
}

// Flow is one (source, destination, port) connection.
type Flow struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	PortName string `json:"portName,omitempty"`
}

func (f Flow) String() string {
	s := f.From + " -> " + f.To + " " + f.Protocol + "/" + strconv.Itoa(int(f.Port))
	if f.PortName != "" {
		s += " (" + f.PortName + ")"
	}
	return s
}

// Findings are the policy findings of the head that the base did not
// have, and those of the base the head no longer has, compared by rule,
// target and message.
type Findings struct {
	Introduced []Finding `json:"introduced"`
	Fixed      []Finding `json:"fixed"`
}

// Finding is a policy finding, located in its side's source.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
	Target   string `json:"target,omitempty"`
	Object   string `json:"object,omitempty"`
	Waiver   string `json:"waiverReason,omitempty"`
}

// Object is the change of one object.
type Object struct {
	Change     Change `json:"change"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Chart is the chart that renders the object, which Helm installs;
	// "" for an object gitopsc writes.
	Chart string `json:"chart,omitempty"`
	// Diff is the unified diff of the object's YAML: every line added
	// for a new object, nothing for a removed one or a Secret.
	Diff string `json:"diff,omitempty"`
	// Fields are the changed leaf fields of a changed object.
	Fields []Field `json:"fields,omitempty"`
	// SecretKeys are, for a Secret, the keys under data and stringData
	// that were added, removed or changed; values are never shown.
	SecretKeys []KeyChange `json:"secretKeys,omitempty"`
	// Note explains a change that is not shown.
	Note string `json:"note,omitempty"`

	// lines is what text and markdown show: the unified diff, or the
	// field changes as -/+ pairs when that is shorter.
	lines []string
	id    string
}

// Title names the object as "Kind namespace/name", or "Kind name" for a
// cluster-scoped one.
// A chart's object is prefixed with the chart: "CHART: Kind namespace/name".
func (o *Object) Title() string {
	if o.Chart != "" {
		return o.Chart + ": " + title(o.Kind, o.Namespace, o.Name)
	}
	return title(o.Kind, o.Namespace, o.Name)
}

func title(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}

// Lines is what the text and markdown formats show of the change.
func (o *Object) Lines() []string { return o.lines }

// Field is one changed leaf of an object: Before is absent for an added
// field and After for a removed one.
type Field struct {
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// KeyChange is one changed key of a Secret: "stringData.token".
type KeyChange struct {
	Key    string `json:"key"`
	Change Change `json:"change"`
}

// Compare compares head with base in every environment either renders.
// A nil base is one that did not compile: everything in head is added.
func Compare(base, head *Side, opts Options) (*Report, error) {
	r := &Report{Environments: []*Environment{}}
	byName := func(s *Side) map[string]*compiler.Result {
		m := map[string]*compiler.Result{}
		if s != nil {
			for _, res := range s.Results {
				m[res.Resolved.Env.Name] = res
			}
		}
		return m
	}
	bs, hs := byName(base), byName(head)
	var names []string
	for n := range bs {
		names = append(names, n)
	}
	for n := range hs {
		if bs[n] == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		e, err := compareEnv(n, base, bs[n], head, hs[n], opts)
		if err != nil {
			return nil, err
		}
		if e.Status != Unchanged {
			r.Changed = true
		}
		r.Environments = append(r.Environments, e)
	}
	return r, nil
}

// rendered is one object with its YAML (without the generated header).
type rendered struct {
	obj  *render.Object
	yaml []byte
}

func compareEnv(name string, bside *Side, base *compiler.Result, hside *Side, head *compiler.Result, opts Options) (*Environment, error) {
	e := &Environment{Name: name, Summary: []KindCount{}, Risks: []Risk{}, Objects: []*Object{},
		Findings: Findings{Introduced: []Finding{}, Fixed: []Finding{}}}
	switch {
	case base == nil && bside != nil:
		e.Status = Added
	case head == nil:
		e.Status = Removed
		e.Risks = append(e.Risks, Risk{Kind: RiskEnvironmentRemoved, Message: "environment removed: gitopsc no longer renders it"})
	}

	index := func(res *compiler.Result) (map[string]*rendered, error) {
		m := map[string]*rendered{}
		if res == nil {
			return m, nil
		}
		for _, o := range res.Output.Checked() {
			b, err := emit.Marshal(o)
			if err != nil {
				return nil, err
			}
			id := o.ID()
			if o.Source != nil && o.Source.Chart != "" {
				// Helm installs it, beside what gitopsc writes.
				id = "chart " + o.Source.Chart + ": " + id
			}
			m[id] = &rendered{obj: o, yaml: b}
		}
		return m, nil
	}
	bo, err := index(base)
	if err != nil {
		return nil, err
	}
	ho, err := index(head)
	if err != nil {
		return nil, err
	}
	if err := hideConfigSecrets(bo, ho); err != nil {
		return nil, err
	}
	for id, h := range ho {
		b := bo[id]
		switch {
		case b == nil:
			o := added(id, h)
			e.Objects = append(e.Objects, o)
			if base != nil {
				e.Risks = append(e.Risks, additionRisks(o, h.obj)...)
			}
		case !bytes.Equal(b.yaml, h.yaml):
			o, risks := changed(id, b, h)
			e.Objects = append(e.Objects, o)
			e.Risks = append(e.Risks, risks...)
		}
	}
	for id, b := range bo {
		if ho[id] == nil {
			o := newObject(id, Removed, b.obj)
			e.Objects = append(e.Objects, o)
			e.Risks = append(e.Risks, removalRisks(o)...)
		}
	}
	slices.SortFunc(e.Objects, compareObjects)
	e.Summary = summarize(e.Objects)
	if e.Status == "" {
		e.Status = Unchanged
		if len(e.Objects) > 0 {
			e.Status = Changed
		}
	}
	compose := func(r *compiler.Result) bool { return r != nil && r.Resolved.Env.IsCompose() }
	switch {
	case compose(base) != compose(head) && base != nil && head != nil:
		to := "Docker Compose"
		if !compose(head) {
			to = "a Kubernetes cluster"
		}
		e.Risks = append(e.Risks, Risk{Kind: RiskTarget, Message: "the environment now runs on " + to + ": everything it renders is replaced"})
		e.Flows = Flows{Allowed: []Flow{}, Blocked: []Flow{}}
	case compose(base) || compose(head):
		// Networks, not policies: the risks of each service say what
		// a change joins.
		e.Flows = Flows{Allowed: []Flow{}, Blocked: []Flow{}}
	default:
		e.Flows, e.Risks = compareFlows(base, head, e.Risks)
	}
	sortRisks(e.Risks)
	// The findings of an environment that is gone are not fixed, only
	// no longer checked.
	if head != nil {
		e.Findings = compareFindings(bside, base, hside, head, opts)
	}
	return e, nil
}

func newObject(id string, c Change, o *render.Object) *Object {
	out := &Object{Change: c, APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, id: id}
	if o.Source != nil {
		out.Chart = o.Source.Chart
	}
	return out
}

// isSecret reports whether o's values must never be shown: a core Secret,
// or a file copied verbatim, which only SOPS-encrypted files are.
func isSecret(o *render.Object) bool {
	return o.Kind == "Secret" && o.APIVersion == "v1" || o.Raw != nil
}

func added(id string, h *rendered) *Object {
	o := newObject(id, Added, h.obj)
	if isSecret(h.obj) {
		o.SecretKeys, o.Note = secretKeys(nil, h.yaml)
		o.lines = keyLines(o.SecretKeys, o.Note)
		return o
	}
	lines := splitLines(string(h.yaml))
	for i, l := range lines {
		lines[i] = "+" + l
	}
	o.lines = lines
	o.Diff = joinLines(lines)
	return o
}

func changed(id string, b, h *rendered) (*Object, []Risk) {
	o := newObject(id, Changed, h.obj)
	if isSecret(h.obj) || isSecret(b.obj) {
		o.SecretKeys, o.Note = secretKeys(b.yaml, h.yaml)
		if len(o.SecretKeys) == 0 && o.Note == "" {
			o.Note = "no key under data or stringData changed (the file was re-encrypted or its metadata changed)"
		}
		o.lines = keyLines(o.SecretKeys, o.Note)
		return o, nil
	}
	unified := Unified(splitLines(string(b.yaml)), splitLines(string(h.yaml)))
	o.Diff = joinLines(unified)
	bv, hv := parseYAML(b.yaml), parseYAML(h.yaml)
	o.Fields = fieldChanges(bv, hv)
	o.lines = unified
	if fl := fieldLines(o.Fields); len(joinLines(fl)) < len(o.Diff) {
		o.lines = fl
	}
	return o, changeRisks(o, bv, hv)
}

func joinLines(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// compareObjects orders objects by kind, namespace, name, then API version.
func compareObjects(a, b *Object) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name), cmp.Compare(a.id, b.id))
}

func summarize(objs []*Object) []KindCount {
	out := []KindCount{}
	for _, o := range objs {
		if len(out) == 0 || out[len(out)-1].Kind != o.Kind {
			out = append(out, KindCount{Kind: o.Kind})
		}
		k := &out[len(out)-1]
		switch o.Change {
		case Added:
			k.Added++
		case Changed:
			k.Changed++
		case Removed:
			k.Removed++
		}
	}
	return out
}

// Totals sums the environment's counts.
func (e *Environment) Totals() KindCount {
	var t KindCount
	for _, k := range e.Summary {
		t.Added += k.Added
		t.Changed += k.Changed
		t.Removed += k.Removed
	}
	return t
}

// compareFlows lists the flows the change opens and closes, and adds a
// risk when a side's policies cannot be analysed.
func compareFlows(base, head *compiler.Result, risks []Risk) (Flows, []Risk) {
	analyse := func(res *compiler.Result, side string) *reach.Result {
		if res == nil {
			return &reach.Result{}
		}
		a, err := policies.Analysis(res.Output)
		if err != nil {
			risks = append(risks, Risk{Kind: RiskFlowsUnknown, Message: "the " + side + "'s NetworkPolicies cannot be analysed: " + err.Error()})
			return &reach.Result{}
		}
		return a
	}
	ba, ha := analyse(base, "base"), analyse(head, "head")
	opened, closed := reach.DiffFlows(ba.Flows, ha.Flows)
	f := Flows{Allowed: []Flow{}, Blocked: []Flow{}}
	var openedOutside []reach.ExternalAccess
	f.OutsideAllowed, f.OutsideBlocked, openedOutside = diffOutside(ba.External, ha.External)
	risks = append(risks, internetRisks(openedOutside)...)
	conv := func(fl reach.Flow) Flow {
		return Flow{From: fl.From.String(), To: fl.To.String(), Port: fl.Port, Protocol: string(fl.Protocol), PortName: fl.PortName}
	}
	for _, fl := range opened {
		f.Allowed = append(f.Allowed, conv(fl))
	}
	for _, fl := range closed {
		f.Blocked = append(f.Blocked, conv(fl))
	}
	return f, risks
}

// diffOutside compares access to and from peers outside the workloads by
// what it allows, whichever rule allows it.
func diffOutside(base, head []reach.ExternalAccess) (opened, closed []string, openedAccess []reach.ExternalAccess) {
	describe := func(es []reach.ExternalAccess) map[string]bool {
		m := map[string]bool{}
		for _, e := range es {
			m[describeAccess(e)] = true
		}
		return m
	}
	b, h := describe(base), describe(head)
	opened, closed = []string{}, []string{}
	for d := range h {
		if !b[d] {
			opened = append(opened, d)
		}
	}
	for _, e := range head {
		if !b[describeAccess(e)] {
			openedAccess = append(openedAccess, e)
		}
	}
	for d := range b {
		if !h[d] {
			closed = append(closed, d)
		}
	}
	slices.Sort(opened)
	slices.Sort(closed)
	return opened, closed, openedAccess
}

// describeAccess is what an access allows, whichever rule allows it.
func describeAccess(e reach.ExternalAccess) string {
	return strings.TrimSuffix(e.String(), " ("+e.Rule.String()+")")
}

// compareFindings runs every rule on both sides.
func compareFindings(bside *Side, base *compiler.Result, hside *Side, head *compiler.Result, opts Options) Findings {
	check := func(s *Side, res *compiler.Result) []policies.Finding {
		if res == nil {
			return nil
		}
		fs := policies.Check(res.Resolved, res.Output, s.Facts, policies.Options{Today: opts.Today})
		slices.SortStableFunc(fs, func(a, b policies.Finding) int {
			if a.Pos != b.Pos {
				if diag.Less(a.Pos, b.Pos) {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Message, b.Message))
		})
		return fs
	}
	bf, hf := check(bside, base), check(hside, head)
	key := func(f policies.Finding) string { return f.Rule + "\x00" + f.Target + "\x00" + f.Message }
	// Counted, so that one of two equal findings going away is a fix.
	only := func(fs, other []policies.Finding, s *Side) []Finding {
		n := map[string]int{}
		for _, f := range other {
			n[key(f)]++
		}
		out := []Finding{}
		for _, f := range fs {
			if k := key(f); n[k] > 0 {
				n[k]--
				continue
			}
			out = append(out, Finding{Rule: f.Rule, Severity: string(f.Severity), Message: f.Message,
				Location: s.Locate(f.Pos), Target: f.Target, Object: f.Object, Waiver: f.Waiver})
		}
		return out
	}
	return Findings{Introduced: only(hf, bf, hside), Fixed: only(bf, hf, bside)}
}

// hideConfigSecrets rewrites the manifests of ConfigMaps whose values
// look like credentials (the rules' SEC001 and SEC003 fail such input, but
// the diff of a pull request is shown all the same) with those values
// hidden: "(value hidden)" on both sides, and "(value hidden, changed)" in
// the head where the value differs from the base's, so that the change
// still shows.
func hideConfigSecrets(base, head map[string]*rendered) error {
	cm := func(r *rendered) *corev1.ConfigMap {
		if r == nil {
			return nil
		}
		c, _ := r.obj.Obj.(*corev1.ConfigMap)
		return c
	}
	hide := func(r *rendered, other *corev1.ConfigMap, marks bool) error {
		c := cm(r)
		if c == nil {
			return nil
		}
		var hidden map[string]string
		for k, v := range c.Data {
			if policies.LooksSecret(k, v) == "" {
				continue
			}
			if hidden == nil {
				hidden = maps.Clone(c.Data)
			}
			hidden[k] = "(value hidden)"
			if marks && (other == nil || other.Data[k] != v) {
				hidden[k] = "(value hidden, changed)"
			}
		}
		if hidden == nil {
			return nil
		}
		copied := c.DeepCopy()
		copied.Data = hidden
		o := *r.obj
		o.Obj = copied
		b, err := emit.Marshal(&o)
		if err != nil {
			return err
		}
		r.yaml = b
		return nil
	}
	for id, h := range head {
		if err := hide(h, cm(base[id]), base[id] != nil); err != nil {
			return err
		}
	}
	for _, b := range base {
		if err := hide(b, nil, false); err != nil {
			return err
		}
	}
	return nil
}
