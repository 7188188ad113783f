package load

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gitopsc/gitopsc/internal/synth"
	"github.com/gitopsc/gitopsc/schema"
)

// TestSchemaShapeComplete: the fast check reads every constraint of the
// shipped schema. A schema change it cannot read fails here, rather than
// quietly sending every input to the slow path.
func TestSchemaShapeComplete(t *testing.T) {
	_, unknown := schemaShape()
	for _, u := range unknown {
		t.Errorf("the fast check cannot read %s", u)
	}
	// Every pattern with a key constraint ([#DNSLabel]: ...) was found:
	// one it missed would let a field through that the key refuses. And
	// the schema calls no builtin and has no comprehension, which the
	// compiler does not read and might not see (a list.MinItems on a
	// list with a default).
	for _, f := range schema.Files() {
		file, err := parser.ParseFile(f.Name, f.Source)
		if err != nil {
			t.Fatal(err)
		}
		ast.Walk(file, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.CallExpr, *ast.Comprehension, *ast.ImportSpec:
				t.Errorf("%s: the fast check does not read a call, an import or a comprehension", n.Pos())
			}
			fd, ok := n.(*ast.Field)
			if !ok {
				return true
			}
			l, ok := fd.Label.(*ast.ListLit)
			if !ok || len(l.Elts) == 1 && isIdent(l.Elts[0], "string") {
				return true
			}
			if !schemaPatterns[l.Pos().String()] {
				t.Errorf("%s: the fast check does not know this pattern", l.Pos())
			}
			return true
		}, nil)
	}
}

func isIdent(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}

// verdicts returns what the fast check, as validate asks it, and CUE
// say of v, an evaluated input written as files: CUE's error, nil when
// it accepts.
func verdicts(t *testing.T, v cue.Value, files []*ast.File) (fast bool, cueErr error) {
	t.Helper()
	s, _ := schemaShape()
	fast = plainData(files) && v.Err() == nil && s.accepts(v)
	sv, err := Schema(v.Context())
	if err != nil {
		t.Fatal(err)
	}
	u := sv.LookupPath(cuePath(rootDefinition)).Unify(v)
	return fast, u.Validate(cue.Concrete(true), cue.Final())
}

// inputDirs writes every input of the testscripts to a folder of its
// own and returns those folders, with the shipped ones and a synthetic
// one, which are marked.
func inputDirs(t *testing.T) ([]string, map[string]bool) {
	dirs := []string{"../../environments", "../../examples/tenants", "../../cmd/gitopsc/cmd/initsystem"}
	archives, err := filepath.Glob("../../testdata/script/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no testscripts: %v", err)
	}
	tmp := t.TempDir()
	// A synthetic system with every kind the schema has, in its three
	// environments (k3s, EKS, Compose).
	syn := filepath.Join(tmp, "synth")
	if err := synth.Write(syn, 40, 3, 1); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, syn)
	shipped := map[string]bool{}
	for _, d := range dirs {
		shipped[d] = true
	}
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(tmp, strings.TrimSuffix(filepath.Base(a), ".txtar"))
		seen := map[string]bool{}
		for _, f := range ar.Files {
			p := filepath.Join(base, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f.Name, ".cue") && !strings.Contains(f.Name, "cue.mod/") {
				seen[filepath.Dir(p)] = true
			}
		}
		for d := range seen {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs, shipped
}

