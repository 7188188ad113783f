package composefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitopsc/gitopsc/compiler/composefile"
)

// The shipped Compose environment's committed output loads with
// compose-go, the Compose specification's own loader.
func TestShippedComposeLoads(t *testing.T) {
	file := filepath.Join("..", "..", "out", "compose", composefile.FileName)
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the shipped output has no compose environment: %v", err)
	}
	p, err := composefile.Load(file)
	if err != nil {
		t.Fatalf("compose-go refuses %s: %v", file, err)
	}
	if len(p.Services) == 0 {
		t.Fatalf("%s: no services", file)
	}
	for name, s := range p.Services {
		if s.Image == "" {
			t.Errorf("service %s has no image", name)
		}
	}
}
