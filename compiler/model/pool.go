package model

// NodePool is a group of alike nodes of an environment's cluster.
type NodePool struct {
	Name         string
	InstanceType string
	// Arch is the pool's architecture; for the nodes shorthand, the
	// cluster's architectures.
	Arch []string
	// CPU, Memory, Pods and GPUs are what one node allocates (Pods and
	// GPUs 0 when not written).
	CPU, Memory string
	Pods        int
	GPUs        int
	Labels      []Label // sorted by key
	Taints      []Taint // in source order
	Max         int
	Default     bool
	// Shorthand marks the pool the nodes block describes: pods are not
	// pinned to it, since it is every node of the cluster.
	Shorthand bool
	Pos       Pos
}

// Label is a node label as written, or defaulted.
type Label struct {
	Key, Value string
	Pos        Pos
}

// Taint is a node taint that pods of the pool tolerate.
type Taint struct {
	Key, Value, Effect string
	Pos                Pos
}

// Pool returns the pool called name, or nil.
func (c Cluster) Pool(name string) *NodePool {
	for _, p := range c.Pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// PoolNames lists the pools' names, sorted.
func (c Cluster) PoolNames() []string {
	var out []string
	for _, p := range c.Pools {
		out = append(out, p.Name)
	}
	return out
}
