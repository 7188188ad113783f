package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

const vetDoc = `Vet loads the CUE package in DIR (default ./environments), checks it
against the gitopsc schema, resolves and renders every environment in
memory and runs every policy rule on the result. Nothing is written.

Input problems are reported once as file.cue:LINE:COL: message (exit 2).
Policy findings point at the CUE line to change, with their rule ID; an
error finding, or with --strict any finding, exits 1. "gitopsc rules"
lists the rules and "gitopsc explain ID" tells why each exists.

Examples:
  # check the shipped system
  gitopsc vet

  # check one environment of another input folder
  gitopsc vet ./my-system --env eks

  # annotate a GitHub pull request, or upload to code scanning
  gitopsc vet --format github
  gitopsc vet --format sarif > gitopsc.sarif
`

func newVet() *cobra.Command {
	var envs []string
	var pf policyFlags
	c := &cobra.Command{
		Use:   "vet [DIR]",
		Short: "Check a system description and its policies without writing anything",
		Long:  vetDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			defer func() { err = pf.inputError(c, err) }()
			if err := pf.validate(); err != nil {
				return err
			}
			results, findings, err := compileInput(args, envs, false, pf)
			if err != nil {
				return err
			}
			if reportFindings(c, findings, pf) {
				return &exitError{code: diag.ExitFindings}
			}
			if pf.format == "text" {
				for _, r := range results {
					fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s in %s, %s; %s)\n", r.Resolved.Env.Name,
						count(len(r.Resolved.System.Components), "component"), count(len(r.Resolved.System.Namespaces), "namespace"),
						count(r.objects, "object"), r.coverage)
				}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&envs, "env", nil, "check only this environment (repeatable)")
	pf.register(c)
	return c
}

// count renders "1 component", "2 components".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
