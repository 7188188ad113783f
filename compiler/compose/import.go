// Package compose reads Docker Compose files with the Compose
// specification's own Go loader (compose-go) and turns them into a
// starting gitopsc system.
package compose

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v3"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies"
)

// Options shape an import.
type Options struct {
	// Namespace is the namespace of every service not in Namespaces;
	// the project's name when empty.
	Namespace string
	// Namespaces maps a service to its namespace.
	Namespaces map[string]string
}

// Note is something of the Compose file the import did not map, at
// its line.
type Note struct {
	File      string
	Line, Col int
	Msg       string
}

func (n Note) String() string {
	if n.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", n.File, n.Line, n.Col, n.Msg)
	}
	return n.File + ": " + n.Msg
}

// Result is the system an import writes: file name to content.
type Result struct {
	Files map[string][]byte
	Notes []Note
	// ToAdd is what the input needs that Compose does not say.
	ToAdd    []string
	services map[string]bool
}

// HasService reports whether the Compose file has service name.
func (r *Result) HasService(name string) bool { return r.services[name] }

// Import reads the Compose file at path and returns the CUE system it
// becomes. A file Compose refuses is a diag.List at the line it names
// when it names one.
func Import(path string, opts Options) (*Result, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, diag.Usagef("%s is a folder; give the Compose file", path)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, diag.Usagef("%s does not exist", path)
		}
		return nil, diag.OutsideErr(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	name := label(strings.TrimSuffix(filepath.Base(filepath.Dir(abs)), "/"))
	// compose-go logs what it warns of; the notes say what matters.
	logrus.SetOutput(io.Discard)
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: content}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		// The file's name: wins; else its folder's.
		o.SetProjectName(name, false)
		// ${VAR} is the shell's at run time: kept as written, so that
		// the import says so rather than writing an empty value.
		o.SkipInterpolation = true
		// Every service, whatever profile it is in.
		o.Profiles = []string{"*"}
	})
	if err != nil {
		lines, _ := keyLines(content)
		return nil, composeError(path, abs, content, lines, err)
	}
	lines, err := keyLines(content)
	if err != nil {
		return nil, composeError(path, abs, content, nil, err)
	}
	im := &importer{file: filepath.ToSlash(path), lines: lines, project: project, opts: opts, dir: filepath.Dir(abs), content: content, published: map[string]string{}, hostIPs: map[string]bool{}, firstPublished: map[string]string{}}
	if im.opts.Namespace == "" {
		im.opts.Namespace = label(project.Name)
	}
	return im.run()
}

// composeError positions what compose-go or the YAML parser refused, at
// the line it names, else at the file.
// A field the specification does not have is compose-go's "false
// schema" at its path; it is put at the field's line.
func composeError(path, abs string, content []byte, lines map[string]at, err error) error {
	msg := err.Error()
	for _, p := range []string{"validating " + abs + ": ", "failed to parse " + abs + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	d := diag.Diagnostic{File: path, Msg: "compose: " + msg, Class: diag.ClassSchema}
	f := token.NewFile(path, -1, len(content))
	f.SetLinesForContent(content)
	place := func(line, col int) {
		if ls := f.Lines(); line >= 1 && line <= len(ls) {
			d.Pos = f.Pos(ls[line-1]+col-1, token.NoRelPos)
		}
	}
	// One line; a value it quotes may be a credential, but the field
	// path it quotes is kept.
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	msg = strings.Join(parts, " ")
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if fieldPath.MatchString(q) {
			return q
		}
		return "(value hidden)"
	})
	d.Msg = "compose: " + msg
	if key, ok := strings.CutSuffix(msg, " false schema"); ok {
		d.Msg = key + ": not a field of the Compose specification"
		if p, ok := lines[key]; ok {
			place(p.line, p.col)
		}
	} else if m := fieldPath.FindString(msg); m != "" {
		// The deepest key of the path the file has.
		parts := strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(m), ".")
		for n := len(parts); n > 0; n-- {
			if p, ok := lines[strings.Join(parts[:n], ".")]; ok {
				place(p.line, p.col)
				break
			}
		}
	} else if ms := regexp.MustCompile(`line (\d+)(, column (\d+))?`).FindAllStringSubmatch(msg, -1); ms != nil {
		// The last place a YAML error names is where it went wrong.
		m := ms[len(ms)-1]
		line, _ := strconv.Atoi(m[1])
		col, err := strconv.Atoi(m[3])
		if err != nil {
			col = 1
		}
		place(line, col)
	}
	return diag.List{d}
}

