package load

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/scanner"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// inputFile is one .cue file of the input folder, as read.
type inputFile struct {
	name    string // as the user would write it: DIR/file.cue
	abs     string
	src     []byte
	pkg     string
	pkgPos  token.Pos
	noClaus bool
}

// readInput reads every .cue file CUE's loader would read in dir, and
// reports what that loader says without a position or not at all: a file
// that cannot be read (exit 3, at the file), a file with no package clause
// (CUE skips it silently), two packages in one folder. Files whose names
// start with "." or "_" are CUE's to ignore, and are ignored.
func readInput(dir, abs string) ([]inputFile, error) {
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, diag.OutsideErr(diag.List{{File: dir, Msg: describeFileError(err), Class: diag.ClassFile}})
	}
	var files []inputFile
	var unreadable diag.List
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".cue") || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		f := inputFile{name: filepath.Join(dir, n), abs: filepath.Join(abs, n)}
		st, err := os.Stat(f.abs)
		switch {
		case err != nil:
			unreadable = append(unreadable, diag.Diagnostic{File: f.abs, Msg: describeLinkError(f.abs, err), Class: diag.ClassFile})
			continue
		case st.IsDir():
			unreadable = append(unreadable, diag.Diagnostic{File: f.abs, Msg: "is a folder, not a CUE file", Class: diag.ClassFile})
			continue
		}
		if f.src, err = os.ReadFile(f.abs); err != nil {
			unreadable = append(unreadable, diag.Diagnostic{File: f.abs, Msg: describeFileError(err), Class: diag.ClassFile})
			continue
		}
		files = append(files, f)
	}
	if len(unreadable) > 0 {
		return nil, diag.OutsideErr(unreadable)
	}
	if len(files) == 0 {
		return nil, diag.Usagef("no .cue files in %s", dir)
	}
	// The package clause of each file, read alone. CUE compares package
	// names before it reports a syntax error in a clause, and then says
	// only that the names differ.
	count := map[string]int{}
	var errs diag.List
	for i := range files {
		f := &files[i]
		af, err := parser.ParseFile(f.abs, f.src, parser.PackageClauseOnly)
		if err != nil {
			for _, d := range diag.FromCUE(err) {
				d.Class = diag.ClassSyntax
				errs = append(errs, d)
			}
			continue
		}
		if af.PackageName() == "" {
			f.noClaus = true
			continue
		}
		f.pkg = af.PackageName()
		for _, d := range af.Decls {
			if p, ok := d.(*ast.Package); ok {
				f.pkgPos = p.Name.Pos()
			}
		}
		count[f.pkg]++
	}
	main := ""
	for p, n := range count {
		if n > count[main] || n == count[main] && p < main {
			main = p
		}
	}
	for _, f := range files {
		switch {
		case f.noClaus && len(bytes.TrimSpace(f.src)) == 0:
			errs = append(errs, diag.Diagnostic{File: f.abs, Msg: "is empty; a gitopsc input file starts with a package clause such as \"package " + cmp.Or(main, "platform") + "\""})
		case f.noClaus && main == "":
			errs = append(errs, diag.Diagnostic{File: f.abs, Msg: "has no package clause; a gitopsc input is one CUE package: start the file with a line such as \"package platform\""})
		case f.noClaus:
			errs = append(errs, diag.Diagnostic{File: f.abs, Msg: fmt.Sprintf("has no package clause, so CUE would skip it; start it with \"package %s\" like %s", main, sameAs(files, main))})
		case f.pkg != "" && f.pkg != main:
			errs = append(errs, diag.Diagnostic{Pos: f.pkgPos, Msg: fmt.Sprintf("package %s differs from package %s of %s; a folder holds one CUE package", f.pkg, main, sameAs(files, main))})
		}
	}
	return files, errs.Err()
}

