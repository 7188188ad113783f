package load

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// MaxConfigMapBytes is what the API server lets a ConfigMap hold: its
// keys and values together.
const MaxConfigMapBytes = 1 << 20

// files decodes a component's files: path -> content or {secret, key}.
// A path is absolute and clean, and its last element is a valid
// ConfigMap and Secret key, since it is the file's key in the volume.
func (d *decoder) files(v cue.Value, where string) []model.File {
	var out []model.File
	for _, f := range fields(v) {
		p := f.label
		if why := badFilePath(p); why != "" {
			d.errs.Add(f.v.Pos(), "%s: %q %s", where, p, why)
			continue
		}
		file := model.File{Path: p, Pos: f.v.Pos()}
		if s, err := f.v.String(); err == nil {
			file.Content = s
		} else {
			file.Secret, _ = str(f.v, "secret")
			file.Key, _ = str(f.v, "key")
		}
		out = append(out, file)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// positionOf is where the input wrote v. Filling in addresses (see
// withAddresses) adds a struct to each component, which moves the
// component's own position from its label to its brace; every other
// field keeps its position.
func (d *decoder) positionOf(v cue.Value) model.Pos {
	if !d.plain.Exists() {
		return v.Pos()
	}
	if p := d.plain.LookupPath(v.Path()); p.Exists() {
		return p.Pos()
	}
	return v.Pos()
}

// systemDirs are directories a files volume may not replace: the image
// keeps what the process needs there (libraries, binaries, users, CA
// certificates), and the kubelet mounts /etc/hosts and /etc/resolv.conf
// into /etc, which it cannot do inside a read-only volume.
var systemDirs = map[string]bool{
	"/bin": true, "/boot": true, "/dev": true, "/etc": true, "/lib": true, "/lib64": true, "/proc": true,
	"/root": true, "/run": true, "/sbin": true, "/sys": true, "/usr": true, "/usr/bin": true, "/usr/lib": true,
	"/usr/local": true, "/usr/local/bin": true, "/usr/sbin": true, "/var": true, "/var/lib": true, "/var/run": true,
	"/etc/ssl": true, "/etc/ssl/certs": true,
}

// badFilePath says why p cannot be a mounted file's path, or "".
func badFilePath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "is not an absolute path"
	case path.Clean(p) != p:
		return fmt.Sprintf("is not a clean path (write %q)", path.Clean(p))
	case path.Dir(p) == "/":
		return "is a file in /: its directory is mounted as a whole, and / would hide the image"
	case systemDirs[path.Dir(p)]:
		return fmt.Sprintf("is a file in %s: its directory is mounted as a whole, read-only, and would hide what the image and the kubelet keep there (users, certificates, /etc/hosts); put it in a directory of its own, such as %s/%s", path.Dir(p), path.Dir(p), "app/"+path.Base(p))
	}
	if len(validation.IsConfigMapKey(path.Base(p))) > 0 {
		return fmt.Sprintf("ends in %q, which cannot be a ConfigMap key (at most 253 letters, digits, '-', '_' and '.', not starting with \"..\")", path.Base(p))
	}
	return ""
}

// checkFiles reports what would stop a component's files from mounting:
// a secret that is not there, a directory mounted twice or inside another
// read-only directory, a ConfigMap over the API server's limit.
func checkFiles(s *model.System, c *model.Component, where string, errs *diag.List) {
	for _, f := range c.Files {
		if f.Secret != "" {
			checkSecretRef(s, c, f.Pos, fmt.Sprintf("%s.files.%q", where, f.Path), f.Secret, f.Key, errs)
		}
	}
	type dir struct {
		path  string
		pos   model.Pos
		bytes int
		big   model.File // the largest file of content
	}
	var dirs []*dir
	byPath := map[string]*dir{}
	for _, f := range c.Files {
		d := byPath[f.Dir()]
		if d == nil {
			d = &dir{path: f.Dir(), pos: f.Pos}
			byPath[d.path] = d
			dirs = append(dirs, d)
		}
		if f.Secret == "" {
			d.bytes += len(f.Base()) + len(f.Content)
			if len(f.Content) >= len(d.big.Content) {
				d.big = f
			}
		}
	}
	// The other mounts: writable emptyDirs and storage.
	type mount struct {
		path, field, what string
		pos               model.Pos
	}
	var others []mount
	volumes := map[string]string{}
	for _, w := range c.Writable {
		others = append(others, mount{w.Path, "writable", "a writable path", w.Pos})
	}
	for _, v := range c.Storage {
		others = append(others, mount{v.MountPath, "storage." + v.Name, "storage " + v.Name, v.Pos})
		volumes[v.Name] = "storage " + v.Name
	}
	for _, d := range dirs {
		at := fmt.Sprintf("%s.files: %s", where, d.path)
		for _, m := range others {
			switch {
			case m.path == d.path:
				errs.Add(d.pos, "%s is mounted twice: as the directory of files, and as %s", at, m.what)
			case within(m.path, d.path):
				errs.Add(m.pos, "%s.%s: %s lies inside %s, where files are mounted read-only; the container runtime cannot create a mount point there: move one of them", where, m.field, m.path, d.path)
			}
		}
		for _, o := range dirs {
			if within(d.path, o.path) {
				errs.Add(d.pos, "%s lies inside %s, where files are mounted read-only; the container runtime cannot create a mount point there: put the files of both in one directory, or in directories side by side", at, o.path)
			}
		}
		name := model.FilesVolume(d.path)
		if other, ok := volumes[name]; ok {
			errs.Add(d.pos, "%s: its volume would be called %s, as the %s is; rename one", at, name, other)
		}
		volumes[name] = "files of " + d.path
		if d.bytes > MaxConfigMapBytes {
			errs.Add(d.big.Pos, "%s holds %d bytes of content (names and contents; %s alone is %d), more than the %d (1 MiB) a ConfigMap can hold: split the files across directories, or ship them in the image", at, d.bytes, d.big.Base(), len(d.big.Content), MaxConfigMapBytes)
		}
	}
}

// within reports whether p lies strictly inside dir.
func within(p, dir string) bool {
	return strings.HasPrefix(p, dir+"/")
}

// checkSecretRef reports a reference to a secret that is not declared,
// lives in another namespace than the component, or has no such key.
func checkSecretRef(s *model.System, c *model.Component, pos model.Pos, where, secret, key string, errs *diag.List) {
	sec := s.Secret(secret)
	switch {
	case sec == nil:
		names := secretNames(s)
		if c.Tenant != "" {
			// What the template may name: its own secrets, by label.
			names = nil
			for _, sec := range s.Secrets {
				if sec.Tenant == c.Tenant {
					names = append(names, sec.ObjectName)
				}
			}
		}
		errs.Add(pos, "%s: unknown secret %q%s", where, secret, didYouMean(secret, names))
	case c.Tenant != "" && sec.Namespace != c.Namespace:
		errs.Add(pos, "%s: secret %q is in namespace %q, and a pod reads secrets of its own namespace only: declare it under the template's secrets, and each tenant has its own", where, secret, sec.Namespace)
	case sec.Namespace != c.Namespace:
		errs.Add(pos, "%s: secret %q is in namespace %q, not %q; a pod reads secrets of its own namespace only", where, secret, sec.Namespace, c.Namespace)
	case !sec.HasKey(key):
		errs.Add(pos, "%s: secret %q has no key %q (keys: %s)", where, sec.ObjectName, key, strings.Join(sec.Keys, ", "))
	}
}