// shippedData returns the shipped input's data, evaluated and written
// out as JSON: plain data, which the fast check serves.
func shippedData(tb testing.TB) []byte {
	tb.Helper()
	v, _, ok := evaluate("../../environments")
	if !ok {
		tb.Fatal("the shipped input does not load")
	}
	b, err := v.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// evaluate loads dir as Dir does, up to the value validate checks.
func evaluate(dir string) (cue.Value, []*ast.File, bool) {
	abs, _ := filepath.Abs(dir)
	insts := cueload.Instances([]string{"."}, &cueload.Config{Dir: abs, ParseFile: parseFile})
	if len(insts) == 0 || insts[0].Err != nil || insts[0].Complete() != nil {
		return cue.Value{}, nil, false
	}
	v := cuecontext.New().BuildInstance(insts[0])
	return withAddresses(v, insts[0].Files), insts[0].Files, true
}

// TestShapeAgreesWithCUE: whatever the fast check accepts, CUE accepts,
// over every input of the testscripts, the shipped ones and a synthetic
// one; and it accepts the shipped inputs written as plain data and the
// synthetic one, or nothing would be gained.
func TestShapeAgreesWithCUE(t *testing.T) {
	fastN, cueN, all := 0, 0, 0
	dirs, shipped := inputDirs(t)
	for _, d := range dirs {
		v, files, ok := evaluate(d)
		if !ok {
			continue
		}
		all++
		fast, err := verdicts(t, v, files)
		if fast && err != nil {
			t.Errorf("%s: the fast check accepts what CUE refuses: %v", d, err)
		}
		if fast {
			fastN++
		}
		if err == nil {
			cueN++
		}
		if !fast && err == nil && shipped[d] && plainData(files) {
			t.Errorf("%s: a shipped input written as plain data the fast check does not accept", d)
		}
		if strings.HasSuffix(d, "synth") && !fast {
			t.Errorf("%s: the fast check does not accept the synthetic system", d)
		}
	}
	t.Logf("%d inputs: CUE accepts %d, the fast check %d", all, cueN, fastN)
	if fastN == 0 || cueN == 0 {
		t.Fatal("no input accepted")
	}
}

// mutations are the values an edit puts in place of one.
var mutations = []any{"x", "", "UPPER", "/abs", "a:b", "10.0.0.0/8", 0, -1, 1, 70000, 2147483648, 1.5, true, nil,
	map[string]any{}, []any{}, []any{"x"}, map[string]any{"zz": 1}, map[string]any{"port": 80}, map[string]any{"secret": "db", "key": "k"}}

// TestShapeAgreesOnEdits edits the shipped input, exported as data, one
// place at a time: a value replaced, a field removed, a field added.
func TestShapeAgreesOnEdits(t *testing.T) {
	b := shippedData(t)
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var paths [][]any
	var walk func(x any, p []any)
	walk = func(x any, p []any) {
		paths = append(paths, append([]any(nil), p...))
		switch x := x.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], append(p, k))
			}
		case []any:
			for i, e := range x {
				walk(e, append(p, i))
			}
		}
	}
	walk(doc, nil)
	n := 200
	if testing.Short() {
		n = 60
	}
	rnd := rand.New(rand.NewSource(19))
	ctx := cuecontext.New()
	refused, fastN := 0, 0
	for i := 0; i < n; i++ {
		p := paths[1+rnd.Intn(len(paths)-1)]
		edit := rnd.Intn(len(mutations) + 2)
		var d any
		json.Unmarshal(b, &d)
		parent := dataAt(d, p[:len(p)-1])
		last := p[len(p)-1]
		what := ""
		switch {
		case edit == len(mutations):
			what = "remove"
			if m, ok := parent.(map[string]any); ok {
				delete(m, last.(string))
			} else {
				l := parent.([]any)
				set(d, p[:len(p)-1], append(l[:last.(int):last.(int)], l[last.(int)+1:]...))
			}
		case edit == len(mutations)+1:
			what = "add zz"
			if m, ok := dataAt(d, p).(map[string]any); ok {
				m["zz"] = "x"
			} else {
				continue
			}
		default:
			what = fmt.Sprintf("= %v", mutations[edit])
			set(d, p, mutations[edit])
		}
		eb, _ := json.Marshal(d)
		f, err := parser.ParseFile("edit.json.cue", eb)
		if err != nil {
			t.Fatal(err)
		}
		ev := ctx.BuildFile(f)
		fast, err := verdicts(t, ev, []*ast.File{f})
		if fast && err != nil {
			t.Errorf("%v %s: the fast check accepts what CUE refuses: %v", p, what, err)
		}
		if err != nil {
			refused++
		}
		if fast {
			fastN++
		}
	}
	t.Logf("%d edits: CUE refuses %d, the fast check accepts %d", n, refused, fastN)
	if refused == 0 || fastN == 0 {
		t.Fatal("the edits prove nothing: none refused or none accepted")
	}
}

