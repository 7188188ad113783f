package images_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/images/imagetest"
)

func push(t *testing.T, reg *imagetest.Registry, repoTag string, s imagetest.Spec) string {
	t.Helper()
	ref, err := name.ParseReference(reg.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	h, err := imagetest.Push(ref, s)
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func resolveOne(t *testing.T, src images.Source, ref string) (images.Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return src.Resolve(ctx, ref)
}

func TestRegistryPlatforms(t *testing.T) {
	reg := imagetest.StartRegistry()
	defer reg.Close()
	src := images.NewRegistry([]images.Mirror{{From: "registry.example.com", To: reg.Host}})
	tests := []struct {
		name string
		spec imagetest.Spec
		want string
	}{
		{"index", imagetest.Spec{Platforms: []string{"linux/arm64", "linux/amd64"}}, "linux/amd64 linux/arm64"},
		{"attestations", imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, Attestations: true}, "linux/amd64 linux/arm64"},
		{"variants", imagetest.Spec{Platforms: []string{"linux/arm/v7", "linux/arm64/v8"}}, "linux/arm/v7 linux/arm64/v8"},
		{"single", imagetest.Spec{Platforms: []string{"linux/arm64/v8"}, Single: true}, "linux/arm64/v8"},
		{"index entries without platforms", imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, NoIndexPlatforms: true}, "linux/amd64 linux/arm64"},
		{"user", imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, User: "101:101"}, "linux/amd64 linux/arm64"},
		{"single with a user", imagetest.Spec{Platforms: []string{"linux/amd64"}, Single: true, User: "nobody"}, "linux/amd64"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := "apps/img:" + string(rune('a'+i))
			digest := push(t, reg, tag, tt.spec)
			e, err := resolveOne(t, src, "registry.example.com/"+tag)
			if err != nil {
				t.Fatal(err)
			}
			if e.Ref != "registry.example.com/"+tag || e.Digest != digest || strings.Join(e.Platforms, " ") != tt.want {
				t.Errorf("got %+v, want digest %s platforms %s", e, digest, tt.want)
			}
			// Each platform's user is read from its image config; no
			// USER is recorded as "", which is root.
			for _, p := range e.Platforms {
				if u, ok := e.Users[p]; !ok || u != tt.spec.User {
					t.Errorf("%s: user %q (recorded %v), want %q", p, u, ok, tt.spec.User)
				}
			}
			// A reference on a loopback registry is reached over plain
			// HTTP without a mirror.
			direct, err := resolveOne(t, images.NewRegistry(nil), reg.Host+"/"+tag)
			if err != nil || direct.Digest != digest {
				t.Errorf("direct: %+v, %v", direct, err)
			}
		})
	}
}

