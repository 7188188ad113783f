//go:build !unix

package emit

import "os"

func createFile(path string, b []byte) error {
	return os.WriteFile(path, b, 0o644)
}
