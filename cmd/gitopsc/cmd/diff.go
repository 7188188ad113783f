package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"cuelang.org/go/cue/token"
	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/diff"
	"github.com/gitopsc/gitopsc/compiler/diff/gitcheckout"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
)

const diffDoc = `Diff renders DIR (default ./environments) twice, as it is in the working
tree and as it was at the git revision --base, and compares the two
renders object by object in each environment. Objects are matched by API
group, kind, namespace and name. Nothing is written but a temporary copy
of the base, removed afterwards.

The report starts with a summary: per environment, the objects added,
changed and removed, by kind. Then come the risks: a Namespace,
StatefulSet or PersistentVolumeClaim removed, a StatefulSet's volume claim
templates changed, a Service's type changed, a ResourceQuota lowered, a
container image changed, and the network flows (source, destination,
port) that the NetworkPolicies newly allow or block, with access to and
from peers outside the system (other namespaces, addresses outside the
cluster). Then the policy
findings the change introduces and those it fixes, and last each object's
change: a unified diff of its YAML, or its changed fields when that is
shorter. Of a Secret only the keys that changed are shown, never a value
or a ciphertext.

A base that does not compile is reported as such, with its first errors,
and everything in the working tree is shown as added.

Formats: text (coloured on a terminal unless NO_COLOR is set), markdown
(for a pull-request comment; details are cut to keep it under 65,536
characters, never the summary or the risks) and json.

Exit codes: 0; 1 with --exit-code when anything changed; 2 when the working
tree does not compile or the command line is wrong; 3 when git fails (DIR
is not in a git working tree, --base names no commit).

Examples:
  # what does this branch change against main?
  gitopsc diff --base origin/main

  # one environment, as a pull-request comment
  gitopsc diff --base origin/main --env eks --format markdown > diff.md
`

func newDiff() *cobra.Command {
	var (
		base     string
		envs     []string
		format   string
		exitCode bool
	)
	c := &cobra.Command{
		Use:   "diff [DIR] --base REF",
		Short: "Compare the rendered output with that of a git revision",
		Long:  diffDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			// An input that does not compile is a report too in json and
			// markdown, so a PR comment or a pipeline step that reads
			// the report says why, rather than nothing.
			defer func() { err = headError(c, err, format, base, args) }()
			if base == "" {
				return diag.Usagef("--base is required: name the git revision to compare with (see %s --help)", c.CommandPath())
			}
			if strings.HasPrefix(base, "-") {
				return diag.Usagef("--base %s: a revision does not start with '-'", base)
			}
			if !slices.Contains(diff.Formats, format) {
				return diag.Usagef("unknown --format %q (formats: %s)", format, strings.Join(diff.Formats, ", "))
			}
			dir := DefaultInput
			if len(args) > 0 {
				dir = args[0]
			}
			wd, _ := os.Getwd()
			head, err := load.Dir(dir)
			if err != nil {
				return err
			}

			// While git runs and the base's temporary copy exists, an
			// interrupt stops git and removes the copy before exiting.
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			repo, err := gitcheckout.Find(ctx, head.Dir)
			if err != nil {
				return diag.OutsideErr(fmt.Errorf("%s is not in a git working tree: %w", dir, err))
			}
			commit, err := repo.Resolve(ctx, base)
			if err != nil {
				return diag.OutsideErr(fmt.Errorf("--base %s: %w", base, err))
			}
			old, baseDir, baseErr := loadBase(ctx, repo, commit, base, head)
			stop()
			if baseErr != nil && errors.As(baseErr, new(*diag.Outside)) {
				return baseErr
			}

			hsel, bsel, err := selectBoth(head, old, envs)
			if err != nil {
				return err
			}
			hlock, err := images.ReadLock(head.Dir)
			if err != nil {
				return err
			}
			hres, err := compiler.Render(head, hsel, hlock)
			if err != nil {
				return err
			}
			headSide := &diff.Side{Results: hres, Facts: hlock, Locate: func(p token.Pos) string { return diag.Position(p, wd) }}

			var baseSide *diff.Side
			if old != nil {
				bres, err := compiler.Render(old.in, bsel, old.lock)
				switch {
				case err == nil:
					baseSide = &diff.Side{Results: bres, Facts: old.lock, Locate: func(p token.Pos) string { return basePosition(p, old.in.Dir, head.Dir, wd) }}
				case errors.As(err, new(*diag.Outside)):
					return err
				default:
					baseErr = err
				}
			}

			r, err := diff.Compare(baseSide, headSide, diff.Options{Today: time.Now().UTC()})
			if err != nil {
				return err
			}
			r.Input = filepath.ToSlash(dir)
			r.Base = diff.Base{Ref: base, Commit: commit, Compiles: baseErr == nil}
			if baseErr != nil {
				r.Base.Errors = baseErrors(baseErr, baseDir, head.Dir, dir, wd)
			}

			stdout := c.OutOrStdout()
			switch format {
			case "json":
				err = diff.WriteJSON(stdout, r)
			case "markdown":
				err = diff.WriteMarkdown(stdout, r, diff.CommentLimit)
			default:
				err = diff.WriteText(stdout, r, colorOutput(stdout))
			}
			if err != nil {
				return diag.OutsideErr(err)
			}
			if exitCode && r.Changed {
				return &exitError{code: diag.ExitFindings}
			}
			return nil
		},
	}
	c.Flags().StringVar(&base, "base", "", "git revision to compare with (a branch, tag or commit)")
	c.Flags().StringArrayVar(&envs, "env", nil, "compare only this environment (repeatable)")
	c.Flags().StringVar(&format, "format", "text", "report format: "+strings.Join(diff.Formats, ", "))
	c.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when anything changed")
	return c
}

