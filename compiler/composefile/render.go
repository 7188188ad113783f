package composefile

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

// LabelNamespace marks a network, volume and service with the namespace
// it stands for.
const LabelNamespace = "gitopsc.dev/namespace"

// Outside is the suffix of a namespace's network that leads out of the
// host: the one its components with an external flow or an exposed port
// join. The namespace's own network is internal.
const Outside = ".outside"

// ServiceName is the service of a component: its name, TENANT.NAME for a
// tenant's (labels have no dots, so no two are alike).
func ServiceName(c *model.Component) string {
	if c.Tenant != "" {
		return c.Tenant + "." + c.ObjectName
	}
	return c.ObjectName
}

// Render renders a resolved Compose environment. Images are pinned by
// the lock's digests; one it lacks is left by its tag, for IMG005.
func Render(r *model.Resolved, facts images.Facts) (*render.Output, error) {
	rd := &renderer{sys: r.System, env: r.Env, facts: facts, errs: &diag.List{},
		names: map[string]model.Pos{}, refused: map[string]bool{}, needs: map[string]bool{},
		variables: map[string]string{}, entries: map[string]string{}, published: map[string]string{},
		services: map[string]*Service{}, firstInit: map[string]*Service{}}
	for _, c := range rd.sys.Components {
		rd.component(c)
	}
	rd.dependencies()
	rd.networks()
	if err := rd.errs.Err(); err != nil {
		return nil, err
	}
	out := &render.Output{Env: r, Objects: rd.objects, Needs: rd.needList(), Notes: rd.noteList()}
	sort.SliceStable(out.Objects, func(i, j int) bool {
		a, b := out.Objects[i], out.Objects[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out, nil
}

type renderer struct {
	sys     *model.System
	env     *model.Environment
	facts   images.Facts
	errs    *diag.List
	objects []*render.Object
	names   map[string]model.Pos // kind/name rendered, for clashes
	refused map[string]bool      // secrets refused for their store
	// published are the host's ports taken, "PORT/PROTOCOL", by component.
	published map[string]string
	// variables are the secret and key each shell variable is read for;
	// entries each Compose secret.
	variables, entries map[string]string
	needs              map[string]bool // secret files and variables read
	// services by component Name: the main one, for depends_on, and
	// the first init container, which waits for what the main one does.
	services, firstInit map[string]*Service
}

func (rd *renderer) add(kind, name, ns, component string, pos model.Pos, obj any) {
	key := kind + "/" + name
	if at, ok := rd.names[key]; ok {
		rd.errs.Add(pos, "environment %s: two %ss of the compose file would be called %s (the other from %s:%d): rename one", rd.env.Name, kind, name, filepath.Base(at.Filename()), at.Line())
		return
	}
	rd.names[key] = pos
	rd.objects = append(rd.objects, &render.Object{Layer: Layer, APIVersion: APIVersion, Kind: kind,
		Namespace: ns, Name: name, Obj: obj, Component: component, Pos: pos})
}

// pin is the image reference pinned by digest.
func (rd *renderer) pin(img model.Image, what string) string {
	return render.Pin(rd.facts, img, what, rd.errs)
}

func (rd *renderer) platform() string { return "linux/" + rd.env.Compose.Arch }

func (rd *renderer) component(c *model.Component) {
	name := ServiceName(c)
	where := c.Path
	s := &Service{
		Image:       rd.pin(c.Image, where+".image"),
		Platform:    rd.platform(),
		Networks:    map[string]*Attachment{},
		ReadOnly:    true,
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges:true"},
		Labels:      map[string]string{LabelNamespace: c.Namespace, render.LabelName: c.ObjectName, render.LabelPartOf: rd.sys.Name},
	}
	for _, l := range c.Pod.Labels {
		s.Labels[l.Key] = l.Value
	}
	rd.services[c.Name] = s

	// The environment: config and service discovery, with the
	// container's port in place of a Service's, and secrets from the
	// variables of the shell compose runs in.
	vars := render.ConfigData(rd.sys, c, where, func(p *model.Port) int { return p.Number }, rd.errs)
	secretVars := map[string]string{}
	for _, r := range c.Secrets {
		secretVars[r.Env] = rd.secretVariable(r)
	}
	s.Environment = rd.environment(vars, secretVars)
	s.Entrypoint = rd.argv(c.Command, vars, secretVars)
	s.Command = rd.argv(c.Args, vars, secretVars)

	rd.attach(s, c)
	rd.deploy(s, c)
	rd.security(s, c)
	rd.healthcheck(s, c)
	rd.exposure(s, c)

	shared := len(c.Sidecars) > 0 || len(c.Init) > 0
	for _, v := range c.Storage {
		vol := name + "." + v.Name
		rd.add(KindVolume, vol, c.Namespace, c.Name, v.Pos, &Volume{Labels: map[string]string{LabelNamespace: c.Namespace}})
		s.Volumes = append(s.Volumes, Mount{Type: "volume", Source: vol, Target: v.MountPath})
	}
	for _, w := range c.Writable {
		if !shared {
			s.Tmpfs = append(s.Tmpfs, w.Path)
			continue
		}
		// A pod's containers share its emptyDirs; services share
		// only volumes: one in memory, writable by any user, as an
		// emptyDir is.
		vol := name + ".w-" + model.PathSlug(w.Path)
		rd.add(KindVolume, vol, c.Namespace, c.Name, w.Pos, &Volume{Labels: map[string]string{LabelNamespace: c.Namespace},
			DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "mode=1777"}})
		s.Volumes = append(s.Volumes, Mount{Type: "volume", Source: vol, Target: w.Path})
	}
	rd.files(s, c, "")

	switch c.Kind {
	case model.Job:
		s.Restart = rd.jobRestart(c)
	case model.CronJob:
		// Compose starts nothing on a schedule: the service is in a
		// profile that "up" leaves out, for the host's cron to run
		// with "docker compose run", which retries nothing and starts
		// what the service depends on, not the sidecars that depend on
		// it.
		s.Restart = "no"
		s.Profiles = []string{"cronjob"}
		if len(c.Sidecars) > 0 {
			rd.errs.Add(c.Sidecars[0].Pos, "%s.sidecars: a cronjob runs on Compose with docker compose run, which starts what it depends on, not the sidecars that depend on it: give the sidecar's work to the job's own container (environment %s)", c.Path, rd.env.Name)
		}
	default:
		s.Restart = "unless-stopped"
	}
	rd.add(KindService, name, c.Namespace, c.Name, c.Pos, s)

	for _, sc := range c.Sidecars {
		rd.sidecar(c, s, sc)
	}
	for i, ic := range c.Init {
		rd.initContainer(c, s, ic, i)
	}
}

// jobRestart is how a job's container is retried: the job's pods are.
func (rd *renderer) jobRestart(c *model.Component) string {
	n := 6
	if c.Job != nil && c.Job.BackoffLimit != nil {
		n = int(*c.Job.BackoffLimit)
	}
	if n == 0 {
		return "no"
	}
	return "on-failure:" + strconv.Itoa(n)
}

// secretVariable is the variable of the shell a secret key is read from:
// SECRET__KEY in capitals, TENANT__SECRET__KEY for a tenant's.
func (rd *renderer) secretVariable(r model.SecretRef) string {
	v := SecretVariable(r.Secret, r.Key)
	ref := r.Secret + " key " + r.Key
	if other, ok := rd.variables[v]; ok && other != ref {
		rd.errs.Add(r.Pos, "secret %s would be read from the variable %s, as secret %s is: rename a key so that the two differ in more than '-', '.' and '_'", ref, v, other)
	}
	rd.variables[v] = ref
	rd.useSecret(r.Secret, r.Key, "variable "+v)
	return v
}

// useSecret records that a secret's key is read at run time, and refuses
// a secret whose values live in a store that Compose cannot read.
func (rd *renderer) useSecret(name, key, how string) {
	sec := rd.sys.Secret(name)
	if sec == nil {
		return
	}
	if sec.Source.Store != "" && !rd.refused[name] {
		rd.refused[name] = true
		rd.errs.Add(sec.Source.Pos, "%s.from: secret %s is read from the external store %s, which docker compose cannot reach (environment %s runs on Docker Compose): give it a local source there, %s.from.sops, the file its values are decrypted from into the files and variables build lists",
			sec.Path, name, sec.Source.Store, rd.env.Name, secretOverridePath(rd.env.Name, sec))
	}
	rd.needs[how+" (secret "+name+", key "+key+")"] = true
}

func secretOverridePath(env string, sec *model.Secret) string {
	if sec.Tenant != "" {
		return "environments." + env + ".tenants." + sec.Tenant + ".secrets." + sec.ObjectName
	}
	return "environments." + env + ".secrets." + sec.Name
}

// SecretVariable is the variable a Compose environment reads key of the
// secret called name from.
func SecretVariable(name, key string) string {
	up := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_':
				return r
			}
			return '_'
		}, s)
	}
	return up(strings.ReplaceAll(name, "/", "__")) + "__" + up(key)
}

