package cmd

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// --cpuprofile and --memprofile write profiles go tool pprof reads: gzip
// streams of the profile protocol buffer, not empty.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"vet", filepath.Join("..", "..", "..", "environments"), "--cpuprofile", cpu, "--memprofile", mem}, &stdout, &stderr); code != 0 {
		t.Fatalf("vet: exit %d\n%s", code, stderr.String())
	}
	for _, p := range []string{cpu, mem} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		b, err := io.ReadAll(z)
		f.Close()
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d bytes, %v", filepath.Base(p), len(b), err)
		}
	}
}
