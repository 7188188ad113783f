package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/render"
)

const buildDoc = `Build renders every environment of DIR (default ./environments) into
OUT/<env>/ (default ./out): a flux/ folder of Flux Kustomizations, a
platform/ folder (namespaces, quotas, default-deny policies) and one folder
per namespace. Each environment's folder is built beside the old one and
swapped in whole; files gitopsc did not write are kept, and an unchanged
environment is not touched.

Every policy rule runs first (as in gitopsc vet); nothing is written while
an error finding stands.

With --check nothing is written: the files that differ from what would be
written are listed and the exit code is 1 when any does.

A build killed part way can leave its temporary folder (OUT/.<env>.new-N)
beside the environment's; the next build removes it, and --check lists it
as stale.

Examples:
  # render the shipped environments into ./out
  gitopsc build

  # fail CI when the committed output is stale
  gitopsc build --check

  # render one environment elsewhere
  gitopsc build ./environments --env eks --out /tmp/rendered
`

func newBuild() *cobra.Command {
	var (
		envs   []string
		outDir string
		check  bool
		pf     policyFlags
	)
	c := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Render Flux-ready manifests per environment",
		Long:  buildDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			defer func() { err = pf.inputError(c, err) }()
			if err := pf.validate(); err != nil {
				return err
			}
			if st, err := os.Stat(outDir); err == nil && !st.IsDir() {
				return diag.Usagef("--out %s is not a folder", outDir)
			}
			results, findings, err := compileInput(args, envs, true, pf)
			if err != nil {
				return err
			}
			if reportFindings(c, findings, pf) {
				fmt.Fprintln(c.ErrOrStderr(), "gitopsc: nothing written: fix the error findings first")
				return &exitError{code: diag.ExitFindings}
			}
			stdout := c.OutOrStdout()
			stale := false
			// Folders a killed build left beside the environments are
			// gitopsc's own: --check reports them and a build removes
			// them, even when the environments are up to date. Those of
			// every environment when all are built, so that one no longer
			// in the input leaves none behind.
			var only []string
			if len(envs) > 0 {
				for _, r := range results {
					only = append(only, r.Tree.Env)
				}
			}
			if check {
				left, err := emit.Leftovers(outDir, only...)
				if err != nil {
					return err
				}
				for _, l := range left {
					fmt.Fprintf(stdout, "leftover: %s (of an interrupted build)\n", filepath.ToSlash(l.Path))
					stale = true
				}
			} else {
				left, err := emit.ClearLeftovers(outDir, only...)
				if err != nil {
					return err
				}
				for _, l := range left {
					if l.Restored {
						fmt.Fprintf(c.ErrOrStderr(), "gitopsc: moved %s back to %s: an interrupted build had moved it aside\n", filepath.ToSlash(l.Path), filepath.ToSlash(filepath.Join(outDir, l.Env)))
						continue
					}
					fmt.Fprintf(c.ErrOrStderr(), "gitopsc: removed leftover %s of an interrupted build\n", filepath.ToSlash(l.Path))
				}
			}
			for _, r := range results {
				envDir := filepath.Join(outDir, r.Tree.Env)
				prefix := filepath.ToSlash(envDir) + "/"
				if check {
					d, err := emit.Compare(envDir, r.Tree)
					if err != nil {
						return err
					}
					for _, l := range d.Lines(prefix) {
						fmt.Fprintln(stdout, l)
					}
					if !d.Empty() {
						stale = true
					}
					if err := warnUnlisted(c, envDir, r.Result); err != nil {
						return err
					}
					continue
				}
				if err := warnUnlisted(c, envDir, r.Result); err != nil {
					return err
				}
				d, err := emit.Write(outDir, r.Tree)
				if err != nil {
					return err
				}
				status := "up to date"
				if !d.Empty() {
					status = fmt.Sprintf("%d added, %d changed, %d removed", len(d.Added), len(d.Changed), len(d.Removed))
				}
				// With a machine --format, stdout holds the findings alone.
				summary := stdout
				if pf.format != "text" {
					summary = c.ErrOrStderr()
				}
				fmt.Fprintf(summary, "%s: %d objects in %s (%s); %s\n", r.Tree.Env, r.objects, filepath.ToSlash(envDir), status, r.coverage)
				for _, p := range r.prerequisites {
					fmt.Fprintf(summary, "  needs %s\n", p)
				}
				for _, n := range r.notes {
					fmt.Fprintf(summary, "  note: %s\n", n)
				}
			}
			// Environments removed from the input: their trees go too, but
			// only when every environment was built.
			if len(envs) == 0 {
				var names []string
				for _, r := range results {
					names = append(names, r.Tree.Env)
				}
				orphans, err := emit.Orphans(outDir, names)
				if err != nil {
					return err
				}
				for _, env := range orphans {
					envDir := filepath.Join(outDir, env)
					if check {
						d, err := emit.Compare(envDir, &emit.Tree{Env: env})
						if err != nil {
							return err
						}
						for _, l := range d.Lines(filepath.ToSlash(envDir) + "/") {
							fmt.Fprintln(stdout, l)
						}
						stale = true
						continue
					}
					d, err := emit.Remove(outDir, env)
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s: no longer in the input; removed %d files from %s\n", env, len(d.Removed), filepath.ToSlash(envDir))
				}
			}
			if stale {
				fmt.Fprintf(c.ErrOrStderr(), "gitopsc: %s is stale; run gitopsc build\n", filepath.ToSlash(outDir))
				return &exitError{code: diag.ExitFindings}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&envs, "env", nil, "build only this environment (repeatable)")
	c.Flags().StringVar(&outDir, "out", "out", "folder to write the environments into")
	c.Flags().BoolVar(&check, "check", false, "write nothing; list stale files and exit 1 if any")
	pf.register(c)
	return c
}

