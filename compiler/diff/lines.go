package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Context is the number of unchanged lines shown around each change.
const Context = 3

// op is one step of an edit script: keep a line of both, delete a line of
// a, or insert a line of b.
type op byte

const (
	opKeep   op = ' '
	opDelete op = '-'
	opInsert op = '+'
)

// rank orders deletions before insertions.
func rank(o op) int {
	if o == opInsert {
		return 1
	}
	return 0
}

type edit struct {
	op op
	// a and b are the line indexes in a and b the edit stands at: the
	// line kept, deleted or inserted, and on the other side the next line.
	a, b int
}

// editScript returns a shortest edit script turning a into b: Myers'
// O((N+M)·D) algorithm in its linear-space form, which finds the middle
// snake of the edit graph from both ends and recurses on the two halves,
// so that a large object rewritten whole costs O(N+M) memory, not O(D²).
func editScript(a, b []string) []edit {
	// Compare integers, not strings: each distinct line gets a number.
	ids := map[string]int{}
	number := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	m := &myers{a: number(a), b: number(b)}
	m.path(0, 0, len(a), len(b))
	// Between two kept lines, show what goes before what comes.
	s := m.script
	for i := 0; i < len(s); {
		if s[i].op == opKeep {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j].op != opKeep {
			j++
		}
		slices.SortStableFunc(s[i:j], func(x, y edit) int { return cmp.Compare(rank(x.op), rank(y.op)) })
		i = j
	}
	// Each edit records where it stands on both sides, for hunk headers.
	var ia, ib int
	for i := range s {
		s[i].a, s[i].b = ia, ib
		if s[i].op != opInsert {
			ia++
		}
		if s[i].op != opDelete {
			ib++
		}
	}
	return s
}

type myers struct {
	a, b   []int
	script []edit
	vf, vb []int // scratch for middleSnake, grown as needed
}

// path appends the edit script of a[x0:x1] to b[y0:y1].
func (m *myers) path(x0, y0, x1, y1 int) {
	// Common prefix and suffix need no search.
	for x0 < x1 && y0 < y1 && m.a[x0] == m.b[y0] {
		m.script = append(m.script, edit{opKeep, x0, y0})
		x0++
		y0++
	}
	var suffix int
	for x1 > x0 && y1 > y0 && m.a[x1-1] == m.b[y1-1] {
		x1--
		y1--
		suffix++
	}
	switch {
	case x0 == x1:
		for y := y0; y < y1; y++ {
			m.script = append(m.script, edit{opInsert, x0, y})
		}
	case y0 == y1:
		for x := x0; x < x1; x++ {
			m.script = append(m.script, edit{opDelete, x, y0})
		}
	default:
		sx0, sy0, sx1, sy1 := m.middleSnake(x0, y0, x1, y1)
		if sx0 == x0 && sy0 == y0 && sx1 == x1 && sy1 == y1 {
			// The snake spans the box, which cannot happen once the common
			// ends are trimmed; guard against recursing forever anyway.
			panic("diff: middle snake spans the box")
		}
		m.path(x0, y0, sx0, sy0)
		for x, y := sx0, sy0; x < sx1; x, y = x+1, y+1 {
			m.script = append(m.script, edit{opKeep, x, y})
		}
		m.path(sx1, sy1, x1, y1)
	}
	for i := range suffix {
		m.script = append(m.script, edit{opKeep, x1 + i, y1 + i})
	}
}

// middleSnake finds the middle snake of an optimal path through the box
// from (x0,y0) to (x1,y1): the diagonal run (possibly empty) that the
// forward search from the top left and the backward search from the
// bottom right meet on, after about D/2 steps each. Both ends of the box
// differ, so D ≥ 1 and the snake splits the box into two smaller ones,
// each with at most half the edits.
func (m *myers) middleSnake(x0, y0, x1, y1 int) (sx0, sy0, sx1, sy1 int) {
	n, mm := x1-x0, y1-y0
	delta := n - mm
	odd := delta&1 != 0
	maxD := (n + mm + 1) / 2
	size := 2*maxD + 3
	if cap(m.vf) < size {
		m.vf, m.vb = make([]int, size), make([]int, size)
	}
	vf, vb := m.vf[:size], m.vb[:size]
	off := maxD + 1
	// vf[off+k]: furthest x (relative to x0) on diagonal k = x - y going
	// forward; vb[off+c]: smallest x (relative to x0) on diagonal
	// c = k - delta going backward from (n, mm).
	vf[off+1] = 0
	vb[off-1] = n
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && vf[off+k-1] < vf[off+k+1] {
				x = vf[off+k+1] // down: an insertion
			} else {
				x = vf[off+k-1] + 1 // right: a deletion
			}
			y := x - k
			sx, sy := x, y
			for x < n && y < mm && m.a[x0+x] == m.b[y0+y] {
				x++
				y++
			}
			vf[off+k] = x
			if c := k - delta; odd && c >= -(d-1) && c <= d-1 && x <= n && y <= mm && x >= vb[off+c] {
				return x0 + sx, y0 + sy, x0 + x, y0 + y
			}
		}
		for c := -d; c <= d; c += 2 {
			var x int
			if c == d || c != -d && vb[off+c-1] < vb[off+c+1] {
				x = vb[off+c-1] // up: an insertion, seen backward
			} else {
				x = vb[off+c+1] - 1 // left: a deletion, seen backward
			}
			k := c + delta
			y := x - k
			ex, ey := x, y
			for x > 0 && y > 0 && m.a[x0+x-1] == m.b[y0+y-1] {
				x--
				y--
			}
			vb[off+c] = x
			if !odd && k >= -d && k <= d && x >= 0 && y >= 0 && x <= vf[off+k] {
				return x0 + x, y0 + y, x0 + ex, y0 + ey
			}
		}
	}
	panic("diff: no middle snake")
}

// Unified returns the changes from a to b as unified diff hunks ("@@ -l,n
// +l,n @@" headers, then lines prefixed with ' ', '-' or '+'), with
// Context lines of context; nil when a and b are equal.
func Unified(a, b []string) []string {
	script := editScript(a, b)
	var out []string
	for i := 0; i < len(script); {
		// Find the next change.
		for i < len(script) && script[i].op == opKeep {
			i++
		}
		if i == len(script) {
			break
		}
		start := max(i-Context, 0)
		// Extend the hunk while the next change is within 2·Context
		// unchanged lines.
		end := i
		for end < len(script) {
			for end < len(script) && script[end].op != opKeep {
				end++
			}
			keep := end
			for keep < len(script) && script[keep].op == opKeep {
				keep++
			}
			if keep == len(script) || keep-end > 2*Context {
				end = min(end+Context, len(script))
				break
			}
			end = keep
		}
		out = append(out, hunkHeader(script[start:end]))
		for _, e := range script[start:end] {
			switch e.op {
			case opKeep:
				out = append(out, " "+a[e.a])
			case opDelete:
				out = append(out, "-"+a[e.a])
			case opInsert:
				out = append(out, "+"+b[e.b])
			}
		}
		i = end
	}
	return out
}

// hunkHeader is "@@ -start,count +start,count @@", lines counted from 1;
// a count of one is left out, and an empty side starts at the line before.
func hunkHeader(h []edit) string {
	var na, nb int
	for _, e := range h {
		if e.op != opInsert {
			na++
		}
		if e.op != opDelete {
			nb++
		}
	}
	return fmt.Sprintf("@@ -%s +%s @@", hunkRange(h[0].a, na), hunkRange(h[0].b, nb))
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines splits YAML into lines without the final newline's empty one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
