package policies

import (
	"slices"
	"strings"

	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// inputRules describe the classes of input errors. They are not rules
// that run: they name what kind of problem stopped the compiler, so that
// --format json, github and sarif locate a broken input like a finding
// instead of printing nothing a CI system reads.
var inputRules = []*Rule{
	{ID: diag.ClassSyntax, Family: "input", Severity: Error, Title: "The input does not parse as CUE",
		Rationale: "A file of the input folder is not valid CUE; nothing can be checked until it parses."},
	{ID: diag.ClassSchema, Family: "input", Severity: Error, Title: "The input does not match the gitopsc schema",
		Rationale: "A field is misspelled, missing, of the wrong type or out of bounds (gitopsc schema prints what is allowed)."},
	{ID: diag.ClassInput, Family: "input", Severity: Error, Title: "A name or reference in the input is wrong",
		Rationale: "A name is not a DNS label, or a reference names a namespace, component, port, secret or file that does not exist."},
	{ID: diag.ClassFile, Family: "input", Severity: Error, Title: "An input file cannot be read",
		Rationale: "A file of the input folder cannot be read: permissions, a dangling or looping symbolic link."},
	{ID: diag.ClassUsage, Family: "input", Severity: Error, Title: "The command line is wrong",
		Rationale: "An unknown flag, environment or folder was given."},
	{ID: diag.ClassOutside, Family: "input", Severity: Error, Title: "A file system, registry or git failure",
		Rationale: "Something outside the input failed; the message says what."},
}

// inputRulesOf lists the input classes fs uses, for SARIF's rule table.
func inputRulesOf(fs []Finding) []*Rule {
	var out []*Rule
	for _, r := range inputRules {
		if slices.ContainsFunc(fs, func(f Finding) bool { return f.Rule == r.ID }) {
			out = append(out, r)
		}
	}
	return out
}

// InputFindings turns the errors that stopped a command into findings
// for the machine formats: one per diagnostic, up to diag.MaxReported,
// then one that counts the rest.
func InputFindings(err error) []Finding {
	l := diag.Diagnostics(err)
	shown, more := l.Truncate(diag.MaxReported)
	var fs []Finding
	for _, d := range shown {
		pos := d.Pos
		if pos.Position().Filename == "" && d.File != "" {
			// The file itself is the problem: point at its start.
			pos = token.NewFile(d.File, -1, 1).Pos(0, token.NoRelPos)
		}
		fs = append(fs, Finding{Rule: d.ClassOf(), Severity: Error, Pos: pos, Message: d.Msg})
	}
	if more > 0 {
		fs = append(fs, Finding{Rule: l[diag.MaxReported].ClassOf(), Severity: Error,
			Message: strings.TrimPrefix(diag.MoreLine(more), "gitopsc: ")})
	}
	return fs
}

// LookupInputClass returns the description of an input error class, for
// "gitopsc explain input/schema"; nil when id is not one.
func LookupInputClass(id string) *Rule {
	for _, r := range inputRules {
		if r.ID == id {
			return r
		}
	}
	return nil
}
