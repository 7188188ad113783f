package emit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// past is the modification time tests give files before a rebuild, so
// any file the rebuild writes shows up with a newer one.
var past = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// newTree is a tree of env holding the given path, content pairs and,
// like Build, the manifest of those paths.
func newTree(env string, pairs ...string) *Tree {
	t := &Tree{Env: env}
	for i := 0; i < len(pairs); i += 2 {
		t.Files = append(t.Files, File{Path: pairs[i], Content: []byte(pairs[i+1])})
	}
	slices.SortFunc(t.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	list := "# Files written by gitopsc; a build removes only these.\n"
	for _, f := range t.Files {
		list += f.Path + "\n"
	}
	t.Files = append(t.Files, File{Path: ManifestFile, Content: []byte(list)})
	return t
}

// v1 and v2 are two builds of one environment: v2 changes
// platform/namespace.yaml, drops the ai-agents layer and adds monitoring.
func v1() *Tree {
	return newTree("local",
		"flux/kustomization.yaml", "resources: [kustomization-platform.yaml]\n",
		"flux/kustomization-platform.yaml", "kind: Kustomization\n",
		"platform/kustomization.yaml", "resources: [namespace.yaml, quota.yaml]\n",
		"platform/namespace.yaml", "kind: Namespace\nname: ai-agents\n",
		"platform/quota.yaml", "kind: ResourceQuota\n",
		"ai-agents/kustomization.yaml", "resources: [deployment-coder.yaml]\n",
		"ai-agents/deployment-coder.yaml", "kind: Deployment\n",
	)
}

func v2() *Tree {
	return newTree("local",
		"flux/kustomization.yaml", "resources: [kustomization-platform.yaml]\n",
		"flux/kustomization-platform.yaml", "kind: Kustomization\n",
		"platform/kustomization.yaml", "resources: [namespace.yaml, quota.yaml]\n",
		"platform/namespace.yaml", "kind: Namespace\nname: monitoring\n",
		"platform/quota.yaml", "kind: ResourceQuota\n",
		"monitoring/kustomization.yaml", "resources: [deployment-prometheus.yaml]\n",
		"monitoring/deployment-prometheus.yaml", "kind: Deployment\n",
	)
}

// snapshot is every regular file below dir, by slash path, with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// contents is what a tree holds, in snapshot's form.
func contents(tr *Tree) map[string]string {
	m := map[string]string{}
	for _, f := range tr.Files {
		m[f.Path] = string(f.Content)
	}
	return m
}

// age sets the modification time of everything below dir to past.
func age(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, past, past)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stats is the FileInfo of everything below dir, by slash path ("." for dir).
func stats(t *testing.T, dir string) map[string]fs.FileInfo {
	t.Helper()
	m := map[string]fs.FileInfo{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		m[filepath.ToSlash(rel)] = fi
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustWrite writes tr into outDir and fails the test on an error.
func mustWrite(t *testing.T, outDir string, tr *Tree) Diff {
	t.Helper()
	d, err := Write(outDir, tr)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return d
}

func writeForeign(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertNoTemp fails when a build left its temporary folder in outDir.
func assertNoTemp(t *testing.T, outDir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(outDir, ".*.new-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("temporary folders left in %s: %v", outDir, left)
	}
}

func assertDiff(t *testing.T, got Diff, added, changed, removed []string) {
	t.Helper()
	want := Diff{Added: added, Changed: changed, Removed: removed}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff:\n got %#v\nwant %#v", got, want)
	}
}

func paths(tr *Tree) []string {
	var p []string
	for _, f := range tr.Files {
		p = append(p, f.Path)
	}
	return p
}

func TestWriteFirstBuild(t *testing.T) {
	outDir := filepath.Join(t.TempDir(), "out")
	tr := v1()
	d := mustWrite(t, outDir, tr)
	assertDiff(t, d, paths(tr), nil, nil)

	envDir := filepath.Join(outDir, "local")
	if got, want := snapshot(t, envDir), contents(tr); !reflect.DeepEqual(got, want) {
		t.Errorf("tree on disk:\n got %v\nwant %v", got, want)
	}
	manifest, err := os.ReadFile(filepath.Join(envDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := parseManifest(manifest)
	if want := paths(tr)[:len(tr.Files)-1]; !reflect.DeepEqual(listed, want) {
		t.Errorf("manifest lists %v, want %v", listed, want)
	}
	// The folder is made as a private temporary one; it must not stay so.
	if fi, err := os.Stat(envDir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("environment folder mode: %v, %v; want 0755", fi.Mode(), err)
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "local" {
		t.Errorf("out dir holds %v, want only local", entries)
	}
}

func TestWriteCreatesAbsentOutDir(t *testing.T) {
	outDir := filepath.Join(t.TempDir(), "a", "b", "out")
	mustWrite(t, outDir, v1())
	if got, want := snapshot(t, filepath.Join(outDir, "local")), contents(v1()); !reflect.DeepEqual(got, want) {
		t.Errorf("tree on disk:\n got %v\nwant %v", got, want)
	}
	assertNoTemp(t, outDir)
}

// A rebuild from unchanged input writes nothing: not a file, not a folder.
func TestWriteUnchangedWritesNothing(t *testing.T) {
	outDir := t.TempDir()
	mustWrite(t, outDir, v1())
	envDir := filepath.Join(outDir, "local")
	age(t, envDir)
	before := stats(t, envDir)

	d := mustWrite(t, outDir, v1())
	if !d.Empty() {
		t.Errorf("no-op rebuild reported %#v", d)
	}
	after := stats(t, envDir)
	if len(after) != len(before) {
		t.Errorf("rebuild changed the entries: %d before, %d after", len(before), len(after))
	}
	for p, fi := range before {
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s: gone after a no-op rebuild", p)
		case !a.ModTime().Equal(past):
			t.Errorf("%s: modification time %v, want %v", p, a.ModTime(), past)
		case !os.SameFile(fi, a):
			t.Errorf("%s: replaced by a new file", p)
		}
	}
	assertNoTemp(t, outDir)
}

func TestWriteChangedTree(t *testing.T) {
	outDir := t.TempDir()
	mustWrite(t, outDir, v1())
	envDir := filepath.Join(outDir, "local")
	age(t, envDir)
	before := stats(t, envDir)

	d := mustWrite(t, outDir, v2())
	assertDiff(t, d,
		[]string{"monitoring/deployment-prometheus.yaml", "monitoring/kustomization.yaml"},
		[]string{"platform/namespace.yaml", ".gitopsc-files"},
		[]string{"ai-agents/deployment-coder.yaml", "ai-agents/kustomization.yaml"})

	if got, want := snapshot(t, envDir), contents(v2()); !reflect.DeepEqual(got, want) {
		t.Errorf("tree on disk:\n got %v\nwant %v", got, want)
	}
	after := stats(t, envDir)
	for _, p := range []string{"flux/kustomization.yaml", "flux/kustomization-platform.yaml", "platform/kustomization.yaml", "platform/quota.yaml"} {
		if !after[p].ModTime().Equal(past) || !os.SameFile(before[p], after[p]) {
			t.Errorf("%s: unchanged file was rewritten (mtime %v)", p, after[p].ModTime())
		}
	}
	for _, p := range []string{"platform/namespace.yaml", ManifestFile} {
		if after[p].ModTime().Equal(past) || os.SameFile(before[p], after[p]) {
			t.Errorf("%s: changed file was not rewritten", p)
		}
	}
	if _, err := os.Stat(filepath.Join(envDir, "ai-agents")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dropped layer folder ai-agents still there: %v", err)
	}
	assertNoTemp(t, outDir)

	// The next build of the same input finds nothing to do.
	if d := mustWrite(t, outDir, v2()); !d.Empty() {
		t.Errorf("rebuild after change reported %#v", d)
	}
}

func TestWriteKeepsForeignFiles(t *testing.T) {
	outDir := t.TempDir()
	mustWrite(t, outDir, v1())
	envDir := filepath.Join(outDir, "local")
	foreign := map[string]string{
		"README.md":            "# hand-written notes\n",
		"platform/extra.yaml":  "kind: ConfigMap\n",
		"ai-agents/local.yaml": "kind: Secret\n", // in a folder gitopsc drops
		"notes/todo.txt":       "later\n",        // in a folder gitopsc never wrote
	}
	for p, c := range foreign {
		writeForeign(t, filepath.Join(envDir, p), c)
	}
	age(t, envDir)
	before := stats(t, envDir)

	// Foreign files are not gitopsc's business: Compare ignores them.
	d, err := Compare(envDir, v1())
	if err != nil || !d.Empty() {
		t.Errorf("Compare with foreign files = %#v, %v; want empty", d, err)
	}

	mustWrite(t, outDir, v2())
	want := contents(v2())
	for p, c := range foreign {
		want[p] = c
	}
	if got := snapshot(t, envDir); !reflect.DeepEqual(got, want) {
		t.Errorf("tree on disk:\n got %v\nwant %v", got, want)
	}
	after := stats(t, envDir)
	for p := range foreign {
		if !os.SameFile(before[p], after[p]) || !after[p].ModTime().Equal(past) {
			t.Errorf("%s: foreign file was rewritten", p)
		}
	}
}

// gitopsc never overwrites a file it did not write: the build fails as an
// outside problem and leaves everything as it was.
func TestWriteRefusesForeignFileAtOwnPath(t *testing.T) {
	outDir := t.TempDir()
	mustWrite(t, outDir, v1())
	envDir := filepath.Join(outDir, "local")
	writeForeign(t, filepath.Join(envDir, "monitoring", "kustomization.yaml"), "hand-written\n")
	writeForeign(t, filepath.Join(envDir, "README.md"), "notes\n")
	before := snapshot(t, outDir)

	_, err := Write(outDir, v2())
	if err == nil {
		t.Fatal("Write over a foreign file succeeded")
	}
	var outside *diag.Outside
	if !errors.As(err, &outside) || diag.ExitCode(err) != diag.ExitOutside {
		t.Errorf("error %v (%T) has exit code %d, want %d", err, err, diag.ExitCode(err), diag.ExitOutside)
	}
	if want := filepath.Join(envDir, "monitoring", "kustomization.yaml"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if after := snapshot(t, outDir); !reflect.DeepEqual(after, before) {
		t.Errorf("failed build changed the out dir:\n got %v\nwant %v", after, before)
	}
	assertNoTemp(t, outDir)
}

// A manifest edited to list files outside the environment folder does not
// make a build remove them.
func TestWriteIgnoresManifestEntriesOutside(t *testing.T) {
	outDir := t.TempDir()
	mustWrite(t, outDir, v1())
	envDir := filepath.Join(outDir, "local")
	victim := filepath.Join(outDir, "victim.txt")
	writeForeign(t, victim, "keep me\n")
	manifest := filepath.Join(envDir, ManifestFile)
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "../victim.txt\n/etc/hostname\nplatform/../../victim.txt\n"...)
	if err := os.WriteFile(manifest, b, 0o644); err != nil {
		t.Fatal(err)
	}

	d := mustWrite(t, outDir, v2())
	if slices.ContainsFunc(d.Removed, func(p string) bool { return strings.Contains(p, "victim") || strings.Contains(p, "hostname") }) {
		t.Errorf("Removed lists a file outside the environment: %v", d.Removed)
	}
	if got, err := os.ReadFile(victim); err != nil || string(got) != "keep me\n" {
		t.Errorf("file outside the environment: %q, %v", got, err)
	}
}

// An interrupted build leaves the previous tree whole and no temporary
// folder behind, whether it was replacing a tree or writing the first.
func TestWriteInterrupted(t *testing.T) {
	// v3 changes every file of v1, so a build writes each of them.
	v3 := newTree("local",
		"flux/kustomization.yaml", "resources: []\n",
		"flux/kustomization-platform.yaml", "kind: Kustomization # v3\n",
		"platform/kustomization.yaml", "resources: []\n",
		"platform/namespace.yaml", "kind: Namespace # v3\n",
		"platform/quota.yaml", "kind: ResourceQuota # v3\n",
		"ai-agents/kustomization.yaml", "resources: []\n",
		"ai-agents/deployment-coder.yaml", "kind: Deployment # v3\n",
	)
	for _, tc := range []struct {
		name     string
		previous *Tree // nil: no tree yet
		next     *Tree
		failAt   int // writeFile calls that succeed before one fails
	}{
		{"replace/first file", v1(), v3, 0},
		{"replace/middle", v1(), v3, 3},
		// v3 lists the files v1 does, so its manifest is linked, not
		// written: the last write is that of the file before it.
		{"replace/last file", v1(), v3, len(v3.Files) - 2},
		{"replace/some changed", v1(), v2(), 2},
		{"first build", nil, v3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			if tc.previous != nil {
				mustWrite(t, outDir, tc.previous)
				writeForeign(t, filepath.Join(outDir, "local", "README.md"), "notes\n")
			}
			before := snapshot(t, outDir)

			// Files are written by several goroutines: once the disk is
			// "full", every later write fails too.
			var mu sync.Mutex
			calls := 0
			boom := errors.New("disk full")
			saved := writeFile
			t.Cleanup(func() { writeFile = saved })
			writeFile = func(path string, b []byte) error {
				mu.Lock()
				if calls == tc.failAt {
					mu.Unlock()
					return boom
				}
				calls++
				mu.Unlock()
				return saved(path, b)
			}

			_, err := Write(outDir, tc.next)
			if !errors.Is(err, boom) || diag.ExitCode(err) != diag.ExitOutside {
				t.Fatalf("Write = %v (exit %d), want %v (exit %d)", err, diag.ExitCode(err), boom, diag.ExitOutside)
			}
			if calls != tc.failAt {
				t.Fatalf("writeFile succeeded %d times, want %d", calls, tc.failAt)
			}
			if after := snapshot(t, outDir); !reflect.DeepEqual(after, before) {
				t.Errorf("interrupted build changed the out dir:\n got %v\nwant %v", after, before)
			}
			if tc.previous == nil {
				if _, err := os.Stat(filepath.Join(outDir, "local")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("interrupted first build left an environment folder: %v", err)
				}
			}
			assertNoTemp(t, outDir)

			// The next, uninterrupted build completes the job.
			writeFile = saved
			mustWrite(t, outDir, tc.next)
			want := contents(tc.next)
			if tc.previous != nil {
				want["README.md"] = "notes\n"
			}
			if got := snapshot(t, filepath.Join(outDir, "local")); !reflect.DeepEqual(got, want) {
				t.Errorf("tree after retry:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// Compare is --check: it reports what a build would change, and changes
// nothing itself.
func TestCompare(t *testing.T) {
	outDir := t.TempDir()
	envDir := filepath.Join(outDir, "local")

	d, err := Compare(envDir, v1())
	if err != nil {
		t.Fatal(err)
	}
	assertDiff(t, d, paths(v1()), nil, nil)

	mustWrite(t, outDir, v1())
	// A hand edit to a generated file and a generated file deleted by
	// hand are both stale output.
	writeForeign(t, filepath.Join(envDir, "platform", "quota.yaml"), "kind: ResourceQuota # edited\n")
	if err := os.Remove(filepath.Join(envDir, "flux", "kustomization-platform.yaml")); err != nil {
		t.Fatal(err)
	}
	writeForeign(t, filepath.Join(envDir, "README.md"), "notes\n")
	age(t, envDir)
	before, beforeStats := snapshot(t, envDir), stats(t, envDir)

	d, err = Compare(envDir, v2())
	if err != nil {
		t.Fatal(err)
	}
	assertDiff(t, d,
		[]string{"flux/kustomization-platform.yaml", "monitoring/deployment-prometheus.yaml", "monitoring/kustomization.yaml"},
		[]string{"platform/namespace.yaml", "platform/quota.yaml", ".gitopsc-files"},
		[]string{"ai-agents/deployment-coder.yaml", "ai-agents/kustomization.yaml"})
	wantLines := []string{
		"changed: out/local/.gitopsc-files",
		"removed: out/local/ai-agents/deployment-coder.yaml",
		"removed: out/local/ai-agents/kustomization.yaml",
		"added:   out/local/flux/kustomization-platform.yaml",
		"added:   out/local/monitoring/deployment-prometheus.yaml",
		"added:   out/local/monitoring/kustomization.yaml",
		"changed: out/local/platform/namespace.yaml",
		"changed: out/local/platform/quota.yaml",
	}
	if got := d.Lines("out/local/"); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("Lines:\n got %q\nwant %q", got, wantLines)
	}

	if after := snapshot(t, envDir); !reflect.DeepEqual(after, before) {
		t.Errorf("Compare changed the tree:\n got %v\nwant %v", after, before)
	}
	for p, fi := range stats(t, envDir) {
		if !fi.ModTime().Equal(past) || !os.SameFile(fi, beforeStats[p]) {
			t.Errorf("%s: touched by Compare", p)
		}
	}

	// After a build the output is current again.
	mustWrite(t, outDir, v2())
	if d, err := Compare(envDir, v2()); err != nil || !d.Empty() {
		t.Errorf("Compare after build = %#v, %v; want empty", d, err)
	}
}

// A build killed outright leaves its temporary folder; the next build of
// the same environment removes it.
func TestWriteClearsKilledBuild(t *testing.T) {
	out := t.TempDir()
	stale := filepath.Join(out, ".local.new-123")
	if err := os.MkdirAll(filepath.Join(stale, "platform"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "platform", "x.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := &Tree{Env: "local", Files: []File{{Path: "platform/a.yaml", Content: []byte("a: 1\n")}}}
	if _, err := Write(out, tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temporary folder still there: %v", err)
	}
}

// A build killed right after its swap leaves the old tree in its
// temporary folder; the next build removes it even when the environment is
// up to date, and touches nothing that is not named as gitopsc names its
// own folders.
func TestWriteClearsLeftoversOfUpToDateEnv(t *testing.T) {
	out := t.TempDir()
	tree := &Tree{Env: "local", Files: []File{{Path: "platform/a.yaml", Content: []byte("a: 1\n")}}}
	mustWrite(t, out, tree)
	ours := []string{".local.new-123", ".local.new-9.old"}
	kept := []string{".local.new-abc", ".local.new-", "local.new-1", ".local.new-1.older", ".locals.new-", ".eks.new-1"}
	for _, n := range append(append([]string{}, ours...), kept...) {
		writeForeign(t, filepath.Join(out, n, "platform", "x.yaml"), "x")
	}
	writeForeign(t, filepath.Join(out, ".local.new-7"), "a file, not a folder")

	left, err := Leftovers(out, "local")
	if err != nil {
		t.Fatal(err)
	}
	want := []Leftover{
		{Env: "local", Path: filepath.Join(out, ".local.new-123")},
		{Env: "local", Path: filepath.Join(out, ".local.new-9.old"), Aside: true},
	}
	if !reflect.DeepEqual(left, want) {
		t.Errorf("Leftovers:\n got %+v\nwant %+v", left, want)
	}
	// The pattern relies on the names os.MkdirTemp makes for Write.
	tmp, err := os.MkdirTemp(out, ".local"+tempInfix)
	if err != nil || !leftoverName.MatchString(filepath.Base(tmp)) {
		t.Fatalf("MkdirTemp made %q (%v), which leftoverName does not match", tmp, err)
	}
	ours = append(ours, filepath.Base(tmp))
	if all, _ := Leftovers(out); len(all) != 4 {
		t.Errorf("Leftovers of every environment = %+v; want 4", all)
	}

	if d := mustWrite(t, out, tree); !d.Empty() {
		t.Errorf("Write = %#v; want up to date", d)
	}
	for _, n := range ours {
		if _, err := os.Lstat(filepath.Join(out, n)); !os.IsNotExist(err) {
			t.Errorf("%s: still there after a build (%v)", n, err)
		}
	}
	for _, n := range append(kept, ".local.new-7") {
		if _, err := os.Lstat(filepath.Join(out, n)); err != nil {
			t.Errorf("%s: not this build's to remove, but gone: %v", n, err)
		}
	}
}

// Where the swap moved the old tree aside and stopped before the new tree
// was in place, the environment folder is missing: the old tree is moved
// back, so the environment stays whole.
func TestClearLeftoversRestoresOldTree(t *testing.T) {
	out := t.TempDir()
	tree := &Tree{Env: "local", Files: []File{{Path: "platform/a.yaml", Content: []byte("a: 1\n")}}}
	mustWrite(t, out, tree)
	envDir := filepath.Join(out, "local")
	writeForeign(t, filepath.Join(envDir, "README.md"), "notes\n")
	if err := os.Rename(envDir, filepath.Join(out, ".local.new-5.old")); err != nil {
		t.Fatal(err)
	}
	writeForeign(t, filepath.Join(out, ".local.new-5", "platform", "a.yaml"), "a: 1\n")

	left, err := ClearLeftovers(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].Restored || !left[1].Restored {
		t.Errorf("ClearLeftovers = %+v; want the aside one restored", left)
	}
	assertNoTemp(t, out)
	if b, err := os.ReadFile(filepath.Join(envDir, "README.md")); err != nil || string(b) != "notes\n" {
		t.Errorf("README.md after restore = %q, %v", b, err)
	}
	if d, err := Compare(envDir, tree); err != nil || !d.Empty() {
		t.Errorf("Compare after restore = %#v, %v; want up to date", d, err)
	}
}

// fileHolds tells a file equal to the rendered bytes from one of the same
// length with other bytes, a shorter one, a longer one, an empty one and
// a missing one; the buffers it reuses must not leak one file's bytes
// into the next comparison.
func TestFileHolds(t *testing.T) {
	dir := t.TempDir()
	want := []byte("kind: Deployment\nname: coder\n")
	cases := []struct {
		name, disk   string
		exists, same bool
	}{
		{"equal", string(want), true, true},
		{"same-length", "kind: Deployment\nname: codex\n", true, false},
		{"shorter", "kind: Deployment\nname: coder", true, false},
		{"prefix-of-larger", string(want) + "x", true, false},
		{"much-larger", strings.Repeat(string(want), 500), true, false},
		{"empty", "", true, false},
		{"missing", "", false, false},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if c.exists {
			if err := os.WriteFile(p, []byte(c.disk), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		exists, same, err := fileHolds(p, want)
		if err != nil || exists != c.exists || same != c.same {
			t.Errorf("%s: fileHolds = %v, %v, %v; want %v, %v, nil", c.name, exists, same, err, c.exists, c.same)
		}
	}
	// An empty rendered file equals only an empty file.
	if _, same, _ := fileHolds(filepath.Join(dir, "empty"), nil); !same {
		t.Error("empty file: want same as empty content")
	}
	if _, same, _ := fileHolds(filepath.Join(dir, "shorter"), nil); same {
		t.Error("non-empty file: want different from empty content")
	}
	// A folder where a file should be is an outside failure, not a match.
	if _, _, err := fileHolds(dir, want); err == nil {
		t.Error("folder: want an error")
	}
}
