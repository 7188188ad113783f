package cmd

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitopsc/gitopsc/compiler/charts/charttest"
	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/images/imagetest"
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
		Setup: func(env *testscript.Env) error {
			env.Values[registryKey{}] = &registryState{}
			env.Values[chartRepoKey{}] = &chartRepoState{}
			// $SHIPPED is the shipped input, for scripts that read it as
			// it is (they copy it before changing anything).
			shipped, err := filepath.Abs(filepath.Join("..", "..", "..", "environments"))
			if err != nil {
				return err
			}
			env.Setenv("SHIPPED", shipped)
			// $EXAMPLES is the examples folder, read as $SHIPPED is.
			env.Setenv("EXAMPLES", filepath.Join(filepath.Dir(shipped), "examples"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"registry":    cmdRegistry,
			"pushimage":   cmdPushImage,
			"composeload": cmdComposeLoad,
			"chartrepo":   cmdChartRepo,
			"pushchart":   cmdPushChart,
		},
	}
}

type registryKey struct{}

// registryState is the script's registry, once started.
type registryState struct{ r *imagetest.Registry }

// cmdRegistry runs a real registry (go-containerregistry's pkg/registry)
// on 127.0.0.1 for the script:
//
//	registry start            start it and set $REGISTRY to its host:port
//	registry fault KIND [N]   misbehave: 500 (manifest reads), 401, 403,
//	                          hang, or none; for the next N requests it
//	                          hits, or all of them when N is left out
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("registry does not fail")
	}
	st := ts.Value(registryKey{}).(*registryState)
	if len(args) == 0 {
		ts.Fatalf("usage: registry start | registry fault KIND [N]")
	}
	switch args[0] {
	case "start":
		if st.r != nil {
			ts.Fatalf("registry already started")
		}
		st.r = imagetest.StartRegistry()
		ts.Defer(st.r.Close)
		ts.Setenv("REGISTRY", st.r.Host)
	case "fault":
		if st.r == nil {
			ts.Fatalf("registry fault: start the registry first")
		}
		if len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: registry fault KIND [N]")
		}
		f, err := imagetest.ParseFault(args[1])
		ts.Check(err)
		n := 0
		if len(args) == 3 {
			n, err = strconv.Atoi(args[2])
			ts.Check(err)
		}
		st.r.SetFault(f, n)
	default:
		ts.Fatalf("usage: registry start | registry fault KIND [N]")
	}
}

// cmdPushImage pushes a deterministic image to a registry, or adds it to
// an OCI image layout:
//
//	pushimage REF [--platforms linux/amd64,linux/arm64/v8] [--single]
//	          [--attestation] [--seed S] [--user U] [--layout DIR]
//
// An index of the platforms by default (linux/amd64 when none is given);
// --single pushes one image manifest, its platform only in its config;
// --attestation adds buildx-style attestation manifests; a new --seed
// moves the tag to new content; --user sets the user every image config
// names (none by default: root); --layout writes to the layout in DIR,
// annotating the entry with REF.
func cmdPushImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("pushimage does not fail")
	}
	var (
		spec   imagetest.Spec
		ref    string
		layout string
	)
	value := func(i *int) string {
		if *i+1 >= len(args) {
			ts.Fatalf("pushimage: %s needs a value", args[*i])
		}
		*i++
		return args[*i]
	}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--platforms":
			spec.Platforms = strings.Split(value(&i), ",")
		case "--single":
			spec.Single = true
		case "--attestation":
			spec.Attestations = true
		case "--seed":
			spec.Seed = value(&i)
		case "--user":
			spec.User = value(&i)
		case "--layout":
			layout = ts.MkAbs(value(&i))
		default:
			if strings.HasPrefix(a, "-") || ref != "" {
				ts.Fatalf("usage: pushimage REF [--platforms P,...] [--single] [--attestation] [--seed S] [--user U] [--layout DIR]")
			}
			ref = a
		}
	}
	r, err := name.ParseReference(ref)
	ts.Check(err)
	if layout != "" {
		_, err = imagetest.AppendLayout(layout, r, spec)
	} else {
		_, err = imagetest.Push(r, spec)
	}
	ts.Check(err)
}

