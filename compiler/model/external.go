package model

// External is a service outside the cluster that components reach with
// talksTo, as they reach each other.
type External struct {
	Name string
	Pos  Pos
	Reach
}

// Reach is how an external is reached, as the system declares it or an
// environment overrides it.
type Reach struct {
	// Hosts are the names it answers at; service discovery gives the
	// first.
	Hosts    []string
	HostsPos Pos
	// CIDRs are the address ranges it lives in; empty for the public
	// internet.
	CIDRs    []string
	CIDRsPos []Pos
	// OutsideCluster, with no CIDRs, stands for every address but the
	// cluster's own and link-local ones, private ranges included: the
	// API server of a cluster whose node addresses are unknown.
	OutsideCluster bool
	Ports          []Port // sorted by name
}

// Port returns the named port, or nil.
func (e *External) Port(name string) *Port {
	for i := range e.Ports {
		if e.Ports[i].Name == name {
			return &e.Ports[i]
		}
	}
	return nil
}

// External returns the external called name, or nil.
func (s *System) External(name string) *External {
	for _, e := range s.Externals {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// ExternalOverride is how an environment reaches an external: fields set
// replace the external's.
type ExternalOverride struct {
	Name string
	Pos  Pos
	Reach
}

// Endpoint is what a flow's target is: a component of the system or an
// external; neither, for a name that is not one.
type Endpoint struct {
	Component *Component
	External  *External
}

// Port returns the endpoint's named port, or nil.
func (e Endpoint) Port(name string) *Port {
	switch {
	case e.Component != nil:
		return e.Component.Port(name)
	case e.External != nil:
		return e.External.Port(name)
	}
	return nil
}

// Target resolves a flow's target by name.
func (s *System) Target(name string) Endpoint {
	if c := s.Component(name); c != nil {
		return Endpoint{Component: c}
	}
	return Endpoint{External: s.External(name)}
}
