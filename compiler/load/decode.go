package load

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"cuelang.org/go/cue"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// The folders of an environment that are not namespace layers (the
// renderer's LayerFlux, LayerPlatform, LayerInfrastructure and
// LayerConfigs): a namespace cannot take their names.
var reservedLayers = []string{"flux", "platform", "infrastructure", "infrastructure-configs"}

// paths caches parsed selector paths: the loader looks up the same few
// dotted paths on every component, and parsing them each time cost more
// than the lookups.
var paths sync.Map

// path turns a dotted path of plain identifiers ("requests.cpu") into a
// cue.Path.
func cuePath(p string) cue.Path {
	if v, ok := paths.Load(p); ok {
		return v.(cue.Path)
	}
	var sels []cue.Selector
	for _, part := range strings.Split(p, ".") {
		if strings.HasPrefix(part, "#") {
			sels = append(sels, cue.Def(part))
		} else {
			sels = append(sels, cue.Str(part))
		}
	}
	cp := cue.MakePath(sels...)
	paths.Store(p, cp)
	return cp
}

type field struct {
	label string
	v     cue.Value
}

// fields lists a struct's regular fields in source order.
func fields(v cue.Value) []field {
	if !v.Exists() {
		return nil
	}
	if fs, ok := indexedFields(v); ok {
		return fs
	}
	it, err := v.Fields()
	if err != nil {
		return nil
	}
	var out []field
	for it.Next() {
		out = append(out, field{label: it.Selector().Unquoted(), v: it.Value()})
	}
	return out
}

func sortedFields(v cue.Value) []field {
	fs := fields(v)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].label < fs[j].label })
	return fs
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	portName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// decoder turns a validated value into the model. Values are concrete
// here, so decoding only fails on checks the schema cannot express.
type decoder struct {
	dir        string
	errs       *diag.List
	systemName string
	// plain is the input as written, without the addresses gitopsc
	// fills in; the decoder reads the addressed value, and positions
	// that filling moves from plain.
	plain cue.Value
	// components, when set, decodes the system's components (see
	// splitLoad).
	components func(cue.Value) []*model.Component
}

func (d *decoder) label(f field, what, path string) bool {
	if !dnsLabel.MatchString(f.label) {
		d.errs.Add(f.v.Pos(), "%s: %s name %q is not a DNS-1123 label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)", path, what, f.label)
		return false
	}
	return true
}

func (d *decoder) input(v cue.Value) *model.Input {
	in := &model.Input{Dir: d.dir, System: d.system(lookup(v, pathSystem))}
	for _, f := range sortedFields(lookup(v, pathEnvironments)) {
		if d.label(f, "environment", "environments."+f.label) {
			in.Environments = append(in.Environments, d.environment(f, in.System))
		}
	}
	return in
}

func str(v cue.Value, path string) (string, model.Pos) {
	f := v
	if path != "" {
		f = lookup(v, path)
	}
	if !f.Exists() {
		return "", model.Pos{}
	}
	s, _ := f.String()
	return s, f.Pos()
}

func num(v cue.Value, path string) (int, model.Pos, bool) {
	f := lookup(v, path)
	if !f.Exists() {
		return 0, model.Pos{}, false
	}
	n, _ := f.Int64()
	return int(n), f.Pos(), true
}

func strs(v cue.Value, path string) []string {
	f := lookup(v, path)
	var out []string
	if it, err := f.List(); err == nil {
		for it.Next() {
			s, _ := it.Value().String()
			out = append(out, s)
		}
	}
	return out
}

// strsPos is strs with the position of each element.
func strsPos(v cue.Value, path string) ([]string, []model.Pos) {
	var out []string
	var pos []model.Pos
	if it, err := lookup(v, path).List(); err == nil {
		for it.Next() {
			s, _ := it.Value().String()
			out = append(out, s)
			pos = append(pos, it.Value().Pos())
		}
	}
	return out, pos
}

