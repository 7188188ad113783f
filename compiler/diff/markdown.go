package diff

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/policies"
	"github.com/gitopsc/gitopsc/policies/reach"
)

// CommentLimit is the most characters GitHub accepts in a pull-request
// comment.
const CommentLimit = 65536

// markdownReserve is kept free of details for the closing tags and the
// note saying what was cut.
const markdownReserve = 1024

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "|", `\|`, "[", `\[`, "]", `\]`)

// mdText escapes free text for Markdown.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode makes s a code span.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// WriteMarkdown writes the report as a pull-request comment of at most
// limit bytes: a summary table, the risks and the policy findings, then a
// <details> block per environment holding one per changed object. The
// summary, risks and findings are always whole; when the details do not
// fit, the last ones are left out and a note says which.
func WriteMarkdown(w io.Writer, r *Report, limit int) error {
	var head strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&head, format, args...) }

	p("### gitopsc diff\n\n")
	p("%s at %s", mdCode(r.Input), mdCode(r.Base.Ref))
	if r.Base.Commit != "" {
		p(" (%s)", mdCode(shortCommit(r.Base.Commit)))
	}
	p(" compared with the working tree.\n\n")
	if len(r.HeadErrors) > 0 {
		p("> [!CAUTION]\n> %s\n>\n", mdText(headBroken))
		for _, e := range r.HeadErrors {
			p("> - %s\n", mdCode(e))
		}
		_, err := io.WriteString(w, head.String())
		return err
	}
	if !r.Base.Compiles {
		p("> [!WARNING]\n> %s\n>\n", mdText(baseBroken))
		for _, e := range r.Base.Errors {
			p("> - %s\n", mdCode(e))
		}
		p("\n")
	}

	if len(r.Environments) == 0 {
		p("No environments.\n")
	} else {
		p("| environment | kind | added | changed | removed |\n| --- | --- | ---: | ---: | ---: |\n")
	}
	for _, e := range r.Environments {
		name := "**" + e.Name + "**"
		switch e.Status {
		case Added:
			name += " (added)"
		case Removed:
			name += " (removed)"
		}
		if len(e.Summary) == 0 {
			p("| %s | no changes | | | |\n", name)
			continue
		}
		for i, k := range e.Summary {
			if i > 0 {
				name = ""
			}
			p("| %s | %s | %s | %s | %s |\n", name, k.Kind, count(k.Added), count(k.Changed), count(k.Removed))
		}
	}

	if hasRisks(r) {
		p("\n#### Risks\n\n")
		for _, e := range r.Environments {
			for _, k := range e.Risks {
				p("- **%s** %s\n", e.Name, riskMarkdown(k))
			}
			for _, f := range e.Flows.Allowed {
				p("- **%s** newly allowed flow: %s\n", e.Name, mdCode(f.String()))
			}
			for _, f := range e.Flows.Blocked {
				p("- **%s** newly blocked flow: %s\n", e.Name, mdCode(f.String()))
			}
			for _, f := range e.Flows.OutsideAllowed {
				p("- **%s** newly allowed outside access: %s\n", e.Name, mdCode(f))
			}
			for _, f := range e.Flows.OutsideBlocked {
				p("- **%s** newly blocked outside access: %s\n", e.Name, mdCode(f))
			}
		}
	}

	p("%s", flowCharts(r.Environments))

	for _, fixed := range []bool{false, true} {
		fs := mergeFindings(r, fixed)
		if len(fs) == 0 {
			continue
		}
		if fixed {
			p("\n#### Policy findings fixed\n\n")
		} else {
			p("\n#### Policy findings introduced\n\n")
		}
		for _, f := range fs {
			loc := ""
			if f.Location != "" {
				loc = mdCode(f.Location) + " "
			}
			sev := f.Severity
			if f.Waiver != "" {
				sev = "waived " + sev
			}
			ctx := strings.Join(f.envs, ", ")
			if f.Object != "" {
				ctx += "; " + f.Object
			}
			p("- %s**%s** %s: %s (%s)\n", loc, sev, f.Rule, mdText(f.Message), mdText(ctx))
		}
	}

	details := markdownDetails(r, limit-head.Len()-markdownReserve, limit)
	if _, err := io.WriteString(w, head.String()); err != nil {
		return err
	}
	_, err := io.WriteString(w, details)
	return err
}

