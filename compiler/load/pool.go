package load

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// LabelNodeGroup is the label an EKS managed node group puts on each of
// its nodes, its value the node group's name: what a pool on EKS is
// selected by unless it says otherwise.
const LabelNodeGroup = "eks.amazonaws.com/nodegroup"

// GPUResource is the extended resource the NVIDIA device plugin
// advertises.
const GPUResource = "nvidia.com/gpu"

// pools decodes cluster.nodes or cluster.pools into cl.Pools and picks the
// default pool. path is the cluster's path.
func (d *decoder) pools(cv cue.Value, path string, cl *model.Cluster) {
	nv, pv := lookup(cv, "nodes"), lookup(cv, "pools")
	if nv.Exists() && pv.Exists() {
		d.errs.Add(pv.Pos(), "%s.pools: nodes is shorthand for one pool; give nodes or pools, not both", path)
		return
	}
	if nv.Exists() {
		np := &model.NodePool{Name: "default", Pos: nv.Pos(), Arch: cl.Arch, Max: 1, Default: true, Shorthand: true}
		nodeShape(nv, np)
		cl.Pools, cl.DefaultPool = []*model.NodePool{np}, np.Name
		return
	}
	var marked, untainted []string
	for _, f := range sortedFields(pv) {
		ppath := path + ".pools." + f.label
		if !d.label(f, "pool", ppath) {
			continue
		}
		np := &model.NodePool{Name: f.label, Pos: f.v.Pos()}
		nodeShape(f.v, np)
		arch, apos := str(f.v, "arch")
		np.Arch = []string{arch}
		if !slices.Contains(cl.Arch, arch) {
			d.errs.Add(apos, "%s.arch: %s is not one of the cluster's architectures (arch: [%s]); add it there", ppath, arch, strings.Join(cl.Arch, ", "))
		}
		np.GPUs, _, _ = num(f.v, "gpus")
		if b := lookup(f.v, "default"); b.Exists() {
			np.Default, _ = b.Bool()
		}
		for _, l := range fields(lookup(f.v, "labels")) {
			value, _ := l.v.String()
			d.k8sName(l.v.Pos(), ppath+".labels", "label key", l.label, validation.IsQualifiedName(l.label))
			d.k8sName(l.v.Pos(), ppath+".labels."+l.label, "label value", value, validation.IsValidLabelValue(value))
			np.Labels = append(np.Labels, model.Label{Key: l.label, Value: value, Pos: l.v.Pos()})
		}
		if len(np.Labels) == 0 && cl.Distribution == "eks" {
			np.Labels = []model.Label{{Key: LabelNodeGroup, Value: np.Name, Pos: np.Pos}}
		}
		sort.Slice(np.Labels, func(i, j int) bool { return np.Labels[i].Key < np.Labels[j].Key })
		d.taints(lookup(f.v, "taints"), ppath+".taints", np)
		if np.Default {
			marked = append(marked, np.Name)
		}
		if len(np.Taints) == 0 {
			untainted = append(untainted, np.Name)
		}
		cl.Pools = append(cl.Pools, np)
	}
	if len(cl.Pools) > 1 {
		for _, np := range cl.Pools {
			if len(np.Labels) == 0 {
				d.errs.Add(np.Pos, "%s.pools.%s: with several pools, pods find theirs by its nodes' labels; give the labels its nodes carry (labels: {\"node.kubernetes.io/pool\": %q}, say)", path, np.Name, np.Name)
			}
		}
	}
	switch {
	case len(marked) > 1:
		for _, name := range marked[1:] {
			d.errs.Add(cl.Pool(name).Pos, "%s.pools.%s: pool %s is already the default; one pool has default: true", path, name, marked[0])
		}
	case len(marked) == 1:
		cl.DefaultPool = marked[0]
	case len(cl.Pools) == 1:
		cl.DefaultPool = cl.Pools[0].Name
	case len(untainted) == 1:
		cl.DefaultPool = untainted[0]
	}
}

// nodeShape decodes what one node of a pool allocates and how far the
// pool scales.
func nodeShape(v cue.Value, np *model.NodePool) {
	np.InstanceType, _ = str(v, "instanceType")
	np.CPU, _ = str(v, "cpu")
	np.Memory, _ = str(v, "memory")
	np.Pods, _, _ = num(v, "pods")
	np.Max, _, _ = num(v, "max")
}

// taints decodes a pool's taints, refusing what the API server would:
// keys and values are validated as for a Node, and a key with an effect
// appears once.
func (d *decoder) taints(v cue.Value, path string, np *model.NodePool) {
	l, err := v.List()
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for i := 0; l.Next(); i++ {
		tv := l.Value()
		t := model.Taint{Pos: tv.Pos()}
		var kpos, vpos model.Pos
		t.Key, kpos = str(tv, "key")
		t.Value, vpos = str(tv, "value")
		t.Effect, _ = str(tv, "effect")
		tpath := fmt.Sprintf("%s[%d]", path, i)
		d.k8sName(kpos, tpath+".key", "taint key", t.Key, validation.IsQualifiedName(t.Key))
		if vpos.IsValid() {
			d.k8sName(vpos, tpath+".value", "taint value", t.Value, validation.IsValidLabelValue(t.Value))
		}
		if k := t.Key + ":" + t.Effect; seen[k] {
			d.errs.Add(t.Pos, "%s: taint %s with effect %s is given twice; a node holds one per key and effect", tpath, t.Key, t.Effect)
		} else {
			seen[k] = true
		}
		np.Taints = append(np.Taints, t)
	}
}

// k8sName reports the problems a Kubernetes validation function found.
func (d *decoder) k8sName(pos model.Pos, path, what, s string, problems []string) {
	if len(problems) > 0 {
		d.errs.Add(pos, "%s: %s %q is invalid: %s", path, what, s, strings.Join(problems, "; "))
	}
}

// gpus decodes the nvidia.com/gpu of a component's resources. Kubernetes
// takes an extended resource's request from its limit, refuses a request
// without a limit and one that differs from it ("Schedule GPUs",
// kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/), so the limit
// is what counts.
func (d *decoder) gpus(v cue.Value, path string) (int, model.Pos) {
	gpu := func(kind string) (int, model.Pos, bool) {
		f := lookupLabels(v, kind, GPUResource)
		if !f.Exists() {
			return 0, model.Pos{}, false
		}
		n, _ := f.Int64()
		return int(n), f.Pos(), true
	}
	req, rpos, hasReq := gpu("requests")
	lim, lpos, hasLim := gpu("limits")
	switch {
	case hasReq && !hasLim:
		d.errs.Add(rpos, "%s.requests: %q needs a limit: Kubernetes takes a GPU request from its limit and refuses a request without one; give limits: %q: %d", path, GPUResource, GPUResource, req)
	case hasReq && req != lim:
		d.errs.Add(rpos, "%s.requests: %q %d differs from its limit %d; Kubernetes requires a GPU request to equal its limit", path, GPUResource, req, lim)
	}
	if hasLim {
		return lim, lpos
	}
	return req, rpos
}
