package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/compose"
	"github.com/gitopsc/gitopsc/compiler/diag"
)

func newImport() *cobra.Command {
	c := &cobra.Command{
		Use:   "import",
		Short: "Start a system from what runs today",
	}
	c.AddCommand(newImportCompose())
	return c
}

func newImportCompose() *cobra.Command {
	var namespace string
	var mapping []string
	c := &cobra.Command{
		Use:   "compose FILE [DIR]",
		Short: "Write a starting system from a Docker Compose file",
		Long: `Import compose reads a Compose file with the Compose specification's own
loader (compose-go) and writes a CUE system into DIR (default
./environments), which must be new or empty: a component per service with
its image, ports, replicas, resources (reservations as requests), command,
healthcheck (as an exec readiness probe), named volumes as storage and
tmpfs mounts as writable paths; environment values as config, but for
those that look like credentials, which become references to a secret
whose values go in a SOPS file, never into the CUE; depends_on, and other
services' host names in environment values, as talksTo; one namespace (the
project's, or --namespace), or --map SERVICE=NAMESPACE; and a local k3s
environment.

What it cannot map (bind mounts, networks, published host ports, values
taken from the shell, ...) is listed on stderr with the Compose file's
line. It then runs gitopsc vet on DIR and prints what is left to add:
what Compose does not say and Kubernetes needs (resources, volume sizes,
probes, the SOPS files).`,
		Example: `  gitopsc import compose docker-compose.yml
  gitopsc import compose docker-compose.yml platform --map nginx=web --map php=web`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			dir := DefaultInput
			if len(args) > 1 {
				dir = args[1]
			}
			opts := compose.Options{Namespace: namespace, Namespaces: map[string]string{}}
			for _, m := range mapping {
				svc, ns, ok := strings.Cut(m, "=")
				if !ok || svc == "" || !dnsLabelRE.MatchString(ns) {
					return diag.Usagef("--map %s: want SERVICE=NAMESPACE, the namespace a DNS label", m)
				}
				opts.Namespaces[svc] = ns
			}
			if namespace != "" && !dnsLabelRE.MatchString(namespace) {
				return diag.Usagef("--namespace %s: a namespace is a DNS label", namespace)
			}
			if err := newOrEmpty(dir, "import"); err != nil {
				return err
			}
			res, err := compose.Import(args[0], opts)
			if err != nil {
				return err
			}
			for svc := range opts.Namespaces {
				if !res.HasService(svc) {
					return diag.Usagef("--map %s: the Compose file has no service %q", svc, svc)
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return diag.OutsideErr(err)
			}
			var names []string
			for n := range res.Files {
				names = append(names, n)
			}
			sort.Strings(names)
			out, errw := c.OutOrStdout(), c.ErrOrStderr()
			for _, n := range names {
				p := filepath.Join(dir, n)
				if err := os.WriteFile(p, res.Files[n], 0o644); err != nil {
					return diag.OutsideErr(err)
				}
				fmt.Fprintf(out, "wrote %s\n", filepath.ToSlash(p))
			}
			for _, n := range res.Notes {
				fmt.Fprintf(errw, "%s\n", n)
			}
			d := filepath.ToSlash(dir)
			if len(res.ToAdd) > 0 {
				fmt.Fprintf(out, "\nTo add to %s, which Compose does not say:\n", d)
				for _, t := range res.ToAdd {
					fmt.Fprintf(out, "  %s\n", t)
				}
			}
			// What vet says is what is left to do; the import itself
			// succeeded.
			var vout, verr bytes.Buffer
			code := Run([]string{"vet", dir}, &vout, &verr)
			defer fmt.Fprintf(out, "\nThen gitopsc images lock %s records the images' digests, and gitopsc vet %s checks it again.\n", d, d)
			if code == diag.ExitOK {
				fmt.Fprintf(out, "\ngitopsc vet %s passes: %s", d, vout.String())
				return nil
			}
			fmt.Fprintf(out, "\ngitopsc vet %s now says:\n", d)
			for _, l := range strings.Split(strings.TrimRight(verr.String()+vout.String(), "\n"), "\n") {
				fmt.Fprintf(out, "  %s\n", l)
			}
			return nil
		},
	}
	c.Flags().StringVar(&namespace, "namespace", "", "the namespace of the services --map does not place (default: the project's name)")
	c.Flags().StringArrayVar(&mapping, "map", nil, "SERVICE=NAMESPACE: the namespace of one service (repeatable)")
	return c
}

// dnsLabelRE is a namespace's name: an RFC 1123 label.
var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
