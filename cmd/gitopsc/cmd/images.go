package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/resolve"
)

const imagesLockDoc = `Lock resolves every image reference the environments of DIR (default
./environments) run, the images of components and init containers with
each environment's overrides applied, and records in DIR/images.lock the
digest each tag points to, the platforms it publishes and the user each
platform's image runs as (linux/amd64;user=101; empty when its config
names none: root). vet and build read only the lock, so they stay offline
and deterministic.

Tags are resolved through the registry protocol with the credentials of
docker login and its helpers. An image index is enumerated, attestation
manifests (unknown/unknown) left out; a single-platform image gives the
platform in its config. The lock is written whole or not at all.

--check writes nothing: it resolves again and lists on stdout each
reference whose digest moved, that is missing from the lock, or that the
lock holds but no environment uses, and the exit code is 1 when any is.

--mirror HOST=MIRROR sends the lookups of HOST's references to MIRROR;
the lock keeps the original references. Plain HTTP is used only for
registries on a loopback address (127.0.0.1, localhost, [::1]).

--layout DIR resolves from an OCI image layout instead of registries, for
CI without registry access: each reference is the index.json entry whose
org.opencontainers.image.ref.name annotation holds the full reference as
the input writes it (registry.example.com/apps/web:1.0.0, not 1.0.0).

Lookups run --jobs at a time; each attempt has --timeout, and a server
error (5xx), rate limit or timeout is tried again after a growing wait,
up to --attempts tries.

Exit codes: 0 locked or up to date, 1 drift under --check, 2 input that
does not compile or a wrong command line, 3 a registry, network or file
system failure (each failed reference on one line).

Examples:
  # lock the shipped system
  gitopsc images lock

  # in CI: fail when a tag has moved since the lock was written
  gitopsc images lock --check

  # resolve registry.example.com through a local mirror
  gitopsc images lock --mirror registry.example.com=127.0.0.1:5000

  # air-gapped: resolve from an OCI image layout
  gitopsc images lock --check --layout ./oci
`

func newImages() *cobra.Command {
	c := &cobra.Command{
		Use:   "images",
		Short: "Record the digests, platforms and users of the images an input uses",
		Long: `Images manages DIR/images.lock, the record of what each image reference of
an input resolved to: its digest, the platforms it publishes and the user
each platform's image runs as.`,
		RunE: runGroup,
	}
	c.AddCommand(newImagesLock())
	return c
}

type imagesLockFlags struct {
	check    bool
	layout   string
	mirrors  []string
	jobs     int
	timeout  time.Duration
	attempts int
}

func newImagesLock() *cobra.Command {
	var f imagesLockFlags
	c := &cobra.Command{
		Use:   "lock [DIR]",
		Short: "Resolve every image tag and write or check DIR/images.lock",
		Long:  imagesLockDoc,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runImagesLock(c, args, f)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&f.check, "check", false, "compare the lock with the registries instead of writing it; exit 1 on drift")
	fl.StringVar(&f.layout, "layout", "", "resolve from the OCI image layout in this folder instead of registries")
	fl.StringArrayVar(&f.mirrors, "mirror", nil, "resolve references of HOST through MIRROR, as HOST=MIRROR (repeatable)")
	fl.IntVar(&f.jobs, "jobs", images.DefaultJobs, "lookups to run at once")
	fl.DurationVar(&f.timeout, "timeout", images.DefaultTimeout, "time allowed for each attempt of each lookup")
	fl.IntVar(&f.attempts, "attempts", images.DefaultAttempts, "tries per reference when the registry fails or times out")
	return c
}

