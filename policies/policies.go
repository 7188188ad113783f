// Package policies holds gitopsc's built-in rules and the engine that runs
// them: each rule reads one resolved environment and what was rendered for
// it, and reports findings at the CUE field to change. Waivers declared in
// the environment silence findings until they expire.
package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Rule is one check.
type Rule struct {
	ID        string // family prefix and number: "QUOTA003"
	Family    string // quota, network, image, secret, security, job, monitoring
	Severity  Severity
	Title     string // one line, for "gitopsc rules"
	Rationale string // why the rule exists, for "gitopsc explain"
	Check     func(*Context) []Finding
	// On is the environments the rule checks: Kubernetes ones unless it
	// says otherwise.
	On Targets
}

// Targets are the kinds of environment a rule checks.
type Targets uint8

const (
	OnKubernetes Targets = 1 << iota
	OnCompose
	OnBoth = OnKubernetes | OnCompose
)

// checks reports whether the rule checks env.
func (r *Rule) checks(env *model.Environment) bool {
	on := r.On
	if on == 0 {
		on = OnKubernetes
	}
	if env.IsCompose() {
		return on&OnCompose != 0
	}
	return on&OnKubernetes != 0
}

// Finding is one rule violation.
type Finding struct {
	Rule     string
	Severity Severity
	Message  string
	// Pos is the CUE field to change.
	Pos model.Pos
	// Target is what a waiver names: a component, "namespace/NAME" or
	// "environment".
	Target string
	// Object is the rendered object concerned: "Kind namespace/name".
	Object string
	Env    string
	// Waiver is the reason of the waiver that silences the finding.
	Waiver string
	// Hint is what to do about findings of its kind, the same for each
	// of them; the text format prints it once, after the findings.
	Hint string
}

// Context is what a rule reads.
type Context struct {
	Env    *model.Resolved
	Output *render.Output
	Facts  images.Facts
	// Today decides waiver expiry.
	Today time.Time

	workloads []*workload // see workloads
	images    []imageUse  // see imageUses
}

