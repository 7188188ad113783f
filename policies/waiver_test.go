package policies_test

import (
	"testing"
	"time"

	"github.com/gitopsc/gitopsc/policies"
)

// A waiver holds through the day it names and fails the day after; the
// testscripts cannot move the clock, so the boundary is pinned here.
func TestWaiverExpiresAfterItsDay(t *testing.T) {
	s := loadSystem(t, `package demo

system: {
	name: "demo"
	namespaces: apps: {}
	components: {}
	secrets: {}
}
environments: local: {
	cluster: {distribution: "k3s", arch: ["amd64"]}
	policy: waivers: [{rule: "QUOTA004", target: "namespace/apps", reason: "sizing it", expires: "2030-06-15"}]
}
`)
	r := s.compile(t, "local")
	ns, waiver := s.at(t, "apps: {}", 1), s.at(t, "{rule:", 1)
	day := func(d int) policies.Options {
		return policies.Options{Today: time.Date(2030, 6, d, 23, 59, 0, 0, time.UTC)}
	}
	sameLines(t, s.check(r, day(15)), []string{
		ns + ": waived warning QUOTA004: namespace apps has no quota",
	})
	sameLines(t, s.check(r, day(16)), []string{
		ns + ": warning QUOTA004: namespace apps has no quota",
		waiver + ": error WAIVER001: waiver of QUOTA004 for namespace/apps expired on 2030-06-15; renew it with a new date or fix the finding",
	})
	// --strict refuses the waiver, and fails on the warning it leaves.
	strict := day(15)
	strict.Strict = true
	fs := policies.Check(r.Resolved, r.Output, anyImage{}, strict)
	if len(fs) != 1 || fs[0].Waiver != "" || !policies.Failed(fs, true) {
		t.Errorf("under --strict: %+v", fs)
	}
}
