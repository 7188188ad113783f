package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what the binary knows of itself: the module version go
// install recorded (v1.2.3, or a pseudo-version for a commit), else
// "devel", and the VCS revision go build stamped from a checkout.
type buildInfo struct {
	Module, Version   string
	Revision, Time    string
	Modified          bool
	GoVersion, OSArch string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Module: "github.com/gitopsc/gitopsc", Version: "devel", GoVersion: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// short is the version in one word: the module version Go recorded (for
// a build from a checkout, a pseudo-version of its commit, +dirty with
// uncommitted changes), or devel when Go recorded none.
func (b buildInfo) short() string { return b.Version }

func newVersion() *cobra.Command {
	var short bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print gitopsc's version and the revision it was built from",
		Long: `Version prints the module version Go recorded (vX.Y.Z for a release;
for a commit, or a build from a checkout, a pseudo-version of the
commit, +dirty when the checkout had uncommitted changes; devel when the
build recorded none, as with -buildvcs=false), the VCS revision of a
build from a checkout, and the Go version. With --short, the version
alone.`,
		Example: `  gitopsc version
  gitopsc version --short    # v0.1.0, or v0.0.0-20261201204608-e0da18fb7df1
  go install github.com/gitopsc/gitopsc/cmd/gitopsc@v0.1.0`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			b := readBuildInfo()
			out := c.OutOrStdout()
			if short {
				fmt.Fprintln(out, b.short())
				return nil
			}
			fmt.Fprintf(out, "gitopsc %s\n", b.short())
			fmt.Fprintf(out, "  module   %s %s\n", b.Module, b.Version)
			if b.Revision != "" {
				rev := b.Revision
				if b.Time != "" {
					rev += " (" + b.Time + ")"
				}
				if b.Modified {
					rev += ", with uncommitted changes"
				}
				fmt.Fprintf(out, "  revision %s\n", rev)
			}
			fmt.Fprintf(out, "  go       %s %s\n", b.GoVersion, b.OSArch)
			return nil
		},
	}
	c.Flags().BoolVar(&short, "short", false, "print the version only")
	return c
}
