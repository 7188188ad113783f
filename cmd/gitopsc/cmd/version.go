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

// short is the version in one word: the module version, or for a build
// from a checkout devel-REVISION (12 digits), with -dirty when the
// checkout had changes.
func (b buildInfo) short() string {
	if b.Version != "devel" || b.Revision == "" {
		return b.Version
	}
	s := "devel-" + b.Revision[:min(12, len(b.Revision))]
	if b.Modified {
		s += "-dirty"
	}
	return s
}

func newVersion() *cobra.Command {
	var short bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print gitopsc's version and the revision it was built from",
		Long: `Version prints the module version go install recorded (vX.Y.Z for a
release, a pseudo-version for a commit), the VCS revision when the binary
was built from a checkout, and the Go version. With --short, the version
alone: devel-REVISION for a build from a checkout (-dirty when it had
uncommitted changes).`,
		Example: `  gitopsc version
  gitopsc version --short    # v0.1.0, or devel-1eba420c0e9a
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
