package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestPublishes(t *testing.T) {
	tests := []struct {
		published []string
		want      string
		ok        bool
	}{
		{[]string{"linux/amd64", "linux/arm64"}, "linux/arm64", true},
		{[]string{"linux/amd64"}, "linux/arm64", false},
		{[]string{"linux/arm64/v8"}, "linux/arm64", true},       // the request leaves the variant out
		{[]string{"linux/arm64"}, "linux/arm64/v8", true},       // arm64 without a variant is v8
		{[]string{"linux/arm64"}, "linux/arm64/v9", false},      // but not any variant
		{[]string{"linux/arm/v7"}, "linux/arm", true},           // as v1.Platform.Satisfies
		{[]string{"linux/arm/v6"}, "linux/arm/v7", false},       // variants must be equal
		{[]string{"linux/arm"}, "linux/arm/v7", false},          // only arm64 has a default
		{[]string{"windows/amd64"}, "linux/amd64", false},       // the OS counts
		{[]string{"linux/amd64"}, "amd64", false},               // not a platform
		{[]string{"bogus", "linux/amd64"}, "linux/amd64", true}, // a bad entry is skipped
	}
	for _, tt := range tests {
		e := Entry{Platforms: tt.published}
		if got := e.Publishes(tt.want); got != tt.ok {
			t.Errorf("%v publishes %s = %v, want %v", tt.published, tt.want, got, tt.ok)
		}
	}
}

func TestParseLockErrors(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"registry.example.com/web:1.0.0\n", `x.lock:1: want "REFERENCE sha256:DIGEST [PLATFORM]..."`},
		{"registry.example.com/web:1.0.0 sha256:abc linux/amd64\n", `x.lock:1: want "REFERENCE sha256:DIGEST`},
		{"registry.example.com/web:1.0.0 " + strings.ToUpper(digestA) + "\n", `x.lock:1: want "REFERENCE`},
		{"registry.example.com/web:1.0.0 " + digestA[:70] + "g linux/amd64\n", `x.lock:1: want "REFERENCE`},
		{"# c\n\nregistry.example.com/web:1.0.0 " + digestA + " amd64\n", `x.lock:3: platform "amd64" is not os/arch[/variant]`},
		{"registry.example.com/web:1.0.0 " + digestA + " linux/arm64/v8/x\n", `x.lock:1: platform "linux/arm64/v8/x"`},
		{"a:1 " + digestA + "\na:1 " + digestB + "\n", `x.lock:2: a:1 is locked twice`},
	}
	for _, tt := range tests {
		_, err := ParseLock("x.lock", []byte(tt.content))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseLock(%q) = %v, want %s...", tt.content, err, tt.want)
		}
	}
}

func TestLockRoundTrip(t *testing.T) {
	l := &Lock{Entries: map[string]Entry{
		"registry.example.com/b:1": {Ref: "registry.example.com/b:1", Digest: digestB, Platforms: []string{"linux/arm64/v8", "linux/amd64"}},
		"registry.example.com/a:1": {Ref: "registry.example.com/a:1", Digest: digestA, Platforms: []string{"linux/amd64"}},
	}}
	text := string(l.Format())
	wantLines := "registry.example.com/a:1 " + digestA + " linux/amd64\n" +
		"registry.example.com/b:1 " + digestB + " linux/amd64 linux/arm64/v8\n"
	if !strings.HasSuffix(text, wantLines) || !strings.HasPrefix(text, "# gitopsc image lock") {
		t.Fatalf("Format:\n%s", text)
	}
	back, err := ParseLock("x", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Format()) != text {
		t.Errorf("round trip changed the lock:\n%s", back.Format())
	}
}

func TestWriteLock(t *testing.T) {
	dir := t.TempDir()
	l := &Lock{Entries: map[string]Entry{"r:1": {Ref: "r:1", Digest: digestA, Platforms: []string{"linux/amd64"}}}}
	changed, err := WriteLock(dir, l)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, %v", changed, err)
	}
	changed, err = WriteLock(dir, l)
	if err != nil || changed {
		t.Fatalf("second write: changed %v, %v", changed, err)
	}
	l.Entries["r:1"] = Entry{Ref: "r:1", Digest: digestB}
	if changed, err = WriteLock(dir, l); err != nil || !changed {
		t.Fatalf("third write: changed %v, %v", changed, err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != LockFile {
		t.Errorf("files left in the folder: %v", files)
	}
	st, _ := os.Stat(filepath.Join(dir, LockFile))
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	got, err := ReadLock(dir)
	if err != nil || got.Entries["r:1"].Digest != digestB {
		t.Errorf("read back %v, %v", got, err)
	}
}

func TestWriteLockFailureLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	// A folder where the lock should be: the rename over it fails.
	if err := os.Mkdir(filepath.Join(dir, LockFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteLock(dir, &Lock{Entries: map[string]Entry{}}); err == nil {
		t.Fatal("no error")
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Errorf("temporary file left behind: %v", files)
	}
}

func TestCompare(t *testing.T) {
	locked := &Lock{Entries: map[string]Entry{
		"same:1":  {Ref: "same:1", Digest: digestA, Platforms: []string{"linux/amd64"}},
		"moved:1": {Ref: "moved:1", Digest: digestA, Platforms: []string{"linux/amd64", "linux/arm64"}},
		"plats:1": {Ref: "plats:1", Digest: digestA, Platforms: []string{"linux/amd64"}},
		"stale:1": {Ref: "stale:1", Digest: digestA},
	}}
	current := &Lock{Entries: map[string]Entry{
		"same:1":  {Ref: "same:1", Digest: digestA, Platforms: []string{"linux/amd64"}},
		"moved:1": {Ref: "moved:1", Digest: digestB, Platforms: []string{"linux/amd64", "linux/arm64"}},
		"plats:1": {Ref: "plats:1", Digest: digestA, Platforms: []string{"linux/amd64", "linux/arm64"}},
		"new:1":   {Ref: "new:1", Digest: digestB},
	}}
	var got []string
	for _, d := range Compare(locked, current) {
		got = append(got, d.String())
	}
	want := []string{
		"moved:1: locked " + digestA + ", now " + digestB,
		"new:1: not in the lock (now " + digestB + ")",
		"plats:1: platforms locked linux/amd64, now linux/amd64 linux/arm64",
		"stale:1: locked but no longer used by any environment",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Compare:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