func TestRegistryMalformedManifest(t *testing.T) {
	reg := imagetest.StartRegistry()
	defer reg.Close()
	req, err := http.NewRequest(http.MethodPut, "http://"+reg.Host+"/v2/apps/broken/manifests/1.0", bytes.NewReader([]byte(`{"schemaVersion": 2, "config": [}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %s", resp.Status)
	}
	_, err = resolveOne(t, images.NewRegistry(nil), reg.Host+"/apps/broken:1.0")
	var me *images.MalformedError
	if !errors.As(err, &me) || images.Retryable(err) {
		t.Fatalf("got %v, want a final MalformedError", err)
	}
	le := &images.LookupError{Use: images.Use{Ref: "r:1"}, Attempts: 1, Err: err}
	if got := le.Error(); !strings.HasPrefix(got, "r:1: malformed manifest: invalid character") {
		t.Errorf("message %q", got)
	}
}

func TestIsLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1:5000", "127.1.2.3", "localhost:5000", "[::1]:5000", "::1"} {
		if !images.IsLoopback(host) {
			t.Errorf("%s is loopback", host)
		}
	}
	for _, host := range []string{"10.0.0.1:5000", "192.168.1.1", "registry.example.com", "localhost.example.com:5000"} {
		if images.IsLoopback(host) {
			t.Errorf("%s is not loopback", host)
		}
	}
}

func TestMirrorTarget(t *testing.T) {
	m, err := images.ParseMirror("docker.io=127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	src := images.NewRegistry([]images.Mirror{m})
	tests := map[string]string{
		"mysql:8.4":                           "127.0.0.1:5000/library/mysql:8.4",
		"index.docker.io/bitnami/redis:7.4":   "127.0.0.1:5000/bitnami/redis:7.4",
		"registry.example.com/apps/web:1.0.0": "registry.example.com/apps/web:1.0.0",
		"registry.example.com/apps/web":       "registry.example.com/apps/web:latest",
	}
	for ref, want := range tests {
		got, err := src.Target(ref)
		if err != nil || got.Name() != want {
			t.Errorf("Target(%s) = %v, %v; want %s", ref, got, err, want)
		}
	}
	for _, bad := range []string{"registry.example.com", "=127.0.0.1:5000", "a=b/c"} {
		if _, err := images.ParseMirror(bad); err == nil {
			t.Errorf("ParseMirror(%q) gave no error", bad)
		}
	}
}

// fakeSource fails a reference a set number of times, counting attempts
// and how many lookups run at once.
type fakeSource struct {
	mu       sync.Mutex
	fails    map[string][]error
	attempts map[string]int
	running  atomic.Int32
	maxRun   atomic.Int32
}

func (f *fakeSource) Resolve(ctx context.Context, ref string) (images.Entry, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxRun.Load()
		if n <= m || f.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[ref]++
	if errs := f.fails[ref]; len(errs) > 0 {
		f.fails[ref] = errs[1:]
		if errs[0] == context.DeadlineExceeded {
			f.mu.Unlock()
			<-ctx.Done()
			f.mu.Lock()
			return images.Entry{}, ctx.Err()
		}
		return images.Entry{}, errs[0]
	}
	return images.Entry{Digest: "sha256:" + strings.Repeat("a", 64), Platforms: []string{"linux/amd64"}}, nil
}

func TestResolveRetriesAndBounds(t *testing.T) {
	malformed := images.MalformedError{What: "index", Err: errors.New("x")}
	src := &fakeSource{
		attempts: map[string]int{},
		fails: map[string][]error{
			"flaky:1": {context.DeadlineExceeded, context.DeadlineExceeded}, // two timeouts, then fine
			"hung:1":  {context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded},
			"bad:1":   {&malformed},
		},
	}
	var uses []images.Use
	for _, r := range []string{"a:1", "b:1", "c:1", "d:1", "e:1", "f:1", "flaky:1", "hung:1", "bad:1"} {
		uses = append(uses, images.Use{Ref: r})
	}
	var retries atomic.Int32
	start := time.Now()
	_, err := images.Resolve(context.Background(), src, uses, images.Options{
		Jobs: 2, Timeout: 50 * time.Millisecond, Attempts: 3, Backoff: 10 * time.Millisecond,
		Retry: func(images.Use, string, int, int, time.Duration) { retries.Add(1) },
	})
	elapsed := time.Since(start)
	var failed images.LookupErrors
	if !errors.As(err, &failed) || len(failed) != 2 {
		t.Fatalf("got %v, want two failed references", err)
	}
	if failed[0].Use.Ref != "bad:1" || failed[0].Attempts != 1 {
		t.Errorf("bad:1: %v after %d attempts, want 1 (malformed is final)", failed[0], failed[0].Attempts)
	}
	if got := failed[1].Error(); got != "hung:1: no answer within 50ms (3 attempts)" {
		t.Errorf("hung:1: %q", got)
	}
	if src.attempts["flaky:1"] != 3 || src.attempts["hung:1"] != 3 {
		t.Errorf("attempts %v", src.attempts)
	}
	if retries.Load() != 4 {
		t.Errorf("%d retries reported, want 4", retries.Load())
	}
	if m := src.maxRun.Load(); m > 2 {
		t.Errorf("%d lookups ran at once, want at most 2", m)
	}
	// hung:1 takes 3×50ms plus waits of 10 and 20ms; with the others
	// sharing two workers, the whole run stays well under a second.
	if elapsed > time.Second {
		t.Errorf("took %v", elapsed)
	}
}
