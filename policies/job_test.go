package policies

import (
	"testing"
	"time"
)

func TestShortestInterval(t *testing.T) {
	for _, tc := range []struct {
		schedule, tz string
		want         time.Duration
	}{
		{"*/15 * * * *", "", 15 * time.Minute},
		{"* * * * *", "Europe/Berlin", time.Minute},
		{"@daily", "", 24 * time.Hour},
		{"@hourly", "America/New_York", time.Hour},
		{"@every 90m", "", 90 * time.Minute},
		{"0 9,17 * * 1-5", "", 8 * time.Hour},
		{"0 0,23 * * *", "", time.Hour},
		// Spring forward: 01:00 EST and 03:00 EDT are an hour apart.
		{"0 1,3 * * *", "", 2 * time.Hour},
		{"0 1,3 * * *", "America/New_York", time.Hour},
		// Fall back: 01:30 comes twice, an hour apart.
		{"30 1 * * *", "America/New_York", time.Hour},
		{"30 1 * * *", "", 24 * time.Hour},
		{"0 0 1 * *", "", 28 * 24 * time.Hour},
		{"0 0 29 2 *", "", 365 * 24 * time.Hour},
		// Day of month and day of week both restricted: either fires.
		{"0 0 13 * 5", "", 24 * time.Hour},
	} {
		got, err := ShortestInterval(tc.schedule, tc.tz)
		if err != nil || got != tc.want {
			t.Errorf("ShortestInterval(%q, %q) = %v, %v; want %v", tc.schedule, tc.tz, got, err, tc.want)
		}
	}
}

func BenchmarkShortestInterval(b *testing.B) {
	for b.Loop() {
		shortestInterval("*/2 * * * *", "America/New_York")
	}
}
