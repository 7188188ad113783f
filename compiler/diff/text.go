package diff

import (
	"bufio"
	"io"
	"strings"
)

// ANSI colours of the text format.
const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiReset  = "\x1b[0m"
)

// WriteText writes the report for a terminal: the summary, the risks, the
// policy findings, then each object's change. With color, headings are
// bold, risks yellow and diff lines red and green.
func WriteText(w io.Writer, r *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	line := func(s ...string) { bw.WriteString(strings.Join(s, "") + "\n") }
	plain := func(s string) string { return s }

	line(compared(r))
	if !r.Base.Compiles {
		line(paint(ansiYellow, baseBroken))
		for _, e := range r.Base.Errors {
			line("  ", e)
		}
	}
	line()
	line(paint(ansiBold, "Summary:"))
	if len(r.Environments) == 0 {
		line("  no environments")
	}
	for _, e := range r.Environments {
		line("  ", e.Name, ": ", envStatus(e))
		for _, k := range e.Summary {
			line("    ", k.Kind, ": ", counts(k))
		}
	}

	if hasRisks(r) {
		line()
		line(paint(ansiBold, "Risks:"))
		for _, e := range r.Environments {
			for _, k := range e.Risks {
				line("  ", paint(ansiYellow, e.Name+": "+riskText(k, plain)))
			}
			for _, f := range e.Flows.Allowed {
				line("  ", paint(ansiYellow, e.Name+": newly allowed flow: "+f.String()))
			}
			for _, f := range e.Flows.Blocked {
				line("  ", paint(ansiYellow, e.Name+": newly blocked flow: "+f.String()))
			}
			for _, f := range e.Flows.OutsideAllowed {
				line("  ", paint(ansiYellow, e.Name+": newly allowed outside access: "+f))
			}
			for _, f := range e.Flows.OutsideBlocked {
				line("  ", paint(ansiYellow, e.Name+": newly blocked outside access: "+f))
			}
		}
	}

	for _, fixed := range []bool{false, true} {
		fs := mergeFindings(r, fixed)
		if len(fs) == 0 {
			continue
		}
		line()
		if fixed {
			line(paint(ansiBold, "Policy findings fixed:"))
		} else {
			line(paint(ansiBold, "Policy findings introduced:"))
		}
		for _, f := range fs {
			line("  ", f.String())
		}
	}

	for _, e := range r.Environments {
		if len(e.Objects) == 0 {
			continue
		}
		line()
		line(paint(ansiBold, "Changes in "+e.Name+":"))
		for _, o := range e.Objects {
			line("  ", o.Title(), ": ", string(o.Change))
			for _, l := range o.lines {
				switch {
				case strings.HasPrefix(l, "@@"):
					l = paint(ansiCyan, l)
				case strings.HasPrefix(l, "+"):
					l = paint(ansiGreen, l)
				case strings.HasPrefix(l, "-"):
					l = paint(ansiRed, l)
				}
				line("    ", l)
			}
		}
	}
	return bw.Flush()
}
