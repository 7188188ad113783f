package composefile

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// required matches how the compose file reads a variable that must be
// set: ${NAME:?message}.
var required = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):\?`)

// Load reads a rendered compose file with the Compose specification's
// own loader, as docker compose reads it when every variable it requires
// is set (to a stand-in of its own name: no value is needed to check the
// file): with no profile on, as "docker compose up" reads it, and then
// with every profile on, whose project it returns. An error is what
// docker compose would refuse.
func Load(file string) (*types.Project, error) {
	if _, err := load(file, nil); err != nil {
		return nil, err
	}
	return load(file, []string{"*"})
}

func load(file string, profiles []string) (*types.Project, error) {
	content, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	env := types.Mapping{}
	for _, m := range required.FindAllSubmatch(content, -1) {
		env[string(m[1])] = "stand-in-for-" + string(m[1])
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	logrus.SetOutput(io.Discard)
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: content}},
		Environment: env,
	}, func(o *loader.Options) {
		o.Profiles = profiles
	})
}