// cmdComposeLoad loads a rendered compose file with compose-go, the
// Compose specification's own loader, as docker compose reads it with its
// variables set, and prints what it made of each service: its networks,
// dependencies, ports, volumes, configs, secrets and deploy settings.
// "! composeload" expects the loader to refuse the file.
func cmdComposeLoad(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: composeload FILE")
	}
	p, err := composefile.Load(ts.MkAbs(args[0]))
	if neg {
		if err == nil {
			ts.Fatalf("compose-go loaded %s", args[0])
		}
		fmt.Fprintf(ts.Stdout(), "refused: %v\n", err)
		return
	}
	if err != nil {
		ts.Fatalf("compose-go refuses %s: %v", args[0], err)
	}
	names := slices.Sorted(maps.Keys(p.Services))
	for _, n := range names {
		s := p.Services[n]
		var parts []string
		parts = append(parts, "networks="+strings.Join(slices.Sorted(maps.Keys(s.Networks)), ","))
		if len(s.DependsOn) > 0 {
			var deps []string
			for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
				deps = append(deps, d+":"+s.DependsOn[d].Condition)
			}
			parts = append(parts, "depends_on="+strings.Join(deps, ","))
		}
		if s.NetworkMode != "" {
			parts = append(parts, "network_mode="+s.NetworkMode)
		}
		for _, port := range s.Ports {
			parts = append(parts, fmt.Sprintf("port=%s:%d/%s", port.Published, port.Target, port.Protocol))
		}
		for _, v := range s.Volumes {
			parts = append(parts, fmt.Sprintf("volume=%s:%s", v.Source, v.Target))
		}
		for _, c := range s.Configs {
			parts = append(parts, fmt.Sprintf("config=%s:%s", c.Source, c.Target))
		}
		for _, c := range s.Secrets {
			parts = append(parts, fmt.Sprintf("secret=%s:%s", c.Source, c.Target))
		}
		if d := s.Deploy; d != nil {
			if d.Replicas != nil {
				parts = append(parts, fmt.Sprintf("replicas=%d", *d.Replicas))
			}
			if u := d.UpdateConfig; u != nil {
				parts = append(parts, fmt.Sprintf("update=%d,%s,%s", deref(u.Parallelism), u.Order, time.Duration(u.Delay)))
			}
			if r := d.Resources.Reservations; r != nil {
				parts = append(parts, fmt.Sprintf("reserves=%v,%d", r.NanoCPUs, r.MemoryBytes))
			}
		}
		if s.HealthCheck != nil {
			parts = append(parts, "healthcheck="+strings.Join(s.HealthCheck.Test, " "))
		}
		if len(s.Profiles) > 0 {
			parts = append(parts, "profiles="+strings.Join(s.Profiles, ","))
		}
		fmt.Fprintf(ts.Stdout(), "service %s: %s\n", n, strings.Join(parts, " "))
	}
	for _, n := range slices.Sorted(maps.Keys(p.Networks)) {
		fmt.Fprintf(ts.Stdout(), "network %s: internal=%v\n", n, p.Networks[n].Internal)
	}
	for _, n := range slices.Sorted(maps.Keys(p.Secrets)) {
		file, err := filepath.Rel(filepath.Dir(ts.MkAbs(args[0])), p.Secrets[n].File)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		fmt.Fprintf(ts.Stdout(), "secret %s: file=%s\n", n, filepath.ToSlash(file))
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

type chartRepoKey struct{}

// chartRepoState is the script's HTTP Helm repository, once started.
type chartRepoState struct{ r *charttest.Repository }

// cmdChartRepo runs an HTTP Helm repository (index.yaml and archives) on
// 127.0.0.1 for the script:
//
//	chartrepo start   start it and set $CHARTS to its host:port
func cmdChartRepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || args[0] != "start" {
		ts.Fatalf("usage: chartrepo start")
	}
	st := ts.Value(chartRepoKey{}).(*chartRepoState)
	if st.r != nil {
		ts.Fatalf("chartrepo already started")
	}
	r, err := charttest.StartRepository()
	ts.Check(err)
	st.r = r
	ts.Defer(r.Close)
	ts.Setenv("CHARTS", r.Host)
}

// cmdPushChart packages the chart folder DIR of the script into a
// deterministic archive and publishes it:
//
//	pushchart DIR              in the chartrepo's repository
//	pushchart DIR --oci REPO   as an OCI artifact REPO/NAME:VERSION
//	                           (REPO is HOST/PATH, on the registry)
func cmdPushChart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 1 && (len(args) != 3 || args[1] != "--oci")) {
		ts.Fatalf("usage: pushchart DIR [--oci HOST/PATH]")
	}
	c, err := charttest.Package(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(args) == 3 {
		_, err := charttest.Push(args[2], c)
		ts.Check(err)
		return
	}
	st := ts.Value(chartRepoKey{}).(*chartRepoState)
	if st.r == nil {
		ts.Fatalf("pushchart: start the chartrepo first")
	}
	st.r.Add(c)
}
