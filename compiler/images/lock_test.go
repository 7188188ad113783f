package images

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/diag"
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
	const web = "registry.example.com/web:1.0.0"
	const rewrite = "; run gitopsc images lock to rewrite the lock"
	tests := []struct {
		name    string
		content string
		want    []string // one diagnostic per bad line, at the wrong field
	}{
		{"missing digest", web + "\n",
			[]string{`x.lock:1:31: ` + web + ` has no digest; want "REFERENCE sha256:DIGEST [PLATFORM]..."` + rewrite}},
		{"platform where the digest goes", web + " linux/amd64\n",
			[]string{`x.lock:1:32: no digest before platform linux/amd64; want "REFERENCE sha256:DIGEST [PLATFORM]..."` + rewrite}},
		{"short digest", web + " sha256:abc linux/amd64\n",
			[]string{`x.lock:1:32: digest "sha256:abc" has 3 hex digits, not 64` + rewrite}},
		{"upper-case digest, at the first wrong digit", web + " sha256:" + strings.ToUpper(digestA[7:]) + "\n",
			[]string{`x.lock:1:39: digest "sha256:AAAAAAAAAAAA…" is not 64 lower-case hex digits: "A" is not one` + rewrite}},
		{"non-hex digit", web + " " + digestA[:70] + "g linux/amd64\n",
			[]string{`x.lock:1:102: digest "sha256:aaaaaaaaaaaa…" is not 64 lower-case hex digits: "g" is not one` + rewrite}},
		{"another algorithm", web + " md5:d41d8cd98f00b204e9800998ecf8427e\n",
			[]string{`x.lock:1:32: digest "md5:d41d8cd98f00…" does not start with sha256:` + rewrite}},
		{"platform without an architecture", "# c\n\n" + web + " " + digestA + " amd64\n",
			[]string{`x.lock:3:104: platform "amd64" is not os/arch[/variant]` + rewrite}},
		{"platform with four parts", web + " " + digestA + " linux/arm64/v8/x\n",
			[]string{`x.lock:1:104: platform "linux/arm64/v8/x" is not os/arch[/variant]` + rewrite}},
		{"platform twice", web + " " + digestA + " linux/amd64 linux/amd64\n",
			[]string{`x.lock:1:116: platform linux/amd64 is listed twice` + rewrite}},
		{"reference that does not parse", "registry.example.com/Web:1.0.0 " + digestA + "\n",
			[]string{`x.lock:1:1: reference "registry.example.com/Web:1.0.0" does not parse: repository can only contain the characters ` + "`abcdefghijklmnopqrstuvwxyz0123456789_-./`" + `: Web` + rewrite}},
		{"reference without a tag", "registry.example.com/web " + digestA + "\n",
			[]string{`x.lock:1:1: reference "registry.example.com/web" names no tag` + rewrite}},
		{"reference with a digest", web + "@" + digestA + " " + digestA + "\n",
			[]string{`x.lock:1:1: reference "` + web + "@" + digestA + `" carries a digest; the lock writes the digest as the second field` + rewrite}},
		{"reference left out", digestA + " linux/amd64\n",
			[]string{`x.lock:1:1: the line starts with a digest; want "REFERENCE sha256:DIGEST [PLATFORM]..."` + rewrite}},
		{"merge conflict", "<<<<<<< HEAD\n" + web + " " + digestA + "\n=======\n" + web + " " + digestB + "\n>>>>>>> main\n",
			[]string{
				`x.lock:1:1: a merge conflict marker` + rewrite,
				`x.lock:3:1: a merge conflict marker` + rewrite,
				`x.lock:4:1: ` + web + ` is locked twice (first at line 2)` + rewrite,
				`x.lock:5:1: a merge conflict marker` + rewrite,
			}},
		{"every bad line, each with its own reason", "a:1 " + digestA + "\nb:1\nc:1 " + digestA + " linux\nd:1 " + digestB + "\n",
			[]string{
				`x.lock:2:4: b:1 has no digest; want "REFERENCE sha256:DIGEST [PLATFORM]..."` + rewrite,
				`x.lock:3:77: platform "linux" is not os/arch[/variant]` + rewrite,
			}},
		{"a line with no end", "a:1 sha256:", []string{`x.lock:1:5: digest "sha256:" has 0 hex digits, not 64` + rewrite}},
		{"platform attribute that is not a user", web + " " + digestA + " linux/amd64;uid=101\n",
			[]string{`x.lock:1:116: platform linux/amd64: "uid=101" is not user=USER` + rewrite}},
		{"two users", web + " " + digestA + " linux/amd64;user=101;user=0\n",
			[]string{`x.lock:1:124: platform linux/amd64: one user=USER, not "user=101;user=0"` + rewrite}},
		{"platform twice, once with a user", web + " " + digestA + " linux/amd64;user=101 linux/amd64\n",
			[]string{`x.lock:1:125: platform linux/amd64 is listed twice` + rewrite}},
		{"platform with a user where the digest goes", web + " linux/amd64;user=101\n",
			[]string{`x.lock:1:32: no digest before platform linux/amd64; want "REFERENCE sha256:DIGEST [PLATFORM]..."` + rewrite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLock("x.lock", []byte(tt.content))
			var got []string
			var l diag.List
			if !errors.As(err, &l) {
				t.Fatalf("ParseLock(%q) = %v, want a diag.List", tt.content, err)
			}
			for _, d := range l {
				got = append(got, d.Format(""))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseLock(%q):\n got %q\nwant %q", tt.content, got, tt.want)
			}
		})
	}
}

