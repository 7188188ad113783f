package policies_test

import (
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/policies"
)

// POD010 reads each image's user from the lock, as images lock records
// it, and the runAsNonRoot and runAsUser of the rendered pods: a root or
// named user without a runAsUser is refused by the kubelet.
func TestImageUser(t *testing.T) {
	s := loadSystem(t, shop)
	web := s.at(t, "security: {", 1)
	worker := s.at(t, "worker: {", 1)
	digest := "sha256:" + strings.Repeat("a", 64)
	lock := func(t *testing.T, webPlats, migratePlats, workerPlats string) *images.Lock {
		t.Helper()
		l, err := images.ParseLock("images.lock", []byte(
			"registry.example.com/web:1.0.0 "+digest+" "+webPlats+"\n"+
				"registry.example.com/web-migrate:1.0.0 "+digest+" "+migratePlats+"\n"+
				"registry.example.com/worker:1.0.0 "+digest+" "+workerPlats+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	const fix = `: with runAsNonRoot and no runAsUser the kubelet refuses to start it ("container has runAsNonRoot and image will run as root"); give it a non-root user id, such as security: runAsUser: 999`
	for _, tc := range []struct {
		name                 string
		web, migrate, worker string
		runAsUser            int64 // set on worker's pod when not 0
		want                 []string
	}{{
		name: "numeric users pass", web: "linux/amd64;user=101", migrate: "linux/amd64;user=101:101", worker: "linux/amd64;user=65534:nogroup",
	}, {
		name: "a lock without users says nothing", web: "linux/amd64", migrate: "linux/amd64", worker: "linux/amd64 linux/arm64",
	}, {
		name: "root, in init containers too", web: "linux/amd64;user=0:0", migrate: "linux/amd64;user=", worker: "linux/amd64;user=root",
		want: []string{
			web + `: error POD010: container migrate: image registry.example.com/web-migrate:1.0.0 runs as root (its config names no user)` + fix,
			web + `: error POD010: container web: image registry.example.com/web:1.0.0 runs as root (user "0:0")` + fix,
			worker + `: error POD010: container worker: image registry.example.com/worker:1.0.0 runs as root (user "root"): with runAsNonRoot and no runAsUser the kubelet refuses to start it ("image has non-numeric user"); give it a non-root user id, such as security: runAsUser: 999`,
		},
	}, {
		name: "a named user", web: "linux/amd64;user=101", migrate: "linux/amd64;user=101", worker: "linux/amd64;user=nginx",
		want: []string{
			worker + `: error POD010: container worker: image registry.example.com/worker:1.0.0 runs as user "nginx", a name the kubelet cannot check: with runAsNonRoot and no runAsUser the kubelet refuses to start it ("image has non-numeric user"); give it that user's numeric id, such as security: runAsUser: 999`,
		},
	}, {
		name: "runAsUser decides instead of the image", web: "linux/amd64;user=101", migrate: "linux/amd64;user=101", worker: "linux/amd64;user=nginx",
		runAsUser: 101,
	}, {
		// Only the platforms the cluster runs (amd64) count.
		name: "another platform's user", web: "linux/amd64;user=101 linux/arm64;user=", migrate: "linux/amd64;user=101", worker: "linux/amd64;user=101 linux/arm64;user=nginx",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.compile(t, "local")
			if tc.runAsUser != 0 {
				podSpec(t, r, "worker").SecurityContext.RunAsUser = &tc.runAsUser
			}
			facts := lock(t, tc.web, tc.migrate, tc.worker)
			fs := policies.Merge([][]policies.Finding{policies.Check(r.Resolved, r.Output, facts, policies.Options{Today: today})})
			var got []string
			for _, f := range fs {
				if f.Rule == "POD010" {
					got = append(got, diag.Position(f.Pos, s.dir)+": "+string(f.Severity)+" "+f.Rule+": "+f.Message)
				}
			}
			sameLines(t, got, tc.want)
		})
	}
}