// Rules returns every built-in rule, sorted by ID.
func Rules() []*Rule {
	var all []*Rule
	all = append(all, quotaRules...)
	all = append(all, networkRules...)
	all = append(all, imageRules...)
	all = append(all, secretRules...)
	all = append(all, securityRules...)
	all = append(all, jobRules...)
	all = append(all, identityRules...)
	all = append(all, composeRules...)
	all = append(all, monitoringRules...)
	all = append(all, waiverRule)
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// Lookup returns the rule with id, or nil.
func Lookup(id string) *Rule {
	for _, r := range Rules() {
		if strings.EqualFold(r.ID, id) {
			return r
		}
	}
	return nil
}

// WaiverRuleID reports waivers that expired or name an unknown rule.
const WaiverRuleID = "WAIVER001"

var waiverRule = &Rule{
	ID: WaiverRuleID, Family: "waiver", Severity: Error, On: OnBoth,
	Title: "waivers must name a known rule and must not have expired",
	Rationale: `A waiver is a promise to fix something by a date. An expired waiver
silently keeps a violation alive; it fails the gate until it is renewed
with a new date and reason, or removed. A waiver naming a rule that does
not exist waives nothing and hides a typo.`,
}

// Options change how findings are judged.
type Options struct {
	// Strict refuses every waiver and fails on warnings.
	Strict bool
	Today  time.Time
}

// Report is the outcome of running the rules on some environments.
type Report struct {
	Findings []Finding // sorted by position, rule, environment
}

// Check runs every rule on one environment and applies its waivers.
func Check(r *model.Resolved, out *render.Output, facts images.Facts, opts Options) []Finding {
	// The rules check what charts render as they check what gitopsc
	// writes.
	checked := *out
	checked.Objects = out.Checked()
	ctx := &Context{Env: r, Output: &checked, Facts: facts, Today: opts.Today}
	var fs []Finding
	for _, rule := range Rules() {
		if rule.Check == nil || !rule.checks(r.Env) {
			continue
		}
		// A check may report findings of related rules it computes
		// together (the network rules share one analysis).
		for _, f := range rule.Check(ctx) {
			f.Env = r.Env.Name
			owner := rule
			if f.Rule == "" {
				f.Rule = rule.ID
			} else if o := Lookup(f.Rule); o != nil {
				owner = o
			}
			if f.Severity == "" {
				f.Severity = owner.Severity
			}
			fs = append(fs, f)
		}
	}
	// A finding on a raw object's rendered object is waived by the
	// object's name under objects, as one on a component's by the
	// component's.
	// One on a chart's object is waived by the chart's, and names it.
	type source struct{ target, id string }
	raw := map[string]source{}
	for _, o := range checked.Objects {
		if o.Source != nil {
			plain := *o.Source
			plain.Chart = ""
			raw[plain.ID()] = source{o.Source.Target(), o.Source.ID()}
		}
	}
	if len(raw) > 0 {
		for i := range fs {
			if s, ok := raw[fs[i].Object]; ok {
				fs[i].Target, fs[i].Object = s.target, s.id
			}
		}
	}
	fs = applyWaivers(r.Env, fs, opts)
	return fs
}

// applyWaivers marks findings a live waiver covers, and reports expired
// waivers and waivers of unknown rules. Under Strict no waiver applies.
func applyWaivers(env *model.Environment, fs []Finding, opts Options) []Finding {
	today := opts.Today.Format("2006-01-02")
	for _, w := range env.Policy.Waivers {
		rule := Lookup(w.Rule)
		if rule != nil && rule.ID != WaiverRuleID && !rule.checks(env) {
			pos := w.RulePos
			if !pos.IsValid() {
				pos = w.Pos
			}
			where, other := "a cluster", "Docker Compose"
			if env.IsCompose() {
				where, other = "Docker Compose", "a cluster"
			}
			fs = append(fs, Finding{Rule: WaiverRuleID, Severity: Error, Pos: pos, Env: env.Name, Target: "environment",
				Message: fmt.Sprintf("waiver of %s waives nothing: environment %s runs on %s, and %s checks only environments on %s; remove the waiver", rule.ID, env.Name, where, rule.ID, other)})
			continue
		}
		if rule == nil {
			// At the rule field: the rule list lives here, above the
			// loader, so this is a finding rather than a load error.
			pos := w.RulePos
			if !pos.IsValid() {
				pos = w.Pos
			}
			fs = append(fs, Finding{Rule: WaiverRuleID, Severity: Error, Pos: pos, Env: env.Name, Target: "environment",
				Message: fmt.Sprintf("waiver names unknown rule %s (see gitopsc rules)", w.Rule)})
			continue
		}
		if w.Expires < today {
			fs = append(fs, Finding{Rule: WaiverRuleID, Severity: Error, Pos: w.Pos, Env: env.Name, Target: "environment",
				Message: fmt.Sprintf("waiver of %s for %s expired on %s; renew it with a new date or fix the finding", w.Rule, w.Target, w.Expires)})
			continue
		}
		if opts.Strict {
			continue
		}
		for i := range fs {
			f := &fs[i]
			// A waiver cannot silence the waiver rule itself.
			if f.Waiver == "" && f.Rule == w.Rule && f.Rule != WaiverRuleID && (w.Target == "*" || w.Target == f.Target) {
				f.Waiver = w.Reason
			}
		}
	}
	return fs
}

// Failed reports whether the findings fail the gate: any unwaived error,
// or under Strict any unwaived warning.
func Failed(fs []Finding, strict bool) bool {
	for _, f := range fs {
		if f.Waiver != "" {
			continue
		}
		if f.Severity == Error || strict {
			return true
		}
	}
	return false
}

// Merge gathers the findings of several environments. A finding that is
// the same in several environments (same rule, position and message) is
// reported once, naming them all.
func Merge(perEnv [][]Finding) []Finding {
	type key struct {
		rule, msg, object, waiver string
		pos                       model.Pos
	}
	index := map[key]int{}
	var out []Finding
	for _, fs := range perEnv {
		for _, f := range fs {
			k := key{f.Rule, f.Message, f.Object, f.Waiver, f.Pos}
			if i, ok := index[k]; ok {
				out[i].Env += ", " + f.Env
				continue
			}
			index[k] = len(out)
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos != b.Pos {
			return diag.Less(a.Pos, b.Pos)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Env < b.Env
	})
	return out
}
