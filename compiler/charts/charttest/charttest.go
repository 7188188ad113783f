// Package charttest serves Helm charts for tests: it packages a chart
// folder into a deterministic archive, serves archives as an HTTP Helm
// repository on loopback, and pushes them as OCI artifacts, as helm push
// does, to a registry.
package charttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler/charts"
)

// Chart is a packaged chart.
type Chart struct {
	Name, Version string
	Archive       []byte
	// Meta is its Chart.yaml as JSON, the config of its OCI artifact.
	Meta []byte
}

// Package packages the chart in dir as helm package would, into an
// archive whose bytes depend on the files alone: entries sorted, times
// and owners fixed.
func Package(dir string) (*Chart, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Name: ch.Name() + "/" + p, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	meta, err := json.Marshal(ch.Metadata)
	if err != nil {
		return nil, err
	}
	return &Chart{Name: ch.Name(), Version: ch.Metadata.Version, Archive: buf.Bytes(), Meta: meta}, nil
}

// Repository is an HTTP Helm repository on 127.0.0.1.
type Repository struct {
	Host string // host:port
	srv  *http.Server
	mu   sync.Mutex
	// charts by name, then version.
	charts map[string]map[string]*Chart
}

// StartRepository serves an empty repository.
func StartRepository() (*Repository, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Repository{Host: l.Addr().String(), charts: map[string]map[string]*Chart{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(l)
	return r, nil
}

// Add publishes c, replacing a chart of the same name and version.
func (r *Repository) Add(c *Chart) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.charts[c.Name] == nil {
		r.charts[c.Name] = map[string]*Chart{}
	}
	r.charts[c.Name][c.Version] = c
}

// Close stops the server.
func (r *Repository) Close() { r.srv.Close() }

func (r *Repository) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The repository answers under any path: a repository URL may have one.
	path := req.URL.Path
	if i := strings.LastIndex(path, "/archives/"); i >= 0 {
		path = path[i:]
	} else if strings.HasSuffix(path, "/index.yaml") {
		path = "/index.yaml"
	}
	if path == "/index.yaml" {
		type entry struct {
			APIVersion string   `json:"apiVersion"`
			Name       string   `json:"name"`
			Version    string   `json:"version"`
			URLs       []string `json:"urls"`
			Digest     string   `json:"digest"`
		}
		idx := map[string]any{"apiVersion": "v1"}
		entries := map[string][]entry{}
		for name, versions := range r.charts {
			for v, c := range versions {
				entries[name] = append(entries[name], entry{APIVersion: "v2", Name: name, Version: v,
					URLs: []string{"archives/" + name + "-" + v + ".tgz"}, Digest: strings.TrimPrefix(charts.Digest(c.Archive), "sha256:")})
			}
			sort.Slice(entries[name], func(i, j int) bool { return entries[name][i].Version > entries[name][j].Version })
		}
		idx["entries"] = entries
		b, _ := yaml.Marshal(idx)
		w.Write(b)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/archives/"); ok {
		for name, versions := range r.charts {
			for v, c := range versions {
				if rest == name+"-"+v+".tgz" {
					w.Write(c.Archive)
					return
				}
			}
		}
	}
	http.NotFound(w, req)
}

// Push pushes c to repo (HOST/PATH) as an OCI chart artifact, as helm
// push does: PATH/NAME:VERSION, its Chart.yaml as the config, the
// archive as the one layer. It returns the manifest's digest.
func Push(repo string, c *Chart) (string, error) {
	ref, err := name.ParseReference(repo+"/"+c.Name+":"+c.Version, name.Insecure)
	if err != nil {
		return "", err
	}
	config := static.NewLayer(c.Meta, "application/vnd.cncf.helm.config.v1+json")
	layer := static.NewLayer(c.Archive, "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(ref.Context(), l); err != nil {
			return "", err
		}
	}
	cd, _ := config.Digest()
	ld, _ := layer.Digest()
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     string(types.OCIManifestSchema1),
		"config":        map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cd.String(), "size": len(c.Meta)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": ld.String(), "size": len(c.Archive)}},
	})
	if err := remote.Put(ref, rawManifest{manifest}); err != nil {
		return "", err
	}
	return charts.Digest(manifest), nil
}

type rawManifest struct{ b []byte }

func (m rawManifest) RawManifest() ([]byte, error) { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}
