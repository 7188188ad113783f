package policies

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies/reach"
)

// Graph is what the cluster will let talk to what in one environment, as
// the network analysis reads the rendered NetworkPolicies: workloads by
// namespace, the externals and outside peers they reach or are reached
// from, and one edge per (source, destination) with the ports allowed.
type Graph struct {
	Title string
	Nodes []GraphNode // sorted by group, then label
	Edges []GraphEdge // sorted by source, then destination
}

// GraphNode is a workload (Group its namespace) or something outside the
// workloads (Group "").
type GraphNode struct {
	ID, Label, Group string
	Outside          bool
}

// GraphEdge is a connection the policies allow, or, in a diff, one a
// change allows (Change "+") or blocks ("-").
type GraphEdge struct {
	From, To string // node IDs
	Ports    []string
	Change   string
}

// FlowGraph builds the graph of an environment's rendered output. DNS to
// kube-system, which every pod has, is left out.
func FlowGraph(out *render.Output) (*Graph, error) {
	if out.Env.Env.IsCompose() {
		return composeGraph(out), nil
	}
	// What the charts render is drawn with gitopsc's own, as the rules
	// read it.
	checked := *out
	checked.Objects = out.Checked()
	out = &checked
	res, err := Analysis(out)
	if err != nil {
		return nil, err
	}
	g := &graphBuilder{nodes: map[string]GraphNode{}, edges: map[[2]string]*GraphEdge{}}
	g.title = out.Env.System.Name + " in " + out.Env.Env.Name
	for _, w := range workloads(&Context{Output: out, Env: out.Env}) {
		g.workload(reach.WorkloadRef{Namespace: w.Namespace, Name: w.Name})
	}
	for _, f := range res.Flows {
		port := fmt.Sprintf("%s/%d", f.Protocol, f.Port)
		if f.PortName != "" {
			port = f.PortName + " " + port
		}
		g.edge(g.workload(f.From), g.workload(f.To), port, "")
	}
	for _, x := range res.External {
		w := g.workload(x.Workload)
		var other, ports string
		switch x.Kind {
		case reach.IPBlock:
			// Externals without cidrs share one block (the internet):
			// each port goes to the external of that block that has it.
			rest := x.Ports
			if x.Direction == networkingv1.PolicyTypeEgress && x.Ports != nil {
				rest = nil
				for _, m := range x.Ports {
					if e := externalFor(out.Env.System, out.Env.Env.Cluster, x, m); e != nil {
						g.edge(w, g.outside("external "+e.Name, e.Name+" (external)"), externalPort(e, m), "")
					} else {
						rest = append(rest, m)
					}
				}
				if len(rest) == 0 {
					continue
				}
			}
			x.Ports = rest
			other = g.outside("cidr "+string(x.Direction)+" "+x.CIDR+" "+strings.Join(x.Except, ","), describeBlockPeer(x))
		case reach.OtherNamespaces:
			if isDNS(x) {
				continue // every pod has it
			}
			label := "pods " + x.PodSelector
			if x.PodSelector == "" {
				label = "every pod"
			}
			ns := "namespaces " + x.NamespaceSelector
			switch {
			case len(x.Namespaces) > 0:
				ns = strings.Join(x.Namespaces, ", ")
			case x.NamespaceSelector == "":
				ns = "every namespace"
			}
			other = g.outside("ns "+ns+" "+x.PodSelector, label+" in "+ns)
		case reach.AnyPeer:
			other = g.outside("any peer", "any peer (a rule names none)")
		default: // Unisolated
			other = g.outside("anything", "anything (no policy isolates it)")
		}
		switch {
		case ports != "":
		case x.Ports == nil:
			ports = "any port"
		default:
			var ps []string
			for _, p := range x.Ports {
				ps = append(ps, p.String())
			}
			ports = strings.Join(ps, ", ")
		}
		if x.Direction == networkingv1.PolicyTypeEgress {
			g.edge(w, other, ports, "")
		} else {
			g.edge(other, w, ports, "")
		}
	}
	return g.graph(), nil
}

// composeGraph is what a Compose environment lets talk to what: each
// service, by namespace, and the networks it is on. Services on one
// network reach each other on every port: Compose narrows no further.
func composeGraph(out *render.Output) *Graph {
	g := &graphBuilder{nodes: map[string]GraphNode{}, edges: map[[2]string]*GraphEdge{}}
	g.title = out.Env.System.Name + " in " + out.Env.Env.Name + " (Compose networks: services on one reach each other on every port)"
	all := composeServices(&Context{Output: out, Env: out.Env})
	for _, s := range all {
		ns := ""
		if s.c != nil {
			ns = s.c.Namespace
		}
		w := g.workload(reach.WorkloadRef{Namespace: ns, Name: s.name})
		for _, n := range networksOf(all, s.svc) {
			label := "network " + n
			if _, outside := composefile.NetworkNamespace(n); outside {
				label += " (out of the host)"
			}
			g.edge(w, g.outside("network "+n, label), "on", "")
		}
		for _, p := range s.svc.Ports {
			on := "every interface"
			if p.HostIP != "" {
				on = p.HostIP
			}
			g.edge(g.outside("host "+on, "the host's port, on "+on), w, fmt.Sprintf("%s/%s to %d", p.Published, p.Protocol, p.Target), "")
		}
	}
	return g.graph()
}

