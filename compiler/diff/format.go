package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Formats a report can be written in.
var Formats = []string{"text", "markdown", "json"}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	if len(r.HeadErrors) > 0 {
		return writeHeadErrorsJSON(w, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeHeadErrorsJSON writes the report of a working tree that does not compile:
// nothing was compared, so it holds the input, the base's name and the
// errors only.
func writeHeadErrorsJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	type base struct {
		Ref string `json:"ref"`
	}
	return enc.Encode(struct {
		Input      string   `json:"input"`
		Base       base     `json:"base"`
		HeadErrors []string `json:"headErrors"`
	}{r.Input, base{r.Base.Ref}, r.HeadErrors})
}

// counts formats totals as "1 added, 2 changed", leaving out zeros.
func counts(k KindCount) string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{k.Added, "added"}, {k.Changed, "changed"}, {k.Removed, "removed"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// envStatus is the summary line of an environment.
func envStatus(e *Environment) string {
	c := counts(e.Totals())
	switch e.Status {
	case Added:
		return "environment added: " + c
	case Removed:
		return "environment removed: " + c
	}
	return c
}

// compared says what was compared with what.
func compared(r *Report) string {
	base := r.Base.Ref
	if r.Base.Commit != "" {
		base += " (" + shortCommit(r.Base.Commit) + ")"
	}
	return fmt.Sprintf("%s at %s compared with the working tree", r.Input, base)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

const baseBroken = "The base does not compile, so everything in the working tree is shown as added. Its first errors:"

const headBroken = "The working tree does not compile, so nothing was compared. Its errors:"

// thousands formats n as "65,536".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// mergedFinding is a finding with the environments it appears in.
type mergedFinding struct {
	Finding
	envs []string
}

// mergeFindings gathers the introduced (or fixed) findings of every
// environment, naming once a finding several environments share.
func mergeFindings(r *Report, fixed bool) []*mergedFinding {
	var out []*mergedFinding
	index := map[Finding]*mergedFinding{}
	for _, e := range r.Environments {
		fs := e.Findings.Introduced
		if fixed {
			fs = e.Findings.Fixed
		}
		for _, f := range fs {
			if m := index[f]; m != nil {
				m.envs = append(m.envs, e.Name)
				continue
			}
			m := &mergedFinding{Finding: f, envs: []string{e.Name}}
			index[f] = m
			out = append(out, m)
		}
	}
	return out
}

func (f *mergedFinding) String() string {
	loc := f.Location
	if loc != "" {
		loc += ": "
	}
	sev := f.Severity
	if f.Waiver != "" {
		sev = "waived " + sev
	}
	ctx := "env " + strings.Join(f.envs, ", ")
	if f.Object != "" {
		ctx += "; " + f.Object
	}
	return fmt.Sprintf("%s%s %s: %s (%s)", loc, sev, f.Rule, f.Message, ctx)
}

// riskText is a risk without its environment: "Deployment apps/web: image
// of container web changed: A -> B".
func riskText(r Risk, code func(string) string) string {
	s := r.Message
	if r.Object != "" {
		s = code(r.Object) + ": " + s
	}
	switch {
	case r.Before != "" && r.After != "":
		s += ": " + code(r.Before) + " -> " + code(r.After)
	case r.After != "":
		s += ": " + code(r.After)
	}
	return s
}

func hasRisks(r *Report) bool {
	for _, e := range r.Environments {
		if len(e.Risks)+len(e.Flows.Allowed)+len(e.Flows.Blocked)+len(e.Flows.OutsideAllowed)+len(e.Flows.OutsideBlocked) > 0 {
			return true
		}
	}
	return false
}

func hasFindings(r *Report, fixed bool) bool {
	return len(mergeFindings(r, fixed)) > 0
}
