package gitcheckout

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tarOf(t *testing.T, entries ...*tar.Header) *tar.Reader {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write([]byte(h.Name))
		}
	}
	w.Close()
	return tar.NewReader(&b)
}

func TestExtract(t *testing.T) {
	dir := t.TempDir()
	err := extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc"}},
		&tar.Header{Typeflag: tar.TypeDir, Name: "sys/", Mode: 0o775},
		&tar.Header{Typeflag: tar.TypeReg, Name: "sys/system.cue", Mode: 0o664},
		&tar.Header{Typeflag: tar.TypeReg, Name: "sys/secrets/a.sops.yaml", Mode: 0o600},
	), dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sys", "system.cue"))
	if err != nil || string(b) != "sys/system.cue" {
		t.Errorf("sys/system.cue: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sys", "secrets", "a.sops.yaml")); err != nil {
		t.Error(err)
	}
}

func TestExtractRefusesPathsOutside(t *testing.T) {
	for _, name := range []string{"../evil", "sys/../../evil", "/etc/evil"} {
		dir := t.TempDir()
		err := extract(tarOf(t, &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}), filepath.Join(dir, "root"))
		if err == nil || !strings.Contains(err.Error(), "outside the tree") {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
			t.Errorf("%s: written outside the tree", name)
		}
	}
}