// environment is a service's environment: plain values escaped for
// Compose, and each secret a reference to its variable, which Compose
// fills in when it starts the service and requires to be set.
func (rd *renderer) environment(vars, secretVars map[string]string) map[string]string {
	if len(vars)+len(secretVars) == 0 {
		return nil
	}
	env := map[string]string{}
	for k, v := range vars {
		// Kubernetes does not expand a ConfigMap's values: every
		// dollar is one.
		env[k] = strings.ReplaceAll(v, "$", "$$")
	}
	for k, v := range secretVars {
		env[k] = reference(v)
	}
	return env
}

// reference is how the compose file reads a variable of the shell that
// must be set: docker compose stops, naming it, when it is not.
func reference(v string) string {
	return "${" + v + ":?set " + v + " (gitopsc build lists what it needs)}"
}

// argv renders a command or its arguments, with Kubernetes' $(VAR)
// references expanded, as the kubelet does.
func (rd *renderer) argv(list []string, vars, secretVars map[string]string) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = rd.expand(a, vars, secretVars)
	}
	return out
}

// expand turns a command's argument, which Kubernetes expands, into
// what Compose reads the same way: $(VAR) of a plain variable becomes
// its value, of a secret's the shell variable it comes from, $$ a
// dollar; every other dollar is escaped, since Compose would read it as
// its own variable. A reference to no variable stays as written, as
// Kubernetes keeps it.
func (rd *renderer) expand(s string, vars, secretVars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteString("$$")
			i++
			continue
		case strings.HasPrefix(rest, "("):
			if end := strings.IndexByte(rest, ')'); end > 0 {
				name := rest[1:end]
				if v, ok := vars[name]; ok {
					b.WriteString(strings.ReplaceAll(v, "$", "$$"))
					i += end + 1
					continue
				}
				if v, ok := secretVars[name]; ok {
					b.WriteString(reference(v))
					i += end + 1
					continue
				}
			}
		}
		b.WriteString("$$")
	}
	return b.String()
}

