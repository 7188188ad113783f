package policies

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
)

var imageRules = []*Rule{
	{
		ID: "IMG001", Family: "image", Severity: Error,
		Title: "images name a tag, and not latest",
		Rationale: `"latest" and untagged references move without a change in git, so what
runs is not what was reviewed. Name a version tag; the lock pins it to a
digest.`,
		Check: checkImageTags,
		On:    OnBoth,
	},
	{
		ID: "IMG002", Family: "image", Severity: Error,
		Title: "rendered images are pinned by digest",
		Rationale: `A tag can be pushed again; a digest cannot. Every image in the output is
written as repository:tag@sha256:..., the digest taken from the image lock.`,
		Check: checkImagesPinned,
		On:    OnBoth,
	},
	{
		ID: "IMG003", Family: "image", Severity: Error,
		Title: "images publish every architecture their pods' nodes run",
		Rationale: `A pod lands on any node it may run on. On AWS Graviton (arm64) nodes an
image that publishes only linux/amd64 fails at start with "exec format
error". Every image must publish linux/<arch> for each architecture of the
nodes its pod may land on (its node pool's; the cluster's for the nodes
shorthand or a cluster without pools) and each in policy.requireArch, as
recorded in the image lock.`,
		Check: checkImageArch,
		On:    OnBoth,
	},
	{
		ID: "IMG004", Family: "image", Severity: Error,
		Title: "images come from the environment's allowed registries",
		Rationale: `An environment can restrict where images come from (a mirror, a private
registry) with policy.registries; an image from elsewhere may be
unreachable from the cluster or unvetted.`,
		Check: checkRegistries,
		On:    OnBoth,
	},
	{
		ID: "IMG005", Family: "image", Severity: Error,
		Title: "every image is recorded in the image lock",
		Rationale: `vet and build know of an image only what images.lock records: the digest
its tag points to and the platforms it publishes. That keeps them offline
and their output the same on every run. An image the lock does not record
cannot be pinned by digest (IMG002) or checked against the cluster's
architectures (IMG003); it is rendered by its tag alone, and build writes
nothing while the finding stands. Run gitopsc images lock DIR to resolve
the tag and record it, then review the change to the lock like go.sum.`,
		Check: checkImagesLocked,
		On:    OnBoth,
	},
}

// imageUse is one image reference in a component, or in a raw object's
// pods (c nil).
type imageUse struct {
	c      *model.Component
	target string // what a waiver names
	what   string
	img    model.Image
	arch   string // a raw object's pods' kubernetes.io/arch nodeSelector
}

// imageUses lists every container's image, the components' and the raw
// objects', once per environment: five rules read the list.
func imageUses(ctx *Context) []imageUse {
	if ctx.images == nil {
		ctx.images = listImageUses(ctx)
	}
	return ctx.images
}

func listImageUses(ctx *Context) []imageUse {
	out := []imageUse{}
	for _, c := range ctx.Env.System.Components {
		out = append(out, imageUse{c: c, target: c.Name, what: "container " + c.ObjectName, img: c.Image})
		for _, sc := range c.Sidecars {
			out = append(out, imageUse{c: c, target: c.Name, what: "sidecar " + sc.Name, img: sc.Image})
		}
		for _, ic := range c.Init {
			out = append(out, imageUse{c: c, target: c.Name, what: "init container " + ic.Name, img: ic.Image})
		}
	}
	for _, o := range ctx.Env.System.Objects {
		if ctx.Env.Env.IsCompose() {
			break // raw objects are not rendered on Compose
		}
		arch := ""
		if spec, _ := model.PodSpec(o.Typed); spec != nil {
			arch = spec.NodeSelector["kubernetes.io/arch"]
		}
		for _, img := range o.Images {
			out = append(out, imageUse{target: o.Target(), what: o.ID() + ": " + img.Container, img: img.Image, arch: arch})
		}
	}
	return out
}

func checkImageTags(ctx *Context) []Finding {
	var fs []Finding
	for _, u := range imageUses(ctx) {
		switch {
		case u.img.Tag == "":
			fs = append(fs, Finding{Pos: u.img.Pos, Target: u.target, Message: fmt.Sprintf("%s: image %s has no tag", u.what, u.img.Ref)})
		case u.img.Tag == "latest":
			fs = append(fs, Finding{Pos: u.img.Pos, Target: u.target, Message: fmt.Sprintf("%s: image %s uses the tag latest; name a version", u.what, u.img.Ref)})
		}
	}
	return fs
}

func checkImagesPinned(ctx *Context) []Finding {
	unlocked := map[string]bool{}
	for _, u := range unlockedImages(ctx) {
		unlocked[u.img.Ref] = true
	}
	if ctx.Env.Env.IsCompose() {
		return composePinned(ctx, unlocked)
	}
	var fs []Finding
	for _, w := range workloads(ctx) {
		for _, c := range allContainers(w.Template) {
			// An image the lock lacks has its own finding (IMG005).
			if !strings.Contains(c.Image, "@sha256:") && !unlocked[c.Image] {
				fs = append(fs, Finding{Pos: w.pos(), Target: w.target(), Object: w.object(),
					Message: fmt.Sprintf("container %s: image %s is not pinned by digest", c.Name, c.Image)})
			}
		}
	}
	return fs
}