func count(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func riskMarkdown(k Risk) string {
	s := mdText(k.Message)
	if k.Object != "" {
		s = mdCode(k.Object) + ": " + s
	}
	switch {
	case k.Before != "" && k.After != "":
		s += ": " + mdCode(k.Before) + " → " + mdCode(k.After)
	case k.After != "":
		s += ": " + mdCode(k.After)
	}
	return s
}

// markdownDetails renders the per-object changes in at most budget bytes,
// then a note of what did not fit.
func markdownDetails(r *Report, budget, limit int) string {
	var b strings.Builder
	var notShown []string // "3 of 10 in local"
	cutShort := ""        // the object whose diff was cut short
	full := false
	const heading, closing = "\n#### Details\n\n", "</details>\n\n"
	for _, e := range r.Environments {
		if len(e.Objects) == 0 {
			continue
		}
		open := fmt.Sprintf("<details><summary><b>%s</b>: %s</summary>\n\n", e.Name, mdText(envStatus(e)))
		if full || b.Len()+len(heading)+len(open)+len(closing) > budget {
			full = true
			notShown = append(notShown, fmt.Sprintf("%d of %d in %s", len(e.Objects), len(e.Objects), e.Name))
			continue
		}
		if b.Len() == 0 {
			b.WriteString(heading)
		}
		b.WriteString(open)
		room := func() int { return budget - b.Len() - len(closing) }
		left := 0
		var removed []string
		for _, o := range e.Objects {
			if o.Change == Removed {
				removed = append(removed, mdCode(o.Title()))
			}
		}
		if len(removed) > 0 {
			if l := "Removed: " + strings.Join(removed, ", ") + ".\n\n"; len(l) <= room() {
				b.WriteString(l)
			} else {
				full = true
				left += len(removed)
			}
		}
		for _, o := range e.Objects {
			if o.Change == Removed {
				continue
			}
			if full {
				left++
				continue
			}
			block, whole := objectBlock(o, room())
			if block == "" {
				full = true
				left++
				continue
			}
			b.WriteString(block)
			if !whole {
				full = true
				cutShort = o.Title() + " in " + e.Name
			}
		}
		b.WriteString(closing)
		if left > 0 {
			notShown = append(notShown, fmt.Sprintf("%d of %d in %s", left, len(e.Objects), e.Name))
		}
	}
	if len(notShown) > 0 || cutShort != "" {
		fmt.Fprintf(&b, "> [!NOTE]\n> Details were cut to keep this comment under %s characters.", thousands(limit))
		if cutShort != "" {
			b.WriteString(" The diff of " + mdText(cutShort) + " is cut short.")
		}
		if len(notShown) > 0 {
			b.WriteString(" Objects not shown: " + strings.Join(notShown, ", ") + ".")
		}
		b.WriteString(" Run `gitopsc diff` to see everything.\n")
	}
	return b.String()
}

// objectBlock renders one object's <details> block in at most room bytes.
// It cuts the diff short when the whole block does not fit, and returns
// "" when not even that does.
func objectBlock(o *Object, room int) (string, bool) {
	fence := "```"
	for _, l := range o.lines {
		for strings.Contains(l, fence) {
			fence += "`"
		}
	}
	head := fmt.Sprintf("<details><summary>%s: %s</summary>\n\n%sdiff\n", o.Title(), o.Change, fence)
	tail := fence + "\n\n</details>\n\n"
	var body strings.Builder
	for _, l := range o.lines {
		body.WriteString(l + "\n")
	}
	if len(head)+body.Len()+len(tail) <= room {
		return head + body.String() + tail, true
	}
	// Keep as many lines as fit, with a line saying how many are left.
	const minLines = 5
	room -= len(head) + len(tail) + 64
	var kept strings.Builder
	n := 0
	for _, l := range o.lines {
		if kept.Len()+len(l)+1 > room {
			break
		}
		kept.WriteString(l + "\n")
		n++
	}
	if n < minLines {
		return "", false
	}
	return head + kept.String() + fmt.Sprintf("... %d more lines not shown\n", len(o.lines)-n) + tail, false
}

// maxFlowCharts bounds the Mermaid blocks of all environments together,
// so that the comment keeps room under GitHub's limit for the rest.
const maxFlowCharts = 12000

// flowCharts draws the flows a change allows and blocks, per environment,
// as Mermaid flowcharts, which GitHub draws in a comment: allowed ones
// solid with "+", blocked ones dotted with "-". Environments whose charts
// are the same share one. Charts that would take the blocks past
// maxFlowCharts are left out with a note: the flows are listed under
// Risks either way.
func flowCharts(envs []*Environment) string {
	var order []string
	names := map[string][]string{}
	for _, e := range envs {
		if len(e.Flows.Allowed)+len(e.Flows.Blocked) == 0 {
			continue
		}
		var chart strings.Builder
		policies.DiffGraph("flows the change allows (+) and blocks (-)", toReach(e.Flows.Allowed), toReach(e.Flows.Blocked)).Mermaid(&chart)
		c := chart.String()
		if _, ok := names[c]; !ok {
			order = append(order, c)
		}
		names[c] = append(names[c], e.Name)
	}
	var b strings.Builder
	var left []string
	for _, c := range order {
		block := fmt.Sprintf("\n#### Flows in %s\n\n```mermaid\n%s```\n", mdText(strings.Join(names[c], ", ")), c)
		if b.Len()+len(block) > maxFlowCharts {
			left = append(left, names[c]...)
			continue
		}
		b.WriteString(block)
	}
	if len(left) > 0 {
		fmt.Fprintf(&b, "\nThe flows of %s change too much to draw here; they are listed under Risks.\n", mdText(strings.Join(left, ", ")))
	}
	return b.String()
}

// toReach turns the report's flows back into the analysis's.
func toReach(fs []Flow) []reach.Flow {
	var out []reach.Flow
	for _, f := range fs {
		fromNS, from, _ := strings.Cut(f.From, "/")
		toNS, to, _ := strings.Cut(f.To, "/")
		out = append(out, reach.Flow{From: reach.WorkloadRef{Namespace: fromNS, Name: from}, To: reach.WorkloadRef{Namespace: toNS, Name: to},
			Port: f.Port, Protocol: corev1.Protocol(f.Protocol), PortName: f.PortName})
	}
	return out
}
