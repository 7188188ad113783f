package reach

// flows computes, for each destination and declared port, the set of
// sources allowed to connect, and the flows that makes.
//
// A connection needs both ends: the sources the destination's ingress admits
// on the port, intersected with the sources whose egress reaches the
// destination on it. Both sides are unions of precomputed sets (a rule's
// peers, a policy's selected workloads) added into a scratch bitset, so the
// work is proportional to destinations × ports × (rules touching the
// destination × their members + workloads/64), not to workloads² ×
// policies.
func flows(policies []policy, workloads []workload, isolated [2]bitset, selectedBy [2][][]int) ([][][]int32, []Flow) {
	n := len(workloads)
	all := fullBitset(n)
	egressOpen := all.clone() // sources no egress policy isolates
	for i := range egressOpen {
		egressOpen[i] &^= isolated[dirEgress][i]
	}

	// For each destination, the egress rules whose peers include it. Rules
	// whose peers include every workload are kept apart so as not to be
	// listed n times.
	egressTo := make([][]*rule, n)
	var egressToAll []*rule
	for pi := range policies {
		p := &policies[pi]
		if p.selected.len() == 0 {
			continue
		}
		for ri := range p.rules[dirEgress] {
			r := &p.rules[dirEgress][ri]
			if r.reach.len() == n {
				egressToAll = append(egressToAll, r)
				continue
			}
			for d := range r.reach.all() {
				egressTo[d] = append(egressTo[d], r)
			}
		}
	}

	// The sets of one destination port are worked out in two scratch
	// bitsets and kept as lists: a bitset per destination port would make
	// the memory grow with the square of the workloads.
	allowed := make([][][]int32, n)
	count := make([]int, n+1) // flows per source, shifted by one
	in, egress := newBitset(n), newBitset(n)
	for d := range workloads {
		dst := &workloads[d]
		allowed[d] = make([][]int32, len(dst.ports))
		for q, pt := range dst.ports {
			copy(in, all)
			if isolated[dirIngress].has(d) {
				clear(in)
				for _, pi := range selectedBy[dirIngress][d] {
					for ri := range policies[pi].rules[dirIngress] {
						if r := &policies[pi].rules[dirIngress][ri]; r.allowsPort(pt) {
							r.reach.addTo(in)
						}
					}
				}
			}
			if in.empty() {
				continue
			}
			copy(egress, egressOpen)
			for _, rules := range [2][]*rule{egressTo[d], egressToAll} {
				for _, r := range rules {
					if r.allowsPort(pt) {
						policies[r.policy].selected.addTo(egress)
					}
				}
			}
			in.and(egress)
			var sources []int32
			for s := range in.all() {
				sources = append(sources, int32(s))
				count[s+1]++
			}
			allowed[d][q] = sources
		}
	}

	// Destinations and their ports come in CompareFlows order, so placing
	// each flow in its source's slot, in that order, sorts the list.
	for s := range n {
		count[s+1] += count[s]
	}
	out := make([]Flow, count[n])
	next := count[:n]
	for d := range workloads {
		dst := &workloads[d]
		for q, pt := range dst.ports {
			f := Flow{To: dst.ref, Port: pt.number, Protocol: pt.protocol}
			if len(pt.names) > 0 {
				f.PortName = pt.names[0]
			}
			for _, s := range allowed[d][q] {
				f.From = workloads[s].ref
				out[next[s]] = f
				next[s]++
			}
		}
	}
	return allowed, out
}

// defaultDeny finds, per namespace, the directions in which policies
// selecting every pod isolate it without a rule that lets everything back in.
func defaultDeny(policies []policy) map[string][2]bool {
	var isolates, broad = map[string][2]bool{}, map[string][2]bool{}
	for _, p := range policies {
		if !p.allPods {
			continue
		}
		ns := p.ref.Namespace
		iso, br := isolates[ns], broad[ns]
		for d := range directions {
			iso[d] = iso[d] || p.isolates[d]
			for ri := range p.rules[d] {
				br[d] = br[d] || p.rules[d][ri].broad()
			}
		}
		isolates[ns], broad[ns] = iso, br
	}
	deny := make(map[string][2]bool, len(isolates))
	for ns, iso := range isolates {
		br := broad[ns]
		deny[ns] = [2]bool{iso[dirIngress] && !br[dirIngress], iso[dirEgress] && !br[dirEgress]}
	}
	return deny
}
