// Package composefile renders an environment that Docker Compose runs:
// one compose.yaml, beside the files it mounts, from the same resolved
// model the Kubernetes renderer reads. Each namespace is a network, and a
// component joins the network of each namespace it declares a flow into,
// so that only declared paths between namespaces exist.
package composefile

// The objects of a Compose environment are the entries of its compose
// file, one render.Object each, so that diff and the rules see them as
// they see Kubernetes objects: Kind is one of these, Layer is Layer.
const (
	Layer      = "compose"
	APIVersion = "compose.gitopsc.dev/v1"

	KindService = "service"
	KindNetwork = "network"
	KindVolume  = "volume"
	KindSecret  = "secret"
	KindConfig  = "config"
	// KindFile is a file a config entry reads: written beside the
	// compose file under files/, not inside it.
	KindFile = "file"
)

// FileName is the compose file gitopsc writes in the environment's folder.
const FileName = "compose.yaml"

// Service is one service of the compose file; the fields are the Compose
// specification's.
type Service struct {
	Image       string                 `json:"image"`
	Platform    string                 `json:"platform,omitempty"`
	Profiles    []string               `json:"profiles,omitempty"`
	Entrypoint  []string               `json:"entrypoint,omitempty"`
	Command     []string               `json:"command,omitempty"`
	Environment map[string]string      `json:"environment,omitempty"`
	Ports       []Port                 `json:"ports,omitempty"`
	Networks    map[string]*Attachment `json:"networks,omitempty"`
	NetworkMode string                 `json:"network_mode,omitempty"`
	DependsOn   map[string]Dependency  `json:"depends_on,omitempty"`
	Healthcheck *Healthcheck           `json:"healthcheck,omitempty"`
	Volumes     []Mount                `json:"volumes,omitempty"`
	Tmpfs       []string               `json:"tmpfs,omitempty"`
	Configs     []FileMount            `json:"configs,omitempty"`
	Secrets     []FileMount            `json:"secrets,omitempty"`
	User        string                 `json:"user,omitempty"`
	ReadOnly    bool                   `json:"read_only,omitempty"`
	CapDrop     []string               `json:"cap_drop,omitempty"`
	CapAdd      []string               `json:"cap_add,omitempty"`
	SecurityOpt []string               `json:"security_opt,omitempty"`
	Restart     string                 `json:"restart,omitempty"`
	Labels      map[string]string      `json:"labels,omitempty"`
	Deploy      *Deploy                `json:"deploy,omitempty"`
}

// Attachment is a service's place on a network.
type Attachment struct {
	Aliases []string `json:"aliases,omitempty"`
}

// Port is a port published on the host.
type Port struct {
	Target    int    `json:"target"`
	Published string `json:"published"`
	HostIP    string `json:"host_ip,omitempty"`
	Protocol  string `json:"protocol"`
}

// Dependency is when a service may start after another.
type Dependency struct {
	Condition string `json:"condition"`
}

// Healthcheck is a service's health test.
type Healthcheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval"`
	Timeout     string   `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod string   `json:"start_period,omitempty"`
}

// Mount is a named volume mounted into a service.
type Mount struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// FileMount mounts a config or secret entry at a path.
type FileMount struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Mode   string `json:"mode,omitempty"`
}

// Deploy holds replicas, resources and the rolling update.
type Deploy struct {
	Replicas     *int          `json:"replicas,omitempty"`
	Resources    *Resources    `json:"resources,omitempty"`
	UpdateConfig *UpdateConfig `json:"update_config,omitempty"`
}

// Resources are a service's limits and reservations.
type Resources struct {
	Limits       *Resource `json:"limits,omitempty"`
	Reservations *Resource `json:"reservations,omitempty"`
}

// Resource is one side of Resources.
type Resource struct {
	CPUs    string   `json:"cpus,omitempty"`
	Memory  string   `json:"memory,omitempty"`
	Devices []Device `json:"devices,omitempty"`
}

// Device is a GPU reservation.
type Device struct {
	Driver       string   `json:"driver"`
	Count        int      `json:"count"`
	Capabilities []string `json:"capabilities"`
}

// UpdateConfig is how a rolling update replaces containers.
type UpdateConfig struct {
	Parallelism int    `json:"parallelism"`
	Order       string `json:"order"`
	Delay       string `json:"delay,omitempty"`
}

// Network is a network of the compose file.
type Network struct {
	// Internal networks have no route out of the host: a namespace's.
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Volume is a named volume.
type Volume struct {
	DriverOpts map[string]string `json:"driver_opts,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Secret is a secret read from a file at run time.
type Secret struct {
	File string `json:"file"`
}

// Config is a config entry read from a file gitopsc writes.
type Config struct {
	File string `json:"file"`
}

// File is the content of a config's file.
type File struct {
	Content string `json:"content"`
}
