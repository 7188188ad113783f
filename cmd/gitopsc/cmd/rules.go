package cmd

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/policies"
)

func newRules() *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the policy rules",
		Long: `Rules lists every built-in policy rule with its ID, family, severity and
what it checks. Waivers and "gitopsc explain" name rules by ID.

Example:
  gitopsc rules
`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tFAMILY\tSEVERITY\tCHECKS")
			for _, r := range policies.Rules() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.ID, r.Family, r.Severity, r.Title)
			}
			return w.Flush()
		},
	}
}

func newExplain() *cobra.Command {
	return &cobra.Command{
		Use:   "explain ID",
		Short: "Explain why a policy rule exists",
		Long: `Explain prints a rule's severity, what it checks and why.

Example:
  gitopsc explain QUOTA003
`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r := policies.Lookup(args[0])
			if r == nil {
				r = policies.LookupInputClass(args[0])
			}
			if r == nil {
				return diag.Usagef("unknown rule %q (see gitopsc rules)", args[0])
			}
			fmt.Fprintf(c.OutOrStdout(), "%s (%s, %s): %s\n\n%s\n", r.ID, r.Family, r.Severity, r.Title, r.Rationale)
			return nil
		},
	}
}