func (d *decoder) system(v cue.Value) *model.System {
	s := &model.System{}
	s.Name, s.NamePos = str(v, "name")
	d.systemName = s.Name
	for _, f := range sortedFields(lookup(v, "namespaces")) {
		if !d.label(f, "namespace", "system.namespaces."+f.label) {
			continue
		}
		if slices.Contains(reservedLayers, f.label) {
			d.errs.Add(f.v.Pos(), "system.namespaces.%s: %q is the name of a folder gitopsc writes in each environment (its Flux Kustomizations, and what every namespace shares), and a namespace's objects go in a folder of its name; choose another name", f.label, f.label)
			continue
		}
		ns := &model.Namespace{Name: f.label, Pos: f.v.Pos(), PodSecurity: "restricted"}
		if p, pos := str(f.v, "podSecurity"); p != "" {
			ns.PodSecurity, ns.PodSecurityPos = p, pos
		}
		ns.Quota = quota(lookup(f.v, "quota"))
		s.Namespaces = append(s.Namespaces, ns)
		s.Objects = append(s.Objects, d.objects(lookup(f.v, "objects"), "system.namespaces."+f.label+".objects", f.label)...)
	}
	s.Objects = append(s.Objects, d.objects(lookup(v, "objects"), "system.objects", "")...)
	s.Charts = d.systemCharts(lookup(v, "charts"))
	if d.components != nil {
		s.Components = d.components(lookup(v, "components"))
	} else {
		for _, f := range sortedFields(lookup(v, "components")) {
			if d.label(f, "component", "system.components."+f.label) {
				s.Components = append(s.Components, d.component(f, "system.components."+f.label))
			}
		}
	}
	for _, f := range sortedFields(lookup(v, "externals")) {
		if !d.label(f, "external", "system.externals."+f.label) {
			continue
		}
		e := &model.External{Name: f.label, Pos: f.v.Pos(), Reach: d.reach(f.v, "system.externals."+f.label)}
		e.Ports = sortedPorts(tcpByDefault(e.Ports))
		s.Externals = append(s.Externals, e)
	}
	for _, f := range sortedFields(lookup(v, "secrets")) {
		if !d.label(f, "secret", "system.secrets."+f.label) {
			continue
		}
		sec := &model.Secret{Name: f.label, ObjectName: f.label, Path: "system.secrets." + f.label, Pos: f.v.Pos(), Keys: strs(f.v, "keys")}
		sec.Namespace, sec.NsPos = str(f.v, "namespace")
		sec.Source = d.secretSource(lookup(f.v, "from"))
		s.Secrets = append(s.Secrets, sec)
	}
	// Tenants last: their namespaces, components, secrets and objects
	// join the system's, sorted in with them.
	d.tenants(v, s)
	s.Monitoring = d.monitoring(lookup(v, "monitoring"), "system.monitoring")
	model.SortObjects(s.Objects)
	d.duplicateObjects(s.Objects)
	return s
}

func quota(v cue.Value) *model.Quota {
	if !v.Exists() {
		return nil
	}
	q := &model.Quota{Pos: v.Pos()}
	q.RequestsCPU, _ = str(v, "requests.cpu")
	q.RequestsMemory, _ = str(v, "requests.memory")
	q.LimitsCPU, _ = str(v, "limits.cpu")
	q.LimitsMemory, _ = str(v, "limits.memory")
	q.RequestsEphemeral, _ = str(v, "requests.ephemeral-storage")
	q.LimitsEphemeral, _ = str(v, "limits.ephemeral-storage")
	q.Pods, _, _ = num(v, "pods")
	if g := lookupLabels(v, "requests", GPUResource); g.Exists() {
		n, _ := g.Int64()
		gpus := int(n)
		q.RequestsGPU = &gpus
	}
	return q
}

func (d *decoder) secretSource(v cue.Value) model.SecretSource {
	src := model.SecretSource{Pos: v.Pos()}
	if p, _ := str(v, "sops"); p != "" {
		src.SOPS = filepath.ToSlash(filepath.Clean(p))
		return src
	}
	src.Store, _ = str(v, "external.store")
	src.StoreKind, _ = str(v, "external.storeKind")
	if src.StoreKind == "" {
		src.StoreKind = "ClusterSecretStore"
	}
	src.Path, _ = str(v, "external.path")
	src.RefreshInterval, _ = str(v, "external.refreshInterval")
	if src.RefreshInterval == "" {
		src.RefreshInterval = "1h"
	}
	return src
}

func image(v cue.Value) model.Image {
	ref, pos := str(v, "")
	repo, tag := model.SplitImage(ref)
	return model.Image{Ref: ref, Repository: repo, Tag: tag, Pos: pos}
}