// baseInput is the input as it was at the base revision.
type baseInput struct {
	in   *model.Input
	lock *images.Lock
}

// loadBase checks out the input at commit into a temporary folder, loads
// it and removes the folder again: everything later stages need is then
// in memory. An error that is not an outside failure means the base does
// not compile.
func loadBase(ctx context.Context, repo *gitcheckout.Repo, commit, ref string, head *model.Input) (b *baseInput, copyDir string, err error) {
	// Path charts are read beside the input folder: its parent is checked
	// out when the working tree reads them, or when the base turns out to.
	tree, parent := repo.Tree(), path.Dir(repo.Prefix)
	if parent == "." {
		parent = ""
	}
	wide := tree == repo.Prefix && usesPathCharts(head)
	if wide {
		tree = parent
	}
	co, err := repo.Checkout(ctx, commit, tree)
	if errors.Is(err, gitcheckout.ErrNotInRevision) {
		return nil, "", fmt.Errorf("%s does not exist at %s", head.Arg, ref)
	}
	if err != nil {
		return nil, "", diag.OutsideErr(err)
	}
	defer co.Close()
	in, err := load.Dir(co.Dir)
	if load.MissingPathChart(err) && !wide && tree == repo.Prefix {
		co.Close()
		if co, err = repo.Checkout(ctx, commit, parent); err != nil {
			return nil, "", diag.OutsideErr(err)
		}
		defer co.Close()
		in, err = load.Dir(co.Dir)
	}
	if err != nil {
		return nil, co.Dir, err
	}
	// Messages name the input as the user did, not the temporary copy.
	in.Arg = head.Arg
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		return nil, co.Dir, err
	}
	return &baseInput{in: in, lock: lock}, co.Dir, nil
}

// usesPathCharts reports whether an input reads a chart from a folder of
// the repository.
func usesPathCharts(in *model.Input) bool {
	for _, c := range in.ChartsUsed() {
		if c.LocalPath != "" {
			return true
		}
	}
	return false
}

