package cmd

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// initSystem is what gitopsc init writes: a small system that vets and
// builds as written. Its images.lock is made by make example-images, from
// deterministic stand-ins for its registry.example.com images.
//
//go:embed initsystem/*.cue initsystem/images.lock
var initSystem embed.FS

func newInit() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a small, working system to start from",
		Long: `Init writes a first system into DIR (default ./environments), which must
be new or empty: one namespace, two components with a flow between them,
a local k3s environment, and an images.lock. It vets and builds as
written. Its images are examples under registry.example.com, and the
lock holds stand-in digests for them: replace them with your images and
run gitopsc images lock DIR.`,
		Example: `  gitopsc init                 # into ./environments
  gitopsc init hello && gitopsc vet hello && gitopsc build hello`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := DefaultInput
			if len(args) > 0 {
				dir = args[0]
			}
			if err := newOrEmpty(dir, "init"); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return diag.OutsideErr(err)
			}
			files, err := fs.ReadDir(initSystem, "initsystem")
			if err != nil {
				return diag.OutsideErr(err)
			}
			out := c.OutOrStdout()
			for _, f := range files {
				b, err := initSystem.ReadFile("initsystem/" + f.Name())
				if err != nil {
					return diag.OutsideErr(err)
				}
				p := filepath.Join(dir, f.Name())
				if err := os.WriteFile(p, b, 0o644); err != nil {
					return diag.OutsideErr(err)
				}
				fmt.Fprintf(out, "wrote %s\n", filepath.ToSlash(p))
			}
			d := filepath.ToSlash(dir)
			fmt.Fprintf(out, "\nNext:\n")
			for _, l := range [][2]string{{"gitopsc vet " + d, "check it"}, {"gitopsc build " + d, "render out/local"}, {"gitopsc schema", "every field the input may have"}} {
				fmt.Fprintf(out, "  %-*s  %s\n", len("gitopsc build "+d), l[0], l[1])
			}
			fmt.Fprintf(out, "The images are examples, and %[1]s/images.lock holds stand-in digests for\nthem: write your own images, then run gitopsc images lock %[1]s.\n", d)
			return nil
		},
	}
}

// newOrEmpty refuses a dir that is a file or holds anything: command
// writes a new system there.
func newOrEmpty(dir, command string) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return diag.Usagef("%s is a file; gitopsc %s writes into a new or empty folder", filepath.ToSlash(dir), command)
	}
	switch entries, err := os.ReadDir(dir); {
	case err == nil && len(entries) > 0:
		return diag.Usagef("%s is not empty; gitopsc %s writes into a new or empty folder", filepath.ToSlash(dir), command)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return diag.OutsideErr(err)
	}
	return nil
}
