package images

import (
	"fmt"
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
		case l.Digest != c.Digest || !slices.Equal(sortedCopy(l.Platforms), sortedCopy(c.Platforms)) || len(usersMoved(l, c)) > 0:
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
	if d.Locked.Digest == d.Current.Digest && lp == cp {
		// The digest fixes each config, so only an edited lock gets here.
		var moved []string
		for _, p := range usersMoved(*d.Locked, *d.Current) {
			moved = append(moved, fmt.Sprintf("%s user locked %q, now %q", p, d.Locked.Users[p], d.Current.Users[p]))
		}
		b.WriteString(strings.Join(moved, "; "))
	}
	return b.String()
}

// usersMoved lists, sorted, the platforms whose user both entries record
// and differ on. A lock written before users were recorded has none, and
// has not drifted for that.
func usersMoved(locked, current Entry) []string {
	var out []string
	for p, lu := range locked.Users {
		if cu, ok := current.Users[p]; ok && cu != lu {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
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