func dataAt(d any, p []any) any {
	for _, s := range p {
		switch s := s.(type) {
		case string:
			d = d.(map[string]any)[s]
		case int:
			d = d.([]any)[s]
		}
	}
	return d
}

func set(d any, p []any, x any) {
	parent := dataAt(d, p[:len(p)-1])
	switch s := p[len(p)-1].(type) {
	case string:
		parent.(map[string]any)[s] = x
	case int:
		parent.([]any)[s] = x
	}
}

// cueEdits are files added to the shipped input's data: what CUE
// writes and JSON cannot (hidden fields, definitions, optional fields,
// defaults, constraints left open, references), each of which the fast
// check must either take as CUE does or leave to CUE.
var cueEdits = []string{
	`_note: "a hidden field at the top"`,
	`system: components: "php-app": _x: 1`,
	`system: components: "php-app": #x: 1`,
	`system: components: "php-app": _x: int`,
	// What the schema adds on unification (an empty config, an empty
	// talksTo) is seen by the input's own patterns, closedness and
	// comprehensions, which the input alone does not show: none is
	// plain data.
	zz + `, system: components: zz: [=~"^config$"]: 1`,
	`_#Z: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, host?: string}, system: components: zz: _#Z`,
	zz + `, system: components: zz: {if config != _|_ {replicas: -1}}`,
	zz + `, system: components: zz: sidecars: s: system.templates.t.components.c, system: templates: t: components: c: {image: "registry.example.com/s:1", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}`,
	zz + `, system: components: zz: replicas: len(system.components.zz)`,
	`system: namespaces: nsx: podSecurity: "baseline", system: templates: tx: system.namespaces.nsx`,
	`system: namespaces: nsx: podSecurity: "baseline", ` + zz + `, system: components: zz: config: {for k, _ in system.namespaces.nsx if k != "podSecurity" {(k): 1}}`,
	zz + `, system: components: zz: config: X: "\(system.components.zz.talksTo)"`,
	zz + `, system: components: zz: config: X: "\(system.components.zz.namespace)"`,
	`_bad: 1 & 2`,
	`_bad: {a: 1 & 2}`,
	`#Bad: {a: 1 & 2}`,
	`system: components: "php-app": _bad: 1 & 2`,
	`system: components: "php-app": #bad: 1 & 2`,
	`system: components: "php-app": replicas: *2 | 3`,
	`system: components: "php-app": replicas: *9999999999 | 2`,
	zz + `, system: components: zz: ports: p: *{port: 80} | 80`,
	zz + `, system: components: zz: ports: p: *{port: 80, zz: 1} | 80`,
	zz + `, system: components: zz: ports: p: *"80" | 80`,
	zz + `, system: components: zz: expose: *{ingress: {host: "h", zz: 1}} | {loadBalancer: {}}`,
	`system: components: "php-app": #x: int`,
	`_open: {a: string, b: [...int]}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", replicas: 3 | 4, resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", replicas: *3 | 4, resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, kind: "cronjob", schedule: {cron: "* * * * *"}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, schedule: {}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, expose: {}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, sidecars: s: {image: "registry.example.com/s:1", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}}`,
	`system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}, sidecars: s: {image: "registry.example.com/s:1"}}`,
	`system: components: "php-app": zz?: 1`,
	`system: components: "php-app": zz!: 1`,
	`system: components: "php-app": replicas?: 3`,
	`system: components: "php-app": replicas: *3 | 4`,
	`system: components: "php-app": replicas: *-3 | 4`,
	`system: components: "php-app": replicas: 3 | 4`,
	`system: components: "php-app": replicas: int`,
	`system: components: "php-app": replicas: 2.0`,
	`system: components: "php-app": replicas: >=0`,
	zz + `, system: components: zz: config: ZZ: 1`,
	zz + `, system: components: zz: config: ZZ: true`,
	zz + `, system: components: zz: config: ZZ: null`,
	zz + `, system: components: zz: config: ZZ: {}`,
	zz + `, system: components: zz: config: ZZ: []`,
	zz + `, system: components: zz: replicas: "2"`,
	zz + `, system: components: zz: security: {readOnlyRootFilesystem: "false", reason: "r"}`,
	`system: components: "php-app": config: [string]: "x"`,
	`system: components: "php-app": config: [string]: int`,
	`system: components: [string]: replicas: 2`,
	`system: components: [string]: zz: 2`,
	`system: components: "php-app": ports: fpm: {port: 9000, targetPort: 9000}`,
	`system: components: "php-app": ports: fpm: {port: 9000, zz: 1}`,
	`system: components: "php-app": ports: fpm: 9000 | {port: 9000}`,
	`system: components: "php-app": ports: fpm: *9000 | {port: 9000}`,
	`system: components: "php-app": files: "/etc/x": {secret: "db-credentials", key: "password"}`,
	`system: components: "php-app": files: "/etc/x": {secret: "db-credentials"}`,
	`system: components: "php-app": probes: readiness: tcp: {}`,
	`system: components: "php-app": probes: readiness: {tcp: {}, http: {}}`,
	`system: components: "php-app": probes: readiness: exec: []`,
	`system: components: "php-app": probes: readiness: exec: ["true"]`,
	`system: components: "php-app": sidecars: "Bad_Name": {}`,
	`system: components: "php-app": writable: ["/tmp", "rel"]`,
	`system: components: "php-app": talksTo: [...string]`,
	`system: components: "php-app": talksTo: ["mysql:mysql", ...]`,
	`system: secrets: zz: {namespace: "external-env", keys: [], from: sops: "x.yaml"}`,
	`system: secrets: zz: {namespace: "external-env", keys: ["k"], from: {}}`,
	`system: secrets: zz: {namespace: "external-env", keys: ["k"], from: external: {store: "s", path: "p"}}`,
	`system: secrets: zz: {namespace: "external-env", keys: ["k"], from: {sops: "x.yaml", external: {store: "s", path: "p"}}}`,
	`system: components: "php-app": probes: startup: {}`,
	`system: components: "php-app": ports: zz: {}`,
	`system: components: "php-app": expose: {ingress: {host: "x"}, loadBalancer: {}}`,
	`system: components: "php-app": expose: loadBalancer: {}`,
	`system: secrets: zz: {namespace: "external-env", keys: ["k"], from: sops: "x.yaml"}`,
	`system: objects: zz: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "zz", data: a: "b", extra: [1, {b: 2}]}`,
	`system: objects: zz: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "zz", data: a: string}`,
	`system: objects: zz: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "zz", data: a?: "b"}`,
	`system: objects: zz: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "zz", data: null}`,
	`system: objects: zz: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "zz", namespace: null}}`,
	`system: monitoring: alerts: "bad-name": {expr: "up == 0", severity: "info", summary: "x"}`,
	`environments: eks: components: "php-app": replicas: 9999999999`,
	`environments: eks: policy: waivers: [{rule: "NET001", target: "x", reason: "r", expires: "2099-01-01"}]`,
	`environments: eks: policy: waivers: [{rule: "NET001", target: "x", reason: "r"}]`,
	`environments: zz: {}`,
	`environments: zz: cluster: {distribution: "k3s"}`,
	`environments: zz: cluster: {distribution: "k3s", arch: ["arm64"]}`,
}

