//go:build !linux && !darwin

package emit

import (
	"errors"
	"os"
)

// exchange swaps the folders a and b. This system has no atomic exchange,
// so b is moved aside and a into its place; if that second move fails, b
// is moved back.
func exchange(a, b string) error {
	aside := a + asideSuffix
	if err := os.Rename(b, aside); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		return errors.Join(err, os.Rename(aside, b))
	}
	return os.Rename(aside, a)
}
