// Command synthgen writes a synthetic gitopsc input for benchmarks:
// synthgen -n COMPONENTS -e ENVIRONMENTS [-seed S] DIR.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gitopsc/gitopsc/internal/synth"
)

func main() {
	n := flag.Int("n", 1000, "components")
	e := flag.Int("e", 3, "environments")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: synthgen [-n N] [-e E] [-seed S] DIR")
		os.Exit(2)
	}
	if err := synth.Write(flag.Arg(0), *n, *e, *seed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
