// Package diag holds the errors gitopsc reports to users: each one a
// message at a CUE source position, printed as "file.cue:LINE:COL: message".
package diag

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// Diagnostic is one problem in the input, at the position of the field
// that caused it.
type Diagnostic struct {
	Pos token.Pos
	Msg string
}

// List is a set of input problems; it is the error type of everything
// that reads user input. A List means exit code 2.
type List []Diagnostic

func (l List) Error() string {
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Format(""))
	}
	return b.String()
}

// Add appends a diagnostic at pos.
func (l *List) Add(pos token.Pos, format string, args ...any) {
	*l = append(*l, Diagnostic{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Err returns the list as an error, or nil when it is empty. Diagnostics
// are sorted by position and exact repeats dropped.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Sort orders diagnostics by file, line and column, and drops repeats.
func (l *List) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool { return Less(s[i].Pos, s[j].Pos) })
	out := s[:0]
	for i, d := range s {
		if i > 0 && d == s[i-1] {
			continue
		}
		out = append(out, d)
	}
	*l = out
}

// Less orders positions by file name, line and column; positions without
// a file come last.
func Less(a, b token.Pos) bool {
	pa, pb := a.Position(), b.Position()
	if (pa.Filename == "") != (pb.Filename == "") {
		return pb.Filename == ""
	}
	if pa.Filename != pb.Filename {
		return pa.Filename < pb.Filename
	}
	if pa.Line != pb.Line {
		return pa.Line < pb.Line
	}
	return pa.Column < pb.Column
}

// Format renders the diagnostic with its file name relative to cwd.
func (d Diagnostic) Format(cwd string) string {
	p := Position(d.Pos, cwd)
	if p == "" {
		return d.Msg
	}
	return p + ": " + d.Msg
}

// Position renders pos as "file:LINE:COL" relative to cwd, with forward
// slashes, or "" for a position with no file.
func Position(pos token.Pos, cwd string) string {
	p := pos.Position()
	if p.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", RelPath(p.Filename, cwd), p.Line, p.Column)
}

// RelPath makes name relative to cwd when it lies below it; schema files
// keep their embedded names.
func RelPath(name, cwd string) string {
	if cwd != "" && filepath.IsAbs(name) {
		if r, err := filepath.Rel(cwd, name); err == nil {
			name = r
		}
	}
	return filepath.ToSlash(name)
}

// Outside marks a failure outside the input: file system, registry, git.
// It means exit code 3.
type Outside struct{ Err error }

func (e *Outside) Error() string { return e.Err.Error() }
func (e *Outside) Unwrap() error { return e.Err }

// OutsideErr wraps err as an outside failure.
func OutsideErr(err error) error {
	if err == nil {
		return nil
	}
	return &Outside{Err: err}
}

// Usage marks a wrong command line. It means exit code 2.
type Usage struct{ Msg string }

func (e *Usage) Error() string { return e.Msg }

// Usagef returns a command-line error.
func Usagef(format string, args ...any) error {
	return &Usage{Msg: fmt.Sprintf(format, args...)}
}

// Exit codes, as documented in the README.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitInput    = 2
	ExitOutside  = 3
)

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	var out *Outside
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &out):
		return ExitOutside
	default:
		return ExitInput
	}
}

// Print writes err to w, one line per diagnostic, with paths relative to cwd.
func Print(w io.Writer, err error, cwd string) {
	var l List
	if errors.As(err, &l) {
		for _, d := range l {
			fmt.Fprintln(w, d.Format(cwd))
		}
		return
	}
	fmt.Fprintln(w, "gitopsc: "+err.Error())
}

// FromCUE converts a CUE evaluation error into diagnostics. Each error
// leads with the first position in a user file rather than the schema, and
// the branches of a failed disjunction are collapsed into one line.
func FromCUE(err error) List { return FromCUEIn(err, nil) }

