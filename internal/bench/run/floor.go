package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/gitopsc/gitopsc/compiler/emit"
)

// writeFloor measures the file system's floor under a fresh build: the
// median time to create the files of tree (a folder a build wrote) anew,
// with the same bytes and folders, by as many workers as CPUs, each file
// written as gitopsc writes it (emit.CreateFile: plain system calls) and
// nothing else done. No build that writes one object
// per file can be faster than this on the machine. Each run writes into a
// folder never used before (see run), returned for clean-up.
func writeFloor(tree, scratchPrefix string, runs int) (time.Duration, int, []string, error) {
	type file struct {
		rel  string
		data []byte
	}
	byDir := map[string][]file{}
	n := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		byDir[filepath.Dir(rel)] = append(byDir[filepath.Dir(rel)], file{rel, b})
		n++
		return nil
	})
	if err != nil {
		return 0, 0, nil, err
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var walls []time.Duration
	var scratch []string
	for i := -1; i < runs; i++ {
		root := fmt.Sprintf("%s.floor-%d-%d", scratchPrefix, os.Getpid(), i+1)
		scratch = append(scratch, root)
		syscall.Sync() // as in measure
		start := time.Now()
		next := make(chan string)
		errs := make(chan error, len(dirs))
		var wg sync.WaitGroup
		for w := 0; w < runtime.NumCPU(); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range next {
					if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
						errs <- err
						continue
					}
					for _, f := range byDir[d] {
						if err := emit.CreateFile(filepath.Join(root, f.rel), f.data); err != nil {
							errs <- err
						}
					}
				}
			}()
		}
		for _, d := range dirs {
			next <- d
		}
		close(next)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return 0, 0, scratch, err
		}
		if i >= 0 {
			walls = append(walls, time.Since(start))
		}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	return walls[len(walls)/2], n, scratch, nil
}