// attach puts a service on its namespace's network, with the cluster
// DNS name of its component as an alias so that the same configuration
// and files reach it, and on the network of each namespace it declares a
// flow into. One that reaches an external, or is exposed, joins its
// namespace's network that leads out.
func (rd *renderer) attach(s *Service, c *model.Component) {
	aliases := []string{render.DNSName(c)}
	if c.Tenant != "" {
		// A template's host is the bare name, which a tenant's pods
		// resolve in their own namespace; on Compose, on its network.
		aliases = append(aliases, c.ObjectName)
	}
	s.Networks[c.Namespace] = &Attachment{Aliases: aliases}
	for _, f := range c.TalksTo {
		if f.Implicit {
			continue
		}
		t := rd.sys.Target(f.Target)
		switch {
		case t.Component != nil && t.Component.Namespace != c.Namespace:
			if s.Networks[t.Component.Namespace] == nil {
				s.Networks[t.Component.Namespace] = &Attachment{}
			}
		case t.External != nil:
			s.Networks[c.Namespace+Outside] = &Attachment{}
		}
	}
	if c.Expose != nil {
		s.Networks[c.Namespace+Outside] = &Attachment{}
	}
}

// networks renders each network a service joins.
func (rd *renderer) networks() {
	used := map[string]model.Pos{}
	for _, o := range rd.objects {
		if s, ok := o.Obj.(*Service); ok {
			for n := range s.Networks {
				if _, ok := used[n]; !ok {
					used[n] = o.Pos
				}
			}
		}
	}
	for _, ns := range rd.sys.Namespaces {
		if pos, ok := used[ns.Name]; ok {
			rd.add(KindNetwork, ns.Name, ns.Name, "", pos, &Network{Internal: true, Labels: map[string]string{LabelNamespace: ns.Name}})
		}
		if pos, ok := used[ns.Name+Outside]; ok {
			rd.add(KindNetwork, ns.Name+Outside, ns.Name, "", pos, &Network{Labels: map[string]string{LabelNamespace: ns.Name}})
		}
	}
}

