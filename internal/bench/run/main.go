// Command run is "make bench": whole-process figures of gitopsc build and
// vet — median wall time and peak RSS over several runs — for the shipped
// system and synthetic systems of 1,000 and 5,000 components in 3
// environments, beside "cue export" of the same CUE package (the
// evaluation floor of any CUE tool), checked against the budgets.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gitopsc/gitopsc/internal/synth"
)

// cueVersion is the cue command compared against: the CUE version gitopsc
// itself is built with.
const cueVersion = "v0.17.1"

type sample struct {
	wall time.Duration
	rss  int64 // bytes
}

type figure struct {
	input, what string
	wall        time.Duration // median
	rss         int64         // median peak
	runs        int
}

func main() {
	runs := flag.Int("runs", 5, "runs per measurement")
	cache := flag.String("cache", ".cache/bench", "folder for the binaries and generated inputs")
	sizes := flag.String("sizes", "1000,5000", "synthetic system sizes")
	flag.Parse()
	if err := run(*runs, *cache, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(runs int, cache, sizes string) error {
	cache, err := filepath.Abs(cache)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	gitopsc := filepath.Join(cache, "gitopsc")
	if out, err := exec.Command("go", "build", "-o", gitopsc, "./cmd/gitopsc").CombinedOutput(); err != nil {
		return fmt.Errorf("build gitopsc: %v\n%s", err, out)
	}
	cue, err := cueBinary(cache)
	if err != nil {
		return err
	}
	inputs := []struct{ name, dir string }{{"shipped", "environments"}}
	for _, s := range strings.Split(sizes, ",") {
		var n int
		fmt.Sscan(s, &n)
		dir := filepath.Join(cache, fmt.Sprintf("synth-%d-3", n))
		if err := synth.Write(dir, n, 3, 1); err != nil {
			return err
		}
		inputs = append(inputs, struct{ name, dir string }{fmt.Sprintf("N=%d,E=3", n), dir})
	}

	var figs []figure
	noop := map[string]bool{}
	settle(cache)
	var scratch []string
	defer func() {
		for _, d := range scratch {
			os.RemoveAll(d)
		}
		touch(filepath.Join(cache, cleanupStamp))
	}()
	for _, in := range inputs {
		fmt.Fprintf(os.Stderr, "measuring %s ...\n", in.name)
		prefix := filepath.Join(cache, "out-"+strings.NewReplacer("=", "", ",", "-").Replace(in.name))
		var out string // the folder of the last fresh build
		// A build into an empty folder writes every file. Each run gets a
		// folder never used before, and nothing is deleted until the end:
		// ext4 makes file creation crawl for minutes after a mass deletion
		// (it skips inodes freed in the last five minutes), which would
		// measure the benchmark's own clean-up rather than gitopsc.
		f, err := measure(runs, func(i int) *exec.Cmd {
			out = fmt.Sprintf("%s.fresh-%d-%d", prefix, os.Getpid(), i+1)
			scratch = append(scratch, out)
			return exec.Command(gitopsc, "build", in.dir, "--out", out)
		})
		if err != nil {
			return fmt.Errorf("%s: build: %w", in.name, err)
		}
		figs = append(figs, figure{in.name, "gitopsc build (empty out)", f.wall, f.rss, runs})
		if in.name == "shipped" {
			// The runs above read the caches of chart rendering and
			// decoding that the warm-up run filled; a first build on a
			// machine, or one in CI without a kept cache, has none.
			f, err := measure(runs, func(i int) *exec.Cmd {
				cmd := exec.Command(gitopsc, "build", in.dir, "--out", fmt.Sprintf("%s.nocache-%d-%d", prefix, os.Getpid(), i+1))
				scratch = append(scratch, cmd.Args[4])
				cmd.Env = append(os.Environ(), "GITOPSC_CACHE=off")
				return cmd
			})
			if err != nil {
				return fmt.Errorf("%s: build without caches: %w", in.name, err)
			}
			figs = append(figs, figure{in.name, "gitopsc build (empty out, GITOPSC_CACHE=off)", f.wall, f.rss, runs})
		}
		// A rebuild of an unchanged input, over the last fresh build,
		// writes nothing.
		before, err := mtimes(out)
		if err != nil {
			return err
		}
		f, err = measure(runs, func(int) *exec.Cmd { return exec.Command(gitopsc, "build", in.dir, "--out", out) })
		if err != nil {
			return fmt.Errorf("%s: rebuild: %w", in.name, err)
		}
		figs = append(figs, figure{in.name, "gitopsc build (no-op)", f.wall, f.rss, runs})
		after, err := mtimes(out)
		if err != nil {
			return err
		}
		noop[in.name] = equalTimes(before, after)
		// The floor under a fresh build: creating the same files, and
		// nothing else.
		wall, files, dirs, err := writeFloor(out, prefix, runs)
		scratch = append(scratch, dirs...)
		if err != nil {
			return fmt.Errorf("%s: file floor: %w", in.name, err)
		}
		figs = append(figs, figure{in.name, fmt.Sprintf("floor: create its %d files, nothing else", files), wall, 0, runs})
		f, err = measure(runs, func(int) *exec.Cmd { return exec.Command(gitopsc, "vet", in.dir) })
		if err != nil {
			return fmt.Errorf("%s: vet: %w", in.name, err)
		}
		figs = append(figs, figure{in.name, "gitopsc vet", f.wall, f.rss, runs})
		cueDir, err := cueInput(in.dir, filepath.Join(cache, "cue-input-"+filepath.Base(prefix)))
		if err != nil {
			return err
		}
		f, err = measure(runs, func(int) *exec.Cmd { return exec.Command(cue, "export", "./"+filepath.Base(cueDir)) }, cueDir)
		if err != nil {
			return fmt.Errorf("%s: cue export: %w", in.name, err)
		}
		figs = append(figs, figure{in.name, "cue export " + cueVersion, f.wall, f.rss, runs})
	}
	// The growth budget compares vet of the two synthetic sizes: measured
	// alternately, the two see the VM at the same speed. The runs above
	// measured them minutes apart, and their ratio moved by half between
	// two runs of the same binary.
	if v1, v5 := find(figs, "N=1000,E=3", "gitopsc vet"), find(figs, "N=5000,E=3", "gitopsc vet"); v1.wall > 0 && v5.wall > 0 {
		fmt.Fprintf(os.Stderr, "measuring vet of N=1000 and N=5000 alternately ...\n")
		dir := func(name string) string {
			for _, in := range inputs {
				if in.name == name {
					return in.dir
				}
			}
			return ""
		}
		alt, err := alternate(runs,
			func() *exec.Cmd { return exec.Command(gitopsc, "vet", dir("N=1000,E=3")) },
			func() *exec.Cmd { return exec.Command(gitopsc, "vet", dir("N=5000,E=3")) })
		if err != nil {
			return fmt.Errorf("vet, alternately: %w", err)
		}
		for k, name := range []string{"N=1000,E=3", "N=5000,E=3"} {
			alt[k].input, alt[k].what = name, alternately
			figs = append(figs, alt[k])
		}
	}
	report(figs, noop)
	if failed := budgets(figs, noop); len(failed) > 0 {
		fmt.Println("\nbudgets missed:")
		for _, f := range failed {
			fmt.Println("  " + f)
		}
		return fmt.Errorf("%d budget(s) missed", len(failed))
	}
	fmt.Println("\nall budgets met")
	return nil
}

// cueInput copies the CUE files of dir into a folder of its own, beside
// one more file that gives each component the host gitopsc fills in
// (load/addresses.go), so that cue export evaluates what gitopsc
// evaluates: without it, an input that reads system.components.NAME.host
// is an undefined field to cue.
func cueInput(dir, to string) (string, error) {
	if err := os.RemoveAll(to); err != nil {
		return "", err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("%s: no CUE files (%v)", dir, err)
	}
	pkg := ""
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if m := packageClause.FindSubmatch(b); m != nil && pkg == "" {
			pkg = string(m[1])
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	hosts := fmt.Sprintf("package %s\n\nsystem: components: [Name=string]: {\n\tnamespace: string\n\thost:      \"\\(Name).\\(namespace).svc.cluster.local\"\n}\n", pkg)
	return to, os.WriteFile(filepath.Join(to, "zz_addresses.cue"), []byte(hosts), 0o644)
}

var packageClause = regexp.MustCompile(`(?m)^package\s+([A-Za-z_][A-Za-z0-9_]*)`)

// cueBinary installs the cue command of cueVersion into the cache once.
func cueBinary(cache string) (string, error) {
	dir := filepath.Join(cache, "cue-"+cueVersion)
	bin := filepath.Join(dir, "cue")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "install", "cuelang.org/go/cmd/cue@"+cueVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("install cue: %v\n%s", err, out)
	}
	return bin, nil
}

// measure runs the command runs times (after one unmeasured warm-up) and
// returns the median wall time and the median peak RSS.
func measure(runs int, mk func(i int) *exec.Cmd, dir ...string) (figure, error) {
	var samples []sample
	for i := -1; i < runs; i++ {
		cmd := mk(i)
		if len(dir) > 0 {
			cmd.Dir = filepath.Dir(dir[0])
		}
		s, err := runOnce(cmd)
		if err != nil {
			return figure{}, err
		}
		if i >= 0 {
			samples = append(samples, s)
		}
	}
	return median(samples), nil
}

// alternate runs each command runs times, one after the other in turn
// (after one unmeasured warm-up round), and returns each one's medians:
// the VM's speed drifts over minutes, and a ratio of two commands is
// fairer measured in the same minutes.
func alternate(runs int, cmds ...func() *exec.Cmd) ([]figure, error) {
	samples := make([][]sample, len(cmds))
	for i := -1; i < runs; i++ {
		for k, mk := range cmds {
			s, err := runOnce(mk())
			if err != nil {
				return nil, err
			}
			if i >= 0 {
				samples[k] = append(samples[k], s)
			}
		}
	}
	figs := make([]figure, len(cmds))
	for k := range cmds {
		figs[k] = median(samples[k])
	}
	return figs, nil
}

// runOnce runs cmd and measures its wall time and peak RSS.
func runOnce(cmd *exec.Cmd) (sample, error) {
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	// Each run starts with no dirty pages: otherwise the kernel
	// writes back earlier runs' files during this one, on the same
	// CPUs, and a run of 5,000 components pays for the one before.
	syscall.Sync()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	wall := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return sample{wall, rss}, nil
}

func median(samples []sample) figure {
	walls := make([]time.Duration, len(samples))
	rsss := make([]int64, len(samples))
	for i, s := range samples {
		walls[i], rsss[i] = s.wall, s.rss
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	sort.Slice(rsss, func(i, j int) bool { return rsss[i] < rsss[j] })
	return figure{wall: walls[len(walls)/2], rss: rsss[len(rsss)/2], runs: len(samples)}
}

func mtimes(dir string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = info.ModTime()
		return nil
	})
	return out, err
}

func equalTimes(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

func find(figs []figure, input, what string) figure {
	for _, f := range figs {
		if f.input == input && strings.HasPrefix(f.what, what) {
			return f
		}
	}
	return figure{}
}

func report(figs []figure, noop map[string]bool) {
	host, _ := os.Hostname()
	fmt.Printf("gitopsc benchmark: %d CPUs (GOMAXPROCS %d), %s/%s, %s, host %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
	fmt.Printf("medians over %d runs each, after one warm-up run\n\n", figs[0].runs)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "input\tcommand\twall (median)\tpeak RSS (median)\tvs cue export\t")
	for _, f := range figs {
		ratio := ""
		if c := find(figs, f.input, "cue export"); c.wall > 0 && !strings.HasPrefix(f.what, "cue") {
			ratio = fmt.Sprintf("%.1f×", float64(f.wall)/float64(c.wall))
		}
		rss := mib(f.rss)
		if f.rss == 0 {
			rss = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", f.input, f.what, f.wall.Round(time.Millisecond), rss, ratio)
	}
	w.Flush()
	fmt.Println()
	for _, in := range []string{"shipped", "N=1000,E=3", "N=5000,E=3"} {
		if _, ok := noop[in]; ok {
			fmt.Printf("no-op rebuild of %s leaves every modification time unchanged: %v\n", in, noop[in])
		}
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// budgets checks the figures against the budgets of the performance
// issue, printing each with its measured value and PASS or FAIL.
func budgets(figs []figure, noop map[string]bool) []string {
	var failed []string
	check := func(ok bool, format string, args ...any) {
		status := "PASS"
		if !ok {
			status = "FAIL"
			failed = append(failed, fmt.Sprintf(format, args...))
		}
		fmt.Printf("%s "+format+"\n", append([]any{status}, args...)...)
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Println("\nbudgets (medians):")
	shipped := find(figs, "shipped", "gitopsc build (empty")
	check(shipped.wall <= 150*time.Millisecond, "shipped build %s ≤ 150ms", ms(shipped.wall))
	k1 := find(figs, "N=1000,E=3", "gitopsc build (empty")
	if k1.wall > 0 {
		c := find(figs, "N=1000,E=3", "cue export")
		fl := find(figs, "N=1000,E=3", "floor")
		// The floor: cue export of the same input, and creating the
		// same files with the same bytes and nothing else.
		floor := c.wall + fl.wall
		check(float64(k1.wall) <= 1.5*float64(floor), "N=1000 build %s ≤ 1.5 × (cue export %s + files %s = %s): %.2f×",
			ms(k1.wall), ms(c.wall), ms(fl.wall), ms(floor), float64(k1.wall)/float64(floor))
		v1 := find(figs, "N=1000,E=3", "gitopsc vet")
		check(v1.wall <= c.wall+100*time.Millisecond, "N=1000 vet %s ≤ cue export %s + 100ms", ms(v1.wall), ms(c.wall))
	}
	if k5 := find(figs, "N=5000,E=3", "gitopsc build (empty"); k5.wall > 0 {
		check(k5.rss < 1<<30, "N=5000 build peak RSS %s < 1 GiB", mib(k5.rss))
		// gitopsc's own stages without the file system: vet runs all
		// but encoding, and writes nothing.
		v1, v5 := find(figs, "N=1000,E=3", alternately), find(figs, "N=5000,E=3", alternately)
		if v1.wall > 0 && v5.wall > 0 {
			check(float64(v5.wall) <= 5.5*float64(v1.wall), "vet (every stage but encoding and files) time grows 1000→5000 %.1f× ≤ 5.5× (%s → %s, alternating runs)",
				float64(v5.wall)/float64(v1.wall), ms(v1.wall), ms(v5.wall))
			check(float64(v5.rss) <= 5.5*float64(v1.rss), "vet peak RSS grows 1000→5000 %.1f× ≤ 5.5×", float64(v5.rss)/float64(v1.rss))
		}
	}
	for _, in := range slices.Sorted(maps.Keys(noop)) {
		check(noop[in], "no-op rebuild of %s writes no file", in)
	}
	return failed
}

// alternately names the figures of vet measured alternating between the
// two synthetic sizes, for the growth budget.
const alternately = "gitopsc vet, alternating with the other size"

// cleanupStamp is touched when a run has deleted its scratch folders.
const cleanupStamp = "last-cleanup"

// settle waits until five minutes have passed since the last run deleted
// its scratch folders: until then ext4 skips the freed inodes when it
// creates files (its "recently deleted" check), and file creation was
// seen ten times slower on the reference machine.
func settle(cache string) {
	st, err := os.Stat(filepath.Join(cache, cleanupStamp))
	if err != nil {
		return
	}
	if wait := time.Until(st.ModTime().Add(5 * time.Minute)); wait > 0 {
		fmt.Fprintf(os.Stderr, "waiting %s for the file system to settle after the last run's clean-up ...\n", wait.Round(time.Second))
		time.Sleep(wait)
	}
}

func touch(path string) {
	if f, err := os.Create(path); err == nil {
		f.Close()
	}
}
