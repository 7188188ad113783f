package policies_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/policies"
)

// The schema makes every container state its resources, so QUOTA001 only
// catches a rendered container that lost them.
func TestContainerResourcesRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	p := podSpec(t, r, "web")
	p.InitContainers[0].Resources.Limits = nil
	delete(p.Containers[0].Resources.Requests, corev1.ResourceMemory)
	sameLines(t, only("QUOTA001", s.check(r, policies.Options{})), []string{
		s.at(t, "web: {", 1) + ": error QUOTA001: container migrate sets no limits.cpu, limits.memory",
		s.at(t, "web: {", 1) + ": error QUOTA001: container web sets no requests.memory",
	})
}
