package policies

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// Formats findings can be printed in.
var Formats = []string{"text", "json", "github", "sarif"}

// Summary counts findings by outcome.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Waived   int `json:"waived"`
}

// Summarize counts fs.
func Summarize(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch {
		case f.Waiver != "":
			s.Waived++
		case f.Severity == Error:
			s.Errors++
		default:
			s.Warnings++
		}
	}
	return s
}

func (s Summary) String() string {
	plural := func(n int, w string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, w)
		}
		return fmt.Sprintf("%d %ss", n, w)
	}
	return fmt.Sprintf("%s, %s, %d waived", plural(s.Errors, "error"), plural(s.Warnings, "warning"), s.Waived)
}

// SummarizeColor is Summarize's line, its error and warning counts in
// their colours when color is set and they are not zero.
func SummarizeColor(fs []Finding, color bool) string {
	s := Summarize(fs)
	if !color {
		return s.String()
	}
	plain := Summary{Errors: s.Errors, Warnings: s.Warnings, Waived: s.Waived}.String()
	errs, rest, _ := strings.Cut(plain, ", ")
	warns, waived, _ := strings.Cut(rest, ", ")
	if s.Errors > 0 {
		errs = paint(errs, colorRed, true)
	}
	if s.Warnings > 0 {
		warns = paint(warns, colorYellow, true)
	}
	return errs + ", " + warns + ", " + waived
}

// Coverage says what the rules checked in one environment: how many
// rules, over how many workloads, declared flows and images.
func Coverage(r *model.Resolved, out *render.Output) string {
	rules := 0
	for _, rule := range Rules() {
		if rule.Check != nil && rule.checks(r.Env) {
			rules++
		}
	}
	flows := 0
	for _, c := range r.System.Components {
		for _, f := range c.TalksTo {
			if !f.Implicit {
				flows++
			}
		}
	}
	imgs := map[string]bool{}
	for _, u := range imageUses(&Context{Env: r, Output: out}) {
		imgs[u.img.Ref] = true
	}
	n := func(k int, what string) string {
		if k == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", k, what)
	}
	checked := *out
	checked.Objects = out.Checked()
	ran := n(len(workloads(&Context{Env: r, Output: &checked})), "workload")
	if r.Env.IsCompose() {
		ran = n(len(composeServices(&Context{Env: r, Output: out})), "service")
	}
	line := fmt.Sprintf("%s over %s, %s and %s", n(rules, "rule"), ran, n(flows, "declared flow"), n(len(imgs), "image"))
	if t := len(r.System.Tenants); t > 0 {
		line += fmt.Sprintf("; %s, checked for isolation from each other (NET007)", n(t, "tenant"))
	}
	if c := len(r.System.Charts); c > 0 && !r.Env.IsCompose() {
		line += fmt.Sprintf("; %s rendering %s, checked and left to Helm to install", n(c, "chart"), n(len(out.Charted), "object"))
	}
	return line
}

// WriteText prints one line per finding, "file:LINE:COL: severity RULE:
// message (environments; object)", waived ones marked, then each distinct
// hint of the unwaived ones once.
func WriteText(w io.Writer, fs []Finding, cwd string) { WriteTextColor(w, fs, cwd, false) }

// Terminal colours of the text format: errors red, warnings yellow, rule
// IDs bold, waived findings and hints dim.
const (
	colorReset  = "\x1b[0m"
	colorBold   = "\x1b[1m"
	colorDim    = "\x1b[2m"
	colorRed    = "\x1b[1;31m"
	colorYellow = "\x1b[1;33m"
)

// paint wraps s in a colour when color is set.
func paint(s, code string, color bool) string {
	if !color || s == "" {
		return s
	}
	return code + s + colorReset
}

// WriteTextColor is WriteText with terminal colours when color is set.
func WriteTextColor(w io.Writer, fs []Finding, cwd string, color bool) {
	var hints []string
	for _, f := range fs {
		if f.Hint != "" && f.Waiver == "" && !slices.Contains(hints, f.Hint) {
			hints = append(hints, f.Hint)
		}
		loc := diag.Position(f.Pos, cwd)
		if loc != "" {
			loc += ": "
		}
		sev := string(f.Severity)
		switch {
		case f.Waiver != "":
			sev = paint("waived "+sev, colorDim, color)
		case f.Severity == Error:
			sev = paint(sev, colorRed, color)
		default:
			sev = paint(sev, colorYellow, color)
		}
		fmt.Fprintf(w, "%s%s %s: %s (%s)\n", loc, sev, paint(f.Rule, colorBold, color), f.Message, context(f))
		if f.Waiver != "" {
			fmt.Fprintf(w, "\twaived: %s\n", f.Waiver)
		}
	}
	for _, h := range hints {
		fmt.Fprintf(w, "%s %s\n", paint("hint:", colorDim, color), h)
	}
}

