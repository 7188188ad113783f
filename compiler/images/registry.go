package images

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A Source answers what an image reference points to now: the digest of
// the manifest or index its tag names, the platforms that publishes and
// the user each platform's image config names.
type Source interface {
	Resolve(ctx context.Context, ref string) (Entry, error)
}

// Mirror sends the lookups of every reference on one registry host to
// another; the lock keeps the original reference.
type Mirror struct {
	From string // registry host as references name it: registry.example.com
	To   string // host to ask instead: mirror.internal:5000, 127.0.0.1:5000
}

// ParseMirror parses "HOST=MIRROR".
func ParseMirror(s string) (Mirror, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Mirror{}, fmt.Errorf("mirror %q: want HOST=MIRROR, such as registry.example.com=127.0.0.1:5000", s)
	}
	f, err := name.NewRegistry(from)
	if err != nil {
		return Mirror{}, fmt.Errorf("mirror %q: %v", s, err)
	}
	t, err := name.NewRegistry(to)
	if err != nil {
		return Mirror{}, fmt.Errorf("mirror %q: %v", s, err)
	}
	return Mirror{From: f.RegistryStr(), To: t.RegistryStr()}, nil
}

// Registry resolves references through the registry protocol, with the
// credentials of the default keychain (docker login and its helpers).
// Plain HTTP is used only for registries on a loopback address.
type Registry struct {
	mirrors   map[string]string
	keychain  authn.Keychain
	transport http.RoundTripper
}

// NewRegistry returns a registry source that sends lookups through mirrors.
func NewRegistry(mirrors []Mirror) *Registry {
	m := map[string]string{}
	for _, mi := range mirrors {
		m[mi.From] = mi.To
	}
	return &Registry{
		mirrors:   m,
		keychain:  authn.DefaultKeychain,
		transport: tlsUnlessLoopback{remote.DefaultTransport},
	}
}

// Target is the reference a lookup of ref is sent to: on its mirror's host
// when it has one.
func (r *Registry) Target(ref string) (name.Reference, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	host := parsed.Context().RegistryStr()
	if m, ok := r.mirrors[host]; ok {
		host = m
	}
	var opts []name.Option
	if IsLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, err
	}
	repo := reg.Repo(parsed.Context().RepositoryStr())
	if d, ok := parsed.(name.Digest); ok {
		return repo.Digest(d.DigestStr()), nil
	}
	return repo.Tag(parsed.Identifier()), nil
}

// Resolve fetches ref's manifest once, with no retries of its own: the
// caller bounds, times and retries lookups.
func (r *Registry) Resolve(ctx context.Context, ref string) (Entry, error) {
	target, err := r.Target(ref)
	if err != nil {
		return Entry{}, err
	}
	desc, err := remote.Get(target,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithTransport(r.transport),
		remote.WithUserAgent("gitopsc"),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	)
	if err != nil {
		return Entry{}, err
	}
	plats, users, err := manifestPlatforms(desc.MediaType,
		desc.ImageIndex,
		func() (v1.Image, error) { return desc.Image() })
	if err != nil {
		return Entry{}, err
	}
	return Entry{Ref: ref, Digest: desc.Digest.String(), Platforms: plats, Users: users}, nil
}

// IsLoopback reports whether a registry host ("127.0.0.1:5000",
// "localhost", "[::1]:5000") is on a loopback address.
func IsLoopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Transport is the HTTP transport lookups use: plain HTTP only to a
// loopback address.
func Transport() http.RoundTripper { return tlsUnlessLoopback{remote.DefaultTransport} }

// tlsUnlessLoopback refuses plain HTTP to anything but a loopback host.
// go-containerregistry falls back to HTTP for private addresses too; a
// lock must not rest on an unauthenticated connection across a network.
type tlsUnlessLoopback struct{ next http.RoundTripper }

func (t tlsUnlessLoopback) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !IsLoopback(req.URL.Host) {
		return nil, fmt.Errorf("plain HTTP to %s refused: only registries on a loopback address are reached without TLS", req.URL.Host)
	}
	return t.next.RoundTrip(req)
}