// unlockedImages is each tagged image reference the lock does not record,
// once, at the first place the environment writes it: the same reference
// in another environment then lands on the same line and Merge folds the
// two into one finding.
func unlockedImages(ctx *Context) []imageUse {
	if ctx.Facts == nil {
		return nil
	}
	first := map[string]int{}
	var out []imageUse
	for _, u := range imageUses(ctx) {
		if u.img.Tag == "" {
			continue // the render refuses it: nothing to lock
		}
		if _, ok := ctx.Facts.Lookup(u.img.Ref); ok {
			continue
		}
		i, seen := first[u.img.Ref]
		switch {
		case !seen:
			first[u.img.Ref] = len(out)
			out = append(out, u)
		case diag.Less(u.img.Pos, out[i].img.Pos):
			out[i] = u
		}
	}
	return out
}

func checkImagesLocked(ctx *Context) []Finding {
	unlocked := unlockedImages(ctx)
	if len(unlocked) == 0 {
		return nil
	}
	in := ctx.Env.Input
	dir := in.Arg
	if dir == "" {
		dir = in.Dir
	}
	lockPath := filepath.ToSlash(filepath.Join(dir, images.LockFile))
	hint := fmt.Sprintf("%s lacks these images; run: gitopsc images lock %s", lockPath, dir)
	if l, ok := ctx.Facts.(*images.Lock); ok && l.Absent {
		hint = fmt.Sprintf("%s does not exist; run: gitopsc images lock %s", lockPath, dir)
	}
	var fs []Finding
	for _, u := range unlocked {
		fs = append(fs, Finding{Pos: u.img.Pos, Target: u.target, Hint: hint,
			Message: fmt.Sprintf("%s: image %s is not in %s", u.what, u.img.Ref, lockPath)})
	}
	return fs
}

// requiredPlatforms is every linux/<arch> c's pods may run on in env:
// its pool's architecture, or the cluster's when the pool is the nodes
// shorthand or the cluster has none (or c is nil: a chart's pods).
func requiredPlatforms(env *model.Environment, c *model.Component) []string {
	set := map[string]bool{}
	arch := env.Cluster.Arch
	if p := poolOf(env, c); p != nil {
		arch = p.Arch
	}
	for _, a := range arch {
		set["linux/"+a] = true
	}
	for _, a := range env.Policy.RequireArch {
		set["linux/"+a] = true
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// poolOf is the node pool c runs on; nil for a raw object's pods (c nil),
// which gitopsc does not place.
func poolOf(env *model.Environment, c *model.Component) *model.NodePool {
	if c == nil {
		return nil
	}
	return env.Cluster.Pool(c.Pool)
}

func checkImageArch(ctx *Context) []Finding {
	if ctx.Facts == nil {
		return nil
	}
	var fs []Finding
	for _, u := range imageUses(ctx) {
		want := requiredPlatforms(ctx.Env.Env, u.c)
		if u.arch != "" {
			// Pods that select an architecture run only there.
			want = []string{"linux/" + u.arch}
		}
		e, ok := ctx.Facts.Lookup(u.img.Ref)
		if !ok {
			continue // IMG005 reports images missing from the lock
		}
		var missing []string
		for _, p := range want {
			if !e.Publishes(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			has := strings.Join(e.Platforms, ", ")
			if has == "" {
				has = "none"
			}
			runs := "the " + ctx.Env.Env.Cluster.Distribution + " cluster runs"
			if ctx.Env.Env.IsCompose() {
				runs = "the Compose host runs"
			}
			if p := poolOf(ctx.Env.Env, u.c); p != nil && !p.Shorthand {
				runs = "pool " + p.Name + " of the " + ctx.Env.Env.Cluster.Distribution + " cluster runs"
			}
			fs = append(fs, Finding{Pos: u.img.Pos, Target: u.target,
				Message: fmt.Sprintf("%s: image %s does not publish %s, which %s (it publishes: %s)", u.what, u.img.Ref, strings.Join(missing, ", "), runs, has)})
		}
	}
	return fs
}

// Registry is the registry host of an image reference, "docker.io" when
// the reference names none.
func Registry(repo string) string {
	first, _, ok := strings.Cut(repo, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io"
	}
	return first
}

func checkRegistries(ctx *Context) []Finding {
	allowed := ctx.Env.Env.Policy.Registries
	if len(allowed) == 0 {
		return nil
	}
	var fs []Finding
	for _, u := range imageUses(ctx) {
		ok := false
		for _, a := range allowed {
			a = strings.TrimSuffix(a, "/")
			if u.img.Repository == a || strings.HasPrefix(u.img.Repository, a+"/") || Registry(u.img.Repository) == a {
				ok = true
			}
		}
		if !ok {
			fs = append(fs, Finding{Pos: u.img.Pos, Target: u.target,
				Message: fmt.Sprintf("%s: image %s is not from an allowed registry (%s)", u.what, u.img.Ref, strings.Join(allowed, ", "))})
		}
	}
	return fs
}
