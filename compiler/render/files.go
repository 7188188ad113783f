package render

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// A component's files are mounted one directory at a time: the files of
// a directory become one volume mounted read-only at that directory,
// without subPath, so that the kubelet updates them in place when their
// ConfigMap or Secret changes. Content written in the input is one
// ConfigMap per directory, keyed by file name; files read from a secret
// are that Secret's keys, projected under their file names. A directory
// with files of both kinds, or of several secrets, is a projected volume.
// Every container of the pod with a file in a directory (the main one, a
// sidecar) mounts that directory's one volume, and so sees all its files.

// filesDir is the files of one directory, in path order.
type filesDir struct {
	path  string
	files []model.File
}

func filesByDir(c *model.Component) []filesDir {
	var dirs []filesDir
	index := map[string]int{}
	for _, f := range c.Files {
		i, ok := index[f.Dir()]
		if !ok {
			i = len(dirs)
			index[f.Dir()] = i
			dirs = append(dirs, filesDir{path: f.Dir()})
		}
		dirs[i].files = append(dirs[i].files, f)
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].path < dirs[j].path })
	return dirs
}

// FilesConfigMapName is the ConfigMap holding the content of c's files
// in dir: "nginx-files-etc-nginx-conf-d".
func FilesConfigMapName(c *model.Component, dir string) string {
	return c.ObjectName + "-files-" + model.PathSlug(dir)
}

// fileConfigMaps renders the ConfigMap of each directory that holds
// content written in the input.
func (rd *renderer) fileConfigMaps(c *model.Component, meta metaFunc, obj objFunc) {
	for _, d := range filesByDir(c) {
		data := map[string]string{}
		var pos model.Pos
		for _, f := range d.files {
			if f.Secret != "" {
				continue
			}
			if !pos.IsValid() {
				pos = f.Pos
			}
			data[f.Base()] = f.Content
		}
		if len(data) == 0 {
			continue
		}
		name := FilesConfigMapName(c, d.path)
		obj("v1", "ConfigMap", name, pos, &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: meta(name),
			Data:       data,
		})
	}
}

// fileVolumes are the volumes and read-only mounts of c's files, and the
// checksum of what they hold, for the pod template: a change of content
// changes the checksum and so rolls the pods, which a process that reads
// its configuration once at start needs. A file from a secret counts by
// its reference; the kubelet updates its content in place. The checksum
// is empty when c has no files.
//
// The mounts are keyed by the container that mounts them: "" for the
// main container, else the sidecar's name.
func fileVolumes(c *model.Component) ([]corev1.Volume, map[string][]corev1.VolumeMount, string) {
	var volumes []corev1.Volume
	mounts := map[string][]corev1.VolumeMount{}
	sum := map[string]string{}
	for _, d := range filesByDir(c) {
		var content bool
		var secrets []string
		items := map[string][]corev1.KeyToPath{}
		for _, f := range d.files {
			if f.Secret == "" {
				content = true
				sum[f.Path] = f.Content
				continue
			}
			sum[f.Path] = "secret " + f.Secret + " key " + f.Key
			if items[f.Secret] == nil {
				secrets = append(secrets, f.Secret)
			}
			items[f.Secret] = append(items[f.Secret], corev1.KeyToPath{Key: f.Key, Path: f.Base()})
		}
		sort.Strings(secrets)
		var sources []corev1.VolumeProjection
		if content {
			sources = append(sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: FilesConfigMapName(c, d.path)},
			}})
		}
		for _, s := range secrets {
			sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: model.ObjectPart(s)},
				Items:                items[s],
			}})
		}
		name := model.FilesVolume(d.path)
		var src corev1.VolumeSource
		switch {
		case len(sources) > 1:
			src.Projected = &corev1.ProjectedVolumeSource{Sources: sources}
		case content:
			src.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: sources[0].ConfigMap.LocalObjectReference}
		default:
			src.Secret = &corev1.SecretVolumeSource{SecretName: model.ObjectPart(secrets[0]), Items: items[secrets[0]]}
		}
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: src})
		mounted := map[string]bool{}
		for _, f := range d.files {
			if !mounted[f.Container] {
				mounted[f.Container] = true
				mounts[f.Container] = append(mounts[f.Container], corev1.VolumeMount{Name: name, MountPath: d.path, ReadOnly: true})
			}
		}
	}
	if len(sum) == 0 {
		return nil, nil, ""
	}
	return volumes, mounts, checksum(sum)
}
