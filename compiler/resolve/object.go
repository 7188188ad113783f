package resolve

import (
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// objects are the raw objects an environment renders: the system's, with
// the environment's added or replacing those of the same block and name.
// Two that would be the same Kubernetes object are an error.
func objects(in *model.Input, env *model.Environment, errs *diag.List) []*model.Object {
	type key struct{ block, name string }
	byKey := map[key]*model.Object{}
	for _, list := range [][]*model.Object{in.System.Objects, env.Objects} {
		for _, o := range list {
			byKey[key{o.Block, o.Key}] = o
		}
	}
	out := make([]*model.Object, 0, len(byKey))
	for _, o := range byKey {
		out = append(out, o)
	}
	model.SortObjects(out)
	// Two of the system's, or two of the environment's, the loader
	// reported; here one of each, which only this environment has.
	ofEnv := map[*model.Object]bool{}
	for _, o := range env.Objects {
		ofEnv[o] = true
	}
	seen := map[string]*model.Object{}
	for _, o := range out {
		id := o.Identity()
		if prev := seen[id]; prev != nil && ofEnv[prev] != ofEnv[o] {
			errs.Add(o.Pos, "%s: %s is written twice in environments.%s, here and at %s; write it once", o.Path, o.ID(), env.Name, prev.Path)
			continue
		}
		seen[id] = o
	}
	return out
}

// workloadNames refuses a raw workload with the name of another workload
// of its namespace, a component's or another raw object's of another
// kind: the network analysis, and the rules that read it, tell workloads
// apart by namespace and name.
func workloadNames(sys *model.System, env *model.Environment, errs *diag.List) {
	taken := map[string]string{}
	for _, c := range sys.Components {
		taken[c.Namespace+"/"+c.ObjectName] = "component " + c.Name
	}
	for _, o := range sys.Objects {
		if spec, _ := model.PodSpec(o.Typed); spec == nil {
			continue
		}
		key := o.Namespace + "/" + o.Name
		if by, ok := taken[key]; ok {
			errs.Add(o.Pos, "%s: %s has the name of %s in namespace %s (environments.%s); gitopsc tells a namespace's workloads apart by name: rename one", o.Path, o.ID(), by, o.Namespace, env.Name)
			continue
		}
		taken[key] = o.Path
	}
}
