package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/policies"
)

func newGraph() *cobra.Command {
	var envs []string
	var format string
	c := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Draw what talks to what, as the rendered NetworkPolicies allow it",
		Long: `Graph renders each environment of DIR (default ./environments) in memory
and draws the connections its NetworkPolicies allow, as the network
analysis computes them from the rendered policies (not from talksTo): the
components and other workloads grouped by namespace, the externals and
outside peers (the ingress controller, a load balancer's addresses, a
range no external names) they reach or are reached from, and one arrow
per source and destination, labelled with the ports. DNS to kube-system,
which every pod has, is left out. Policy findings do not stop it: the
picture shows what the cluster would allow. A Compose environment has
networks, not policies: its graph shows each service and the networks
it is on, since services on one network reach each other on every port.

--format mermaid (default) writes a Mermaid flowchart, which GitHub and
GitLab draw in Markdown; --format dot writes Graphviz's language
(dot -Tsvg). One graph per environment, in name order: dot renders each
graph of its input as a document of its own, so for one SVG draw one
environment (--env).`,
		Example: `  gitopsc graph --env local
  gitopsc graph --env eks --format dot | dot -Tsvg > eks.svg`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if format != "mermaid" && format != "dot" {
				return diag.Usagef("unknown --format %q (formats: mermaid, dot)", format)
			}
			in, err := loadInput(args)
			if err != nil {
				return err
			}
			selected, err := selectEnvironments(in, envs)
			if err != nil {
				return err
			}
			lock, err := images.ReadLock(in.Dir)
			if err != nil {
				return err
			}
			results, err := compiler.Run(in, selected, lock, compiler.Options{})
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			for i, r := range results {
				g, err := policies.FlowGraph(r.Output)
				if err != nil {
					return diag.Usagef("environment %s: the rendered NetworkPolicies cannot be analysed: %v", r.Resolved.Env.Name, err)
				}
				if i > 0 {
					fmt.Fprintln(out)
				}
				if format == "dot" {
					g.DOT(out)
				} else {
					g.Mermaid(out)
				}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&envs, "env", nil, "draw only this environment (repeatable)")
	c.Flags().StringVar(&format, "format", "mermaid", "mermaid or dot")
	return c
}
