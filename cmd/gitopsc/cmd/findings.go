package cmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/policies"
)

// Version is reported in SARIF output.
var Version = "dev"

// policyFlags are the flags of every command that runs the rules.
type policyFlags struct {
	format string
	strict bool
}

func (p *policyFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&p.format, "format", "text", "findings format: "+strings.Join(policies.Formats, ", "))
	c.Flags().BoolVar(&p.strict, "strict", false, "refuse every waiver and fail on warnings too")
}

func (p *policyFlags) validate() error {
	if !slices.Contains(policies.Formats, p.format) {
		return diag.Usagef("unknown --format %q (formats: %s)", p.format, strings.Join(policies.Formats, ", "))
	}
	return nil
}

// reportFindings prints the findings in the chosen format and reports
// whether they fail the gate. Machine formats go to stdout; text goes to
// stderr with the diagnostics.
func reportFindings(c *cobra.Command, fs []policies.Finding, p policyFlags) bool {
	wd, _ := os.Getwd()
	if !p.writeMachine(c, fs, wd) {
		stderr := c.ErrOrStderr()
		color := colorOutput(stderr)
		policies.WriteTextColor(stderr, fs, wd, color)
		if len(fs) > 0 {
			fmt.Fprintf(stderr, "findings: %s\n", policies.SummarizeColor(fs, color))
		}
	}
	return policies.Failed(fs, p.strict)
}

// writeMachine writes fs to stdout in a machine format, and reports
// whether the format was one.
func (p *policyFlags) writeMachine(c *cobra.Command, fs []policies.Finding, wd string) bool {
	stdout := c.OutOrStdout()
	switch p.format {
	case "json":
		policies.WriteJSON(stdout, fs, wd)
	case "sarif":
		policies.WriteSARIF(stdout, fs, wd, Version)
	case "github":
		policies.WriteGitHub(stdout, fs, wd)
	default:
		return false
	}
	return true
}

// inputError reports an error that stopped the command before any rule
// ran. Text goes to stderr as always; a machine format also gets it on
// stdout, located like a finding, so a CI system that reads only the
// SARIF file or the annotations sees why the run failed.
func (p *policyFlags) inputError(c *cobra.Command, err error) error {
	if err == nil || p.format == "text" {
		return err
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	wd, _ := os.Getwd()
	diag.Print(c.ErrOrStderr(), err, wd)
	p.writeMachine(c, policies.InputFindings(err), wd)
	return &exitError{code: diag.ExitCode(err)}
}
