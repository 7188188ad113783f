package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// The heap may grow to startHeap before the first collection; after it,
// the default pace is back.
func TestTuneGCUntilFirstCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	tuneGC()
	if got := debug.SetMemoryLimit(-1); got != startHeap {
		t.Fatalf("memory limit after tuneGC = %d, want %d", got, startHeap)
	}
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) != math.MaxInt64 {
		if time.Now().After(deadline) {
			t.Fatal("the default pace did not come back after a collection")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if old := debug.SetGCPercent(100); old != 100 {
		t.Errorf("GC percent after the first collection = %d, want 100", old)
	}
}

// A pace the user set is left alone.
func TestTuneGCLeavesUserSettings(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "200")
			before := debug.SetMemoryLimit(-1)
			tuneGC()
			if got := debug.SetMemoryLimit(-1); got != before {
				t.Errorf("memory limit = %d, want %d left alone", got, before)
			}
		})
	}
}