// NetworkNamespace is the namespace a network of the compose file
// stands for, and whether it is the one that leads out of the host.
func NetworkNamespace(name string) (ns string, outside bool) {
	if n, ok := strings.CutSuffix(name, Outside); ok {
		return n, true
	}
	return name, false
}

// dependencies makes each service start after the components it talks
// to: once healthy where they have a healthcheck, once started where
// not. A flow that would close a cycle (two components that talk to each
// other, or one to itself) adds none, since Compose refuses cycles.
func (rd *renderer) dependencies() {
	after := map[string][]string{} // component Name -> the Names it depends on
	reaches := func(from, to string) bool {
		seen := map[string]bool{}
		var walk func(string) bool
		walk = func(n string) bool {
			if n == to {
				return true
			}
			if seen[n] {
				return false
			}
			seen[n] = true
			return slices.ContainsFunc(after[n], walk)
		}
		return walk(from)
	}
	for _, c := range rd.sys.Components {
		s := rd.services[c.Name]
		for _, f := range c.TalksTo {
			t := rd.sys.Component(f.Target)
			if t == nil || t == c || t.RunsToCompletion() || reaches(t.Name, c.Name) || slices.Contains(after[c.Name], t.Name) {
				continue
			}
			after[c.Name] = append(after[c.Name], t.Name)
			cond := "service_started"
			if rd.services[t.Name].Healthcheck != nil {
				cond = "service_healthy"
			}
			dependOn(s, ServiceName(t), cond)
			// The pod's first container waits too: its init containers
			// run before the main one.
			if first := rd.firstInit[c.Name]; first != nil {
				dependOn(first, ServiceName(t), cond)
			}
		}
	}
}

// dependOn makes s start once the service called name meets cond.
func dependOn(s *Service, name, cond string) {
	if s.DependsOn == nil {
		s.DependsOn = map[string]Dependency{}
	}
	s.DependsOn[name] = Dependency{Condition: cond}
}

// deploy sets replicas, resources and the rolling update.
func (rd *renderer) deploy(s *Service, c *model.Component) {
	d := &Deploy{Resources: rd.resources(c.Resources, c.Path+".resources")}
	s.Deploy = d
	if c.RunsToCompletion() {
		return
	}
	n := c.Replicas
	if c.Autoscale != nil {
		// Compose scales nothing: the fewest the autoscaler keeps.
		n = c.Autoscale.Min
	}
	pos, fix := rd.oneReplica(c)
	if c.Kind == model.Stateful && len(c.Storage) > 0 && n > 1 {
		rd.errs.Add(pos, "%s: %d replicas of a stateful component would share one volume of each storage entry on Compose, which has no claim per replica: run 1 in environment %s (%s)", c.Path, n, rd.env.Name, fix)
	}
	if len(c.Sidecars) > 0 && n > 1 {
		rd.errs.Add(pos, "%s: %d replicas with sidecars: on Compose a sidecar is a service that shares the network of one container only: run 1 in environment %s (%s)", c.Path, n, rd.env.Name, fix)
	}
	d.Replicas = &n
	if n < 1 {
		return
	}
	// A Deployment surges first when maxSurge allows, and replaces at
	// most maxUnavailable at once otherwise; a StatefulSet replaces one
	// pod at a time, stopping it first.
	u := &UpdateConfig{Parallelism: 1, Order: "stop-first"}
	if c.Kind != model.Stateful {
		surge := count(c.Rolling.MaxSurge, n, true)
		unavailable := count(c.Rolling.MaxUnavailable, n, false)
		if c.Resources.GPUs > 0 && !c.Rolling.Pos.IsValid() {
			// As the Deployment is: a surge container would need a GPU
			// the host may not have.
			surge, unavailable = 0, 1
		}
		switch {
		case surge > 0:
			u.Order, u.Parallelism = "start-first", surge
		case unavailable > 0:
			u.Parallelism = unavailable
		}
	}
	if s := c.Rolling.MinReadySeconds; s > 0 {
		u.Delay = strconv.Itoa(s) + "s"
	}
	d.UpdateConfig = u
}

