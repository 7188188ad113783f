// Command gitopsc compiles a CUE description of a system into Flux-ready
// Kubernetes manifests, one tree per environment.
package main

import (
	"os"

	"github.com/gitopsc/gitopsc/cmd/gitopsc/cmd"
)

func main() {
	tuneGC()
	os.Exit(cmd.Main())
}
