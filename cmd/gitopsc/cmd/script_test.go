package cmd

import (
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden sections of testscripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gitopsc": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the testscripts under testdata/script. Run with
// -update to rewrite their golden sections.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("../../../testdata/script"))
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
	}
}