// oneReplica is where c's replica count comes from, and how its
// environment sets it to 1.
func (rd *renderer) oneReplica(c *model.Component) (model.Pos, string) {
	if c.Autoscale != nil {
		return c.Autoscale.Pos, c.OverridePath(rd.env.Name) + ".autoscale: min: 1"
	}
	return c.ReplicasPos, c.OverridePath(rd.env.Name) + ".replicas: 1"
}

// count is an integer or a percentage of n, rounded up for a surge and
// down for what may be unavailable, as a Deployment's are.
func count(v string, n int, up bool) int {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		pct, _ := strconv.Atoi(p)
		if up {
			return (pct*n + 99) / 100
		}
		return pct * n / 100
	}
	i, _ := strconv.Atoi(v)
	return i
}

// resources renders requests as reservations and limits as limits, in
// the units Compose reads: cpus as a decimal, memory in bytes with a
// binary suffix where one divides it.
func (rd *renderer) resources(r model.Resources, where string) *Resources {
	side := func(cm model.CPUMemory) *Resource {
		out := &Resource{}
		if cm.CPU != "" {
			q, err := resource.ParseQuantity(cm.CPU)
			if err != nil {
				rd.errs.Add(cm.CPUPos, "%s: cpu %q: %v", where, cm.CPU, err)
			} else {
				out.CPUs = strconv.FormatFloat(float64(q.MilliValue())/1000, 'f', -1, 64)
			}
		}
		if cm.Memory != "" {
			q, err := resource.ParseQuantity(cm.Memory)
			if err != nil {
				rd.errs.Add(cm.MemoryPos, "%s: memory %q: %v", where, cm.Memory, err)
			} else {
				out.Memory = Bytes(q.Value())
			}
		}
		return out
	}
	res := &Resources{Limits: side(r.Limits), Reservations: side(r.Requests)}
	if r.GPUs > 0 {
		res.Reservations.Devices = []Device{{Driver: "nvidia", Count: r.GPUs, Capabilities: []string{"gpu"}}}
	}
	return res
}