func TestParseLockAcceptsCRLFAndBlanks(t *testing.T) {
	content := "# header\r\n\r\n  a:1 " + digestA + "\tlinux/arm64 linux/amd64  \r\nregistry.example.com:5000/b:1 " + digestB
	l, err := ParseLock("x.lock", []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.Entries["a:1"], l.Entries["registry.example.com:5000/b:1"]
	if a.Digest != digestA || !slices.Equal(a.Platforms, []string{"linux/amd64", "linux/arm64"}) || b.Digest != digestB || len(l.Entries) != 2 {
		t.Errorf("entries %v", l.Entries)
	}
}

func TestReadLock(t *testing.T) {
	dir := t.TempDir()
	l, err := ReadLock(dir)
	if err != nil || !l.Absent || len(l.Entries) != 0 {
		t.Fatalf("no lock file: %+v, %v; want an empty lock marked absent", l, err)
	}

	path := filepath.Join(dir, LockFile)
	if err := os.WriteFile(path, []byte("a:1 sha256:abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLock(dir)
	if got, want := err.Error(), path+`:1:5: digest "sha256:abc" has 3 hex digits, not 64`; !strings.HasPrefix(got, want) {
		t.Errorf("bad lock: %v, want %s...", err, want)
	}
	if diag.ExitCode(err) != diag.ExitInput {
		t.Errorf("bad lock: exit %d, want %d", diag.ExitCode(err), diag.ExitInput)
	}

	// A folder where the lock should be cannot be read: an outside
	// failure, at the file, without the path repeated in the message.
	os.Remove(path)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLock(dir)
	if got, want := err.Error(), path+": cannot read the image lock: is a directory"; got != want {
		t.Errorf("unreadable lock: %q, want %q", got, want)
	}
	if diag.ExitCode(err) != diag.ExitOutside {
		t.Errorf("unreadable lock: exit %d, want %d", diag.ExitCode(err), diag.ExitOutside)
	}
}

// A platform carries the user its image config names after ";user=";
// an empty user (the config names none) is recorded too. A lock written
// before users were, or a platform without one, parses with no user on
// record for it.
func TestLockUsers(t *testing.T) {
	content := "new:1 " + digestA + " linux/amd64;user=101:101 linux/arm64/v8;user=\n" +
		"old:1 " + digestB + " linux/amd64 linux/arm64\n" +
		"mixed:1 " + digestB + " linux/amd64;user=nginx linux/arm64\n"
	l, err := ParseLock("x.lock", []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	nu, old, mixed := l.Entries["new:1"], l.Entries["old:1"], l.Entries["mixed:1"]
	if !slices.Equal(nu.Platforms, []string{"linux/amd64", "linux/arm64/v8"}) || nu.Users["linux/amd64"] != "101:101" {
		t.Errorf("new: %+v", nu)
	}
	if u, ok := nu.Users["linux/arm64/v8"]; !ok || u != "" {
		t.Errorf("new: the empty user is not recorded: %+v", nu)
	}
	if old.Users != nil || !slices.Equal(old.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("old: %+v", old)
	}
	if _, ok := mixed.Users["linux/arm64"]; ok || mixed.Users["linux/amd64"] != "nginx" {
		t.Errorf("mixed: %+v", mixed)
	}
	// UsersOn matches platforms as Publishes does.
	if got := nu.UsersOn("linux/arm64"); len(got) != 1 || got["linux/arm64/v8"] != "" {
		t.Errorf("new on linux/arm64: %v", got)
	}
	if got := old.UsersOn("linux/amd64"); len(got) != 0 {
		t.Errorf("old on linux/amd64: %v", got)
	}
	text := string(l.Format())
	for _, line := range strings.Split(strings.TrimSpace(content), "\n") {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("Format lost %q:\n%s", line, text)
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
		"old:1":   {Ref: "old:1", Digest: digestA, Platforms: []string{"linux/amd64"}},
		"user:1":  {Ref: "user:1", Digest: digestA, Platforms: []string{"linux/amd64"}, Users: map[string]string{"linux/amd64": "101"}},
	}}
	current := &Lock{Entries: map[string]Entry{
		// A lock that records no users has not drifted for that; one
		// whose user differs under the same digest was edited.
		"old:1":   {Ref: "old:1", Digest: digestA, Platforms: []string{"linux/amd64"}, Users: map[string]string{"linux/amd64": ""}},
		"user:1":  {Ref: "user:1", Digest: digestA, Platforms: []string{"linux/amd64"}, Users: map[string]string{"linux/amd64": ""}},
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
		`user:1: linux/amd64 user locked "101", now ""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Compare:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
