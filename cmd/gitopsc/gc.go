package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// startHeap is how large the heap may grow before the first garbage
// collection.
const startHeap = 192 << 20

// tuneGC lets the heap grow to startHeap before the first collection, then
// goes back to the default pace, as the Go compiler does (see
// AdjustStartingHeap in cmd/compile). A build allocates several times its
// live heap, most of it in CUE evaluation, and exits soon after; at the
// default pace, collections of a heap still small took a third of its CPU.
// A GOGC or GOMEMLIMIT set by the user is left alone.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(startHeap)
	// The finalizer runs after the first collection: the one the limit
	// triggered.
	// (A sentinel of pointers: the tiny allocator batches small
	// pointer-free objects, whose finalizers may never run.)
	runtime.SetFinalizer(new(sentinel), func(*sentinel) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

type sentinel struct{ _ [4]*int }
