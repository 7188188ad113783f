package emit

import (
	"bytes"
	"fmt"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// composeSections are the top-level entries of a compose file, by the
// kind of the objects they hold.
var composeSections = map[string]string{
	composefile.KindService: "services",
	composefile.KindNetwork: "networks",
	composefile.KindVolume:  "volumes",
	composefile.KindSecret:  "secrets",
	composefile.KindConfig:  "configs",
}

// BuildCompose writes a Compose environment's tree: compose.yaml with
// every entry, each config's file under files/ with its content alone,
// and the manifest of written files.
func BuildCompose(out *render.Output, source string) (*Tree, error) {
	t := &Tree{Env: out.Env.Env.Name}
	doc := map[string]any{}
	for _, o := range out.Objects {
		if o.Kind == composefile.KindFile {
			t.Files = append(t.Files, File{Path: o.Name, Content: []byte(o.Obj.(*composefile.File).Content)})
			continue
		}
		section, ok := composeSections[o.Kind]
		if !ok {
			return nil, fmt.Errorf("compose: %s %s is not an entry of a compose file", o.Kind, o.Name)
		}
		m, _ := doc[section].(map[string]any)
		if m == nil {
			m = map[string]any{}
			doc[section] = m
		}
		m[o.Name] = o.Obj
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, Header, source)
	b.WriteString("# Run it with: docker compose -f THIS_FILE up -d (gitopsc build lists what it needs).\n")
	fmt.Fprintf(&b, "name: %s\n", out.Env.System.Name)
	if _, err := writeYAML(&b, doc); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	t.Files = append(t.Files, File{Path: composefile.FileName, Content: b.Bytes()})
	withManifest(t)
	return t, nil
}