// sameAs names a file of package pkg, and how many others there are.
func sameAs(files []inputFile, pkg string) string {
	var names []string
	for _, f := range files {
		if f.pkg == pkg {
			names = append(names, filepath.Base(f.name))
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "the other files"
	case 1:
		return names[0]
	case 2:
		return names[0] + " and 1 other file"
	}
	return fmt.Sprintf("%s and %d other files", names[0], len(names)-1)
}

// describeLinkError words a failure to stat a directory entry, which for
// a symbolic link is usually about where it points.
func describeLinkError(name string, err error) string {
	if errors.Is(err, syscall.ELOOP) {
		return "is a symbolic link that loops back on itself"
	}
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(name); lerr == nil {
			return fmt.Sprintf("is a symbolic link to %s, which does not exist", target)
		}
	}
	return describeFileError(err)
}

// describeFileError is the operating system's reason, without the path
// it already names.
func describeFileError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.EISDIR):
		return "is a folder, not a CUE file"
	}
	return err.Error()
}

// maxScanErrors is how many scanner errors a file may have before it is
// taken for something that is not CUE at all. CUE's parser records one
// error per illegal character, in time that grows with the square of
// their number: 5 MB of binary never finishes.
const maxScanErrors = 50

// parseFile is the loader's parser: a file that is hopelessly not CUE
// fails fast with its first errors, the rest are parsed by CUE.
func parseFile(name string, src any, cfg parser.Config) (*ast.File, error) {
	b, ok := src.([]byte)
	if !ok || suspicious(b) <= maxScanErrors {
		// Too few bytes that could be illegal to make many errors: the
		// parser gives up after ten of its own.
		return parser.ParseFile(name, src, cfg)
	}
	var errs cueerrorsList
	var s scanner.Scanner
	file := token.NewFile(name, -1, len(b))
	s.Init(file, b, func(pos token.Pos, msg string, args []any) {
		errs.add(pos, msg, args)
	}, 0)
	if scanAll(&s, &errs) {
		return nil, errs.err(name)
	}
	return parser.ParseFile(name, src, cfg)
}

// scanAll runs the scanner over a file as the parser would, and reports
// whether it met more than maxScanErrors errors. Like the parser, it
// resumes a string after each interpolation's closing parenthesis: the
// scanner alone would read the rest of "a\\(b)c" as a new string.
func scanAll(s *scanner.Scanner, errs *cueerrorsList) (junk bool) {
	defer func() {
		if recover() != nil {
			// The scanner's interpolation stack and ours disagree, as
			// on junk they may: let the parser judge the file.
			junk = false
		}
	}()
	var open []int // parentheses open in each interpolation being scanned
	for len(errs.l) <= maxScanErrors {
		_, tok, _ := s.Scan()
		switch tok {
		case token.EOF:
			return false
		case token.INTERPOLATION:
			open = append(open, 0)
		case token.LPAREN:
			if len(open) > 0 {
				open[len(open)-1]++
			}
		case token.RPAREN:
			if len(open) == 0 {
				continue
			}
			if open[len(open)-1]--; open[len(open)-1] > 0 {
				continue
			}
			open = open[:len(open)-1]
			if strings.HasSuffix(s.ResumeInterpolation(), "(") {
				open = append(open, 0)
			}
		}
	}
	return true
}

// suspicious counts the bytes that may be illegal in CUE outside strings
// and comments, an upper bound on the scanner's errors, so that the
// scan before parsing, which costs as much as the parse, runs only on a
// file that might be junk: control characters, DEL, '^', '`', '\\' and
// every byte outside ASCII (an invalid UTF-8 sequence among them).
func suspicious(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '\t' || c > '\r' && c < ' ' || c >= 0x7f || c == '^' || c == '`' || c == '\\' {
			n++
		}
	}
	return n
}

// cueerrorsList gathers a file's first scanner errors.
type cueerrorsList struct {
	l    []cueerrors.Error
	last token.Pos
}

func (c *cueerrorsList) add(pos token.Pos, msg string, args []any) {
	c.l = append(c.l, cueerrors.Newf(pos, msg, args...))
	c.last = pos
}

// err is one error at the first problem, saying reading stopped: CUE
// keeps one error per line, and junk has few lines.
func (c *cueerrorsList) err(name string) error {
	first := c.l[0]
	format, args := first.Msg()
	return cueerrors.Newf(first.Position(), "%s; this does not look like CUE (more than %d errors by line %d), so reading %s stopped",
		fmt.Sprintf(format, args...), maxScanErrors, c.last.Line(), filepath.Base(name))
}
