package load

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// Tests run as root here, where a mode-000 file is still readable, so the
// words for a refused read are checked on the error itself.
func TestDescribeFileError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "open", Path: "/abs/environments/local.cue", Err: syscall.EACCES}, "permission denied"},
		{&fs.PathError{Op: "read", Path: "/abs/x.cue", Err: syscall.EISDIR}, "is a folder, not a CUE file"},
		{&fs.PathError{Op: "open", Path: "/abs/x.cue", Err: syscall.EIO}, "input/output error"},
	} {
		got := describeFileError(tc.err)
		if got != tc.want {
			t.Errorf("describeFileError(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "/abs/") {
			t.Errorf("%q repeats the absolute path", got)
		}
	}
}

// A file of binary junk fails at once, whatever its size, instead of one
// error per illegal character.
func TestJunkFailsFast(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 5<<20)
	for i := range junk {
		junk[i] = byte(r.UintN(256))
	}
	if err := os.WriteFile(filepath.Join(dir, "a.cue"), append([]byte("package demo\n"), junk...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Dir(dir)
	l, ok := err.(diag.List)
	if !ok {
		t.Fatalf("Dir: %v, want a list of diagnostics", err)
	}
	if len(l) > diag.MaxReported {
		t.Errorf("%d diagnostics, want at most %d", len(l), diag.MaxReported)
	}
	for _, d := range l {
		if filepath.Base(d.FileName("")) != "a.cue" {
			t.Errorf("%q is not placed in a.cue", d.Format(""))
		}
	}
}

// Junk after a valid start: the first error, and that reading stopped.
func TestJunkStopsReading(t *testing.T) {
	dir := t.TempDir()
	src := "package demo\n\n" + strings.Repeat("x: ^ ` ^ ` ;\n", 10000)
	if err := os.WriteFile(filepath.Join(dir, "a.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Dir(dir)
	l, ok := err.(diag.List)
	if !ok {
		t.Fatalf("Dir: %v, want a list of diagnostics", err)
	}
	if len(l) != 1 {
		t.Errorf("%d diagnostics, want 1:\n%s", len(l), l.Error())
	}
	if !strings.Contains(l[0].Msg, "does not look like CUE") {
		t.Errorf("%q does not say reading stopped", l[0].Msg)
	}
}

// A valid file with many interpolations (each one a backslash, which may
// be junk elsewhere) is scanned as the parser reads it, and loads.
func TestInterpolationsAreNotJunk(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("package demo\n\n")
	for i := range 80 {
		fmt.Fprintf(&b, "_a%d: \"v=\\(_name) and \\(strings.ToUpper(\"x\\(_name)\")) (\\((1 + 2) * 3))\"\n", i)
	}
	b.WriteString("_name: \"demo\"\nimport \"strings\"\n")
	src := "package demo\n\nimport \"strings\"\n\n" + strings.TrimPrefix(strings.Replace(b.String(), "_name: \"demo\"\nimport \"strings\"\n", "_name: \"demo\"\n", 1), "package demo\n\n")
	if err := os.WriteFile(filepath.Join(dir, "a.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if suspicious([]byte(src)) <= maxScanErrors {
		t.Fatalf("the file has %d suspicious bytes; the test needs more than %d to run the scan", suspicious([]byte(src)), maxScanErrors)
	}
	_, err := Dir(dir)
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), "does not look like CUE") || strings.Contains(err.Error(), "string literal not terminated") {
		t.Fatalf("valid interpolations taken for junk: %v", err)
	}
}
