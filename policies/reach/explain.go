package reach

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Decision is what the policies on one end of a connection say about it:
// the source's egress policies or the destination's ingress policies.
type Decision struct {
	// Isolated is set when some policy selects the workload for this
	// direction. An end that is not isolated allows every connection.
	Isolated bool
	// Policies are the policies that isolate the workload in this
	// direction, sorted.
	Policies []PolicyRef
	// Rules are the rules, each with its matching peer, that allow the
	// connection, sorted; empty when the end is not isolated or blocks it.
	Rules []RuleRef
}

// Allows reports whether this end lets the connection through.
func (d Decision) Allows() bool { return !d.Isolated || len(d.Rules) > 0 }

// Verdict explains whether a connection is a flow.
type Verdict struct {
	From, To WorkloadRef
	Port     int32
	Protocol corev1.Protocol
	// PortName is To's name for the port, empty if it has none.
	PortName string
	// Declared is set when To declares the port: a connection to a port
	// nothing listens on is not a flow, whatever the policies say.
	Declared bool
	// Egress is the decision of From's egress policies, Ingress that of
	// To's ingress policies.
	Egress, Ingress Decision
}

// Allowed reports whether the connection is a flow: the port is declared and
// both ends allow it.
func (v Verdict) Allowed() bool { return v.Declared && v.Egress.Allows() && v.Ingress.Allows() }

// String states the verdict and its reasons, as
//
//	shop/web -> data/mysql TCP/3306 (mysql) blocked: ingress to data/mysql is isolated by data/default-deny and no rule allows shop/web on TCP/3306
func (v Verdict) String() string {
	flow := Flow{From: v.From, To: v.To, Port: v.Port, Protocol: v.Protocol, PortName: v.PortName}.String()
	if !v.Declared {
		return fmt.Sprintf("%s is not a flow: %s declares no port %s/%d", flow, v.To, v.Protocol, v.Port)
	}
	var reasons []string
	if v.Allowed() {
		reasons = append(reasons, allowReason("egress", v.Egress), allowReason("ingress", v.Ingress))
		return flow + " allowed: " + strings.Join(reasons, "; ")
	}
	if !v.Egress.Allows() {
		reasons = append(reasons, blockReason("egress from", v.From, v.To, v.Egress, v.Protocol, v.Port))
	}
	if !v.Ingress.Allows() {
		reasons = append(reasons, blockReason("ingress to", v.To, v.From, v.Ingress, v.Protocol, v.Port))
	}
	return flow + " blocked: " + strings.Join(reasons, "; ")
}

func allowReason(direction string, d Decision) string {
	if !d.Isolated {
		return direction + " not isolated"
	}
	rules := make([]string, len(d.Rules))
	for i, r := range d.Rules {
		rules[i] = r.String()
	}
	return direction + " by " + strings.Join(rules, ", ")
}

func blockReason(direction string, self, peer WorkloadRef, d Decision, protocol corev1.Protocol, port int32) string {
	policies := make([]string, len(d.Policies))
	for i, p := range d.Policies {
		policies[i] = p.String()
	}
	return fmt.Sprintf("%s %s is isolated by %s and no rule allows %s on %s/%d",
		direction, self, strings.Join(policies, ", "), peer, protocol, port)
}

// Explain gives the verdict on a connection from one workload to another on
// port and protocol (TCP when empty), with the policies and rules behind it.
// It reports false if either workload is unknown.
func (r *Result) Explain(from, to WorkloadRef, port int32, protocol corev1.Protocol) (Verdict, bool) {
	fi, ok := r.byRef[from]
	if !ok {
		return Verdict{}, false
	}
	ti, ok := r.byRef[to]
	if !ok {
		return Verdict{}, false
	}
	v := Verdict{From: from, To: to, Port: port, Protocol: protocolOrTCP(protocol)}
	pt := containerPort{number: port, protocol: v.Protocol}
	dst := &r.workloads[ti]
	if q, ok := dst.port(port, v.Protocol); ok {
		v.Declared = true
		pt = dst.ports[q]
		if len(pt.names) > 0 {
			v.PortName = pt.names[0]
		}
	}
	v.Egress = r.decide(dirEgress, fi, ti, pt)
	v.Ingress = r.decide(dirIngress, ti, fi, pt)
	return v, true
}

// decide evaluates the policies isolating workload self in direction d
// against a connection with workload peer on port pt of the destination.
func (r *Result) decide(d, self, peer int, pt containerPort) Decision {
	var dec Decision
	for _, pi := range r.selectedBy[d][self] {
		p := &r.policies[pi]
		dec.Isolated = true
		dec.Policies = append(dec.Policies, p.ref)
		for _, ru := range p.rules[d] {
			if !ru.allowsPort(pt) {
				continue
			}
			if ru.anyPeer {
				dec.Rules = append(dec.Rules, ru.ref)
				continue
			}
			for k, pe := range ru.peers {
				if pe.workloads.has(peer) {
					ref := ru.ref
					ref.Peer = k
					dec.Rules = append(dec.Rules, ref)
				}
			}
		}
	}
	return dec
}