func resources(v cue.Value) model.Resources {
	r := model.Resources{Pos: v.Pos()}
	r.Requests.CPU, r.Requests.CPUPos = str(v, "requests.cpu")
	r.Requests.Memory, r.Requests.MemoryPos = str(v, "requests.memory")
	r.Limits.CPU, r.Limits.CPUPos = str(v, "limits.cpu")
	r.Limits.Memory, r.Limits.MemoryPos = str(v, "limits.memory")
	r.Requests.Ephemeral, r.Requests.EphemeralPos = str(v, "requests.ephemeral-storage")
	r.Limits.Ephemeral, r.Limits.EphemeralPos = str(v, "limits.ephemeral-storage")
	return r
}

func (d *decoder) component(f field, path string) *model.Component {
	v := f.v
	c := &model.Component{Name: f.label, ObjectName: f.label, Path: path, Pos: d.positionOf(v), Kind: model.Stateless}
	c.Namespace, c.NsPos = str(v, "namespace")
	if k, pos := str(v, "kind"); k != "" {
		c.Kind, c.KindPos = k, pos
	}
	c.Image = image(lookup(v, "image"))
	c.Replicas = 1
	if n, pos, ok := num(v, "replicas"); ok {
		c.Replicas, c.ReplicasPos, c.ReplicasSet = n, pos, true
	}
	if a := lookup(v, "autoscale"); a.Exists() {
		as := &model.Autoscale{Pos: a.Pos(), CPUUtilization: 80}
		as.Min, _, _ = num(a, "min")
		as.Max, as.MaxPos, _ = num(a, "max")
		if n, _, ok := num(a, "cpuUtilization"); ok {
			as.CPUUtilization = n
		}
		c.Autoscale = as
	}
	c.Resources = resources(lookup(v, "resources"))
	c.Resources.GPUs, c.Resources.GPUsPos = d.gpus(lookup(v, "resources"), path+".resources")
	c.Pool, c.PoolPos = str(v, "pool")
	c.Ports = tcpByDefault(d.ports(lookup(v, "ports"), path+".ports"))
	if l, err := lookup(v, "talksTo").List(); err == nil {
		for l.Next() {
			s, _ := l.Value().String()
			target, port, _ := strings.Cut(s, ":")
			c.TalksTo = append(c.TalksTo, model.Flow{Target: target, Ref: target, Port: port, Pos: l.Value().Pos()})
		}
	}
	c.Config = d.settings(lookup(v, "config"), path+".config")
	c.Secrets = d.secretRefs(lookup(v, "secrets"), path+".secrets")
	for _, s := range fields(lookup(v, "storage")) {
		if !d.label(s, "volume", path+".storage."+s.label) {
			continue
		}
		vol := model.Volume{Name: s.label, Pos: s.v.Pos()}
		vol.Size, _ = str(s.v, "size")
		vol.MountPath, _ = str(s.v, "mountPath")
		vol.Class, _ = str(s.v, "class")
		c.Storage = append(c.Storage, vol)
	}
	if l, err := lookup(v, "writable").List(); err == nil {
		for l.Next() {
			s, _ := l.Value().String()
			c.Writable = append(c.Writable, model.Path{Path: s, Pos: l.Value().Pos()})
		}
	}
	c.Files = d.files(lookup(v, "files"), path+".files")
	c.Expose = d.expose(lookup(v, "expose"), path+".expose")
	pv := lookup(v, "probes")
	c.Probes = model.Probes{
		Readiness: probe(lookup(pv, "readiness")),
		Liveness:  probe(lookup(pv, "liveness")),
		Startup:   probe(lookup(pv, "startup")),
	}
	c.Rolling = model.RollingUpdate{MaxSurge: "25%", MaxUnavailable: "25%"}
	if r := lookup(v, "rollingUpdate"); r.Exists() {
		c.Rolling.Pos = r.Pos()
		if s := intOrPercent(lookup(r, "maxSurge")); s != "" {
			c.Rolling.MaxSurge = s
		}
		if s := intOrPercent(lookup(r, "maxUnavailable")); s != "" {
			c.Rolling.MaxUnavailable = s
		}
		c.Rolling.MinReadySeconds, _, _ = num(r, "minReadySeconds")
	}
	if m := lookup(v, "metrics"); m.Exists() {
		c.Metrics = &model.Metrics{Pos: m.Pos(), Path: "/metrics"}
		c.Metrics.Port, _ = str(m, "port")
		if p, _ := str(m, "path"); p != "" {
			c.Metrics.Path = p
		}
	}
	c.Command, c.CommandPos = strsPos(v, "command")
	c.Args, c.ArgsPos = strsPos(v, "args")
	if l, err := lookup(v, "initContainers").List(); err == nil {
		for i := 0; l.Next(); i++ {
			iv := l.Value()
			ic := d.container(iv, fmt.Sprintf("%s.initContainers[%d]", path, i))
			ic.Name, _ = str(iv, "name")
			c.Init = append(c.Init, ic)
		}
	}
	for _, f := range sortedFields(lookup(v, "sidecars")) {
		spath := path + ".sidecars." + f.label
		sc := model.Sidecar{InitContainer: d.container(f.v, spath)}
		sc.Name = f.label
		for _, p := range tcpByDefault(d.ports(lookup(f.v, "ports"), spath+".ports")) {
			p.Container = f.label
			c.Ports = append(c.Ports, p)
		}
		for _, file := range d.files(lookup(f.v, "files"), spath+".files") {
			file.Container = f.label
			c.Files = append(c.Files, file)
		}
		pv := lookup(f.v, "probes")
		sc.Probes = model.Probes{
			Readiness: probe(lookup(pv, "readiness")),
			Liveness:  probe(lookup(pv, "liveness")),
			Startup:   probe(lookup(pv, "startup")),
		}
		c.Sidecars = append(c.Sidecars, sc)
	}
	sort.SliceStable(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	if s := lookup(v, "security"); s.Exists() {
		se := &model.SecurityException{Pos: s.Pos(), AddCapabilities: strs(s, "addCapabilities")}
		se.Reason, _ = str(s, "reason")
		se.RunAsUser = optInt(s, "runAsUser")
		se.RunAsGroup = optInt(s, "runAsGroup")
		se.FSGroup = optInt(s, "fsGroup")
		if b := lookup(s, "readOnlyRootFilesystem"); b.Exists() {
			x, _ := b.Bool()
			se.ReadOnlyRootFilesystem = &x
		}
		c.Security = se
	}
	c.Pod = d.metadata(lookup(v, "pod"), path+".pod", c.RunsToCompletion())
	if c.Metrics != nil {
		for _, a := range c.Pod.Annotations {
			if slices.Contains(model.MetricsAnnotations, a.Key) {
				d.errs.Add(a.Pos, "%s.pod.annotations: %q is set from the component's metrics; change metrics instead", path, a.Key)
			}
		}
	}
	c.ServiceAccount = d.serviceAccount(lookup(v, "serviceAccount"), path+".serviceAccount", c.Namespace)
	d.job(c, v, path)
	return c
}

// container decodes what every extra container of a pod states.
func (d *decoder) container(v cue.Value, path string) model.InitContainer {
	ic := model.InitContainer{Pos: v.Pos()}
	ic.Command, ic.CommandPos = strsPos(v, "command")
	ic.Args, ic.ArgsPos = strsPos(v, "args")
	ic.Image = image(lookup(v, "image"))
	ic.Resources = resources(lookup(v, "resources"))
	ic.Config = d.settings(lookup(v, "config"), path+".config")
	ic.Secrets = d.secretRefs(lookup(v, "secrets"), path+".secrets")
	return ic
}

// secretRefs decodes environment variables read from secrets, in name
// order.
func (d *decoder) secretRefs(v cue.Value, path string) []model.SecretRef {
	var out []model.SecretRef
	for _, s := range fields(v) {
		if !d.envVar(s, path) {
			continue
		}
		ref := model.SecretRef{Env: s.label, Pos: s.v.Pos()}
		ref.Secret, _ = str(s.v, "secret")
		ref.Key, _ = str(s.v, "key")
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

// ports decodes named ports: a number, or {port, targetPort, protocol,
// appProtocol}. Protocol stays empty when not written, so that an
// environment's override changes only what it states; see tcpByDefault.
func (d *decoder) ports(v cue.Value, path string) []model.Port {
	var out []model.Port
	for _, p := range fields(v) {
		if !portName.MatchString(p.label) || len(p.label) > 15 {
			d.errs.Add(p.v.Pos(), "%s.%s: port name %q must be at most 15 lower-case letters, digits and '-', starting with a letter", path, p.label, p.label)
			continue
		}
		port := model.Port{Name: p.label, Pos: p.v.Pos()}
		if n, err := p.v.Int64(); err == nil {
			port.Number = int(n)
			out = append(out, port)
			continue
		}
		service, pos, _ := num(p.v, "port")
		port.Number, port.Pos = service, pos
		if n, tpos, ok := num(p.v, "targetPort"); ok {
			port.Number, port.TargetPos = n, tpos
			if n != service {
				port.Service = service
			}
		}
		if s, _ := str(p.v, "protocol"); s != "" {
			port.Protocol = s
		}
		port.AppProtocol, _ = str(p.v, "appProtocol")
		out = append(out, port)
	}
	return out
}

// reach decodes how an external is reached: hosts, cidrs, ports.
func (d *decoder) reach(v cue.Value, path string) model.Reach {
	var r model.Reach
	r.Hosts, _ = strsPos(v, "hosts")
	r.HostsPos = lookup(v, "hosts").Pos()
	r.CIDRs, r.CIDRsPos = strsPos(v, "cidrs")
	r.Ports = d.ports(lookup(v, "ports"), path+".ports")
	return r
}

// tcpByDefault sets the protocol of ports that do not state one.
func tcpByDefault(ps []model.Port) []model.Port {
	for i := range ps {
		if ps[i].Protocol == "" {
			ps[i].Protocol = "TCP"
		}
	}
	return ps
}

func sortedPorts(ps []model.Port) []model.Port {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

func optInt(v cue.Value, path string) *int64 {
	f := lookup(v, path)
	if !f.Exists() {
		return nil
	}
	n, _ := f.Int64()
	return &n
}

func intOrPercent(v cue.Value) string {
	if !v.Exists() {
		return ""
	}
	if n, err := v.Int64(); err == nil {
		return fmt.Sprint(n)
	}
	s, _ := v.String()
	return s
}

// envVar reports whether f's label can name an environment variable, and
// says why not at f otherwise.
func (d *decoder) envVar(f field, path string) bool {
	if envName.MatchString(f.label) {
		return true
	}
	d.errs.Add(f.v.Pos(), "%s.%s: %q is not a valid environment variable name", path, f.label, f.label)
	return false
}

func (d *decoder) settings(v cue.Value, path string) []model.Setting {
	var out []model.Setting
	for _, s := range sortedFields(v) {
		if !d.envVar(s, path) {
			continue
		}
		val, _ := s.v.String()
		out = append(out, model.Setting{Key: s.label, Value: val, Pos: s.v.Pos()})
	}
	return out
}

func (d *decoder) expose(v cue.Value, path string) *model.Expose {
	if !v.Exists() {
		return nil
	}
	e := &model.Expose{Pos: v.Pos()}
	if in := lookup(v, "ingress"); in.Exists() {
		e.Annotations = d.annotations(lookup(in, "annotations"), path+".ingress.annotations")
		for _, a := range e.Annotations {
			switch {
			case a.Key == ingressClassAnnotation:
				d.errs.Add(a.Pos, "%s.ingress.annotations: the API server refuses %s beside the ingressClassName gitopsc sets; choose the class with the environment's cluster.ingressClass", path, a.Key)
			case a.Key == albTargetType && a.Value == "instance":
				d.errs.Add(a.Pos, "%s.ingress.annotations: %s %q needs a NodePort Service, and the component's Service is ClusterIP: the AWS Load Balancer Controller would not reconcile the Ingress; keep target type ip", path, a.Key, a.Value)
			}
		}
		e.Ingress = true
		e.Host, _ = str(in, "host")
		e.Path, _ = str(in, "path")
		e.Port, _ = str(in, "port")
		e.TLSSecret, _ = str(in, "tlsSecret")
		if e.Path == "" {
			e.Path = "/"
		}
		return e
	}
	e.LoadBalancer = true
	e.Annotations = d.annotations(lookup(v, "loadBalancer.annotations"), path+".loadBalancer.annotations")
	e.Port, _ = str(v, "loadBalancer.port")
	e.ServicePort, _, _ = num(v, "loadBalancer.servicePort")
	return e
}

func probe(v cue.Value) *model.Probe {
	if !v.Exists() {
		return nil
	}
	p := &model.Probe{Pos: v.Pos()}
	switch {
	case lookup(v, "http").Exists():
		p.Kind = model.ProbeHTTP
		p.Path, _ = str(v, "http.path")
		p.Port, _ = str(v, "http.port")
		for _, h := range fields(lookup(v, "http.headers")) {
			value, _ := h.v.String()
			p.Headers = append(p.Headers, model.Header{Name: h.label, Value: value, Pos: h.v.Pos()})
		}
		// Sorted once here, so the rendered httpHeaders and every message
		// come out in the same order whatever order the source has.
		sort.Slice(p.Headers, func(i, j int) bool { return p.Headers[i].Name < p.Headers[j].Name })
	case lookup(v, "tcp").Exists():
		p.Kind = model.ProbeTCP
		p.Port, _ = str(v, "tcp.port")
	case lookup(v, "grpc").Exists():
		p.Kind = model.ProbeGRPC
		p.Port, _ = str(v, "grpc.port")
		p.Service, _ = str(v, "grpc.service")
	default:
		p.Kind = model.ProbeExec
		p.Command = strs(v, "exec")
	}
	p.InitialDelaySeconds, _, _ = num(v, "initialDelaySeconds")
	p.PeriodSeconds, _, _ = num(v, "periodSeconds")
	p.TimeoutSeconds, _, _ = num(v, "timeoutSeconds")
	p.FailureThreshold, _, _ = num(v, "failureThreshold")
	return p
}

func (d *decoder) environment(f field, sys *model.System) *model.Environment {
	v := f.v
	path := "environments." + f.label
	e := &model.Environment{Name: f.label, Pos: v.Pos()}
	cv := lookup(v, "cluster")
	if lookup(v, "compose").Exists() {
		d.composeHost(e, v, path)
	} else if !cv.Exists() {
		d.errs.Add(v.Pos(), "%s: give cluster (the Kubernetes cluster it runs on) or compose (the host Docker Compose runs it on)", path)
	}
	if e.Compose == nil {
		e.Cluster.Pos = cv.Pos()
		e.Cluster.Distribution, e.Cluster.DistributionPos = str(cv, "distribution")
		e.Cluster.Arch = strs(cv, "arch")
		e.Cluster.ArchPos = lookup(cv, "arch").Pos()
		e.Cluster.StorageClass, _ = str(cv, "storageClass")
		e.Cluster.IngressClass, _ = str(cv, "ingressClass")
		if e.Cluster.StorageClass == "" {
			e.Cluster.StorageClass = map[string]string{"k3s": "local-path", "eks": "gp3", "minikube": "standard"}[e.Cluster.Distribution]
		}
		if e.Cluster.IngressClass == "" {
			e.Cluster.IngressClass = map[string]string{"k3s": "traefik", "eks": "alb", "minikube": "nginx"}[e.Cluster.Distribution]
		}
		e.Cluster.PodCIDRs, e.Cluster.PodCIDRsPos = strsPos(cv, "podCIDRs")
		if len(e.Cluster.PodCIDRs) == 0 {
			e.Cluster.PodCIDRs = map[string][]string{"k3s": {"10.42.0.0/16"}, "minikube": {"10.244.0.0/16"}}[e.Cluster.Distribution]
		}
		e.Cluster.ServiceCIDRs, e.Cluster.ServiceCIDRsPos = strsPos(cv, "serviceCIDRs")
		if len(e.Cluster.ServiceCIDRs) == 0 {
			e.Cluster.ServiceCIDRs = map[string][]string{"k3s": {"10.43.0.0/16"}, "eks": {"10.100.0.0/16", "172.20.0.0/16"}, "minikube": {"10.96.0.0/12"}}[e.Cluster.Distribution]
		}
		e.Cluster.NetworkPolicy, e.Cluster.NetworkPolicyPos = str(cv, "networkPolicy")
		if e.Cluster.NetworkPolicy == "" {
			// k3s runs its embedded kube-router policy controller unless told
			// not to; EKS's VPC CNI enforces nothing until its agent is enabled.
			e.Cluster.NetworkPolicy = map[string]string{"k3s": "kube-router"}[e.Cluster.Distribution]
		}
		d.pools(cv, path+".cluster", &e.Cluster)
		e.Cluster.APIServer = apiServer(cv, e.Cluster.Distribution)
		if v, pos := str(cv, "kubernetesVersion"); v != "" {
			e.Cluster.KubernetesMinor, _ = strconv.Atoi(strings.TrimPrefix(v, "1."))
			e.Cluster.KubernetesMinorPos = pos
		}
	}
	fv := lookup(v, "flux")
	e.Flux = model.Flux{SourceName: "flux-system", SourceNamespace: "flux-system", Branch: "main", PathPrefix: "out",
		Interval: "10m", Timeout: "5m", DecryptionSecret: "sops-age"}
	if u, _ := str(fv, "url"); u != "" {
		e.Flux.ManagedSource = true
		e.Flux.SourceName = d.systemName
	}
	for p, dst := range map[string]*string{
		"decryptionSecret": &e.Flux.DecryptionSecret,
		"sourceRef.name":   &e.Flux.SourceName, "sourceRef.namespace": &e.Flux.SourceNamespace,
		"url": &e.Flux.URL, "branch": &e.Flux.Branch, "pathPrefix": &e.Flux.PathPrefix,
		"interval": &e.Flux.Interval, "timeout": &e.Flux.Timeout,
	} {
		if s, _ := str(fv, p); s != "" {
			*dst = s
		}
	}
	e.Flux.PathPrefix = strings.TrimSuffix(e.Flux.PathPrefix, "/")
	if name, pos := str(fv, "sourceRef.name"); e.Flux.ManagedSource && name == "flux-system" && e.Flux.SourceNamespace == "flux-system" {
		d.errs.Add(pos, "%s.flux.sourceRef.name: with url set, gitopsc renders a GitRepository of its own; flux-system/flux-system is the one flux bootstrap creates, and Flux refuses the two in one build: choose another name, or leave out url to use bootstrap's", path)
	}
	for _, n := range sortedFields(lookup(v, "namespaces")) {
		no := &model.NamespaceOverride{Name: n.label, Pos: n.v.Pos(), Quota: quota(lookup(n.v, "quota"))}
		no.PodSecurity, no.PodSecurityPos = str(n.v, "podSecurity")
		e.Namespaces = append(e.Namespaces, no)
		e.Objects = append(e.Objects, d.objects(lookup(n.v, "objects"), path+".namespaces."+n.label+".objects", n.label)...)
	}
	for _, t := range sortedFields(lookup(v, "tenants")) {
		tpath := path + ".tenants." + t.label
		no := &model.NamespaceOverride{Name: t.label, Pos: t.v.Pos(), Tenant: true, Quota: quota(lookup(t.v, "quota"))}
		no.PodSecurity, no.PodSecurityPos = str(t.v, "podSecurity")
		e.Namespaces = append(e.Namespaces, no)
		e.Objects = append(e.Objects, d.objects(lookup(t.v, "objects"), tpath+".objects", t.label)...)
		for _, c := range sortedFields(lookup(t.v, "components")) {
			o := d.override(c, tpath+".components."+c.label)
			o.Name = model.TenantName(t.label, c.label)
			e.Components = append(e.Components, o)
		}
		for _, s := range sortedFields(lookup(t.v, "secrets")) {
			e.Secrets = append(e.Secrets, &model.SecretOverride{Name: model.TenantName(t.label, s.label), Path: tpath + ".secrets." + s.label, Pos: s.v.Pos(),
				Source: d.secretSource(lookup(s.v, "from"))})
		}
	}
	e.Objects = append(e.Objects, d.objects(lookup(v, "objects"), path+".objects", "")...)
	model.SortObjects(e.Objects)
	d.duplicateObjects(e.Objects)
	e.Charts = d.envCharts(lookup(v, "charts"), path+".charts", sys)
	e.Monitoring = d.monitoring(lookup(v, "monitoring"), path+".monitoring")
	for _, c := range sortedFields(lookup(v, "components")) {
		e.Components = append(e.Components, d.override(c, path+".components."+c.label))
	}
	for _, s := range sortedFields(lookup(v, "secrets")) {
		e.Secrets = append(e.Secrets, &model.SecretOverride{Name: s.label, Path: path + ".secrets." + s.label, Pos: s.v.Pos(),
			Source: d.secretSource(lookup(s.v, "from"))})
	}
	for _, x := range sortedFields(lookup(v, "externals")) {
		o := &model.ExternalOverride{Name: x.label, Pos: x.v.Pos(), Reach: d.reach(x.v, path+".externals."+x.label)}
		e.Externals = append(e.Externals, o)
	}
	pv := lookup(v, "policy")
	e.Policy.RequireArch = strs(pv, "requireArch")
	e.Policy.RequireArchPos = lookup(pv, "requireArch").Pos()
	e.Policy.Registries = strs(pv, "registries")
	e.Policy.RegistriesPos = lookup(pv, "registries").Pos()
	if l, err := lookup(pv, "waivers").List(); err == nil {
		for i := 0; l.Next(); i++ {
			w := model.Waiver{Pos: l.Value().Pos()}
			w.Rule, w.RulePos = str(l.Value(), "rule")
			w.Target, w.TargetPos = str(l.Value(), "target")
			w.Reason, _ = str(l.Value(), "reason")
			w.Expires, w.ExpiresPos = str(l.Value(), "expires")
			if why := notCalendarDate(w.Expires); why != "" {
				d.errs.Add(w.ExpiresPos, "%s.policy.waivers.%d.expires: %q is not a calendar date (%s)", path, i, w.Expires, why)
			}
			e.Policy.Waivers = append(e.Policy.Waivers, w)
		}
	}
	return e
}

// notCalendarDate says why a YYYY-MM-DD string names no day, or "". The
// schema checks the shape only, and a day that does not exist would
// quietly move a waiver's expiry to some other day.
func notCalendarDate(s string) string {
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return ""
	}
	var y, m, day int
	if n, _ := fmt.Sscanf(s, "%d-%d-%d", &y, &m, &day); n != 3 {
		return "want YYYY-MM-DD"
	}
	if m < 1 || m > 12 {
		return fmt.Sprintf("month %d", m)
	}
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return fmt.Sprintf("%s %04d has days 1 to %d", time.Month(m), y, last)
}

func (d *decoder) override(f field, path string) *model.Override {
	v := f.v
	o := &model.Override{Name: f.label, Path: path, Pos: v.Pos()}
	o.Pool, o.PoolPos = str(v, "pool")
	if n, pos, ok := num(v, "replicas"); ok {
		o.Replicas, o.ReplicasPos = &n, pos
	}
	if a := lookup(v, "autoscale"); a.Exists() {
		ao := &model.AutoscaleOverride{Pos: a.Pos()}
		if n, _, ok := num(a, "min"); ok {
			ao.Min = &n
		}
		if n, pos, ok := num(a, "max"); ok {
			ao.Max, ao.MaxPos = &n, pos
		}
		if n, _, ok := num(a, "cpuUtilization"); ok {
			ao.CPUUtilization = &n
		}
		o.Autoscale = ao
	}
	if r := lookup(v, "resources"); r.Exists() {
		ro := &model.ResourcesOverride{Pos: r.Pos()}
		for _, f := range []struct {
			path string
			dst  **string
			pos  *model.Pos
		}{
			{"requests.cpu", &ro.RequestsCPU, &ro.RequestsCPUPos},
			{"requests.memory", &ro.RequestsMemory, &ro.RequestsMemoryPos},
			{"limits.cpu", &ro.LimitsCPU, &ro.LimitsCPUPos},
			{"limits.memory", &ro.LimitsMemory, &ro.LimitsMemoryPos},
			{"requests.ephemeral-storage", &ro.RequestsEphemeral, &ro.RequestsEphemeralPos},
			{"limits.ephemeral-storage", &ro.LimitsEphemeral, &ro.LimitsEphemeralPos},
		} {
			if s, pos := str(r, f.path); s != "" {
				*f.dst, *f.pos = &s, pos
			}
		}
		if g := lookupLabels(r, "limits", GPUResource); g.Exists() {
			n, _ := g.Int64()
			gpus := int(n)
			ro.GPUs, ro.GPUsPos = &gpus, g.Pos()
		}
		o.Resources = ro
	}
	o.Tag, o.TagPos = str(v, "tag")
	o.Config = d.settings(lookup(v, "config"), path+".config")
	o.Files = d.files(lookup(v, "files"), path+".files")
	o.Expose = d.expose(lookup(v, "expose"), path+".expose")
	o.Pod = d.metadata(lookup(v, "pod"), path+".pod", false)
	sa := lookup(v, "serviceAccount")
	o.SAAnnotations = d.annotations(lookup(sa, "annotations"), path+".serviceAccount.annotations")
	d.noRoleAnnotation(o.SAAnnotations, path+".serviceAccount.annotations")
	o.IAMRole, o.IAMRolePos = str(sa, "iamRole")
	return o
}
