package emit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// Write builds an environment's new tree in outDir/.<env>.new-<digits>
// (os.MkdirTemp's random part is a number) and swaps it in; where the
// system has no atomic exchange, the old tree waits in the same name plus
// asideSuffix during the swap. Those names are gitopsc's alone, and a
// build killed part way leaves them behind.
const (
	tempInfix   = ".new-"
	asideSuffix = ".old"
)

// leftoverName matches the folders named above. Environment names are
// DNS labels, so the name tells which environment a folder belongs to.
var leftoverName = regexp.MustCompile(`^\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)` + regexp.QuoteMeta(tempInfix) + `[0-9]+(` + regexp.QuoteMeta(asideSuffix) + `)?$`)

// A Leftover is a folder an interrupted build left in the output folder.
type Leftover struct {
	Env  string // the environment it was built for
	Path string // the output folder joined with its name
	// Aside is the environment's old tree, moved out of the way by a swap
	// that did not finish.
	Aside bool
	// Restored is set by ClearLeftovers when the swap had moved the
	// environment folder away: the old tree was moved back instead of
	// removed, so the environment stays whole.
	Restored bool
}

// Leftovers lists the folders interrupted builds left in outDir, sorted
// by path: those of the named environments, or of every environment when
// none is named. Only folders named as Write names its own are listed.
func Leftovers(outDir string, envs ...string) ([]Leftover, error) {
	entries, err := os.ReadDir(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	want := map[string]bool{}
	for _, e := range envs {
		want[e] = true
	}
	var out []Leftover
	for _, e := range entries {
		m := leftoverName.FindStringSubmatch(e.Name())
		// A symbolic link or a file of that name is not one of ours.
		if m == nil || !e.IsDir() || len(want) > 0 && !want[m[1]] {
			continue
		}
		out = append(out, Leftover{Env: m[1], Path: filepath.Join(outDir, e.Name()), Aside: m[3] != ""})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ClearLeftovers removes what Leftovers lists, and returns it. An old tree
// moved aside while its environment folder is missing is moved back
// rather than removed: it is the last whole tree of that environment.
func ClearLeftovers(outDir string, envs ...string) ([]Leftover, error) {
	left, err := Leftovers(outDir, envs...)
	if err != nil {
		return nil, err
	}
	// Restore first, so that the environment folder exists when the
	// rest are removed.
	for i, l := range left {
		if !l.Aside {
			continue
		}
		envDir := filepath.Join(outDir, l.Env)
		if _, err := os.Lstat(envDir); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(l.Path, envDir); err != nil {
				return nil, diag.OutsideErr(err)
			}
			left[i].Restored = true
		}
	}
	for _, l := range left {
		if l.Restored {
			continue
		}
		if err := os.RemoveAll(l.Path); err != nil {
			return nil, diag.OutsideErr(err)
		}
	}
	return left, nil
}