// FromCUEIn is FromCUE for an error from validating user input against
// the schema: a required field the user left out is reported at the
// nearest enclosing field the user did write, found by enclosing.
func FromCUEIn(err error, enclosing func(path []string) token.Pos) List {
	var out List
	errs := cueerrors.Errors(err)
	for i := 0; i < len(errs); i++ {
		e := errs[i]
		path := cuePath(e.Path())
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if strings.HasSuffix(msg, "errors in empty disjunction:") {
			// The branches follow, each at the same path or below it.
			var branches []cueerrors.Error
			for i+1 < len(errs) && strings.HasPrefix(cuePath(errs[i+1].Path()), path) {
				i++
				branches = append(branches, errs[i])
			}
			if len(branches) > 0 {
				out = append(out, collapse(path, branches))
				continue
			}
			msg = "no allowed value matches"
		}
		pos := userPos(e)
		if !strings.HasPrefix(format, "incomplete value") && enclosing != nil && isSchema(pos) {
			// No position in the user's files (a list of the wrong
			// length, say): point at the field the user wrote.
			p := e.Path()
			if len(p) > 0 && p[0] == "#Root" {
				p = p[1:]
			}
			if schemaPos := Position(pos, ""); schemaPos != "" {
				msg += " (schema: " + schemaPos + ")"
			}
			pos = enclosing(p)
		}
		if strings.HasPrefix(format, "incomplete value") && enclosing != nil && isSchema(pos) {
			p := e.Path()
			if len(p) > 0 && p[0] == "#Root" {
				p = p[1:]
			}
			msg = fmt.Sprintf("required field %s is missing", p[len(p)-1])
			if schemaPos := Position(pos, ""); schemaPos != "" {
				msg += " (declared at " + schemaPos + ")"
			}
			pos = enclosing(p)
		}
		out = append(out, Diagnostic{Pos: pos, Msg: withPath(path, msg)})
	}
	return out
}

// collapse turns the branches of a failed disjunction into one diagnostic:
// an enumeration when every branch compared the same value against a
// constant, else the branch that got deepest into the value.
func collapse(path string, branches []cueerrors.Error) Diagnostic {
	var allowed []string
	var got string
	enum := true
	for _, b := range branches {
		format, args := b.Msg()
		if !strings.HasPrefix(format, "conflicting values %s and %s") || len(args) < 2 || cuePath(b.Path()) != path {
			enum = false
			break
		}
		a0, a1 := fmt.Sprint(args[0]), fmt.Sprint(args[1])
		// CUE orders the operands by position; the user's value is the
		// one that repeats across branches.
		if got == "" {
			got = a1
		}
		switch got {
		case a1:
			allowed = append(allowed, a0)
		case a0:
			allowed = append(allowed, a1)
		default:
			enum = false
		}
	}
	if enum && len(allowed) > 1 {
		sort.Strings(allowed)
		return Diagnostic{Pos: userPos(branches[0]),
			Msg: withPath(path, fmt.Sprintf("%s is not allowed; want one of %s", got, strings.Join(allowed, ", ")))}
	}
	best := branches[0]
	for _, b := range branches[1:] {
		if len(b.Path()) > len(best.Path()) {
			best = b
		}
	}
	format, args := best.Msg()
	return Diagnostic{Pos: userPos(best), Msg: withPath(cuePath(best.Path()), fmt.Sprintf(format, args...))}
}

// userPos is the first position of e outside the embedded schema, or the
// first position when all are in the schema.
func userPos(e cueerrors.Error) token.Pos {
	ps := cueerrors.Positions(e)
	for _, p := range ps {
		if f := p.Position().Filename; f != "" && !strings.HasPrefix(f, "schema/") {
			return p
		}
	}
	if len(ps) > 0 {
		return ps[0]
	}
	return e.Position()
}

func isSchema(p token.Pos) bool {
	return strings.HasPrefix(p.Position().Filename, "schema/")
}

func cuePath(p []string) string {
	if len(p) > 0 && p[0] == "#Root" {
		p = p[1:]
	}
	return strings.Join(p, ".")
}

func withPath(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}
