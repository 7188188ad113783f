// Package schema holds the CUE definitions every gitopsc input is unified
// with. They are embedded so the binary needs nothing beside it.
package schema

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed *.cue
var files embed.FS

// File is one schema source file.
type File struct {
	Name   string // "schema/component.cue": the name positions show
	Source []byte
}

// Files returns the schema sources in name order.
func Files() []File {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	var out []File
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, File{Name: "schema/" + e.Name(), Source: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
