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

	"cuelang.org/go/cue/token"
)

// Diagnostic is one problem in the input, at the position of the field
// that caused it.
type Diagnostic struct {
	Pos token.Pos
	// File names the file when the problem is the file itself and there
	// is no line to point at (an unreadable file, say).
	File string
	Msg  string
	// Class is the kind of problem, for machine formats: ClassSyntax,
	// ClassSchema, ClassFile, or ClassInput for gitopsc's own checks.
	Class string
}

// Classes of input problems, reported as the rule of an input error in
// --format json, github and sarif.
const (
	ClassSyntax  = "input/syntax" // the CUE does not parse
	ClassSchema  = "input/schema" // the value does not match the schema
	ClassInput   = "input/check"  // gitopsc's own checks: names, references, files named by the input
	ClassFile    = "input/file"   // an input file cannot be read
	ClassUsage   = "usage"        // the command line is wrong
	ClassOutside = "outside"      // a file system, registry or git failure
)

// ClassOf is d's class, ClassInput when none was set.
func (d Diagnostic) ClassOf() string {
	if d.Class == "" {
		return ClassInput
	}
	return d.Class
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
	sort.SliceStable(s, func(i, j int) bool { return s[i].less(s[j]) })
	out := s[:0]
	for i, d := range s {
		if i > 0 && d == s[i-1] {
			continue
		}
		out = append(out, d)
	}
	*l = out
}

// less orders diagnostics by file, then position; a problem with a whole
// file comes before those at its lines.
func (d Diagnostic) less(o Diagnostic) bool {
	df, of := d.FileName(""), o.FileName("")
	switch {
	case (df == "") != (of == ""):
		return of == ""
	case df != of:
		return df < of
	}
	dp, op := d.Pos.Position().Filename != "", o.Pos.Position().Filename != ""
	if dp != op {
		return op
	}
	return Less(d.Pos, o.Pos)
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
	p := d.Where(cwd)
	if p == "" {
		return d.Msg
	}
	return p + ": " + d.Msg
}

// Where is "file:LINE:COL", or the file alone for a problem with the
// file itself, relative to cwd; "" when the problem has no place.
func (d Diagnostic) Where(cwd string) string {
	if p := Position(d.Pos, cwd); p != "" {
		return p
	}
	if d.File != "" {
		return RelPath(d.File, cwd)
	}
	return ""
}

// FileName is the file of d relative to cwd, "" when it has none.
func (d Diagnostic) FileName(cwd string) string {
	if f := d.Pos.Position().Filename; f != "" {
		return RelPath(f, cwd)
	}
	if d.File != "" {
		return RelPath(d.File, cwd)
	}
	return ""
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

// RelPath makes an absolute name relative to cwd ("../other/x.cue" when
// it lies beside it); schema files keep their embedded names.
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

// MaxReported is how many diagnostics are printed; the rest are counted.
// A file of junk gives one error per token, and a wall of them hides the
// first, which is the one to fix.
const MaxReported = 20

// Truncate returns the first n diagnostics and how many were left out.
func (l List) Truncate(n int) (List, int) {
	if len(l) <= n {
		return l, 0
	}
	return l[:n], len(l) - n
}

// MoreLine says how many diagnostics were left out.
func MoreLine(more int) string {
	if more == 1 {
		return "gitopsc: and 1 more error"
	}
	return fmt.Sprintf("gitopsc: and %d more errors", more)
}

// Diagnostics returns err as a List: its own diagnostics, or one
// diagnostic without a place for any other error, classed by what it is.
func Diagnostics(err error) List {
	var l List
	if errors.As(err, &l) {
		if ExitCode(err) == ExitOutside {
			out := make(List, len(l))
			for i, d := range l {
				if d.Class == "" {
					d.Class = ClassFile
				}
				out[i] = d
			}
			return out
		}
		return l
	}
	class := ClassInput
	var u *Usage
	switch {
	case errors.As(err, &u):
		class = ClassUsage
	case ExitCode(err) == ExitOutside:
		class = ClassOutside
	}
	return List{{Msg: err.Error(), Class: class}}
}

// Print writes err to w, one line per diagnostic, with paths relative to
// cwd; past MaxReported it says how many more there are.
func Print(w io.Writer, err error, cwd string) {
	var l List
	if errors.As(err, &l) {
		shown, more := l.Truncate(MaxReported)
		for _, d := range shown {
			fmt.Fprintln(w, d.Format(cwd))
		}
		if more > 0 {
			fmt.Fprintln(w, MoreLine(more))
		}
		return
	}
	fmt.Fprintln(w, "gitopsc: "+err.Error())
}