// at is a place in the Compose file.
type at struct{ line, col int }

// keyLines maps each key path of the file ("services.web.ports") to its
// place.
func keyLines(content []byte) (map[string]at, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, err
	}
	out := map[string]at{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				walk(c, path)
			}
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			out[p] = at{k.Line, k.Column}
			walk(n.Content[i+1], p)
		}
	}
	walk(&doc, "")
	return out, nil
}

type importer struct {
	file    string
	lines   map[string]at
	dir     string // the Compose file's folder
	content []byte
	todo    []string
	project *types.Project
	opts    Options
	notes   []Note
	secrets []secretDecl
	// published is, by component, the load balancer its first
	// published port is in the compose environment.
	published map[string]string
	// hostIPs are the addresses the published ports are bound to, ""
	// for every interface.
	hostIPs map[string]bool
	// firstPublished is that port, "PORT/PROTOCOL", for notes.
	firstPublished map[string]string
}

type secretDecl struct {
	name, namespace string
	keys            []string
}

// note records what the import did not map, at the first of paths the
// file has (a variable's own line, else its block's).
func (im *importer) note(path string, format string, args ...any) {
	im.noteAt([]string{path}, format, args...)
}

func (im *importer) noteAt(paths []string, format string, args ...any) {
	var p at
	for _, path := range paths {
		if q, ok := im.lines[path]; ok {
			p = q
			break
		}
	}
	im.notes = append(im.notes, Note{File: im.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
}

// handled are the service keys the import maps, or knowingly leaves
// out; every other key is listed as not mapped.
var handled = map[string]string{
	"image": "", "ports": "", "environment": "", "env_file": "", "volumes": "", "depends_on": "",
	"deploy": "", "healthcheck": "", "command": "", "entrypoint": "", "build": "", "expose": "",
	"tmpfs":          "",
	"extends":        "", // compose-go has applied it
	"profiles":       "",
	"restart":        "", // the kubelet restarts containers
	"container_name": "", // a component's name is its Service's
	"networks":       "namespaces, and the flows talksTo declares, stand for Compose networks",
}

// diag is a problem of the Compose file at p.
func (im *importer) diag(p at, msg string) diag.Diagnostic {
	d := diag.Diagnostic{File: im.file, Msg: msg, Class: diag.ClassSchema}
	if p.line > 0 {
		f := token.NewFile(im.file, -1, len(im.content))
		f.SetLinesForContent(im.content)
		if ls := f.Lines(); p.line <= len(ls) {
			d.Pos = f.Pos(ls[p.line-1]+p.col-1, token.NoRelPos)
		}
	}
	return d
}

func (im *importer) run() (*Result, error) {
	names := map[string]string{} // compose service name -> component name
	var services []string
	for n := range im.project.Services {
		services = append(services, n)
	}
	sort.Strings(services)
	var clash diag.List
	seen := map[string]string{}
	for _, n := range services {
		names[n] = label(n)
		p := im.lines["services."+n]
		switch other, dup := seen[names[n]]; {
		case names[n] == "":
			clash = append(clash, im.diag(p, fmt.Sprintf("services.%s: the name has no letter or digit, and a component's name is a DNS label: rename the service", n)))
		case dup:
			clash = append(clash, im.diag(p, fmt.Sprintf("services.%s: becomes component %q, as services.%s does (a component's name is a DNS label: lower case, '-' for '_' and '.'): rename one", n, names[n], other)))
		}
		seen[names[n]] = n
	}
	if len(clash) > 0 {
		return nil, clash
	}
	var comps []string
	namespaces := map[string]bool{}
	for _, n := range services {
		s := im.project.Services[n]
		ns := im.opts.Namespace
		if m, ok := im.opts.Namespaces[n]; ok {
			ns = m
		}
		namespaces[ns] = true
		comps = append(comps, im.component(n, names[n], ns, s, names))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Imported by gitopsc import compose from %s. Review it: gitopsc vet\n", filepath.Base(im.file))
	b.WriteString("// lists what is left to add (resources, probes, volume sizes), and the\n")
	b.WriteString("// notes of the import what Compose said that gitopsc does not.\n")
	b.WriteString("package system\n\n")
	fmt.Fprintf(&b, "system: {\n\tname: %q\n", label(im.project.Name))
	var nss []string
	for ns := range namespaces {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		fmt.Fprintf(&b, "\tnamespaces: %q: {}\n", ns)
	}
	b.WriteString("\tcomponents: {\n")
	for _, c := range comps {
		b.WriteString(c)
	}
	b.WriteString("\t}\n")
	if len(im.secrets) > 0 {
		b.WriteString("\t// The values stay out of the source: put each in a SOPS-encrypted\n")
		b.WriteString("\t// Secret manifest at the path given (sops --encrypt --in-place FILE).\n")
		b.WriteString("\tsecrets: {\n")
		for _, s := range im.secrets {
			fmt.Fprintf(&b, "\t\t%q: {namespace: %q, keys: %s, from: sops: %q}\n", s.name, s.namespace, list(s.keys), "secrets/"+s.name+".sops.yaml")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	system, err := format.Source([]byte(b.String()))
	if err != nil {
		// The importer writes what the formatter reads; a failure here
		// is the importer's.
		return nil, fmt.Errorf("compose import wrote CUE the formatter refuses: %v", err)
	}
	local := []byte(`package system

// local: k3s on a developer's machine, as the Compose file ran there.
environments: local: cluster: {
	distribution: "k3s"
	arch: ["amd64", "arm64"]
}
`)
	var cb strings.Builder
	cb.WriteString(`package system

// compose: Docker Compose, as the Compose file runs today, rendered by
// gitopsc build into out/compose/compose.yaml from the same system.
environments: compose: {
`)
	switch ips := slices.Sorted(maps.Keys(im.hostIPs)); {
	case len(ips) == 1 && ips[0] != "":
		fmt.Fprintf(&cb, "\t// The Compose file publishes its ports on %s only.\n\tcompose: {arch: \"amd64\", hostIP: %q}\n", ips[0], ips[0])
	case len(ips) > 1:
		im.note("services", "the Compose file publishes ports on several addresses (%s); the compose environment publishes every port on one, every interface unless compose.hostIP says", strings.Join(ips, ", "))
		fallthrough
	default:
		cb.WriteString("\tcompose: arch: \"amd64\"\n")
	}
	if len(im.published) > 0 {
		cb.WriteString("\t// The ports the Compose file publishes on the host.\n\tcomponents: {\n")
		for _, c := range slices.Sorted(maps.Keys(im.published)) {
			fmt.Fprintf(&cb, "\t\t%q: expose: loadBalancer: %s\n", c, im.published[c])
		}
		cb.WriteString("\t}\n")
	}
	cb.WriteString("}\n")
	compose, err := format.Source([]byte(cb.String()))
	if err != nil {
		return nil, fmt.Errorf("compose import wrote CUE the formatter refuses: %v", err)
	}
	svcs := map[string]bool{}
	for _, n := range services {
		svcs[n] = true
	}
	for _, ns := range nss {
		im.todo = append(im.todo, fmt.Sprintf("namespace %s: a quota (system.namespaces.%q.quota), which the quota rules check each component against", ns, ns))
	}
	sort.SliceStable(im.notes, func(i, j int) bool {
		a, b := im.notes[i], im.notes[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	im.notes = slices.Compact(im.notes)
	return &Result{Files: map[string][]byte{"system.cue": system, "local.cue": local, "compose.cue": compose}, Notes: im.notes, ToAdd: im.todo, services: svcs}, nil
}

// component writes service s as the CUE of component name.
func (im *importer) component(svc, name, ns string, s types.ServiceConfig, names map[string]string) string {
	at := "services." + svc
	var keys []string
	for k := range im.lines {
		if rest, ok := strings.CutPrefix(k, at+"."); ok && !strings.Contains(rest, ".") {
			keys = append(keys, rest)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if why, ok := handled[k]; !ok {
			im.note(at+"."+k, "%s: %s is not mapped; write what it does in the component if it matters", svc, k)
		} else if why != "" {
			im.note(at+"."+k, "%s: %s is not mapped: %s", svc, k, why)
		}
	}
	var f []string
	add := func(format string, args ...any) { f = append(f, fmt.Sprintf(format, args...)) }
	add("namespace: %q", ns)
	if s.Image != "" {
		img := s.Image
		if repo, digest, ok := strings.Cut(img, "@"); ok {
			// The image lock pins digests; the input names a tag.
			img = repo
			im.note(at+".image", "%s: the image is pinned to %s; gitopsc pins the tag's digest in images.lock (gitopsc images lock), so the input names the tag", svc, digest)
		}
		add("image: %s", cueString(img))
	} else {
		im.note(at, "%s: builds its image (build:); gitopsc deploys images by reference: push it and write image", svc)
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		add("replicas: %d", *s.Deploy.Replicas)
	}
	if s.Deploy != nil && s.Deploy.UpdateConfig != nil {
		// Swarm replaces parallelism containers at a time, stopping the
		// old ones first unless the order is start-first, and waits delay
		// between batches: a rolling update with that many unavailable
		// (or surging), whose new pods must be ready that long.
		u := s.Deploy.UpdateConfig
		n := "1"
		if u.Parallelism != nil {
			n = strconv.FormatUint(*u.Parallelism, 10)
			if *u.Parallelism == 0 {
				n = `"100%"` // all at once
			}
		}
		ru := "maxSurge: 0, maxUnavailable: " + n
		if u.Order == "start-first" {
			ru = "maxSurge: " + n + ", maxUnavailable: 0"
		}
		if d := time.Duration(u.Delay); d > 0 {
			ru += fmt.Sprintf(", minReadySeconds: %d", int((d+time.Second-1)/time.Second))
		}
		add("rollingUpdate: {%s}", ru)
		if u.FailureAction != "" || u.Monitor != 0 || u.MaxFailureRatio != 0 {
			im.noteAt([]string{at + ".deploy.update_config", at + ".deploy"}, "%s: deploy.update_config's failure_action, monitor and max_failure_ratio are not mapped: a Deployment whose new pods do not become ready stops rolling out, and is rolled back by reverting the commit", svc)
		}
	}
	if r := resources(s.Deploy); r != "" {
		add("resources: %s", r)
	} else {
		im.todo = append(im.todo, fmt.Sprintf("%s: resources, the cpu and memory its container requests and is limited to (Compose's deploy.resources gives none)", name))
	}
	ports := im.ports(svc, s)
	if len(ports) > 0 {
		var ps []string
		for _, p := range ports {
			ps = append(ps, p.cue())
		}
		add("ports: {%s}", strings.Join(ps, ", "))
	}
	for _, p := range s.Ports {
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		switch first, done := im.firstPublished[name]; {
		case p.Published == "":
			im.note(at+".ports", "%s: publishes port %d on a host port Docker picks; the compose environment publishes it on none: give it expose: loadBalancer: servicePort there if it is reached from outside", svc, p.Target)
		case done:
			im.note(at+".ports", "%s: publishes port %s/%s too; the compose environment publishes one port of a component, %s", svc, p.Published, proto, first)
		default:
			im.note(at+".ports", "%s: publishes port %s on the host; in a cluster that is an exposure: write expose (an ingress or a load balancer) if it is reached from outside", svc, p.Published)
			im.published[name] = fmt.Sprintf("{port: %q, servicePort: %s}", im.portName(svc, p.Target), p.Published)
			im.firstPublished[name] = p.Published + "/" + proto
			im.hostIPs[p.HostIP] = true
		}
	}
	// Flows: depends_on, and other services' names in the environment.
	var flows []string
	addFlow := func(target, port string) {
		if fl := target + ":" + port; !slices.Contains(flows, fl) {
			flows = append(flows, fl)
		}
	}
	var deps []string
	for d := range s.DependsOn {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	config := map[string]string{}
	secretKeys := []string{}
	var envKeys []string
	for k := range s.Environment {
		envKeys = append(envKeys, k)
	}
	sort.Strings(envKeys)
	for _, k := range envKeys {
		v := s.Environment[k]
		if v == nil {
			im.noteAt([]string{at + ".environment." + k, at + ".environment", at + ".env_file"}, "%s: %s has no value in the file (Compose takes it from the shell); give it under config, or under secrets if it is a credential", svc, k)
			continue
		}
		// "$$" is a literal "$"; any other "$" is the shell's.
		unescaped := strings.ReplaceAll(*v, "$$", "$")
		fromShell := strings.Contains(strings.ReplaceAll(*v, "$$", ""), "$")
		value := unescaped
		v = &value
		where := []string{at + ".environment." + k, at + ".environment", at + ".env_file"}
		if fromShell && !model.SecretLikeName(k) {
			im.noteAt(where, "%s: %s takes a value from the shell at run time; give its value under config, or under secrets if it is a credential", svc, k)
			continue
		}
		if why := policies.LooksSecret(k, *v); why != "" || fromShell {
			if why == "" {
				why = "the name suggests a credential, and Compose takes it from the shell"
			}
			secretKeys = append(secretKeys, k)
			im.noteAt(where, "%s: %s is read from secret %s-env, not written in the CUE: %s", svc, k, name, why)
			// A connection string with a password names its host too:
			// the flow is declared, the value stays the secret's.
			for _, other := range sortedKeys(names) {
				if port, ok := mentions(*v, other); ok && other != svc {
					if pn := im.portName(other, port); pn != "" {
						addFlow(names[other], pn)
					}
				}
			}
			continue
		}
		config[k] = cueString(*v)
		for _, other := range sortedKeys(names) {
			if other == svc {
				continue
			}
			if port, ok := mentions(*v, other); ok {
				if pn := im.portName(other, port); pn != "" {
					addFlow(names[other], pn)
					if k == render.EnvKey(names[other])+"_HOST" || k == render.EnvKey(names[other])+"_"+render.EnvKey(pn)+"_PORT" {
						// Service discovery sets it, to the same host.
						delete(config, k)
						im.noteAt([]string{at + ".environment." + k, at + ".environment"}, "%s: %s is left to service discovery, which sets it for talksTo %s:%s", svc, k, names[other], pn)
						break
					}
					// The host as the cluster names it, which the
					// compiler fills in: the bare name resolves only in
					// the client's own namespace.
					config[k] = hostRef(config[k], other, names[other])
				}
			}
		}
	}
	for _, d := range deps {
		if pn := im.portName(d, 0); pn != "" {
			addFlow(names[d], pn)
		} else {
			im.note(at+".depends_on", "%s: depends on %s, which declares no port: a start order is not a flow, and pods do not wait for each other; use an init container or a readiness probe", svc, d)
		}
	}
	sort.Strings(flows)
	if len(flows) > 0 {
		add("talksTo: %s", list(flows))
	}
	if len(config) > 0 {
		var cs []string
		for _, k := range sortedKeys(config) {
			cs = append(cs, fmt.Sprintf("%q: %s", k, config[k]))
		}
		add("config: {%s}", strings.Join(cs, ", "))
	}
	if len(secretKeys) > 0 {
		secret := name + "-env"
		im.secrets = append(im.secrets, secretDecl{name: secret, namespace: ns, keys: secretKeys})
		var ss []string
		for _, k := range secretKeys {
			ss = append(ss, fmt.Sprintf("%q: {secret: %q, key: %q}", k, secret, k))
		}
		add("secrets: {%s}", strings.Join(ss, ", "))
		im.todo = append(im.todo, fmt.Sprintf("%s: secrets/%s.sops.yaml, a SOPS-encrypted Secret %s of namespace %s with the keys %s", name, secret, secret, ns, strings.Join(secretKeys, ", ")))
	}
	var storage, writable []string
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeVolume:
			storage = append(storage, fmt.Sprintf("%q: {mountPath: %q}", label(v.Source), v.Target))
		case types.VolumeTypeTmpfs:
			writable = append(writable, strconv.Quote(v.Target))
		default:
			src := v.Source
			if r, err := filepath.Rel(im.dir, src); err == nil && !strings.HasPrefix(r, "..") {
				src = "./" + filepath.ToSlash(r)
			}
			im.note(at+".volumes", "%s: %s mount %s:%s is not mapped: write the files it holds under files, or make it a named volume", svc, v.Type, src, v.Target)
		}
	}
	for _, t := range s.Tmpfs {
		writable = append(writable, strconv.Quote(strings.SplitN(t, ":", 2)[0]))
	}
	if len(storage) > 0 {
		im.todo = append(im.todo, fmt.Sprintf("%s: the size of each volume under storage (a Compose volume has none)", name))
		add("kind: \"stateful\"")
		// A Compose volume has no size: vet asks for one.
		add("storage: {%s}", strings.Join(storage, ", "))
	}
	if len(writable) > 0 {
		add("writable: [%s]", strings.Join(writable, ", "))
	}
	for _, cl := range []struct {
		key, field string
		argv       []string
	}{{"entrypoint", "command", s.Entrypoint}, {"command", "args", s.Command}} {
		if len(cl.argv) == 0 {
			continue
		}
		var bad []string
		policies.ArgvSecrets(cl.argv, func(i int, what, why string) { bad = append(bad, what+" ("+why+")") })
		if len(bad) > 0 {
			im.note(at+"."+cl.key, "%s: %s is not written: %s holds a credential, %s; pass it from a secret instead (secrets, and $(VAR) in %s)", svc, cl.key, cl.key, strings.Join(bad, ", "), cl.field)
			continue
		}
		add("%s: %s", cl.field, list(cl.argv))
	}
	probed := len(ports) > 0 // gitopsc probes the first port by default
	if h := s.HealthCheck; h != nil && !h.Disable && len(h.Test) > 0 {
		switch h.Test[0] {
		case "CMD":
			add("probes: readiness: exec: %s", list(h.Test[1:]))
			probed = true
		case "CMD-SHELL":
			add("probes: readiness: exec: %s", list([]string{"sh", "-c", strings.Join(h.Test[1:], " ")}))
			probed = true
		}
	}
	if !probed {
		im.todo = append(im.todo, fmt.Sprintf("%s: probes, or a port to probe (it has neither a healthcheck nor a port)", name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\t\t%q: {\n", name)
	for _, l := range f {
		b.WriteString("\t\t\t" + l + "\n")
	}
	b.WriteString("\t\t}\n")
	return b.String()
}

type port struct {
	name     string
	number   uint32
	protocol string // "UDP", or "" for TCP
}

func (p port) cue() string {
	if p.protocol == "UDP" {
		return fmt.Sprintf("%q: {port: %d, protocol: \"UDP\"}", p.name, p.number)
	}
	return fmt.Sprintf("%q: %d", p.name, p.number)
}

// ports names each container port of s: its Compose name, the usual
// name of a well-known port, or p and the number.
func (im *importer) ports(svc string, s types.ServiceConfig) []port {
	var out []port
	seen := map[string]bool{}
	used := map[string]bool{}
	targets := []types.ServicePortConfig{}
	targets = append(targets, s.Ports...)
	for _, e := range s.Expose {
		if n, err := strconv.Atoi(strings.Split(e, "/")[0]); err == nil {
			targets = append(targets, types.ServicePortConfig{Target: uint32(n)})
		}
	}
	for _, p := range targets {
		proto := ""
		if strings.EqualFold(p.Protocol, "udp") {
			proto = "UDP"
		}
		if key := fmt.Sprint(p.Target, proto); p.Target == 0 || seen[key] {
			continue
		} else {
			seen[key] = true
		}
		name := label(p.Name)
		if name == "" || !portName.MatchString(name) {
			name = wellKnown[p.Target]
		}
		if proto == "UDP" {
			name = fmt.Sprintf("p%d-udp", p.Target)
		}
		if name == "" || used[name] {
			name = fmt.Sprintf("p%d", p.Target)
		}
		used[name] = true
		out = append(out, port{name, p.Target, proto})
	}
	return out
}

// portName is the name of service svc's port number (its first port
// when number is 0), or "".
func (im *importer) portName(svc string, number uint32) string {
	ps := im.ports(svc, im.project.Services[svc])
	for _, p := range ps {
		if number == 0 || p.number == number {
			return p.name
		}
	}
	return ""
}

var (
	portName  = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$`)
	wellKnown = map[uint32]string{80: "http", 443: "https", 8080: "http", 3306: "mysql", 5432: "postgres",
		6379: "redis", 27017: "mongodb", 9000: "fpm", 9090: "metrics", 11211: "memcached", 5672: "amqp"}
)

// cueString is s as a CUE string literal: '"' and '\' escaped (so that
// no "\(" starts an interpolation), and every character that is not
// printable as \uXXXX (CUE has no \x escape in strings).
func cueString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hostRef rewrites the CUE string literal lit so that where it names
// service svc as a host, it reads the host gitopsc fills in for
// component name.
func hostRef(lit, svc, name string) string {
	// A URL's scheme ("redis://") is no host.
	scheme := urlScheme.FindString(lit[1:])
	head, rest := lit[:1+len(scheme)], lit[1+len(scheme):]
	re := regexp.MustCompile(`(^|//|@)` + regexp.QuoteMeta(svc) + `((:[0-9]{1,5})?($|[/:?"]))`)
	return head + re.ReplaceAllString(rest, `${1}\(system.components["`+name+`"].host)${2}`)
}

var (
	quoted    = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	fieldPath = regexp.MustCompile(`services(\.[-\w.]+|\[[^\]]+\])(\.[-\w]+|\[[^\]]+\])*`)
)

var urlScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)

// mentions reports whether value names host svc ("mysql",
// "mysql:3306", "redis://redis:6379/0", "http://api:8080/"), and the
// port it gives (0 for none).
func mentions(value, svc string) (uint32, bool) {
	value = value[len(urlScheme.FindString(value)):]
	re := regexp.MustCompile(`(^|//|@)` + regexp.QuoteMeta(svc) + `(:([0-9]{1,5}))?($|[/:?])`)
	m := re.FindStringSubmatch(value)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[3])
	return uint32(n), true
}

// resources is the CUE of a service's limits and reservations: its
// reservations are requests; either alone stands for both.
func resources(d *types.DeployConfig) string {
	if d == nil || d.Resources.Limits == nil && d.Resources.Reservations == nil {
		return ""
	}
	// Each of cpu and memory: the reservation is the request and the
	// limit the limit, either alone standing for both.
	lim, req := &types.Resource{}, &types.Resource{}
	if l := d.Resources.Limits; l != nil {
		lim.NanoCPUs, lim.MemoryBytes = l.NanoCPUs, l.MemoryBytes
	}
	if r := d.Resources.Reservations; r != nil {
		req.NanoCPUs, req.MemoryBytes = r.NanoCPUs, r.MemoryBytes
	}
	if lim.NanoCPUs == 0 {
		lim.NanoCPUs = req.NanoCPUs
	}
	if req.NanoCPUs == 0 {
		req.NanoCPUs = lim.NanoCPUs
	}
	if lim.MemoryBytes == 0 {
		lim.MemoryBytes = req.MemoryBytes
	}
	if req.MemoryBytes == 0 {
		req.MemoryBytes = lim.MemoryBytes
	}
	part := func(r *types.Resource) string {
		var fs []string
		if r.NanoCPUs > 0 {
			fs = append(fs, fmt.Sprintf("cpu: %q", fmt.Sprintf("%dm", int64(float64(r.NanoCPUs)*1000+0.5))))
		}
		if r.MemoryBytes > 0 {
			fs = append(fs, fmt.Sprintf("memory: %q", fmt.Sprintf("%dMi", (int64(r.MemoryBytes)+(1<<20)-1)>>20)))
		}
		return "{" + strings.Join(fs, ", ") + "}"
	}
	return fmt.Sprintf("{requests: %s, limits: %s}", part(req), part(lim))
}

func list(xs []string) string {
	var q []string
	for _, x := range xs {
		q = append(q, cueString(x))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// label makes a Compose name a DNS label: lower case, '_' and '.' as '-'.
func label(s string) string {
	s = strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(s))
	s = strings.Trim(s, "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}
