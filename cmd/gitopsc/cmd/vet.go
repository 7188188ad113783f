package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/resolve"
)

const vetDoc = `Vet loads the CUE package in DIR (default ./environments), checks it
against the gitopsc schema and resolves every environment, reporting each
problem once as file.cue:LINE:COL: message.

Examples:
  # check the shipped system
  gitopsc vet

  # check one environment of another input folder
  gitopsc vet ./my-system --env eks
`

func newVet() *cobra.Command {
	var envs []string
	c := &cobra.Command{
		Use:   "vet [DIR]",
		Short: "Check a system description without writing anything",
		Long:  vetDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in, err := loadInput(args)
			if err != nil {
				return err
			}
			selected, err := selectEnvironments(in, envs)
			if err != nil {
				return err
			}
			resolved, err := resolve.All(in)
			if err != nil {
				return err
			}
			for _, env := range selected {
				r := resolvedFor(resolved, env.Name)
				fmt.Fprintf(c.OutOrStdout(), "%s: ok (%d components in %d namespaces)\n", env.Name, len(r.System.Components), len(r.System.Namespaces))
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&envs, "env", nil, "check only this environment (repeatable)")
	return c
}
