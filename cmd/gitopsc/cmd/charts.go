package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/charts"
	"github.com/gitopsc/gitopsc/compiler/diag"
)

const chartsLockDoc = `Lock fetches every chart version the environments of DIR (default
./environments) install from a Helm repository, the system's charts with
each environment's version applied and the environments' own, and records
in DIR/charts.lock the digest of each archive (and, from an OCI registry,
of its manifest, which the rendered OCIRepository pins). The archives are
kept in DIR/charts/CHART-VERSION.tgz: vet, build and diff render the
charts from them with the Helm SDK, offline, and refuse an archive whose
digest is not the lock's. Commit them with the lock, as Helm's own
dependency archives are. Charts read from a path of the repository need
no lock.

A repository is an HTTP Helm repository (its index.yaml, then the
archive the index names, checked against the index's digest) or an OCI
registry (oci://HOST/PATH; the chart is the artifact PATH/CHART:VERSION).
Registry credentials are docker login's. The lock and each archive are
written whole or not at all; archives no longer locked are removed.

--check writes nothing: it fetches again and lists each chart version
whose digest moved, that is missing from the lock, or that the lock
holds but no environment installs; the exit code is 1 when any is.

--mirror HOST=MIRROR sends the requests for HOST to MIRROR; the lock
and the rendered sources keep the original URLs. Plain HTTP is used
only for a loopback address.

Exit codes: 0 locked or up to date, 1 drift under --check, 2 input that
does not compile or a wrong command line, 3 a repository, network or
file system failure.

Examples:
  gitopsc charts lock
  gitopsc charts lock --check
  gitopsc charts lock --mirror charts.example.com=127.0.0.1:8080
`

func newCharts() *cobra.Command {
	c := &cobra.Command{
		Use:   "charts",
		Short: "Record and keep the chart archives an input installs",
		Long: `Charts manages DIR/charts.lock and DIR/charts/, the record and the copies of
the Helm chart versions an input installs from repositories.`,
		RunE: runGroup,
	}
	c.AddCommand(newChartsLock())
	return c
}

func newChartsLock() *cobra.Command {
	var check bool
	var mirrors []string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "lock [DIR]",
		Short: "Fetch every chart version and write or check DIR/charts.lock",
		Long:  chartsLockDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runChartsLock(c, args, check, mirrors, timeout)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&check, "check", false, "compare the lock with the repositories instead of writing it; exit 1 on drift")
	fl.StringArrayVar(&mirrors, "mirror", nil, "fetch from HOST through MIRROR, as HOST=MIRROR (repeatable)")
	fl.DurationVar(&timeout, "timeout", time.Minute, "time allowed for fetching each chart version")
	return c
}

func runChartsLock(c *cobra.Command, args []string, check bool, mirrorFlags []string, timeout time.Duration) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	if timeout <= 0 {
		return diag.Usagef("--timeout must be above 0 (see %s --help)", c.CommandPath())
	}
	mirrors, err := parseMirrors(mirrorFlags)
	if err != nil {
		return err
	}
	dir := DefaultInput
	if len(args) > 0 {
		dir = args[0]
	}
	in, err := loadInput(args)
	if err != nil {
		return err
	}
	old, err := charts.ReadLock(in.Dir)
	if _, bad := err.(diag.List); bad && !check {
		// Rewritten whole; the archives of its well-formed lines that
		// are no longer installed are removed.
	} else if err != nil {
		return err
	}
	// One archive per chart name and version: two repositories serving
	// the same name and version could not both be kept.
	archives := map[string]string{}
	var clash diag.List
	for _, ch := range in.ChartsUsed() {
		if ch.Repository == "" {
			continue
		}
		n := len(clash)
		if charts.Check(ch, &clash); len(clash) > n {
			continue
		}
		a := charts.Entry{Chart: ch.ChartName, Version: ch.Version}.Archive()
		if other, ok := archives[a]; ok && other != ch.Key() {
			clash.Add(ch.Pos, "%s: %s and %s would both be kept as %s; install one chart version of a name, from one repository", ch.Path, other, ch.Key(), a)
		}
		archives[a] = ch.Key()
	}
	if err := clash.Err(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	f := charts.NewFetcher(mirrors)
	wd, _ := os.Getwd()
	var fetched []*charts.Fetched
	seen := map[string]bool{}
	failed := false
	for _, ch := range in.ChartsUsed() {
		if ch.Repository == "" || seen[ch.Key()] {
			continue
		}
		seen[ch.Key()] = true
		cctx, cancel := context.WithTimeout(ctx, timeout)
		fc, err := f.Fetch(cctx, ch.Repository, ch.ChartName, ch.Version)
		cancel()
		if err != nil {
			pos := ch.VersionPos
			if !pos.IsValid() {
				pos = ch.Pos
			}
			fmt.Fprintf(stderr, "%s: %s: %v\n", diag.Position(pos, wd), ch.Key(), err)
			failed = true
			continue
		}
		fetched = append(fetched, fc)
	}
	if failed {
		return &exitError{code: diag.ExitOutside}
	}
	lockPath := filepath.ToSlash(filepath.Join(dir, charts.LockFile))
	count := func(n int) string {
		if n == 1 {
			return "1 chart"
		}
		return fmt.Sprintf("%d charts", n)
	}
	if check {
		var drift []string
		for _, fc := range fetched {
			e, ok := old.Entries[fc.Key()]
			switch {
			case !ok:
				drift = append(drift, fc.Key()+": not locked")
			case e.Digest != fc.Digest || e.Manifest != fc.Manifest:
				drift = append(drift, fmt.Sprintf("%s: locked %s, the repository serves %s", fc.Key(), e.Digest, fc.Digest))
			}
		}
		for key := range old.Entries {
			if !seen[key] {
				drift = append(drift, key+": locked, installed by no environment")
			}
		}
		if len(drift) == 0 {
			fmt.Fprintf(stdout, "%s: up to date (%s)\n", lockPath, count(len(fetched)))
			return nil
		}
		sort.Strings(drift)
		for _, d := range drift {
			fmt.Fprintf(stdout, "%s: %s\n", lockPath, d)
		}
		fmt.Fprintf(stderr, "gitopsc: %s is out of date; run: gitopsc charts lock %s\n", lockPath, dir)
		return &exitError{code: diag.ExitFindings}
	}
	changed, err := charts.Write(in.Dir, old, fetched)
	if err != nil {
		return err
	}
	status := "up to date"
	if changed {
		status = "wrote"
	}
	if changed {
		fmt.Fprintf(stdout, "%s: %s %s\n", lockPath, status, count(len(fetched)))
	} else {
		fmt.Fprintf(stdout, "%s: %s (%s)\n", lockPath, status, count(len(fetched)))
	}
	return nil
}
