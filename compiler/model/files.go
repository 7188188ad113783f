package model

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// File is a file mounted read-only into a component's container: content
// written in the input, or one key of a secret.
type File struct {
	Path    string // absolute and clean: "/etc/nginx/conf.d/default.conf"
	Content string // the file's bytes, when Secret is empty
	Secret  string // the secret the file is read from, with Key
	Key     string
	Pos     Pos
	// Container is the sidecar the file is mounted into; empty for the
	// main container.
	Container string
}

// Dir is the directory the file is mounted in: its volume's mount path.
func (f File) Dir() string { return path.Dir(f.Path) }

// Base is the file's name in that directory: its key in the ConfigMap.
func (f File) Base() string { return path.Base(f.Path) }

// ServiceDNSName is the cluster DNS name of the Service of the component
// called name in namespace: what clients dial, what service discovery and
// a component's host give.
func ServiceDNSName(name, namespace string) string {
	return name + "." + namespace + ".svc.cluster.local"
}

// PathSlug turns a path into a piece of a volume or object name:
// "/etc/nginx/conf.d" becomes "etc-nginx-conf-d", at most 50 characters.
func PathSlug(p string) string {
	n := strings.ToLower(strings.Trim(p, "/"))
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, n)
	if n == "" {
		n = "root"
	}
	if len(n) > 50 {
		n = strings.Trim(n[:50], "-")
	}
	return n
}

// FilesVolume is the name of the volume that mounts a component's files
// in dir: "f-etc-nginx-conf-d".
func FilesVolume(dir string) string { return "f-" + PathSlug(dir) }

// MergeFiles is files with each of over added, or replacing the file of
// its path (in the container that mounts it), sorted by path.
func MergeFiles(files, over []File) []File {
	if len(over) == 0 {
		return files
	}
	out := append([]File(nil), files...)
	for _, f := range over {
		i := slices.IndexFunc(out, func(g File) bool { return g.Path == f.Path })
		if i < 0 {
			out = append(out, f)
			continue
		}
		f.Container = out[i].Container
		out[i] = f
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