// withContext is the message followed by its context, for formats
// without a field for it; input errors have none.
func withContext(f Finding) string {
	if f.Env == "" {
		return f.Message
	}
	return f.Message + " (" + context(f) + ")"
}

func context(f Finding) string {
	parts := []string{"env " + f.Env}
	if f.Object != "" {
		parts = append(parts, f.Object)
	}
	return strings.Join(parts, "; ")
}

type jsonFinding struct {
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
	Target   string   `json:"target,omitempty"`
	Object   string   `json:"object,omitempty"`
	Envs     []string `json:"environments"`
	Waived   bool     `json:"waived"`
	Waiver   string   `json:"waiverReason,omitempty"`
	Hint     string   `json:"hint,omitempty"`
}

// environments lists the environments of a finding; none for an input
// error, which stops every environment.
func environments(f Finding) []string {
	if f.Env == "" {
		return []string{}
	}
	return strings.Split(f.Env, ", ")
}

func toJSON(f Finding, cwd string) jsonFinding {
	p := f.Pos.Position()
	j := jsonFinding{Rule: f.Rule, Severity: string(f.Severity), Message: f.Message, Target: f.Target, Object: f.Object,
		Envs: environments(f), Waived: f.Waiver != "", Waiver: f.Waiver, Hint: f.Hint}
	if p.Filename != "" {
		j.File, j.Line, j.Column = diag.RelPath(p.Filename, cwd), p.Line, p.Column
	}
	return j
}

// WriteJSON prints {"findings": [...], "summary": {...}}.
func WriteJSON(w io.Writer, fs []Finding, cwd string) error {
	out := struct {
		Findings []jsonFinding `json:"findings"`
		Summary  Summary       `json:"summary"`
	}{Findings: []jsonFinding{}, Summary: Summarize(fs)}
	for _, f := range fs {
		out.Findings = append(out.Findings, toJSON(f, cwd))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteGitHub prints GitHub Actions workflow commands, one annotation per
// unwaived finding, at the CUE file and line.
func WriteGitHub(w io.Writer, fs []Finding, cwd string) {
	esc := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	for _, f := range fs {
		if f.Waiver != "" {
			continue
		}
		level := "error"
		if f.Severity == Warning {
			level = "warning"
		}
		p := f.Pos.Position()
		var props []string
		if p.Filename != "" {
			props = append(props, "file="+prop.Replace(diag.RelPath(p.Filename, cwd)), fmt.Sprintf("line=%d", p.Line), fmt.Sprintf("col=%d", p.Column))
		}
		props = append(props, "title="+prop.Replace(f.Rule))
		fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), esc.Replace(withContext(f)))
	}
}

// WriteSARIF prints a SARIF 2.1.0 log: one run, the rules as the tool's
// driver rules, each finding a result at its CUE file and line. Waived
// findings carry an accepted suppression.
func WriteSARIF(w io.Writer, fs []Finding, cwd, version string) error {
	type msg struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string         `json:"id"`
		Name             string         `json:"name"`
		ShortDescription msg            `json:"shortDescription"`
		FullDescription  msg            `json:"fullDescription"`
		Help             msg            `json:"help"`
		DefaultConfig    map[string]any `json:"defaultConfiguration"`
		Properties       map[string]any `json:"properties"`
	}
	var rules []rule
	ruleIndex := map[string]int{}
	for i, r := range append(Rules(), inputRulesOf(fs)...) {
		level := "error"
		if r.Severity == Warning {
			level = "warning"
		}
		ruleIndex[r.ID] = i
		rules = append(rules, rule{
			ID: r.ID, Name: r.ID, ShortDescription: msg{r.Title}, FullDescription: msg{oneLine(r.Rationale)},
			Help: msg{"gitopsc explain " + r.ID}, DefaultConfig: map[string]any{"level": level},
			Properties: map[string]any{"tags": []string{r.Family}},
		})
	}
	var results []map[string]any
	for _, f := range fs {
		level := "error"
		if f.Severity == Warning {
			level = "warning"
		}
		res := map[string]any{
			"ruleId":    f.Rule,
			"ruleIndex": ruleIndex[f.Rule],
			"level":     level,
			"message":   msg{withContext(f)},
		}
		if p := f.Pos.Position(); p.Filename != "" {
			res["locations"] = []any{map[string]any{
				"physicalLocation": map[string]any{
					"artifactLocation": map[string]any{"uri": diag.RelPath(p.Filename, cwd), "uriBaseId": "%SRCROOT%"},
					"region":           map[string]any{"startLine": p.Line, "startColumn": p.Column},
				},
			}}
		}
		if f.Waiver != "" {
			res["suppressions"] = []any{map[string]any{"kind": "inSource", "status": "accepted", "justification": f.Waiver}}
		}
		results = append(results, res)
	}
	if results == nil {
		results = []map[string]any{}
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": "gitopsc", "informationUri": "https://github.com/gitopsc/gitopsc", "version": version, "rules": rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