// warnUnlisted warns of each manifest in a layer folder of envDir that
// the layer's kustomization.yaml does not list: Flux never applies it,
// and nothing else would say so.
func warnUnlisted(c *cobra.Command, envDir string, r *compiler.Result) error {
	files, err := emit.Unlisted(envDir, r.Tree)
	if err != nil {
		return err
	}
	current := map[string]bool{}
	for _, f := range r.Tree.Files {
		if dir, name, ok := strings.Cut(f.Path, "/"); ok && name == "kustomization.yaml" {
			current[dir] = true
		}
	}
	compose := r.Resolved.Env.IsCompose()
	for _, f := range files {
		layer, _, _ := strings.Cut(f, "/")
		if compose {
			fmt.Fprintf(c.ErrOrStderr(), "gitopsc: warning: %s is in %s, a layer folder of the cluster environment %s was before it ran on Docker Compose: nothing reads it now; delete the file\n",
				filepath.ToSlash(filepath.Join(envDir, f)), filepath.ToSlash(filepath.Join(envDir, layer)), r.Resolved.Env.Name)
			continue
		}
		where := "system: objects: NAME"
		if layer != render.LayerPlatform {
			where = "system: namespaces: " + layer + ": objects: NAME"
		}
		if !current[layer] {
			fmt.Fprintf(c.ErrOrStderr(), "gitopsc: warning: %s is in %s, a layer the source no longer renders, so nothing applies it; move what it holds into the source under objects and delete the file\n",
				filepath.ToSlash(filepath.Join(envDir, f)), filepath.ToSlash(filepath.Join(envDir, layer)))
			continue
		}
		fmt.Fprintf(c.ErrOrStderr(), "gitopsc: warning: %s is not listed in %s/kustomization.yaml, which gitopsc writes, so Flux never applies it; write the object in the source under %s (or an environment's objects) and delete the file\n",
			filepath.ToSlash(filepath.Join(envDir, f)), filepath.ToSlash(filepath.Join(envDir, layer)), where)
	}
	return nil
}
