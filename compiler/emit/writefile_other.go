//go:build !unix

package emit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
)

// CreateFile writes a new file.
func CreateFile(path string, b []byte) error {
	return os.WriteFile(path, b, 0o644)
}

func fileHolds(path string, want []byte) (exists, same bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, bytes.Equal(b, want), nil
}
