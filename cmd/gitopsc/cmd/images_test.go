package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gitopsc/gitopsc/compiler/images/imagetest"
)

const imagesTestSystem = `package demo

system: {
	name: "demo"
	namespaces: apps: {}
	components: web: {
		namespace: "apps"
		image:     "registry.example.com/apps/web:1.0.0"
		replicas:  1
		resources: {
			requests: {cpu: "100m", memory: "128Mi"}
			limits: {cpu: "200m", memory: "256Mi"}
		}
	}
	secrets: {}
}
environments: local: cluster: {distribution: "k3s", arch: ["amd64"]}
`

// TestImagesLockExitCodes pins the exit code of each way images lock
// ends, which testscripts (pass or fail only) cannot.
func TestImagesLockExitCodes(t *testing.T) {
	reg := imagetest.StartRegistry()
	defer reg.Close()
	push := func(seed string) {
		ref, err := name.ParseReference(reg.Host + "/apps/web:1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := imagetest.Push(ref, imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, Seed: seed}); err != nil {
			t.Fatal(err)
		}
	}
	push("1")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "system.cue"), []byte(imagesTestSystem), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := t.TempDir()
	if err := os.WriteFile(filepath.Join(missing, "system.cue"), []byte(strings.Replace(imagesTestSystem, "apps/web", "apps/nope", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := "--mirror=registry.example.com=" + reg.Host
	tests := []struct {
		name  string
		setup func()
		args  []string
		want  int
	}{
		{"lock", nil, []string{dir, mirror}, 0},
		{"check up to date", nil, []string{dir, mirror, "--check"}, 0},
		{"check after the tag moved", func() { push("2") }, []string{dir, mirror, "--check"}, 1},
		{"bad mirror flag", nil, []string{dir, "--mirror=registry.example.com"}, 2},
		{"unknown flag", nil, []string{dir, "--bogus"}, 2},
		{"mirror with a path", nil, []string{dir, "--mirror=registry.example.com=" + reg.Host + "/elsewhere"}, 2},
		{"not found", nil, []string{missing, mirror}, 3},
		{"unauthorized", func() { reg.SetFault(imagetest.Unauthorized, 0) }, []string{dir, mirror}, 3},
		{"server error", func() { reg.SetFault(imagetest.ServerError, 0) }, []string{dir, mirror, "--attempts=1"}, 3},
		{"hung", func() { reg.SetFault(imagetest.Hang, 0) }, []string{dir, mirror, "--timeout=200ms", "--attempts=2"}, 3},
		{"missing layout", nil, []string{dir, "--layout", filepath.Join(dir, "nowhere")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg.SetFault(imagetest.NoFault, 0)
			if tt.setup != nil {
				tt.setup()
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			got := Run(append([]string{"images", "lock"}, tt.args...), &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, &stdout, &stderr)
			}
			// Two attempts of 200ms and one wait of 500ms: the lookup
			// of a hung registry ends in well under two seconds.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
