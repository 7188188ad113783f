//go:build unix

package emit

import (
	"bytes"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// CreateFile writes a new file with plain system calls. os.WriteFile also
// registers each file with the runtime's poller and queries its flags,
// which more than doubles the system calls of a build that writes tens of
// thousands of small files.
func CreateFile(path string, b []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		b = b[n:]
	}
	if err := unix.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: path, Err: err}
	}
	return nil
}

// readBufs holds the buffers fileHolds reads into.
var readBufs = sync.Pool{New: func() any { return new([]byte) }}

// fileHolds reports whether the file at path exists and holds exactly
// want. Like CreateFile it uses plain system calls, and it reads into a
// reused buffer: a no-op rebuild reads every file of the tree.
func fileHolds(path string, want []byte) (exists, same bool, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return false, false, nil
	}
	if err != nil {
		return false, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	// One byte more than want tells a longer file from an equal one.
	if cap(*bp) < len(want)+1 {
		*bp = make([]byte, len(want)+1+len(want)/4)
	}
	buf := (*bp)[:len(want)+1]
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true, false, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return true, n == len(want) && bytes.Equal(buf[:n], want), nil
}
