package diff

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// lcs is the length of a longest common subsequence, by dynamic
// programming: the edit script must keep exactly that many lines.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkScript verifies that script turns a into b and is a shortest one.
func checkScript(t *testing.T, a, b []string) {
	t.Helper()
	script := editScript(a, b)
	var gotA, gotB []string
	keep := 0
	ia, ib := 0, 0
	for _, e := range script {
		switch e.op {
		case opKeep:
			if e.a != ia || e.b != ib || a[e.a] != b[e.b] {
				t.Fatalf("a=%q b=%q: bad keep %+v at a%d b%d", a, b, e, ia, ib)
			}
			gotA, gotB = append(gotA, a[e.a]), append(gotB, b[e.b])
			keep++
			ia++
			ib++
		case opDelete:
			if e.a != ia {
				t.Fatalf("a=%q b=%q: bad delete %+v at a%d", a, b, e, ia)
			}
			gotA = append(gotA, a[e.a])
			ia++
		case opInsert:
			if e.b != ib {
				t.Fatalf("a=%q b=%q: bad insert %+v at b%d", a, b, e, ib)
			}
			gotB = append(gotB, b[e.b])
			ib++
		}
	}
	if !slices.Equal(gotA, a) || !slices.Equal(gotB, b) {
		t.Fatalf("a=%q b=%q: script does not cover both sides", a, b)
	}
	if want := lcs(a, b); keep != want {
		t.Fatalf("a=%q b=%q: script keeps %d lines, a longest common subsequence has %d", a, b, keep, want)
	}
}

func TestEditScriptIsShortest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(n, alphabet int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = string(rune('a' + r.IntN(alphabet)))
		}
		return s
	}
	for range 20000 {
		alphabet := 1 + r.IntN(5)
		checkScript(t, gen(r.IntN(25), alphabet), gen(r.IntN(25), alphabet))
	}
	// Edits of a long text, as objects change.
	for range 200 {
		a := gen(300, 20)
		b := slices.Clone(a)
		for range r.IntN(30) {
			i := r.IntN(len(b) + 1)
			switch r.IntN(3) {
			case 0:
				b = slices.Insert(b, i, "x")
			case 1:
				if i < len(b) {
					b = slices.Delete(b, i, i+1)
				}
			default:
				if i < len(b) {
					b[i] = "y"
				}
			}
		}
		checkScript(t, a, b)
	}
}

func TestEditScriptLargeRewrite(t *testing.T) {
	// All but one line differ: D ≈ N+M, which the quadratic-memory form
	// of Myers' algorithm could not afford.
	const n = 5000
	a, b := make([]string, n), make([]string, n)
	for i := range a {
		a[i], b[i] = "old "+strings.Repeat("x", i%7), "new "+strings.Repeat("y", i%5)
	}
	a[n/2], b[n/3] = "same", "same"
	script := editScript(a, b)
	if len(script) != 2*n-1 {
		t.Fatalf("got %d edits, want %d", len(script), 2*n-1)
	}
}

func TestUnified(t *testing.T) {
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, " ")
	}
	tests := []struct {
		name string
		a, b string
		want []string
	}{
		{"equal", "a b c", "a b c", nil},
		{"one line changed in the middle",
			"1 2 3 4 5 6 7 8 9", "1 2 3 4 X 6 7 8 9",
			[]string{"@@ -2,7 +2,7 @@", " 2", " 3", " 4", "-5", "+X", " 6", " 7", " 8"}},
		{"insertion at the start",
			"1 2 3 4 5", "0 1 2 3 4 5",
			[]string{"@@ -1,3 +1,4 @@", "+0", " 1", " 2", " 3"}},
		{"from nothing", "", "1 2",
			[]string{"@@ -0,0 +1,2 @@", "+1", "+2"}},
		{"to one line", "1 2", "2",
			[]string{"@@ -1,2 +1 @@", "-1", " 2"}},
		{"deletion at the end",
			"1 2 3 4 5", "1 2 3 4",
			[]string{"@@ -2,4 +2,3 @@", " 2", " 3", " 4", "-5"}},
		{"changes within six lines share a hunk",
			"1 2 3 4 5 6 7 8 9 10", "X 2 3 4 5 6 7 Y 9 10",
			[]string{"@@ -1,10 +1,10 @@", "-1", "+X", " 2", " 3", " 4", " 5", " 6", " 7", "-8", "+Y", " 9", " 10"}},
		{"changes seven lines apart get two hunks",
			"1 2 3 4 5 6 7 8 9 10 11", "X 2 3 4 5 6 7 8 Y 10 11",
			[]string{"@@ -1,4 +1,4 @@", "-1", "+X", " 2", " 3", " 4", "@@ -6,6 +6,6 @@", " 6", " 7", " 8", "-9", "+Y", " 10", " 11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified(lines(tt.a), lines(tt.b))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
