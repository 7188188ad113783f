package policies_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/policies"
)

// composeAgents is the agents system with a Compose environment.
var composeAgents = agents + `
environments: dev: compose: {arch: "amd64", cpu: "4", memory: "4Gi"}
`

func composeService(t *testing.T, r *compiler.Result, name string) *composefile.Service {
	t.Helper()
	for _, o := range r.Output.Objects {
		if s, ok := o.Obj.(*composefile.Service); ok && o.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s in the output", name)
	return nil
}

// NET008 and NET009 read the rendered compose file, not the source: a
// renderer that joins a network no flow asks for, or leaves out one a
// flow needs, is caught. Neither can happen from the source alone, so
// the test edits what was rendered.
func TestComposeNetworkRules(t *testing.T) {
	s := loadSystem(t, composeAgents)
	if got := s.check(s.compile(t, "dev"), policies.Options{}); len(got) > 0 {
		t.Fatalf("the rendered system is not clean:\n%v", got)
	}
	php, planner := s.at(t, `"php-app"`, 1), s.at(t, `"planner-agent"`, 1)
	mysqlFlow := s.at(t, `"mysql:mysql"`, 1)
	for _, tc := range []struct {
		name string
		edit func(*testing.T, *compiler.Result)
		want []string
	}{{
		name: "a namespace's network without a flow into it",
		edit: func(t *testing.T, r *compiler.Result) {
			composeService(t, r, "planner-agent").Networks["external-env"] = &composefile.Attachment{}
		},
		want: []string{planner + ": error NET008: service planner-agent is on network external-env, so it reaches every service of namespace external-env, but planner-agent declares no flow into it"},
	}, {
		name: "the way out without an external or an exposure",
		edit: func(t *testing.T, r *compiler.Result) {
			composeService(t, r, "php-app").Networks["external-env"+composefile.Outside] = &composefile.Attachment{}
		},
		want: []string{php + ": error NET008: service php-app is on external-env.outside, which leads out of the host, but php-app reaches no external and is not exposed"},
	}, {
		name: "a flow's ends on no common network",
		edit: func(t *testing.T, r *compiler.Result) {
			delete(composeService(t, r, "coder-agent").Networks, "external-env")
		},
		want: []string{mysqlFlow + ": error NET009: declared flow coder-agent -> mysql:mysql: services coder-agent and mysql share no network"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.compile(t, "dev")
			tc.edit(t, r)
			got := s.check(r, policies.Options{})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}

// The rules about Kubernetes objects do not run on a Compose environment,
// and the Compose ones do not run on a cluster's: a namespace without a
// quota is QUOTA004 on the cluster only, and a host too small for the
// services is QUOTA007 on the Compose host only, though both
// environments render the same components.
func TestComposeRulesByTarget(t *testing.T) {
	src := strings.Replace(composeAgents, `quota: requests: {cpu: "4", memory: "4Gi"}`, `{}`, 1)
	src = strings.Replace(src, `compose: {arch: "amd64", cpu: "4", memory: "4Gi"}`, `compose: {arch: "amd64", cpu: "100m", memory: "4Gi"}`, 1)
	s := loadSystem(t, src)
	rules := func(env string) []string {
		var out []string
		for _, f := range s.check(s.compile(t, env), policies.Options{}) {
			out = append(out, strings.Fields(f)[2])
		}
		return out
	}
	if got := rules("dev"); !slices.Equal(got, []string{"QUOTA007:"}) {
		t.Errorf("dev (Compose): findings of %v, want QUOTA007 alone", got)
	}
	if got := rules("local"); !slices.Contains(got, "QUOTA004:") || slices.Contains(got, "QUOTA007:") {
		t.Errorf("local: findings of %v, want QUOTA004 and no QUOTA007", got)
	}
}
