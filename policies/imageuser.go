package policies

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/compiler/images"
)

// imageUserRule is POD010, listed with the other security rules.
var imageUserRule = &Rule{
	ID: "POD010", Family: "security", Severity: Error,
	Title: "pods name a runAsUser unless the image runs as a numeric non-root user",
	Rationale: `With runAsNonRoot set and no runAsUser, the kubelet decides from the
image's own user, as its config names it, and refuses to start a container
whose image runs as root ("container has runAsNonRoot and image will run
as root": the config names no user, or user 0) or names its user by name,
which it cannot check ("image has non-numeric user"). The pod is admitted
and then never starts. images lock records each platform's user; a
component whose image runs so must name the numeric user id it runs as in
security.runAsUser (the id of the image's own non-root user, such as 999
for the official mysql and redis images). A lock written before users were
recorded says nothing of them, and neither does this rule.`,
	Check: checkImageUser,
}

// imageUser is how the kubelet reads an image's user under runAsNonRoot.
type imageUser int

const (
	userNumeric    imageUser = iota // a uid other than 0: accepted
	userRoot                        // no user, or uid 0
	userNonNumeric                  // a name the kubelet cannot check
)

// classifyImageUser reads a user as the kubelet does: the part before ":"
// is a uid when numeric, else a name; no user runs as root. The name
// "root" is root too, though the kubelet refuses it as a name.
func classifyImageUser(u string) imageUser {
	name, _, _ := strings.Cut(u, ":")
	if name == "" || name == "root" {
		return userRoot
	}
	uid, err := strconv.ParseInt(name, 10, 64)
	switch {
	case err != nil:
		return userNonNumeric
	case uid == 0:
		return userRoot
	}
	return userNumeric
}

func checkImageUser(ctx *Context) []Finding {
	if ctx.Facts == nil {
		return nil
	}
	var fs []Finding
	for _, w := range workloads(ctx) {
		want := requiredPlatforms(ctx.Env.Env, w.Component)
		spec := &w.Template.Spec
		for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for i := range list {
				c := &list[i]
				if nonRoot := runAsNonRoot(spec, c); nonRoot == nil || !*nonRoot || runAsUser(spec, c) != nil {
					continue // the kubelet does not ask the image
				}
				ref, _, _ := strings.Cut(c.Image, "@")
				e, ok := ctx.Facts.Lookup(ref)
				if !ok {
					continue // IMG005 reports images missing from the lock
				}
				for _, why := range refusedUsers(e, want) {
					fs = append(fs, Finding{Pos: securityPos(w), Target: w.target(), Object: w.object(),
						Message: fmt.Sprintf("container %s: image %s %s", c.Name, ref, why)})
				}
			}
		}
	}
	return fs
}

// refusedUsers says, once per user, why the kubelet would refuse the
// image's user on the platforms the cluster runs (every published one
// when it names none); the platforms are named when the image runs as
// another user on some. Platforms without a recorded user say nothing.
func refusedUsers(e images.Entry, want []string) []string {
	users := map[string]string{} // published platform -> user
	if len(want) == 0 {
		for _, p := range e.Platforms {
			if u, ok := e.Users[p]; ok {
				users[p] = u
			}
		}
	}
	for _, p := range want {
		for pp, u := range e.UsersOn(p) {
			users[pp] = u
		}
	}
	byUser := map[string][]string{}
	for p, u := range users {
		byUser[u] = append(byUser[u], p)
	}
	var out []string
	for u, plats := range byUser {
		kind := classifyImageUser(u)
		if kind == userNumeric {
			continue
		}
		on := ""
		if len(byUser) > 1 {
			sort.Strings(plats)
			on = " on " + strings.Join(plats, ", ")
		}
		// The kubelet's own words: a name, "root" too, is one it cannot
		// check; no user or uid 0 is root.
		refusal := "image has non-numeric user"
		if name, _, _ := strings.Cut(u, ":"); name != "root" && kind == userRoot {
			refusal = "container has runAsNonRoot and image will run as root"
		}
		var why string
		switch {
		case kind == userRoot && u == "":
			why = "runs as root" + on + " (its config names no user)"
		case kind == userRoot:
			why = fmt.Sprintf("runs as root%s (user %q)", on, u)
		default:
			why = fmt.Sprintf("runs as user %q%s, a name the kubelet cannot check", u, on)
		}
		fix := "give it a non-root user id"
		if kind == userNonNumeric {
			fix = "give it that user's numeric id"
		}
		why += fmt.Sprintf(": with runAsNonRoot and no runAsUser the kubelet refuses to start it (%q); %s, such as security: runAsUser: 999", refusal, fix)
		out = append(out, why)
	}
	sort.Strings(out)
	return out
}
