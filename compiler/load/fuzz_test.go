package load

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// The canaries are planted where a secret's value would be; no message
// may ever quote them.
const (
	canaryString = "Zq7canaryXv9"
	canaryNumber = "918273645001"
	canaryShort  = "8317"
)

// canaryIn reports whether a message quotes a canary; the short one as a
// whole number only.
var canaryIn = regexp.MustCompile(canaryString + "|" + canaryNumber + `|(^|[^0-9])` + canaryShort + `($|[^0-9])`).MatchString

// plants are the places a canary goes, as a file of the shipped package.
var plants = []string{
	"",
	`system: components: "php-app": secrets: DB_PASSWORD: "` + canaryString + `"`,
	`system: components: "php-app": secrets: DB_PASSWORD: ` + canaryNumber,
	`system: components: "coder-agent": config: API_TOKEN: ` + canaryNumber,
	`system: components: "coder-agent": config: API_TOKEN: ["` + canaryString + `"]`,
	`environments: eks: components: "php-app": config: DB_PASSWORD: ` + canaryNumber,
	`system: components: mysql: secrets: MYSQL_ROOT_PASSWORD: {secret: "db-credentials", key: "root-password"} | "` + canaryString + `"`,
	// Two values in conflict: the field is an error, and CUE quotes both.
	`system: components: "php-app": config: DB_PASSWORD: "` + canaryString + `"` + "\n" + `system: components: "php-app": config: DB_PASSWORD: "other"`,
	`environments: eks: components: "php-app": config: API_TOKEN: "` + canaryString + `"` + "\n" + `environments: eks: components: "php-app": config: API_TOKEN: "x"`,
	`system: components: "php-app": config: DB_PASSWORD: "` + canaryString + `" + 5`,
	`system: components: "php-app": config: DB_PASSWORD: ` + canaryShort,
	`system: components: "php-app": secrets: DB_PASSWORD: "` + canaryString + `"` + "\n" + `system: components: "php-app": image: "` + canaryString + `"`,
	`_pw: "` + canaryString + `"` + "\n" + `system: components: "php-app": secrets: DB_PASSWORD: _pw` + "\n" + `system: components: "php-app": config: X: _pw & =~"^a"`,
	`system: components: "php-app": args: "--password=` + canaryString + `"`,
	`system: components: "php-app": command: "--db-password ` + canaryString + `"`,
	`system: components: "php-app": args: ["--db-password", "` + canaryString + `", 5]`,
	`system: components: "php-app": secrets: DB_PASSWORD: {value: "` + canaryString + `"}`,
}

// FuzzLoad edits the shipped input at random and loads it. Whatever the
// edit, the fast check must not accept what CUE refuses, loading must
// not panic, every input error must sit in a file of
// the input (never the embedded schema, never nowhere), and no message
// may repeat a value written where a secret belongs.
func FuzzLoad(f *testing.F) {
	shipped, names := shippedInput(f)
	f.Add(uint8(0), uint16(0), uint8(0), "", uint8(0))
	f.Add(uint8(1), uint16(200), uint8(3), "replicaz", uint8(1))
	f.Add(uint8(2), uint16(400), uint8(10), "}", uint8(2))
	f.Add(uint8(3), uint16(50), uint8(0), "_x: _x\n", uint8(3))
	f.Add(uint8(4), uint16(90), uint8(1), "4294967298", uint8(4))
	f.Add(uint8(0), uint16(10), uint8(0), "\x00\x01^`", uint8(5))
	f.Add(uint8(5), uint16(300), uint8(2), `"php-app"`, uint8(6))
	for i := 7; i < len(plants); i++ {
		f.Add(uint8(i), uint16(i*37), uint8(0), "", uint8(i))
	}
	f.Fuzz(func(t *testing.T, file uint8, at uint16, del uint8, insert string, plant uint8) {
		dir := t.TempDir()
		copySecrets(t, dir)
		target := names[int(file)%len(names)]
		for _, n := range names {
			src := shipped[n]
			if n == target {
				i := int(at) % (len(src) + 1)
				j := min(i+int(del), len(src))
				src = src[:i] + insert + src[j:]
			}
			write(t, filepath.Join(dir, n), src)
		}
		p := plants[int(plant)%len(plants)]
		if p != "" {
			write(t, filepath.Join(dir, "zz_plant.cue"), "package platform\n\n"+p+"\n")
		}
		// The fast check accepts nothing CUE refuses (see shape.go); the
		// shipped input is not plain data, so it asks CUE here unless an
		// edit makes it plain (FuzzShape edits plain data).
		if v, files, ok := evaluate(dir); ok {
			if fast, err := verdicts(t, v, files); fast && err != nil {
				t.Errorf("the fast check accepts what CUE refuses: %v", err)
			}
		}
		_, err := Dir(dir)
		if err == nil {
			return
		}
		var l diag.List
		if !errors.As(err, &l) {
			if diag.ExitCode(err) == diag.ExitOutside || strings.Contains(err.Error(), "no .cue files") {
				return
			}
			t.Fatalf("an input error that is not a list of diagnostics: %v", err)
		}
		for _, d := range l {
			text := d.Format(dir)
			if canaryIn(d.Msg) {
				t.Errorf("a secret's value reached a message: %s", text)
			}
			where := d.FileName(dir)
			if where == "" || strings.HasPrefix(where, "schema/") {
				t.Errorf("an error with no place in the input: %q", text)
			}
		}
	})
}

func shippedInput(f *testing.F) (map[string]string, []string) {
	files, err := filepath.Glob("../../environments/*.cue")
	if err != nil || len(files) == 0 {
		f.Fatalf("the shipped input: %v", err)
	}
	out := map[string]string{}
	var names []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	return out, names
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copySecrets copies the shipped SOPS files, which the input names.
func copySecrets(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob("../../environments/secrets/*")
	if err := os.Mkdir(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "secrets", filepath.Base(p)), string(b))
	}
}
