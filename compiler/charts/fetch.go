package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
)

// Fetcher downloads chart archives from Helm repositories: an HTTP
// repository's index.yaml and archives, or an OCI registry's chart
// artifacts, through mirrors, with plain HTTP only to a loopback address.
type Fetcher struct {
	mirrors   map[string]string
	transport http.RoundTripper
}

// NewFetcher returns a fetcher that sends the requests for a mirrored
// host to its mirror.
func NewFetcher(mirrors []images.Mirror) *Fetcher {
	m := map[string]string{}
	for _, mi := range mirrors {
		m[mi.From] = mi.To
	}
	return &Fetcher{mirrors: m, transport: images.Transport()}
}

// Fetched is a chart version as its repository serves it.
type Fetched struct {
	Entry
	Content []byte
}

// Fetch downloads version of chart from repository and checks that the
// archive is that chart at that version.
func (f *Fetcher) Fetch(ctx context.Context, repository, chart, version string) (*Fetched, error) {
	e := Entry{Repository: strings.TrimSuffix(repository, "/"), Chart: chart, Version: version}
	var b []byte
	var err error
	if rest, ok := strings.CutPrefix(e.Repository, "oci://"); ok {
		b, e.Manifest, err = f.fetchOCI(ctx, rest+"/"+chart+":"+version)
	} else {
		b, err = f.fetchHTTP(ctx, e.Repository, chart, version)
	}
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the archive served is not a chart: %v", err)
	}
	if ch.Metadata.Name != chart || ch.Metadata.Version != version {
		return nil, fmt.Errorf("the archive served is chart %s %s, not %s %s", ch.Metadata.Name, ch.Metadata.Version, chart, version)
	}
	e.Digest = Digest(b)
	return &Fetched{Entry: e, Content: b}, nil
}

// mirrored rewrites a URL's host to its mirror; a loopback host is
// reached over plain HTTP.
func (f *Fetcher) mirrored(u *url.URL) {
	if m, ok := f.mirrors[u.Host]; ok {
		u.Host = m
	}
	if images.IsLoopback(u.Host) {
		u.Scheme = "http"
	}
}

type repoIndex struct {
	Entries map[string][]struct {
		Version string   `json:"version"`
		URLs    []string `json:"urls"`
		Digest  string   `json:"digest"`
	} `json:"entries"`
}

func (f *Fetcher) fetchHTTP(ctx context.Context, repository, chart, version string) ([]byte, error) {
	base, err := url.Parse(repository + "/")
	if err != nil {
		return nil, err
	}
	indexURL := base.JoinPath("index.yaml")
	b, err := f.get(ctx, indexURL)
	if err != nil {
		return nil, err
	}
	var idx repoIndex
	if err := yaml.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s is not a Helm repository index: %v", indexURL.Redacted(), err)
	}
	versions := idx.Entries[chart]
	if versions == nil {
		return nil, fmt.Errorf("the repository has no chart %s", chart)
	}
	var have []string
	for _, v := range versions {
		if v.Version != version {
			have = append(have, v.Version)
			continue
		}
		if len(v.URLs) == 0 {
			return nil, fmt.Errorf("the index lists %s %s without a URL", chart, version)
		}
		u, err := base.Parse(v.URLs[0])
		if err != nil {
			return nil, fmt.Errorf("the index gives %s %s the URL %q: %v", chart, version, v.URLs[0], err)
		}
		archive, err := f.get(ctx, u)
		if err != nil {
			return nil, err
		}
		if v.Digest != "" && Digest(archive) != "sha256:"+v.Digest {
			return nil, fmt.Errorf("the archive of %s %s has digest %s, not the sha256:%s the index gives", chart, version, Digest(archive), v.Digest)
		}
		return archive, nil
	}
	if len(have) > 5 {
		have = have[:5]
	}
	return nil, fmt.Errorf("the repository has no version %s of %s (it has %s)", version, chart, strings.Join(have, ", "))
}

func (f *Fetcher) get(ctx context.Context, u *url.URL) ([]byte, error) {
	target := *u
	f.mirrored(&target)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "gitopsc")
	resp, err := (&http.Client{Transport: f.transport}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", target.Redacted(), resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// chartMediaTypes are the media types of an OCI chart's config and
// content layer.
const (
	chartConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	chartLayerMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

func (f *Fetcher) fetchOCI(ctx context.Context, ref string) ([]byte, string, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, "", err
	}
	host := parsed.Context().RegistryStr()
	if m, ok := f.mirrors[host]; ok {
		host = m
	}
	var opts []name.Option
	if images.IsLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, "", err
	}
	repo := reg.Repo(parsed.Context().RepositoryStr())
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(f.transport), remote.WithUserAgent("gitopsc")}
	desc, err := remote.Get(repo.Tag(parsed.Identifier()), ropts...)
	if err != nil {
		return nil, "", err
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, "", fmt.Errorf("%s is not an OCI manifest: %v", ref, err)
	}
	if m.Config.MediaType != chartConfigMediaType {
		return nil, "", fmt.Errorf("%s is not a Helm chart (its config is %s, not %s)", ref, m.Config.MediaType, chartConfigMediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != chartLayerMediaType {
			continue
		}
		layer, err := remote.Layer(repo.Digest(l.Digest.String()), ropts...)
		if err != nil {
			return nil, "", err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
		if err != nil {
			return nil, "", err
		}
		if Digest(b) != l.Digest.String() {
			return nil, "", fmt.Errorf("the chart layer of %s has digest %s, not %s", ref, Digest(b), l.Digest)
		}
		return b, desc.Digest.String(), nil
	}
	return nil, "", fmt.Errorf("%s has no layer of %s", ref, chartLayerMediaType)
}

// Write writes the lock and the archives of fetched into dir, each file
// whole or not at all, and removes the archives of the old lock that are
// no longer locked. It reports whether anything changed.
func Write(dir string, old *Lock, fetched []*Fetched) (changed bool, err error) {
	var entries []Entry
	keep := map[string]bool{}
	for _, fc := range fetched {
		entries = append(entries, fc.Entry)
		keep[fc.Archive()] = true
		path := filepath.Join(dir, filepath.FromSlash(fc.Entry.Archive()))
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, fc.Content) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return false, diag.OutsideErr(err)
		}
		if err := images.WriteFile(path, fc.Content); err != nil {
			return false, err
		}
		changed = true
	}
	content := Format(entries)
	lockPath := filepath.Join(dir, LockFile)
	if cur, err := os.ReadFile(lockPath); err != nil || !bytes.Equal(cur, content) {
		if err := images.WriteFile(lockPath, content); err != nil {
			return false, err
		}
		changed = true
	}
	for _, e := range old.Entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Archive()))
		// Only a file of ArchiveDir, which ParseLock's names keep to.
		if keep[e.Archive()] || filepath.Dir(p) != filepath.Join(dir, ArchiveDir) {
			continue
		}
		if err := os.Remove(p); err == nil {
			changed = true
		}
	}
	return changed, nil
}
