package images

import (
	"sort"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Use is an image reference an input runs, at the first place it is
// written.
type Use struct {
	Ref string
	Pos model.Pos
}

// Uses lists every image reference the resolved environments run, the
// images of components, of their sidecars and of their init containers with environment
// overrides applied, and of raw objects' pods, once each and sorted. A reference no environment runs,
// such as a tag every environment overrides, is left out.
func Uses(envs []*model.Resolved) []Use {
	first := map[string]model.Pos{}
	add := func(img model.Image) {
		if p, seen := first[img.Ref]; !seen || diag.Less(img.Pos, p) {
			first[img.Ref] = img.Pos
		}
	}
	for _, r := range envs {
		for _, c := range r.System.Components {
			add(c.Image)
			for _, ic := range c.Containers() {
				add(ic.Image)
			}
		}
		for _, o := range r.System.Objects {
			if r.Env.IsCompose() {
				break // Compose renders no raw object
			}
			for _, img := range o.Images {
				add(img.Image)
			}
		}
	}
	out := make([]Use, 0, len(first))
	for ref, pos := range first {
		out = append(out, Use{Ref: ref, Pos: pos})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}