func runImagesLock(c *cobra.Command, args []string, f imagesLockFlags) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	if f.jobs < 1 || f.attempts < 1 || f.timeout <= 0 {
		return diag.Usagef("--jobs and --attempts must be at least 1 and --timeout above 0 (see %s --help)", c.CommandPath())
	}
	mirrors, err := parseMirrors(f.mirrors)
	if err != nil {
		return err
	}
	if f.layout != "" && len(mirrors) > 0 {
		return diag.Usagef("--mirror maps registries; it does not apply with --layout")
	}

	dir := DefaultInput
	if len(args) > 0 {
		dir = args[0]
	}
	in, err := loadInput(args)
	if err != nil {
		return err
	}
	resolved, err := resolve.All(in)
	if err != nil {
		return err
	}
	lockPath := filepath.ToSlash(filepath.Join(dir, images.LockFile))
	var locked *images.Lock
	if f.check {
		// Read the lock first: a broken one fails before any lookup.
		if locked, err = images.ReadLock(dir); err != nil {
			return err
		}
	}

	var src images.Source
	if f.layout != "" {
		l, err := images.OpenLayout(f.layout)
		if err != nil {
			return err
		}
		src = l
	} else {
		src = images.NewRegistry(mirrors)
	}

	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	defer stop()
	uses := images.Uses(resolved)
	wd, _ := os.Getwd()
	// On a terminal a progress line is redrawn in place; a retry notice
	// clears it first.
	progress := isTerminal(stderr)
	clearLine := ""
	if progress {
		clearLine = "\r\033[K"
	}
	var mu sync.Mutex
	opts := images.Options{
		Jobs:     f.jobs,
		Timeout:  f.timeout,
		Attempts: f.attempts,
		Retry: func(u images.Use, reason string, attempt, attempts int, wait time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "%s%s: %s; trying again in %s (attempt %d of %d)\n", clearLine, where(u, wd), reason, wait, attempt, attempts)
		},
	}
	if progress {
		opts.Progress = func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "%sresolving images: %d/%d", clearLine, done, total)
		}
	}
	current, err := images.Resolve(ctx, src, uses, opts)
	if progress && len(uses) > 0 {
		fmt.Fprint(stderr, clearLine)
	}
	var failed images.LookupErrors
	if errors.As(err, &failed) {
		for _, e := range failed {
			fmt.Fprintf(stderr, "%s: %s\n", where(e.Use, wd), e.Reason())
		}
		return &exitError{code: diag.ExitOutside}
	}
	if err != nil {
		return err
	}

	if f.check {
		drift := images.Compare(locked, current)
		if len(drift) == 0 {
			fmt.Fprintf(stdout, "%s: up to date (%s)\n", lockPath, countImages(len(current.Entries)))
			return nil
		}
		for _, d := range drift {
			fmt.Fprintf(stdout, "%s: %s\n", lockPath, d)
		}
		differences := "1 difference"
		if len(drift) > 1 {
			differences = fmt.Sprintf("%d differences", len(drift))
		}
		fmt.Fprintf(stderr, "gitopsc: %s is out of date (%s); run: gitopsc images lock %s\n", lockPath, differences, dir)
		return &exitError{code: diag.ExitFindings}
	}
	changed, err := images.WriteLock(dir, current)
	if err != nil {
		return err
	}
	if changed {
		fmt.Fprintf(stdout, "%s: wrote %s\n", lockPath, countImages(len(current.Entries)))
	} else {
		fmt.Fprintf(stdout, "%s: up to date (%s)\n", lockPath, countImages(len(current.Entries)))
	}
	return nil
}

func countImages(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}

// where names a reference for a message: at its position in the input
// when known, "file.cue:LINE:COL: REF".
func where(u images.Use, wd string) string {
	if p := diag.Position(u.Pos, wd); p != "" {
		return p + ": " + u.Ref
	}
	return "gitopsc: " + u.Ref
}

// isTerminal reports whether w is a terminal, where progress may be drawn.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runGroup runs a command that only groups others (images, charts): its
// help, or a usage error for an unknown subcommand.
func runGroup(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return diag.Usagef("unknown command %q for %s (see %s --help)", args[0], c.CommandPath(), c.CommandPath())
	}
	return c.Help()
}

// parseMirrors parses the --mirror flags; a bad one is a usage error.
func parseMirrors(flags []string) ([]images.Mirror, error) {
	var out []images.Mirror
	for _, m := range flags {
		mi, err := images.ParseMirror(m)
		if err != nil {
			return nil, diag.Usagef("%v", err)
		}
		out = append(out, mi)
	}
	return out, nil
}
