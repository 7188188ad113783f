package reach

import (
	"iter"
	"math/bits"
	"slices"
)

// bitset is a set of workload indices.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

// fullBitset returns the set of 0..n-1.
func fullBitset(n int) bitset {
	b := newBitset(n)
	for i := range b {
		b[i] = ^uint64(0)
	}
	if r := n % 64; r != 0 {
		b[len(b)-1] = 1<<r - 1
	}
	return b
}

func (b bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }

func (b bitset) or(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}

func (b bitset) and(c bitset) {
	for i := range b {
		b[i] &= c[i]
	}
}

func (b bitset) clone() bitset { return append(bitset(nil), b...) }

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

func (b bitset) equal(c bitset) bool {
	for i := range b {
		if b[i] != c[i] {
			return false
		}
	}
	return true
}

// all yields the members in increasing order.
func (b bitset) all() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i, w := range b {
			for w != 0 {
				if !yield(i<<6 + bits.TrailingZeros64(w)) {
					return
				}
				w &= w - 1
			}
		}
	}
}

// set is a read-only set of workload indices, kept as a sorted list while
// it is small and as a bitset once that is smaller. A rendered system's
// peers and selected sets mostly hold one workload each: a bitset apiece
// would make the analysis grow with the square of the workloads.
type set struct {
	// dense, when not nil, holds the members; list is then unused.
	dense bitset
	list  []int32
	size  int
}

// A set of k of n workloads is a bitset when k×denseFrom > n: a list
// spends 32 bits on a member, a bitset one bit on every workload. A
// variable so that the tests run the analysis on either form.
var denseFrom = 32

// makeSet returns the set of the members, given in increasing order, of
// 0..n-1.
func makeSet(n int, members []int32) set {
	if len(members)*denseFrom <= n {
		return set{list: members, size: len(members)}
	}
	b := newBitset(n)
	for _, m := range members {
		b.set(int(m))
	}
	return set{dense: b, size: len(members)}
}

func fullSet(n int) set { return set{dense: fullBitset(n), size: n} }

func (s set) len() int { return s.size }

func (s set) has(i int) bool {
	if s.dense != nil {
		return s.dense.has(i)
	}
	_, ok := slices.BinarySearch(s.list, int32(i))
	return ok
}

// addTo adds the members to b.
func (s set) addTo(b bitset) {
	if s.dense != nil {
		b.or(s.dense)
		return
	}
	for _, m := range s.list {
		b.set(int(m))
	}
}

// all yields the members in increasing order.
func (s set) all() iter.Seq[int] {
	if s.dense != nil {
		return s.dense.all()
	}
	return func(yield func(int) bool) {
		for _, m := range s.list {
			if !yield(int(m)) {
				return
			}
		}
	}
}

// union returns the set of the members of any of sets, of 0..n-1.
func union(n int, sets []set) set {
	total := 0
	for _, s := range sets {
		total += s.len()
	}
	if total*denseFrom > n {
		b := newBitset(n)
		for _, s := range sets {
			s.addTo(b)
		}
		size := 0
		for _, w := range b {
			size += bits.OnesCount64(w)
		}
		return set{dense: b, size: size}
	}
	members := make([]int32, 0, total)
	for _, s := range sets {
		for m := range s.all() {
			members = append(members, int32(m))
		}
	}
	slices.Sort(members)
	return makeSet(n, slices.Compact(members))
}