// DiffGraph is the graph of the flows a change allows (+) or blocks (-),
// given as "namespace/name" workloads.
func DiffGraph(title string, allowed, blocked []reach.Flow) *Graph {
	g := &graphBuilder{title: title, nodes: map[string]GraphNode{}, edges: map[[2]string]*GraphEdge{}}
	for _, set := range []struct {
		flows  []reach.Flow
		change string
	}{{allowed, "+"}, {blocked, "-"}} {
		for _, f := range set.flows {
			port := fmt.Sprintf("%s/%d", f.Protocol, f.Port)
			if f.PortName != "" {
				port = f.PortName + " " + port
			}
			g.edge(g.workload(f.From), g.workload(f.To), port, set.change)
		}
	}
	return g.graph()
}

// isDNS reports whether x is the DNS egress gitopsc renders for every
// pod: to k8s-app=kube-dns in kube-system on port 53 only.
func isDNS(x reach.ExternalAccess) bool {
	if x.Direction != networkingv1.PolicyTypeEgress || x.PodSelector != "k8s-app=kube-dns" ||
		len(x.Namespaces) != 1 || x.Namespaces[0] != "kube-system" || len(x.Ports) == 0 {
		return false
	}
	for _, p := range x.Ports {
		if p.Number != 53 || p.EndPort != 0 || p.Name != "" {
			return false
		}
	}
	return true
}

// externalFor is the external whose rendered blocks hold x's and which
// has port m, or nil; of several, one the workload's component talks to.
func externalFor(sys *model.System, cl model.Cluster, x reach.ExternalAccess, m reach.PortMatch) *model.External {
	var found []*model.External
	for _, e := range sys.Externals {
		if !slices.ContainsFunc(render.ExternalBlocks(e, cl), func(b networkingv1.IPBlock) bool { return sameBlock(x, b) }) {
			continue
		}
		for _, p := range e.Ports {
			if m.Name == "" && m.EndPort == 0 && int(m.Number) == p.Number && string(m.Protocol) == p.Protocol {
				found = append(found, e)
				break
			}
		}
	}
	if c := sys.ComponentAt(x.Workload.Namespace, x.Workload.Name); c != nil {
		for _, e := range found {
			for _, f := range c.TalksTo {
				if f.Target == e.Name && e.Port(f.Port) != nil && e.Port(f.Port).Number == int(m.Number) {
					return e
				}
			}
		}
	}
	if len(found) > 0 {
		return found[0]
	}
	return nil
}

// externalPort names a port match by the external's port of that number.
func externalPort(e *model.External, m reach.PortMatch) string {
	for _, p := range e.Ports {
		if m.Name == "" && m.EndPort == 0 && int(m.Number) == p.Number && string(m.Protocol) == p.Protocol {
			return p.Name + " " + m.String()
		}
	}
	return m.String()
}

func describeBlockPeer(x reach.ExternalAccess) string {
	s := x.CIDR
	if len(x.Except) > 0 {
		s += " except " + strings.Join(x.Except, ", ")
	}
	if x.Direction == networkingv1.PolicyTypeIngress {
		return "outside: " + s
	}
	return s
}

// graphBuilder collects nodes by a key of their own, and edges between
// keys; graph gives the nodes their IDs.
type graphBuilder struct {
	title string
	nodes map[string]GraphNode
	edges map[[2]string]*GraphEdge
}

func (g *graphBuilder) workload(w reach.WorkloadRef) string {
	key := "w " + w.String()
	g.nodes[key] = GraphNode{Label: w.Name, Group: w.Namespace}
	return key
}

func (g *graphBuilder) outside(key, label string) string {
	key = "x " + key
	g.nodes[key] = GraphNode{Label: label, Outside: true}
	return key
}

func (g *graphBuilder) edge(from, to, port, change string) {
	k := [2]string{from + change, to}
	e := g.edges[k]
	if e == nil {
		e = &GraphEdge{From: from, To: to, Change: change}
		g.edges[k] = e
	}
	if !slices.Contains(e.Ports, port) {
		e.Ports = append(e.Ports, port)
	}
}

