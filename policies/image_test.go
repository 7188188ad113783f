package policies_test

import (
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/policies"
)

// The renderer pins every image by its locked digest; IMG002 catches a
// rendered container, init containers included, whose digest went missing.
func TestImagesPinnedRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	p := podSpec(t, r, "web")
	for _, c := range []*string{&p.InitContainers[0].Image, &p.Containers[0].Image} {
		*c, _, _ = strings.Cut(*c, "@")
	}
	sameLines(t, only("IMG002", s.check(r, policies.Options{})), []string{
		s.at(t, "web: {", 1) + ": error IMG002: container migrate: image registry.example.com/web-migrate:1.0.0 is not pinned by digest",
		s.at(t, "web: {", 1) + ": error IMG002: container web: image registry.example.com/web:1.0.0 is not pinned by digest",
	})
}

// An untagged image never reaches the rules from the command line (the
// render cannot pin it and stops with an input error); IMG001 still
// reports one, at the image line, when handed such a component.
func TestUntaggedImageRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	for _, c := range r.Resolved.System.Components {
		if c.Name == "worker" {
			c.Image.Ref, c.Image.Tag = c.Image.Repository, ""
		}
	}
	sameLines(t, only("IMG001", s.check(r, policies.Options{})), []string{
		s.at(t, `image:     "registry.example.com/worker:1.0.0"`, 1) + ": error IMG001: container worker: image registry.example.com/worker has no tag",
	})
}
