// Package gitcheckout writes an input folder as it was at a git revision
// into a temporary folder, so that it can be loaded and rendered beside
// the working tree. It runs the git command line and touches nothing of
// the repository: the files come from "git archive", unpacked here.
package gitcheckout

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Error is a git command that failed; its message is git's.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	if e.Stderr != "" {
		return e.Stderr
	}
	return "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotInRevision is returned by Checkout when the folder did not exist
// at the revision.
var ErrNotInRevision = errors.New("not in the revision")

// Repo is the git working tree an input folder lies in.
type Repo struct {
	// Top is the working tree's top folder.
	Top string
	// Prefix is the input folder's path below Top, slash-separated and
	// without a trailing slash; "" when the input is Top itself.
	Prefix string
}

// Find returns the working tree holding dir.
func Find(ctx context.Context, dir string) (*Repo, error) {
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	r := &Repo{Top: lines[0]}
	if len(lines) > 1 {
		r.Prefix = strings.TrimSuffix(lines[1], "/")
	}
	return r, nil
}

// Resolve returns the commit rev names.
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", &Error{Args: []string{"rev-parse", rev}, Stderr: fmt.Sprintf("%q is not a revision", rev)}
	}
	out, err := git(ctx, r.Top, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err == nil {
		return strings.TrimSpace(string(out)), nil
	}
	// --quiet says nothing; git log says what is wrong with the name.
	if _, err := git(ctx, r.Top, "log", "-1", "--format=%H", "--end-of-options", rev, "--"); err != nil {
		return "", err
	}
	return "", &Error{Args: []string{"rev-parse", rev}, Stderr: fmt.Sprintf("%s does not name a commit", rev)}
}

// Tree returns the folder to check out for the input: the CUE module
// around it (the nearest folder above it holding cue.mod), whose packages
// it may import, or else the input folder alone.
func (r *Repo) Tree() string {
	p := r.Prefix
	for {
		if st, err := os.Stat(filepath.Join(r.Top, filepath.FromSlash(p), "cue.mod")); err == nil && st.IsDir() {
			return p
		}
		if p == "" {
			return r.Prefix
		}
		p = path.Dir(p)
		if p == "." {
			p = ""
		}
	}
}

// Checkout is a folder of a revision written into a temporary folder.
type Checkout struct {
	// Root stands for the working tree's top folder.
	Root string
	// Dir is the input folder inside Root.
	Dir string
}

// Close removes the checkout.
func (c *Checkout) Close() error { return os.RemoveAll(c.Root) }

// Checkout writes the folder tree (a path below Top, "" for all of it) as
// it was at commit into a new temporary folder. It returns
// ErrNotInRevision when the folder did not exist then. Nothing is left
// behind on error.
func (r *Repo) Checkout(ctx context.Context, commit, tree string) (c *Checkout, err error) {
	if tree != "" {
		out, err := git(ctx, r.Top, "cat-file", "-t", commit+":"+tree)
		if err != nil || strings.TrimSpace(string(out)) != "tree" {
			return nil, fmt.Errorf("%s: %w", tree, ErrNotInRevision)
		}
	}
	root, err := os.MkdirTemp("", "gitopsc-diff-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(root)
		}
	}()
	args := []string{"--literal-pathspecs", "archive", "--format=tar", commit}
	if tree != "" {
		args = append(args, "--", tree)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Top
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, &Error{Args: args, Err: err}
	}
	xerr := extract(tar.NewReader(stdout), root)
	if xerr != nil {
		// Stop git rather than wait for it to write into a closed pipe.
		cmd.Process.Kill()
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil && xerr == nil {
		return nil, &Error{Args: args, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	if xerr != nil {
		return nil, xerr
	}
	return &Checkout{Root: root, Dir: filepath.Join(root, filepath.FromSlash(r.Prefix))}, nil
}

// extract unpacks a tar stream from git archive into dir.
func extract(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading git archive: %w", err)
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("git archive holds a path outside the tree: %s", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, os.FileMode(h.Mode)&0o777)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(h.Linkname, target)
			}
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(name string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o200)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// git runs git in dir and returns its output, or an *Error with git's
// message.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &Error{Args: args, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return out, nil
}
