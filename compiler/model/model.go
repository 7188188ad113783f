// Package model holds the Go form of a gitopsc input: the system, its
// components and the environments they run in. Every value a user wrote
// keeps the position of the CUE field it came from, so later stages can
// point at the line to change.
package model

import (
	"strings"
	"sync"

	"cuelang.org/go/cue/token"
)

// Pos is the source position of a CUE field.
type Pos = token.Pos

// Input is a loaded, validated gitopsc input.
type Input struct {
	Dir          string // the input folder, absolute
	Arg          string // the input folder as the user named it
	System       *System
	Environments []*Environment // sorted by name
	// Charts are the chart archives of charts.lock that the input uses,
	// and its path charts, by Chart.Key.
	Charts map[string]*LoadedChart
	// ChartLockErr is what is wrong with a charts.lock that does not
	// parse, for the environments that install from a repository.
	ChartLockErr error
}

// Environment returns the environment called name, or nil.
func (in *Input) Environment(name string) *Environment {
	for _, e := range in.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

type System struct {
	Name       string
	NamePos    Pos
	Namespaces []*Namespace // sorted by name
	Components []*Component // sorted by name
	Secrets    []*Secret    // sorted by name
	Externals  []*External  // sorted by name
	// Objects are the raw objects, the system's own and its
	// namespaces', sorted by Block and Key.
	Objects []*Object
	// Charts are the Helm charts, sorted by name.
	Charts []*Chart
	// Tenants are the instances of templates, sorted by name. Their
	// namespaces are in Namespaces and their components in Components,
	// one copy of the template's each; TenantOverrides are what each
	// tenant states for its components, applied before an environment's.
	Tenants         []*Tenant
	TenantOverrides []*Override
	// Monitoring is how Prometheus finds the metrics endpoints, and its
	// alerts; nil when the input says nothing (annotations, no alerts).
	Monitoring *Monitoring

	index    sync.Once
	byName   map[string]*Component
	byObject map[[2]string]*Component
}

// Chart returns the chart called name, or nil.
func (s *System) Chart(name string) *Chart {
	for _, c := range s.Charts {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Namespace returns the namespace called name, or nil.
func (s *System) Namespace(name string) *Namespace {
	for _, n := range s.Namespaces {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Component returns the component called name, or nil. The first call
// indexes the components: a System is not changed after it is built.
func (s *System) Component(name string) *Component {
	s.indexComponents()
	return s.byName[name]
}

func (s *System) indexComponents() {
	s.index.Do(func() {
		s.byName = make(map[string]*Component, len(s.Components))
		s.byObject = make(map[[2]string]*Component, len(s.Components))
		for _, c := range s.Components {
			s.byName[c.Name] = c
			s.byObject[[2]string{c.Namespace, c.ObjectName}] = c
		}
	})
}

// Secret returns the secret called name, or nil.
func (s *System) Secret(name string) *Secret {
	for _, c := range s.Secrets {
		if c.Name == name {
			return c
		}
	}
	return nil
}

type Namespace struct {
	Name           string
	Pos            Pos
	Tenant         bool   // the namespace of the tenant of its name
	PodSecurity    string // restricted, baseline or privileged
	PodSecurityPos Pos
	Quota          *Quota // nil when none is set
}

// Quota is a namespace's ResourceQuota. Quantities are kept as written.
type Quota struct {
	Pos            Pos
	RequestsCPU    string
	RequestsMemory string
	LimitsCPU      string // empty when not set
	LimitsMemory   string
	Pods           int // 0 when not set
	// Ephemeral storage, empty when not set.
	RequestsEphemeral, LimitsEphemeral string
	// RequestsGPU is requests.nvidia.com/gpu; nil when not set.
	RequestsGPU *int
}

// Stateless and Stateful are the long-running workload kinds; Job and
// CronJob (job.go) the ones that run to completion.
const (
	Stateless = "stateless"
	Stateful  = "stateful"
)

type Component struct {
	// Name is the component's identity in messages, findings, waivers
	// and overrides: its label, or TENANT/LABEL for a tenant's. Its
	// objects are called ObjectName, the label alone.
	Name       string
	ObjectName string
	// Path is where it is written: system.components.NAME, or
	// system.templates.TEMPLATE.components.NAME.
	Path string
	// Tenant is the tenant it belongs to, "" for the system's own.
	Tenant    string
	Pos       Pos // the component's label
	Namespace string
	NsPos     Pos
	Kind      string
	KindPos   Pos
	// Job and Schedule are set for the kinds that run to completion:
	// Job for both (defaults when not written), Schedule for a cronjob.
	Job      *JobSpec
	Schedule *Schedule
	Image    Image
	// Replicas is the fixed replica count; ignored when Autoscale is set.
	Replicas    int
	ReplicasSet bool
	ReplicasPos Pos
	Autoscale   *Autoscale
	Resources   Resources
	Pool        string // node pool as written; once resolved, the one it runs on
	PoolPos     Pos
	Ports       []Port // in source order
	TalksTo     []Flow // in source order
	Config      []Setting
	Secrets     []SecretRef
	Storage     []Volume
	Writable    []Path
	Files       []File // sorted by path
	Expose      *Expose
	Probes      Probes
	Rolling     RollingUpdate
	Metrics     *Metrics
	Command     []string
	Args        []string
	// CommandPos and ArgsPos hold the position of each element.
	CommandPos, ArgsPos []Pos
	Init                []InitContainer
	// Sidecars run beside the main container, in name order; their
	// ports are in Ports and their files in Files, marked with their name.
	Sidecars []Sidecar
	Security *SecurityException
	// Pod is what the input adds to the pod template's metadata.
	Pod            Metadata
	ServiceAccount ServiceAccount
}

// OverridePath is where environment env overrides c, for a hint: a
// tenant's component is written as every tenant's, with TENANT, as the
// template it comes from.
func (c *Component) OverridePath(env string) string {
	if c.Tenant != "" {
		return "environments." + env + ".tenants.TENANT.components." + c.ObjectName
	}
	return "environments." + env + ".components." + c.Name
}

// Port returns the named port, or nil.
func (c *Component) Port(name string) *Port {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

// Image is an image reference as written, split into repository and tag.
type Image struct {
	Ref        string // repository:tag as written (with an override applied)
	Repository string
	Tag        string // empty when the reference has none
	Pos        Pos
}

type Autoscale struct {
	Min, Max       int
	CPUUtilization int
	Pos            Pos
	MaxPos         Pos
}

type Resources struct {
	Requests, Limits CPUMemory
	// GPUs is the nvidia.com/gpu the container requests and limits to
	// (the two are equal); GPUsPos the limit's position.
	GPUs    int
	GPUsPos Pos
	Pos     Pos
}

type CPUMemory struct {
	CPU, Memory       string
	CPUPos, MemoryPos Pos
	// Ephemeral is ephemeral storage, "" for the default.
	Ephemeral    string
	EphemeralPos Pos
}

// Port is a named port of a component or an external.
type Port struct {
	Name string
	// Number is the port the container listens on: what NetworkPolicies
	// match and probes check.
	Number int
	// Service is the port the Service answers on, what clients dial; 0
	// when it is Number.
	Service int
	// Protocol is TCP or UDP.
	Protocol    string
	AppProtocol string
	Pos         Pos
	// TargetPos is the position of targetPort, when written.
	TargetPos Pos
	// Container is the sidecar that listens on the port; empty for the
	// main container.
	Container string
}

// ServicePort is the port clients dial: the Service's port.
func (p *Port) ServicePort() int {
	if p.Service != 0 {
		return p.Service
	}
	return p.Number
}

// Flow is one declared talksTo entry: this component may open connections
// to Target's named Port.
type Flow struct {
	// Target is the component's Name or the external's; Ref the name as
	// talksTo writes it, which service discovery is named after (a
	// tenant's "cache" is TENANT/cache).
	Target string
	Ref    string
	Port   string
	Pos    Pos
	// Implicit marks a flow gitopsc adds: a reader of the Kubernetes API
	// to the API server.
	Implicit bool
}

type Setting struct {
	Key, Value string
	Pos        Pos
}

type SecretRef struct {
	Env    string
	Secret string
	Key    string
	Pos    Pos
}

type Volume struct {
	Name      string
	Size      string
	MountPath string
	Class     string
	Pos       Pos
}

type Path struct {
	Path string
	Pos  Pos
}

type Expose struct {
	Pos Pos
	// Ingress is set for HTTP exposure; otherwise a LoadBalancer Service.
	Ingress      bool
	Host         string
	Path         string
	Port         string
	TLSSecret    string
	LoadBalancer bool
	// ServicePort is the port the load balancer answers on; 0 for the
	// exposed port's Service port.
	ServicePort int
	// Annotations are added to, and replace, gitopsc's own on the
	// Ingress or the load balancer's Service; sorted by key.
	Annotations []Setting
}

type Probes struct {
	Readiness, Liveness, Startup *Probe
}

// Probe kinds.
const (
	ProbeHTTP = "http"
	ProbeTCP  = "tcp"
	ProbeGRPC = "grpc"
	ProbeExec = "exec"
)

type Probe struct {
	Kind                string
	Path                string   // http
	Headers             []Header // http, in name order
	Port                string   // http, tcp, grpc
	Service             string   // grpc
	Command             []string
	InitialDelaySeconds int
	PeriodSeconds       int
	TimeoutSeconds      int
	FailureThreshold    int
	Pos                 Pos
}

// Header is an HTTP request header a probe sends.
type Header struct {
	Name, Value string
	Pos         Pos
}

// RollingUpdate holds maxSurge and maxUnavailable as written: an integer
// or a percentage.
type RollingUpdate struct {
	MaxSurge, MaxUnavailable string
	MinReadySeconds          int
	Pos                      Pos
}

type Metrics struct {
	Port string
	Path string
	Pos  Pos
}

type InitContainer struct {
	Name                string
	Image               Image
	Command             []string
	Args                []string
	CommandPos, ArgsPos []Pos
	Resources           Resources
	Config              []Setting   // in name order
	Secrets             []SecretRef // in name order
	Pos                 Pos
}

// Sidecar is a container that runs beside the main one: an init container
// with restartPolicy Always.
type Sidecar struct {
	InitContainer
	Probes Probes
}

// Containers lists the init containers and sidecars of c: every container
// of its pod but the main one.
func (c *Component) Containers() []InitContainer {
	out := make([]InitContainer, 0, len(c.Sidecars)+len(c.Init))
	for _, sc := range c.Sidecars {
		out = append(out, sc.InitContainer)
	}
	return append(out, c.Init...)
}

type SecurityException struct {
	RunAsUser              *int64
	RunAsGroup             *int64
	FSGroup                *int64
	ReadOnlyRootFilesystem *bool
	AddCapabilities        []string
	Reason                 string
	Pos                    Pos
}

type Secret struct {
	// Name is the secret's identity, TENANT/LABEL for a tenant's, whose
	// Secret is called ObjectName; Path is where it is declared.
	Name       string
	ObjectName string
	Path       string
	Tenant     string
	Pos        Pos
	Namespace  string
	NsPos      Pos
	Keys       []string
	Source     SecretSource
}

// HasKey reports whether key is one of the secret's keys.
func (s *Secret) HasKey(key string) bool {
	for _, k := range s.Keys {
		if k == key {
			return true
		}
	}
	return false
}

// SecretSource is where a secret's values live: a SOPS file or an
// external store.
type SecretSource struct {
	Pos Pos
	// SOPS is the encrypted file, relative to the input folder, and
	// Content its bytes, copied verbatim into the output.
	SOPS    string
	Content []byte
	// External store fields, set when SOPS is empty.
	Store           string
	StoreKind       string
	Path            string
	RefreshInterval string
}

type Environment struct {
	Name string
	Pos  Pos
	// Cluster is the Kubernetes cluster the environment runs on; for a
	// Compose environment, Distribution is "compose" and Arch the host's.
	Cluster Cluster
	// Compose is set for an environment that Docker Compose runs.
	Compose    *ComposeHost
	Flux       Flux
	Namespaces []*NamespaceOverride // sorted by name
	Components []*Override          // sorted by name
	Secrets    []*SecretOverride    // sorted by name
	Externals  []*ExternalOverride  // sorted by name
	// Objects are added to the system's, or replace those of the same
	// Block and Key; sorted by Block and Key.
	Objects []*Object
	// Charts change the system's of the same name or add charts of the
	// environment's own; sorted by name.
	Charts []*ChartOverride
	// Monitoring overrides the system's; nil when not given.
	Monitoring *Monitoring
	Policy     PolicySettings
}

// ComposeHost is the machine that runs a Compose environment.
type ComposeHost struct {
	Pos     Pos
	Arch    string
	ArchPos Pos
	// CPU and Memory are what the host offers containers, as written; ""
	// when not stated.
	CPU, Memory       string
	CPUPos, MemoryPos Pos
	// HostIP is the address exposed ports are published on, "" for all.
	HostIP string
	// SecretsDir is where files of secrets are read at run time, as the
	// compose file names it (relative to the environment's folder).
	SecretsDir    string
	SecretsDirPos Pos
}

// Distribution of a Compose environment's Cluster.
const Compose = "compose"

// IsCompose reports whether Docker Compose runs the environment.
func (e *Environment) IsCompose() bool { return e.Compose != nil }

type Cluster struct {
	Distribution    string
	DistributionPos Pos
	Arch            []string
	ArchPos         Pos
	// Pools are the node pools, sorted by name: the nodes block is one
	// named "default" (Shorthand set); none when neither is written.
	Pools []*NodePool
	// DefaultPool is where components that name no pool run; "" when
	// the cluster has no pool that qualifies.
	DefaultPool  string
	StorageClass string
	IngressClass string
	// NetworkPolicy names what enforces NetworkPolicies: "vpc-cni",
	// "calico", "cilium", "kube-router", "none", or "" when the
	// environment does not say and its distribution has no default.
	NetworkPolicy    string
	NetworkPolicyPos Pos
	// PodCIDRs and ServiceCIDRs are the cluster's own address ranges,
	// with the positions of those the input wrote (none for defaults).
	PodCIDRs, ServiceCIDRs       []string
	PodCIDRsPos, ServiceCIDRsPos []Pos
	APIServer                    APIServer
	// KubernetesMinor is the minor version the cluster runs (31 for
	// "1.31"); KubernetesMinorPos is invalid when the environment does
	// not say.
	KubernetesMinor    int
	KubernetesMinorPos Pos
	Pos                Pos
}

// HasMinor reports whether the cluster runs Kubernetes 1.minor or later;
// a cluster whose version is not stated is taken to.
func (c Cluster) HasMinor(minor int) bool {
	return !c.KubernetesMinorPos.IsValid() || c.KubernetesMinor >= minor
}

// ArchOnly reports whether arch is the cluster's only architecture.
func (c Cluster) ArchOnly(arch string) bool {
	return len(c.Arch) == 1 && c.Arch[0] == arch
}

type Flux struct {
	// ManagedSource is set when the environment gives a git URL: gitopsc
	// then renders the GitRepository itself instead of using the one
	// flux bootstrap made.
	ManagedSource   bool
	SourceName      string
	SourceNamespace string
	URL             string
	Branch          string
	PathPrefix      string
	Interval        string
	Timeout         string
	// DecryptionSecret holds the SOPS private key in the Flux namespace.
	DecryptionSecret string
}

type NamespaceOverride struct {
	Name           string
	Pos            Pos
	Tenant         bool // written under tenants
	PodSecurity    string
	PodSecurityPos Pos
	Quota          *Quota
}

// Override is what an environment changes in one component. Nil or
// empty fields keep the component's value.
type Override struct {
	Name        string // the component's Name
	Path        string // where it is written
	Pos         Pos
	Replicas    *int
	ReplicasPos Pos
	Pool        string
	PoolPos     Pos
	Autoscale   *AutoscaleOverride
	Resources   *ResourcesOverride
	Tag         string
	TagPos      Pos
	Config      []Setting
	// Files are added to, or replace those of the same path of, the
	// component's.
	Files  []File
	Expose *Expose
	// Pod and SAAnnotations are added to, and replace keys of, the
	// component's; IAMRole replaces its role.
	Pod           Metadata
	SAAnnotations []Setting
	IAMRole       string
	IAMRolePos    Pos
}

type AutoscaleOverride struct {
	Min, Max, CPUUtilization *int
	Pos, MaxPos              Pos
}

type ResourcesOverride struct {
	RequestsCPU, RequestsMemory, LimitsCPU, LimitsMemory *string
	RequestsEphemeral, LimitsEphemeral                   *string
	RequestsEphemeralPos, LimitsEphemeralPos             Pos
	// GPUs replaces the nvidia.com/gpu limit (and request) when set.
	GPUs    *int
	GPUsPos Pos
	// Positions of each field given.
	RequestsCPUPos, RequestsMemoryPos, LimitsCPUPos, LimitsMemoryPos Pos
	Pos                                                              Pos
}

type SecretOverride struct {
	Name   string
	Path   string // where it is written
	Pos    Pos
	Source SecretSource
}

type PolicySettings struct {
	RequireArch    []string
	RequireArchPos Pos
	Registries     []string
	RegistriesPos  Pos
	Waivers        []Waiver
}

type Waiver struct {
	Rule    string
	Target  string
	Reason  string
	Expires string // YYYY-MM-DD
	Pos     Pos
	// Positions of the rule, target and expires fields.
	RulePos, TargetPos, ExpiresPos Pos
}

// Resolved is the system as it runs in one environment: overrides applied,
// quotas and secret sources chosen.
type Resolved struct {
	Input  *Input
	Env    *Environment
	System *System
}

// Tenant is one instance of a template.
type Tenant struct {
	Name        string
	Pos         Pos
	Template    string
	TemplatePos Pos
}

// ComponentAt returns the component whose objects are called name in
// namespace ns, or nil.
func (s *System) ComponentAt(ns, name string) *Component {
	s.indexComponents()
	return s.byObject[[2]string{ns, name}]
}

// TenantName is the Name of tenant's component or secret label.
func TenantName(tenant, label string) string { return tenant + "/" + label }

// ObjectPart is the name of the Kubernetes object of a component or
// secret Name: the label, without a tenant.
func ObjectPart(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// SplitImage splits "repo:tag" into repository and tag; a colon inside
// the registry host (a port) is not a tag separator.
func SplitImage(ref string) (repo, tag string) {
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
