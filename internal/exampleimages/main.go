// Command exampleimages writes the image lock of the shipped example.
//
// The example's images live under registry.example.com, which serves
// nothing. This program builds a deterministic stand-in for each of them
// (multi-arch linux/amd64 and linux/arm64 indexes, as the eks environment
// runs on arm64), pushes them to go-containerregistry's registry on a
// loopback port, and runs "gitopsc images lock" against it with
// --mirror registry.example.com=127.0.0.1:PORT, so the lock is made by the
// real command over the real protocol and keeps the original references.
// The same input gives the same lock, byte for byte.
//
// Usage:
//
//	go run ./internal/exampleimages [DIR]   (default ./environments)
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gitopsc/gitopsc/cmd/gitopsc/cmd"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/images/imagetest"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/resolve"
)

// exampleRegistry is the host every image of the example is under.
const exampleRegistry = "registry.example.com"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: exampleimages [DIR]")
		return 2
	}
	dir := cmd.DefaultInput
	if len(args) == 1 {
		dir = args[0]
	}
	reg := imagetest.StartRegistry()
	defer reg.Close()
	if err := pushAll(dir, reg.Host); err != nil {
		fmt.Fprintln(stderr, "exampleimages:", err)
		return 1
	}
	return cmd.Run([]string{"images", "lock", dir, "--mirror", exampleRegistry + "=" + reg.Host}, stdout, stderr)
}

// pushAll pushes a stand-in for every image the input in dir runs.
func pushAll(dir, host string) error {
	in, err := load.Dir(dir)
	if err != nil {
		return err
	}
	resolved, err := resolve.All(in)
	if err != nil {
		return err
	}
	for _, u := range images.Uses(resolved) {
		ref, err := name.ParseReference(u.Ref)
		if err != nil {
			return err
		}
		if ref.Context().RegistryStr() != exampleRegistry {
			return fmt.Errorf("%s: the example's images live under %s", u.Ref, exampleRegistry)
		}
		spec, err := specFor(ref.Context().RepositoryStr())
		if err != nil {
			return fmt.Errorf("%s: %w", u.Ref, err)
		}
		target, err := name.ParseReference(host + "/" + ref.Context().RepositoryStr() + ":" + ref.Identifier())
		if err != nil {
			return err
		}
		if _, err := imagetest.Push(target, spec); err != nil {
			return fmt.Errorf("%s: %w", u.Ref, err)
		}
	}
	return nil
}

// specFor says what each kind of image publishes and the user it runs as.
// The team's own images (agents/, apps/) are built with docker buildx,
// which adds an attestation manifest per platform; the mirrored upstream
// images list arm64 with its v8 variant, as the official images do.
func specFor(repo string) (imagetest.Spec, error) {
	switch {
	case strings.HasPrefix(repo, "agents/"):
		return imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, User: agentUser}, nil
	case strings.HasPrefix(repo, "apps/"):
		return imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64"}, Attestations: true, User: appUser}, nil
	case strings.HasPrefix(repo, "mirror/"):
		user, ok := upstreamUsers[strings.TrimPrefix(repo, "mirror/")]
		if !ok {
			return imagetest.Spec{}, fmt.Errorf("no user known for the upstream image %s (add it to upstreamUsers)", repo)
		}
		return imagetest.Spec{Platforms: []string{"linux/amd64", "linux/arm64/v8"}, User: user}, nil
	}
	return imagetest.Spec{}, fmt.Errorf("no stand-in for repository %s (want agents/, apps/ or mirror/)", repo)
}

// The users the team's own images are built to run as: a numeric USER,
// so the kubelet can check runAsNonRoot against it. php-app is built on
// PHP's fpm-alpine image and runs as its www-data (82).
const (
	agentUser = "10001:10001"
	appUser   = "82:82"
)

// upstreamUsers is the user each mirrored upstream image's config names,
// as its Dockerfile's USER sets it; "" where it sets none, so the image
// starts as root (and its entrypoint steps down with gosu).
var upstreamUsers = map[string]string{
	// nginxinc/docker-nginx-unprivileged: ARG UID=101 ... USER $UID.
	"nginx-unprivileged": "101",
	// docker-library/mysql 8.4 (Dockerfile.oracle): no USER; the mysql
	// user is uid 999.
	"mysql": "",
	// docker-library/redis 7.4 (debian): no USER; the redis user is
	// uid 999.
	"redis": "",
	// prometheus/prometheus v3.2.1 Dockerfile: USER nobody (uid 65534 in
	// its busybox base).
	"prometheus": "nobody",
	// prometheus-operator v0.85.0 Dockerfile: USER 65534.
	"prometheus-operator": "65534",
	// kube-state-metrics v2.15.0 Dockerfile: USER nobody (uid 65534 in
	// its distroless base).
	"kube-state-metrics": "nobody",
	// external-secrets v0.16.2 Dockerfile: USER 65534 (its controller,
	// webhook and cert-controller are one image).
	"external-secrets": "65534",
}
