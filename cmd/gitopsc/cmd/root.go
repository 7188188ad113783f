// Package cmd is the gitopsc command line: thin commands over the compiler
// and the policies. Errors are returned up to Main, which prints each once.
package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/policies"
)

// DefaultInput is the folder read when no DIR is given.
const DefaultInput = "./environments"

// exitError carries an exit code for a result that is not an error of
// the input, such as findings or stale output; its message, if any, has
// already been printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs gitopsc with the process arguments and returns the exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs gitopsc with args, writing to stdout and stderr.
func Run(args []string, stdout, stderr io.Writer) int {
	var finish []func()
	root := newRoot(stdout, stderr, &finish)
	root.SetArgs(args)
	err := root.Execute()
	for _, f := range finish {
		f()
	}
	if err == nil {
		return diag.ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	wd, _ := os.Getwd()
	diag.Print(stderr, err, wd)
	return diag.ExitCode(err)
}

// newRoot builds the command tree; what a run must do once its command
// has ended (writing profiles) is added to finish.
func newRoot(stdout, stderr io.Writer, finish *[]func()) *cobra.Command {
	root := &cobra.Command{
		Use:   "gitopsc",
		Short: "Compile a CUE system description into Flux-ready manifests",
		Long: `gitopsc compiles one CUE description of a system and its environments,
checks it against the schema, and renders Kubernetes manifests per
environment for Flux to reconcile.

Exit codes: 0 success, 1 findings or stale output, 2 input that does not
compile or a wrong command line, 3 a file system, registry or git failure.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// Profiles of a run, for "go tool pprof": where the time goes and
	// what is allocated, on the user's own input.
	var cpuProfile, memProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile (allocations) to this file when the command ends")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if memProfile != "" {
			f, err := os.Create(memProfile)
			if err != nil {
				return diag.OutsideErr(err)
			}
			*finish = append(*finish, func() {
				runtime.GC() // the heap as the command left it
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			})
		}
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return diag.OutsideErr(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return diag.OutsideErr(err)
		}
		*finish = append([]func(){func() {
			pprof.StopCPUProfile()
			f.Close()
		}}, *finish...)
		return nil
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return diag.Usagef("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newVet(), newBuild(), newSchema(), newImages(), newCharts(), newRules(), newExplain(), newDiff(), newVersion(), newInit(), newGraph(), newImport())
	return root
}

// envSelection loads DIR and picks the environments named by --env, all
// of them when none is named.
func loadInput(args []string) (*model.Input, error) {
	dir := DefaultInput
	if len(args) > 0 {
		dir = args[0]
	}
	return load.Dir(dir)
}

// compileInput loads DIR, selects the environments named by envs,
// renders them (building their file trees when trees is set) and runs
// every rule on each, with the image lock the rules read. Findings are
// merged across environments.
func compileInput(args, envs []string, trees bool, pf policyFlags) ([]*compiled, []policies.Finding, error) {
	in, err := loadInput(args)
	if err != nil {
		return nil, nil, err
	}
	selected, err := selectEnvironments(in, envs)
	if err != nil {
		return nil, nil, err
	}
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		return nil, nil, err
	}
	opts := policies.Options{Strict: pf.strict, Today: time.Now().UTC()}
	perEnv := make([][]policies.Finding, len(selected))
	out := make([]*compiled, len(selected))
	_, err = compiler.Run(in, selected, lock, compiler.Options{
		Trees: trees,
		Check: func(i int, r *compiler.Result) { perEnv[i] = policies.Check(r.Resolved, r.Output, lock, opts) },
		// What build and vet print of the rendered objects is taken as
		// each environment is done, and the objects let go: at 5,000
		// components they are most of the memory.
		Done: func(i int, r *compiler.Result) {
			out[i] = &compiled{Result: r, objects: len(r.Output.Objects), coverage: policies.Coverage(r.Resolved, r.Output),
				prerequisites: r.Output.Prerequisites(), notes: r.Output.Notes}
			r.Output = nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return out, policies.Merge(perEnv), nil
}

// compiled is an environment compiled for build or vet: its result
// without the rendered objects, and what the summary line says of them.
type compiled struct {
	*compiler.Result
	objects              int
	coverage             string
	prerequisites, notes []string
}

func selectEnvironments(in *model.Input, names []string) ([]*model.Environment, error) {
	if len(names) == 0 {
		return in.Environments, nil
	}
	var out []*model.Environment
	seen := map[string]bool{}
	for _, n := range names {
		e := in.Environment(n)
		if e == nil {
			var all []string
			for _, e := range in.Environments {
				all = append(all, e.Name)
			}
			sort.Strings(all)
			return nil, diag.Usagef("unknown environment %q (environments: %s)", n, strings.Join(all, ", "))
		}
		if !seen[n] {
			out = append(out, e)
			seen[n] = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func resolvedFor(all []*model.Resolved, env string) *model.Resolved {
	for _, r := range all {
		if r.Env.Name == env {
			return r
		}
	}
	return nil
}
