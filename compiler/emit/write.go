package emit

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// writeFile writes one file of a new tree; tests replace it to inject
// failures part way through a build.
var writeFile = CreateFile

// Diff is how an environment folder on disk differs from a tree.
type Diff struct {
	Added, Changed, Removed []string // paths relative to the environment folder
}

// Empty reports whether the folder matches the tree.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

// Lines lists the differences, one "+ path", "~ path" or "- path" a line.
func (d Diff) Lines(prefix string) []string {
	var out []string
	for _, p := range d.Added {
		out = append(out, "added:   "+prefix+p)
	}
	for _, p := range d.Changed {
		out = append(out, "changed: "+prefix+p)
	}
	for _, p := range d.Removed {
		out = append(out, "removed: "+prefix+p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][9:] < out[j][9:] })
	return out
}

// Compare reports how envDir differs from t, looking only at the files
// gitopsc writes: those of t and those the folder's manifest lists.
func Compare(envDir string, t *Tree) (Diff, error) {
	var d Diff
	if _, err := os.Stat(envDir); errors.Is(err, fs.ErrNotExist) {
		// Nothing there yet: every file is new, and none need be read.
		for _, f := range t.Files {
			d.Added = append(d.Added, f.Path)
		}
		return d, nil
	}
	old, err := previousFiles(envDir)
	if err != nil {
		return d, err
	}
	if err := foreignKustomization(envDir, old, t); err != nil {
		return d, err
	}
	// Files are read by a few workers: a large tree is tens of thousands
	// of small reads.
	const (
		same = iota
		added
		changed
	)
	state := make([]int, len(t.Files))
	err = parallel(len(t.Files), func(i int) error {
		f := t.Files[i]
		exists, same, err := fileHolds(filepath.Join(envDir, filepath.FromSlash(f.Path)), f.Content)
		switch {
		case err != nil:
			return diag.OutsideErr(err)
		case !exists:
			state[i] = added
		case !same:
			state[i] = changed
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	want := make(map[string]bool, len(t.Files))
	for i, f := range t.Files {
		want[f.Path] = true
		switch state[i] {
		case added:
			d.Added = append(d.Added, f.Path)
		case changed:
			d.Changed = append(d.Changed, f.Path)
		}
	}
	for _, p := range old {
		if !want[p] {
			if _, err := os.Lstat(filepath.Join(envDir, filepath.FromSlash(p))); err == nil {
				d.Removed = append(d.Removed, p)
			}
		}
	}
	return d, nil
}

// byFolder splits files, sorted by path, into runs of the same folder.
func byFolder(files []File) [][]File {
	var groups [][]File
	start := 0
	for i := 1; i <= len(files); i++ {
		if i == len(files) || path.Dir(files[i].Path) != path.Dir(files[start].Path) {
			groups = append(groups, files[start:i])
			start = i
		}
	}
	return groups
}

// ioWorkers is how many files are read or written at once: one per CPU,
// and at least two. More only queue on the directories' locks.
var ioWorkers = max(2, runtime.GOMAXPROCS(0))

// parallel calls fn for 0..n-1 on a few goroutines and returns the first
// error (by index, so the error reported does not depend on timing).
func parallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < ioWorkers && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// previousFiles is the list of files the last build wrote in envDir.
func previousFiles(envDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(envDir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	var out []string
	for _, p := range parseManifest(b) {
		// A manifest edited to point outside the folder is ignored.
		if c := filepath.ToSlash(filepath.Clean(p)); c == p && !strings.HasPrefix(c, "../") && !filepath.IsAbs(p) {
			out = append(out, p)
		}
	}
	return append(out, ManifestFile), nil
}

// Write makes outDir/<env> hold exactly the tree's files plus any file
// gitopsc did not write there. The new folder is built beside the old one
// and swapped in with one rename, so an interrupted build leaves the old
// tree whole. Unchanged files keep their modification time; when nothing
// changed, nothing is written. It returns the differences it applied.
// What an interrupted build of the environment left beside its folder is
// cleared first, changed or not (see ClearLeftovers).
func Write(outDir string, t *Tree) (Diff, error) {
	envDir := filepath.Join(outDir, t.Env)
	// Before Compare: clearing may move the old tree back into envDir.
	if _, err := ClearLeftovers(outDir, t.Env); err != nil {
		return Diff{}, err
	}
	d, err := Compare(envDir, t)
	if err != nil || d.Empty() {
		return d, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return d, diag.OutsideErr(err)
	}
	tmp, err := os.MkdirTemp(outDir, "."+t.Env+tempInfix)
	if err != nil {
		return d, diag.OutsideErr(err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return d, diag.OutsideErr(err)
	}
	changed := map[string]bool{}
	for _, p := range append(d.Added, d.Changed...) {
		changed[p] = true
	}
	ours := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range t.Files {
		ours[f.Path] = true
		dir := filepath.Dir(filepath.Join(tmp, filepath.FromSlash(f.Path)))
		if !dirs[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return d, diag.OutsideErr(err)
			}
			dirs[dir] = true
		}
	}
	// Each worker writes whole folders: files created in one folder at
	// once only queue on that folder's lock.
	groups := byFolder(t.Files)
	err = parallel(len(groups), func(g int) error {
		for _, f := range groups[g] {
			dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
			if !changed[f.Path] {
				// Same bytes as on disk: link the old file to keep its mtime.
				if err := os.Link(filepath.Join(envDir, filepath.FromSlash(f.Path)), dst); err == nil {
					continue
				}
			}
			if err := writeFile(dst, f.Content); err != nil {
				return diag.OutsideErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	old, err := previousFiles(envDir)
	if err != nil {
		return d, err
	}
	if err := carryForeign(envDir, tmp, old, ours); err != nil {
		return d, err
	}
	if _, err := os.Stat(envDir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, envDir); err != nil {
			return d, diag.OutsideErr(err)
		}
		done = true
		return d, nil
	}
	// Swap the folders in one step; tmp then holds the old tree.
	if err := exchange(tmp, envDir); err != nil {
		return d, diag.OutsideErr(fmt.Errorf("swap %s into place: %w", envDir, err))
	}
	return d, diag.OutsideErr(os.RemoveAll(tmp))
}

// carryForeign links into tmp every file of envDir that gitopsc did not
// write, so the swap keeps it. A foreign file where gitopsc now writes
// one is an error: gitopsc never overwrites what it did not write.
func carryForeign(envDir, tmp string, old []string, ours map[string]bool) error {
	wrote := map[string]bool{}
	for _, p := range old {
		wrote[p] = true
	}
	err := filepath.WalkDir(envDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == envDir {
				return fs.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(envDir, path)
		rel = filepath.ToSlash(rel)
		if e.IsDir() || wrote[rel] {
			return nil
		}
		if ours[rel] {
			return fmt.Errorf("%s was not written by gitopsc; move it away so gitopsc can write its own", path)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Link(path, dst)
	})
	return diag.OutsideErr(err)
}

// Orphans lists the environment folders in outDir that a build wrote (they
// hold a manifest of written files) but that keep is missing: the
// environments the input no longer has. Sorted by name.
func Orphans(outDir string, keep []string) ([]string, error) {
	entries, err := os.ReadDir(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || kept[e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(outDir, e.Name(), ManifestFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Remove deletes what gitopsc wrote in outDir/env, the same way Write
// replaces a tree: files gitopsc did not write stay, and the folder goes
// only when nothing else is left in it.
func Remove(outDir, env string) (Diff, error) {
	d, err := Write(outDir, &Tree{Env: env})
	if err != nil {
		return d, err
	}
	envDir := filepath.Join(outDir, env)
	// Empty folders left by the removed layers go too.
	removeEmptyDirs(envDir)
	return d, nil
}

// removeEmptyDirs removes dir and the folders below it that hold nothing.
func removeEmptyDirs(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir) // fails, as it should, when something is left
}

// foreignKustomization refuses a kustomization file gitopsc did not
// write in the flux folder or in a layer folder. In flux/ Flux would
// build only what it lists, leaving out gitopsc's layer Kustomizations
// and flux bootstrap's flux-system/ (gitopsc writes none there, see
// Build); beside a layer's kustomization.yaml, kustomize refuses to build
// the folder at all.
func foreignKustomization(envDir string, wrote []string, t *Tree) error {
	if slices.ContainsFunc(t.Files, func(f File) bool { return f.Path == composefile.FileName }) {
		return nil // a Compose environment: nothing builds its folders
	}
	folders := []string{render.LayerFlux}
	for _, f := range t.Files {
		if dir, name, ok := strings.Cut(f.Path, "/"); ok && name == "kustomization.yaml" {
			folders = append(folders, dir)
		}
	}
	for _, dir := range folders {
		for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
			rel := dir + "/" + name
			if slices.Contains(wrote, rel) || dir != render.LayerFlux && name == "kustomization.yaml" {
				continue // gitopsc's own, or where carryForeign refuses a foreign one
			}
			p := filepath.Join(envDir, dir, name)
			if _, err := os.Lstat(p); err != nil {
				continue
			}
			if dir == render.LayerFlux {
				return diag.OutsideErr(fmt.Errorf("%s was not written by gitopsc: Flux builds only what it lists, which would leave out gitopsc's layer Kustomizations and flux bootstrap's flux-system/; remove it (Flux builds the folder from every manifest in it)", filepath.ToSlash(p)))
			}
			return diag.OutsideErr(fmt.Errorf("%s was not written by gitopsc: beside the kustomization.yaml gitopsc writes there, kustomize refuses to build the folder, and Flux would apply none of the layer; remove it, and write what it adds under objects in the source", filepath.ToSlash(p)))
		}
	}
	return nil
}

// Unlisted lists the manifests (.yaml, .yml, .json) in the layer folders
// of envDir that gitopsc neither writes now (t) nor wrote before (the
// folder's manifest: a build removes those): no kustomization.yaml lists
// them, so Flux never applies them. The layer folders are those t writes
// a kustomization.yaml into, and those the last build did, whose layer
// is gone and which nothing applies any more. Paths are relative to
// envDir, sorted. The flux folder has no kustomization.yaml (Flux builds
// it from every manifest in it), so nothing there is unlisted. Call it
// before Write: Write replaces the manifest.
func Unlisted(envDir string, t *Tree) ([]string, error) {
	old, err := previousFiles(envDir)
	if err != nil {
		return nil, err
	}
	ours := make(map[string]bool, len(t.Files)+len(old))
	layers := map[string]bool{}
	for _, p := range append(old, t.Paths()...) {
		ours[p] = true
		if dir, name, ok := strings.Cut(p, "/"); ok && name == "kustomization.yaml" {
			layers[dir] = true
		}
	}
	var out []string
	for _, layer := range slices.Sorted(maps.Keys(layers)) {
		root := filepath.Join(envDir, layer)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return fs.SkipDir
				}
				return err
			}
			rel, _ := filepath.Rel(envDir, path)
			rel = filepath.ToSlash(rel)
			if e.IsDir() || ours[rel] {
				return nil
			}
			if n := e.Name(); n == "kustomization.yml" || n == "Kustomization" {
				return nil // refused, not warned of: see foreignKustomization
			}
			if e.Type()&fs.ModeSymlink != 0 {
				if info, err := os.Stat(path); err == nil && info.IsDir() {
					return nil // a link to a folder kustomize does not list either way
				}
			}
			switch strings.ToLower(filepath.Ext(rel)) {
			case ".yaml", ".yml", ".json":
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			return nil, diag.OutsideErr(err)
		}
	}
	return out, nil
}