// Bytes writes a byte count as Compose reads it: with the largest of
// its binary suffixes (k, m, g: 1024, 1024², 1024³) that divides it.
func Bytes(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// security renders what a pod's security context says and Docker can:
// the user, a read-only root, all capabilities dropped but those
// excepted, no privilege escalation. Docker's default seccomp profile is
// the RuntimeDefault one.
func (rd *renderer) security(s *Service, c *model.Component) {
	sec := c.Security
	if sec == nil {
		return
	}
	if sec.RunAsUser != nil {
		s.User = strconv.FormatInt(*sec.RunAsUser, 10)
		if sec.RunAsGroup != nil {
			s.User += ":" + strconv.FormatInt(*sec.RunAsGroup, 10)
		}
	}
	if sec.ReadOnlyRootFilesystem != nil {
		s.ReadOnly = *sec.ReadOnlyRootFilesystem
	}
	s.CapAdd = append([]string(nil), sec.AddCapabilities...)
}

// healthcheck renders an exec probe, readiness first, as the service's
// healthcheck with the probe's timing (Kubernetes' defaults where it
// gives none). HTTP, TCP and gRPC probes would need a client in the
// image: they render none, and build says so.
func (rd *renderer) healthcheck(s *Service, c *model.Component) {
	for i, p := range []*model.Probe{c.Probes.Readiness, c.Probes.Liveness} {
		if p == nil || p.Kind != model.ProbeExec {
			continue
		}
		start := p.InitialDelaySeconds
		if i == 0 && start < readinessGrace {
			// A pod that is not ready yet waits on Kubernetes; on
			// Compose, a healthcheck that fails its retries makes the
			// container unhealthy and stops "up" for what depends on it.
			// A database's first start takes minutes: failures in the
			// start period do not count, and a success ends it.
			start = readinessGrace
		}
		h := &Healthcheck{
			Test:     append([]string{"CMD"}, p.Command...),
			Interval: strconv.Itoa(orInt(p.PeriodSeconds, 10)) + "s",
			Timeout:  strconv.Itoa(orInt(p.TimeoutSeconds, 1)) + "s",
			Retries:  orInt(p.FailureThreshold, 3),
		}
		for i := range h.Test {
			h.Test[i] = strings.ReplaceAll(h.Test[i], "$", "$$")
		}
		if start > 0 {
			h.StartPeriod = strconv.Itoa(start) + "s"
		}
		s.Healthcheck = h
		return
	}
}

// readinessGrace is the start period, in seconds, of a healthcheck made
// from a readiness probe.
const readinessGrace = 300

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// exposure publishes an exposed component's port on the host: the
// port a load balancer or the ingress answers on, to the container's.
func (rd *renderer) exposure(s *Service, c *model.Component) {
	e := c.Expose
	if e == nil {
		return
	}
	var p *model.Port
	if e.Port != "" {
		p = c.Port(e.Port)
	} else if len(c.Ports) > 0 {
		p = &c.Ports[0]
		if q := c.Port("http"); q != nil && e.Ingress {
			p = q
		}
	}
	if p == nil {
		return
	}
	published := p.ServicePort()
	if e.LoadBalancer && e.ServicePort != 0 {
		published = e.ServicePort
	}
	proto := strings.ToLower(orStr(p.Protocol, "TCP"))
	if d := s.Deploy; d != nil && d.Replicas != nil && *d.Replicas > 1 {
		_, fix := rd.oneReplica(c)
		rd.errs.Add(e.Pos, "%s.expose: %d replicas would each publish the host's port %d, which one container holds: run 1 in environment %s (%s)", c.Path, *d.Replicas, published, rd.env.Name, fix)
	}
	key := strconv.Itoa(published) + "/" + proto
	if other, ok := rd.published[key]; ok {
		rd.errs.Add(e.Pos, "%s.expose: %s would publish the host's port %s, as %s does: give one another port in environment %s (%s.expose: loadBalancer: servicePort)", c.Path, c.Name, key, other, rd.env.Name, c.OverridePath(rd.env.Name))
	}
	rd.published[key] = c.Name
	s.Ports = append(s.Ports, Port{Target: p.Number, Published: strconv.Itoa(published), HostIP: rd.env.Compose.HostIP, Protocol: proto})
}

func orStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// files mounts container's files: content as configs read from files
// gitopsc writes under files/, a secret's key as a Compose secret.
func (rd *renderer) files(s *Service, c *model.Component, container string) {
	svc := ServiceName(c)
	if container != "" {
		svc += "." + container
	}
	for _, f := range c.Files {
		if f.Container != container {
			continue
		}
		if f.Secret != "" {
			name := rd.secretEntry(c, f)
			s.Secrets = append(s.Secrets, FileMount{Source: name, Target: f.Path, Mode: "0444"})
			continue
		}
		name := svc + "." + model.PathSlug(f.Path)
		file := path.Join("files", svc, strings.TrimPrefix(f.Path, "/"))
		rd.add(KindConfig, name, c.Namespace, c.Name, f.Pos, &Config{File: "./" + file})
		rd.add(KindFile, file, c.Namespace, c.Name, f.Pos, &File{Content: f.Content})
		s.Configs = append(s.Configs, FileMount{Source: name, Target: f.Path, Mode: "0444"})
	}
}

// secretEntry is the secret of the compose file that holds one key of a
// secret, read from the secrets folder at run time; rendered once.
func (rd *renderer) secretEntry(c *model.Component, f model.File) string {
	sec := rd.sys.Secret(f.Secret)
	name := strings.ReplaceAll(f.Secret, "/", ".") + "." + f.Key
	ref := f.Secret + " key " + f.Key
	if other, ok := rd.entries[name]; ok {
		if other != ref {
			rd.errs.Add(f.Pos, "secret %s would be the Compose secret %s, as secret %s is: rename a key or a secret so that the two differ", ref, name, other)
		}
		return name
	}
	rd.entries[name] = ref
	ns := c.Namespace
	if sec != nil {
		ns = sec.Namespace
	}
	file := path.Join(rd.env.Compose.SecretsDir, f.Secret, f.Key)
	rd.useSecret(f.Secret, f.Key, "the file "+file)
	rd.add(KindSecret, name, ns, "", f.Pos, &Secret{File: file})
	return name
}

// sidecar renders a sidecar as a service in the network of its pod's
// main one, started after it.
func (rd *renderer) sidecar(c *model.Component, main *Service, sc model.Sidecar) {
	where := fmt.Sprintf("%s.sidecars.%s", c.Path, sc.Name)
	s := rd.extra(c, main, sc.InitContainer, where)
	s.NetworkMode = "service:" + ServiceName(c)
	s.Networks = nil
	dependOn(s, ServiceName(c), "service_started")
	s.Restart = "unless-stopped"
	if c.RunsToCompletion() {
		// Kubernetes stops a job's sidecars when it ends; Compose
		// leaves them, without the network they shared, until down.
		s.Restart = "no"
	}
	rd.files(s, c, sc.Name)
	rd.add(KindService, ServiceName(c)+"."+sc.Name, c.Namespace, c.Name, sc.Pos, s)
}

// initContainer renders an init container as a service on its pod's
// networks that runs to completion before the main one starts.
func (rd *renderer) initContainer(c *model.Component, main *Service, ic model.InitContainer, i int) {
	where := fmt.Sprintf("%s.initContainers[%d]", c.Path, i)
	s := rd.extra(c, main, ic, where)
	s.Networks = map[string]*Attachment{}
	for n := range main.Networks {
		s.Networks[n] = &Attachment{}
	}
	s.Restart = "no"
	name := ServiceName(c) + "." + ic.Name
	if i == 0 {
		rd.firstInit[c.Name] = s
	}
	if i > 0 {
		dependOn(s, ServiceName(c)+"."+c.Init[i-1].Name, "service_completed_successfully")
	}
	if i == len(c.Init)-1 {
		dependOn(main, name, "service_completed_successfully")
	}
	rd.add(KindService, name, c.Namespace, c.Name, ic.Pos, s)
}

// extra is the service of a pod's other container: its own image,
// command, environment and resources, the main one's volumes.
func (rd *renderer) extra(c *model.Component, main *Service, ic model.InitContainer, where string) *Service {
	vars := map[string]string{}
	for _, s := range ic.Config {
		vars[s.Key] = s.Value
	}
	secretVars := map[string]string{}
	for _, r := range ic.Secrets {
		secretVars[r.Env] = rd.secretVariable(r)
	}
	return &Service{
		Image:       rd.pin(ic.Image, where+".image"),
		Platform:    rd.platform(),
		Environment: rd.environment(vars, secretVars),
		Entrypoint:  rd.argv(ic.Command, vars, secretVars),
		Command:     rd.argv(ic.Args, vars, secretVars),
		Volumes:     slices.Clone(main.Volumes),
		Tmpfs:       slices.Clone(main.Tmpfs),
		User:        main.User,
		ReadOnly:    main.ReadOnly,
		CapDrop:     []string{"ALL"},
		SecurityOpt: main.SecurityOpt,
		Labels:      main.Labels,
		// A cronjob's pod is in its profile as a whole.
		Profiles: main.Profiles,
		Deploy:   &Deploy{Resources: rd.resources(ic.Resources, where+".resources")},
	}
}

// needList is what the host must have: Compose itself, then each secret
// file and variable read at run time.
func (rd *renderer) needList() []string {
	out := []string{fmt.Sprintf("Docker Compose v2 (docker compose) on a %s host; the compose file is %s in this folder", rd.platform(), FileName)}
	var files, vars []string
	for n := range rd.needs {
		if strings.HasPrefix(n, "the file ") {
			files = append(files, n)
		} else {
			vars = append(vars, n)
		}
	}
	sort.Strings(files)
	sort.Strings(vars)
	for _, f := range files {
		out = append(out, "at run time, "+f+", relative to this folder (compose.secretsDir)")
	}
	for _, v := range vars {
		out = append(out, "at run time, the "+v+", in docker compose's environment or an --env-file")
	}
	return out
}

// noteList says what Compose does differently from a cluster, for the
// components it concerns.
func (rd *renderer) noteList() []string {
	var out []string
	var probes, scaled []string
	for _, c := range rd.sys.Components {
		if c.RunsToCompletion() {
			if c.Kind == model.CronJob {
				zone := ""
				if c.Schedule.TimeZone != "" {
					zone = " " + c.Schedule.TimeZone
				}
				out = append(out, fmt.Sprintf("%s runs on no schedule (%s%s): Compose has none; it is in the profile cronjob, for the host's cron to run in this folder, with the variables it needs: docker compose -f %s run --rm %s (run retries nothing: job.backoffLimit does not apply)", c.Name, c.Schedule.Cron, zone, FileName, ServiceName(c)))
			}
			if j := c.Job; j != nil && (j.Parallelism != nil && *j.Parallelism > 1 || j.Completions != nil && *j.Completions > 1) {
				out = append(out, fmt.Sprintf("%s runs one container once: Compose has no job parallelism or completions", c.Name))
			}
			continue
		}
		if c.Autoscale != nil {
			scaled = append(scaled, fmt.Sprintf("%s %d", c.Name, c.Autoscale.Min))
		}
		if rd.services[c.Name].Healthcheck == nil {
			if r, l := render.ReadinessAndLiveness(c); r != nil || l != nil {
				probes = append(probes, c.Name)
			}
		}
		if c.ReadsAPI() {
			out = append(out, fmt.Sprintf("%s reads the Kubernetes API (serviceAccount.reads), which Compose has none of", c.Name))
		}
		if e := c.Expose; e != nil && e.Ingress && len(rd.services[c.Name].Ports) > 0 {
			out = append(out, fmt.Sprintf("%s is published on the host's port %s; the ingress host %s is not routed, any name of the host reaches it", c.Name, rd.services[c.Name].Ports[0].Published, e.Host))
		}
	}
	if len(scaled) > 0 {
		out = append(out, "Compose scales nothing: autoscaled components run autoscale.min replicas ("+strings.Join(scaled, ", ")+")")
	}
	if len(probes) > 0 {
		out = append(out, "HTTP, TCP and gRPC probes have no healthcheck (docker runs a check inside the container, whose image may have no client): "+strings.Join(probes, ", ")+"; what depends on them waits for them to start")
	}
	if n := len(rd.sys.Objects); n > 0 {
		out = append(out, fmt.Sprintf("%d raw objects (objects) are Kubernetes objects and are not rendered", n))
	}
	if len(rd.sys.Charts) > 0 {
		var names []string
		for _, c := range rd.sys.Charts {
			names = append(names, c.Name)
		}
		out = append(out, fmt.Sprintf("charts are installed by Helm on a cluster and are not rendered: %s", strings.Join(names, ", ")))
	}
	if m := rd.sys.Monitoring; m.Operator() {
		out = append(out, fmt.Sprintf("monitoring discovery is \"operator\", which Compose has no prometheus-operator for: no PodMonitor or PrometheusRule is rendered (%s unused); a Prometheus among the services finds its targets as its own configuration says", render.Count(len(m.Alerts), "alert")))
	}
	out = append(out, "each namespace is a network and only declared flows join two; inside one network every port is open, and a flow to an external opens the way out to any host")
	return out
}
