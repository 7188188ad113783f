package images

import (
	"slices"
	"sort"
	"strings"
)

// Drift is one difference between a lock and what the images are now.
type Drift struct {
	Ref     string
	Locked  *Entry // nil when the reference is missing from the lock
	Current *Entry // nil when the lock holds a reference no longer used
}

// Compare lists how locked differs from current, sorted by reference.
func Compare(locked, current *Lock) []Drift {
	var out []Drift
	for ref, c := range current.Entries {
		l, ok := locked.Entries[ref]
		switch {
		case !ok:
			out = append(out, Drift{Ref: ref, Current: &c})
		case l.Digest != c.Digest || !slices.Equal(sortedCopy(l.Platforms), sortedCopy(c.Platforms)):
			out = append(out, Drift{Ref: ref, Locked: &l, Current: &c})
		}
	}
	for ref, l := range locked.Entries {
		if _, ok := current.Entries[ref]; !ok {
			out = append(out, Drift{Ref: ref, Locked: &l})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// String describes the drift in one line that starts with the reference.
func (d Drift) String() string {
	switch {
	case d.Locked == nil:
		return d.Ref + ": not in the lock (now " + d.Current.Digest + ")"
	case d.Current == nil:
		return d.Ref + ": locked but no longer used by any environment"
	}
	lp, cp := platformList(d.Locked.Platforms), platformList(d.Current.Platforms)
	var b strings.Builder
	b.WriteString(d.Ref + ": ")
	if d.Locked.Digest != d.Current.Digest {
		b.WriteString("locked " + d.Locked.Digest + ", now " + d.Current.Digest)
		if lp != cp {
			b.WriteString("; ")
		}
	}
	if lp != cp {
		b.WriteString("platforms locked " + lp + ", now " + cp)
	}
	return b.String()
}

func platformList(p []string) string {
	if len(p) == 0 {
		return "(none)"
	}
	return strings.Join(sortedCopy(p), " ")
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