// zz is a component of its own, which edits can change without
// meeting the shipped input's values.
const zz = `system: components: zz: {namespace: "external-env", image: "registry.example.com/zz:1.0.0", resources: {requests: {cpu: "1", memory: "1Gi"}, limits: {cpu: "1", memory: "1Gi"}}}`

// TestShapeAgreesOnCUE adds each of cueEdits to the shipped input's
// data, written out as one file.
func TestShapeAgreesOnCUE(t *testing.T) {
	// The shipped input uses comprehensions, which leave it to CUE; its
	// data, written out, is plain.
	base := shippedData(t)
	refused, accepted := 0, 0
	for i, e := range append([]string{""}, cueEdits...) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "base.cue"), "package platform\n\n"+string(base)+"\n")
		write(t, filepath.Join(dir, "zz_edit.cue"), "package platform\n\n"+e+"\n")
		v, files, ok := evaluate(dir)
		if !ok {
			t.Errorf("edit %d (%s) does not load", i, e)
			continue
		}
		fast, cerr := verdicts(t, v, files)
		if e == "" && !fast {
			t.Fatal("the fast check does not accept the shipped input's data")
		}
		if fast && cerr != nil {
			t.Errorf("%s: the fast check accepts what CUE refuses: %v", e, cerr)
		}
		if cerr != nil {
			refused++
		}
		if fast {
			accepted++
		}
		t.Logf("fast %-5v cue %-5v %s", fast, cerr == nil, e)
	}
	if refused == 0 || accepted == 0 {
		t.Fatal("the edits prove nothing")
	}
}

