package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/schema"
)

func newSchema() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the CUE schema every input is checked against",
		Long: `Schema prints the embedded CUE definitions. An input folder is unified
with #Root: a system and its environments.

Example:
  gitopsc schema > gitopsc-schema.cue
`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			for i, f := range schema.Files() {
				if i > 0 {
					fmt.Fprintln(c.OutOrStdout())
				}
				fmt.Fprintf(c.OutOrStdout(), "// %s\n%s", f.Name, f.Source)
			}
			return nil
		},
	}
}