// selectBoth picks the environments named by --env on each side; a name
// must exist on one side at least. With no --env, every environment of
// each side is compared.
func selectBoth(head *model.Input, base *baseInput, names []string) (h, b []*model.Environment, err error) {
	if len(names) == 0 {
		h = head.Environments
		if base != nil {
			b = base.in.Environments
		}
		return h, b, nil
	}
	for _, n := range names {
		he := head.Environment(n)
		var be *model.Environment
		if base != nil {
			be = base.in.Environment(n)
		}
		if he == nil && be == nil {
			all := map[string]bool{}
			for _, e := range head.Environments {
				all[e.Name] = true
			}
			if base != nil {
				for _, e := range base.in.Environments {
					all[e.Name] = true
				}
			}
			var list []string
			for e := range all {
				list = append(list, e)
			}
			slices.Sort(list)
			return nil, nil, diag.Usagef("unknown environment %q (environments: %s)", n, strings.Join(list, ", "))
		}
		if he != nil && !slices.Contains(h, he) {
			h = append(h, he)
		}
		if be != nil && !slices.Contains(b, be) {
			b = append(b, be)
		}
	}
	return h, b, nil
}

// basePosition formats a position in the base's temporary copy as the
// same file of the working tree, relative to wd.
func basePosition(p token.Pos, baseDir, headDir, wd string) string {
	pos := p.Position()
	if pos.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", diag.RelPath(baseFile(pos.Filename, baseDir, headDir), wd), pos.Line, pos.Column)
}

func baseFile(name, baseDir, headDir string) string {
	if baseDir == "" || !filepath.IsAbs(name) {
		return name
	}
	rel, err := filepath.Rel(baseDir, name)
	if err != nil {
		return name
	}
	return filepath.Join(headDir, rel)
}

// headError reports an error that stopped the diff in the machine
// formats: a report with the working tree's errors and nothing compared.
// Text, and a wrong command line, go to stderr as for every command.
func headError(c *cobra.Command, err error, format, base string, args []string) error {
	var ee *exitError
	var u *diag.Usage
	if err == nil || format == "text" || errors.As(err, &ee) || errors.As(err, &u) || diag.ExitCode(err) != diag.ExitInput {
		// Only an input that does not compile is a report; git and the
		// file system failing are not the working tree's errors.
		return err
	}
	wd, _ := os.Getwd()
	diag.Print(c.ErrOrStderr(), err, wd)
	l := diag.Diagnostics(err)
	shown, more := l.Truncate(diag.MaxReported)
	r := &diff.Report{Input: filepath.ToSlash(DefaultInput), Base: diff.Base{Ref: base}}
	if len(args) > 0 {
		r.Input = filepath.ToSlash(args[0])
	}
	for _, d := range shown {
		r.HeadErrors = append(r.HeadErrors, d.Format(wd))
	}
	if more > 0 {
		r.HeadErrors = append(r.HeadErrors, strings.TrimPrefix(diag.MoreLine(more), "gitopsc: "))
	}
	stdout := c.OutOrStdout()
	if format == "json" {
		diff.WriteJSON(stdout, r)
	} else {
		diff.WriteMarkdown(stdout, r, diff.CommentLimit)
	}
	return &exitError{code: diag.ExitCode(err)}
}

// maxBaseErrors is how many of the base's problems a report lists.
const maxBaseErrors = 5

// baseErrors formats why the base does not compile, as the first
// problems with their positions in the working tree's terms.
func baseErrors(err error, baseDir, headDir, arg, wd string) []string {
	var lines []string
	var l diag.List
	if errors.As(err, &l) {
		for _, d := range l {
			s := d.Msg
			if p := basePosition(d.Pos, baseDir, headDir, wd); p != "" {
				s = p + ": " + s
			}
			lines = append(lines, s)
		}
	} else {
		lines = strings.Split(err.Error(), "\n")
	}
	// No message names the temporary copy.
	if baseDir != "" {
		for i, s := range lines {
			lines[i] = strings.ReplaceAll(s, baseDir, filepath.Clean(arg))
		}
	}
	if len(lines) > maxBaseErrors {
		n := len(lines) - maxBaseErrors
		lines = append(lines[:maxBaseErrors], fmt.Sprintf("... and %d more", n))
	}
	return lines
}

// colorOutput reports whether w is a terminal that takes colour: a
// character device, with NO_COLOR unset and TERM not dumb. CLICOLOR_FORCE
// (set, and not "0") colours what is not a terminal too, as for a CI log
// that shows colour; NO_COLOR still wins.
func colorOutput(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	if f := os.Getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
