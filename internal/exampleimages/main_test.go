package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/images"
)

// The committed environments/images.lock, and that of the system gitopsc
// init writes, are what the example images give: run on a copy of the
// input, the program writes the same bytes.
func TestShippedLockIsCurrent(t *testing.T) {
	for _, src := range []string{
		filepath.Join("..", "..", "environments"),
		filepath.Join("..", "..", "cmd", "gitopsc", "cmd", "initsystem"),
	} {
		t.Run(filepath.Base(src), func(t *testing.T) { testLockIsCurrent(t, src) })
	}
}

func testLockIsCurrent(t *testing.T, src string) {
	root := t.TempDir()
	dir := filepath.Join(root, filepath.Base(src))
	// Path charts are read beside the input folder.
	if charts, err := filepath.Abs(filepath.Join(src, "..", "charts")); err == nil {
		if _, err := os.Stat(charts); err == nil {
			if err := os.Symlink(charts, filepath.Join(root, "charts")); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if rel == images.LockFile {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, images.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(src, images.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the example images give; run make example-images\ngot:\n%s", filepath.Join(src, images.LockFile), got)
	}
}