// TestPlainData: what the fast check serves, and what it leaves to CUE.
func TestPlainData(t *testing.T) {
	for _, c := range []struct {
		src   string
		plain bool
	}{
		{`a: 1, b: "x", c: [1, {d: true}], e: null, f: 1 + 2, g: int, h: _`, true},
		{`a: b: "\(c.d):\(c["e"])", c: {d: "x", e: 1}`, true},
		{`"a-b": {"c.d": 1}, _hidden: 2`, true},
		{`x: {a: 1}, y: x`, false},
		{`x: {a: 1}, y: {x}`, false},
		{`x: {a: 1}, y: x.a`, false},
		{`x: [1], y: x[0]`, false},
		{`x: [for i in [1] {i}]`, false},
		{`if true {x: 1}`, false},
		{`x: len("a")`, false},
		{`x: _|_`, false},
		{`x: *1 | 2`, false},
		{`x: 1 | 2`, false},
		{`#D: {a: int}, x: #D & {a: 1}`, false},
		{`_#D: {a: int}`, false},
		{`x: [string]: int`, false},
		{`x: [...int]`, false},
		{`x: {...}`, false},
		{`let y = 1, x: 1`, false},
		{`X=x: 1, z: 1`, false},
		{`(x): 1, x: "k"`, false},
		{`x: "\(len("a"))"`, false},
		{`string: 1`, false},
		{"import \"strings\"\nx: strings.ToUpper(\"a\")", false},
	} {
		f, err := parser.ParseFile("in.cue", "package p\n"+c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got := plainData([]*ast.File{f}); got != c.plain {
			t.Errorf("plainData(%s) = %v, want %v", c.src, got, c.plain)
		}
	}
}

// TestUndecidedKeyPattern: a field that only a key pattern the check
// cannot read might allow is not "not allowed".
func TestUndecidedKeyPattern(t *testing.T) {
	st := &structShape{fields: map[string]*fieldShape{},
		patterns: []patternShape{{key: &shape{unknown: true}, value: &shape{kinds: cue.TopKind}}}}
	s := &shape{kinds: cue.StructKind, st: st}
	x := cuecontext.New().CompileString(`a: 1`)
	if got := s.check(x); got != maybe {
		t.Errorf("check = %v, want maybe", got)
	}
	st.patterns = nil
	if got := s.check(x); got != no {
		t.Errorf("without the pattern, check = %v, want no", got)
	}
}

// FuzzShape edits the shipped input's data, written out as one file of
// plain data, at random: the fast check must not accept what CUE
// refuses.
func FuzzShape(f *testing.F) {
	base := shippedData(f)
	f.Add(uint32(0), uint8(0), "")
	f.Add(uint32(400), uint8(3), `"zz": 1,`)
	f.Add(uint32(900), uint8(1), "-")
	f.Add(uint32(1500), uint8(6), `{}`)
	f.Add(uint32(2500), uint8(2), `"UPPER"`)
	f.Add(uint32(3100), uint8(4), `[]`)
	f.Add(uint32(5000), uint8(8), `2147483648`)
	f.Fuzz(func(t *testing.T, at uint32, del uint8, insert string) {
		src := string(base)
		i := int(at % uint32(len(src)+1))
		j := min(i+int(del), len(src))
		src = src[:i] + insert + src[j:]
		file, err := parser.ParseFile("edit.cue", src)
		if err != nil {
			return
		}
		ev := cuecontext.New().BuildFile(file)
		if fast, err := verdicts(t, ev, []*ast.File{file}); fast && err != nil {
			t.Errorf("the fast check accepts what CUE refuses: %v", err)
		}
	})
}