func (g *graphBuilder) graph() *Graph {
	out := &Graph{Title: g.title}
	keys := slices.Sorted(maps.Keys(g.nodes))
	slices.SortStableFunc(keys, func(a, b string) int {
		x, y := g.nodes[a], g.nodes[b]
		return cmp.Or(cmp.Compare(x.Group, y.Group), cmp.Compare(x.Label, y.Label))
	})
	// Nodes are numbered in the order they are drawn: names and
	// address ranges make identifiers that may collide once escaped.
	ids := map[string]string{}
	inside, outside := 0, 0
	for _, k := range keys {
		n := g.nodes[k]
		if n.Outside {
			outside++
			n.ID = fmt.Sprintf("x%d", outside)
		} else {
			inside++
			n.ID = fmt.Sprintf("w%d", inside)
		}
		ids[k] = n.ID
		out.Nodes = append(out.Nodes, n)
	}
	for _, e := range g.edges {
		slices.Sort(e.Ports)
		e.From, e.To = ids[e.From], ids[e.To]
		out.Edges = append(out.Edges, *e)
	}
	slices.SortFunc(out.Edges, func(a, b GraphEdge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Change, b.Change))
	})
	return out
}

// graphID makes a namespace's name part of a subgraph's identifier:
// letters, digits and '_', with every other character written as _XX_
// (its code in hex). Namespaces are DNS labels, so '-' becomes '_'
// alone; a subgraph's identifier is never an edge's end.
func graphID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-':
			b.WriteString("_")
		default:
			fmt.Fprintf(&b, "_%X_", r)
		}
	}
	return b.String()
}

// Mermaid writes the graph as a Mermaid flowchart: a subgraph per
// namespace, outside peers as rounded nodes, allowed flows as arrows
// labelled with their ports; in a diff, allowed ones solid with "+",
// blocked ones dotted with "-".
func (g *Graph) Mermaid(w io.Writer) {
	fmt.Fprintf(w, "flowchart LR\n  %%%% %s\n", g.Title)
	g.groups(w, "  end",
		func(group string) { fmt.Fprintf(w, "  subgraph ns_%s[%q]\n", graphID(group), group) },
		func(n GraphNode, indent string) {
			if n.Outside {
				fmt.Fprintf(w, "%s%s([%s])\n", indent, n.ID, mermaidText(n.Label))
			} else {
				fmt.Fprintf(w, "%s%s[%s]\n", indent, n.ID, mermaidText(n.Label))
			}
		})
	for _, e := range g.Edges {
		label := strings.Join(e.Ports, ", ")
		arrow := "-->"
		switch e.Change {
		case "+":
			label = "+ " + label
		case "-":
			label, arrow = "- "+label, "-.->"
		}
		fmt.Fprintf(w, "  %s %s|%s| %s\n", e.From, arrow, mermaidText(label), e.To)
	}
}

// groups writes the nodes, those of each namespace between open and the
// end line, indented one step further than the others.
func (g *Graph) groups(w io.Writer, end string, open func(group string), node func(n GraphNode, indent string)) {
	group := ""
	for _, n := range g.Nodes {
		if n.Group != group {
			if group != "" {
				fmt.Fprintln(w, end)
			}
			group = n.Group
			if group != "" {
				open(group)
			}
		}
		indent := "  "
		if group != "" {
			indent = "    "
		}
		node(n, indent)
	}
	if group != "" {
		fmt.Fprintln(w, end)
	}
}

// mermaidText quotes a label for Mermaid, whose quoted strings take any
// character but '"', written as #quot;.
func mermaidText(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"`
}

// DOT writes the graph in Graphviz's language: a cluster per namespace,
// outside peers as dashed boxes.
func (g *Graph) DOT(w io.Writer) {
	fmt.Fprintf(w, "digraph %s {\n  rankdir=LR;\n  node [shape=box];\n", dotText(g.Title))
	g.groups(w, "  }",
		func(group string) {
			fmt.Fprintf(w, "  subgraph cluster_%s {\n    label=%s;\n", graphID(group), dotText(group))
		},
		func(n GraphNode, indent string) {
			if n.Outside {
				fmt.Fprintf(w, "%s%s [label=%s, style=dashed];\n", indent, n.ID, dotText(n.Label))
			} else {
				fmt.Fprintf(w, "%s%s [label=%s];\n", indent, n.ID, dotText(n.Label))
			}
		})
	for _, e := range g.Edges {
		label := strings.Join(e.Ports, ", ")
		attrs := ""
		switch e.Change {
		case "+":
			label, attrs = "+ "+label, ", color=darkgreen"
		case "-":
			label, attrs = "- "+label, ", color=red, style=dashed"
		}
		fmt.Fprintf(w, "  %s -> %s [label=%s%s];\n", e.From, e.To, dotText(label), attrs)
	}
	fmt.Fprintln(w, "}")
}

// dotText quotes a string for DOT.
func dotText(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
