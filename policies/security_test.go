package policies_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/policies"
)

// The renderer always writes the secure pod defaults; these tests take
// them out of the rendered pods one by one. Findings point at the
// component's security exception when it has one (web), else at the
// component (worker).
func TestPodSecurityRules(t *testing.T) {
	s := loadSystem(t, shop)
	if got := s.check(s.compile(t, "local"), policies.Options{}); len(got) > 0 {
		t.Fatalf("the rendered system is not clean:\n%v", got)
	}
	web := s.at(t, "security: {", 1)
	worker := s.at(t, "worker: {", 1)
	no, yes := false, true
	for _, tc := range []struct {
		rule string
		edit func(*testing.T, *compiler.Result)
		want []string
	}{{
		rule: "POD001",
		edit: func(t *testing.T, r *compiler.Result) {
			podSpec(t, r, "web").Containers[0].SecurityContext.RunAsNonRoot = &no
			p := podSpec(t, r, "worker")
			p.SecurityContext.RunAsNonRoot = nil
			p.Containers[0].SecurityContext.RunAsNonRoot = nil
		},
		want: []string{
			web + ": error POD001: container web sets runAsNonRoot: false",
			worker + ": error POD001: container worker does not set runAsNonRoot",
		},
	}, {
		rule: "POD002",
		edit: func(t *testing.T, r *compiler.Result) {
			podSpec(t, r, "web").InitContainers[0].SecurityContext.AllowPrivilegeEscalation = &yes
			podSpec(t, r, "worker").Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		},
		want: []string{
			web + ": error POD002: container migrate does not set allowPrivilegeEscalation: false",
			worker + ": error POD002: container worker does not set allowPrivilegeEscalation: false",
		},
	}, {
		rule: "POD003",
		edit: func(t *testing.T, r *compiler.Result) {
			podSpec(t, r, "worker").Containers[0].SecurityContext.Capabilities.Drop = nil
		},
		want: []string{
			worker + ": error POD003: container worker does not drop ALL capabilities",
		},
	}, {
		rule: "POD004",
		edit: func(t *testing.T, r *compiler.Result) {
			podSpec(t, r, "web").Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
			podSpec(t, r, "worker").SecurityContext.SeccompProfile = nil
		},
		want: []string{
			web + ": error POD004: container web sets an unconfined seccomp profile",
			worker + ": error POD004: container worker has no RuntimeDefault seccomp profile",
		},
	}, {
		// A replicated workload whose PodDisruptionBudget went missing;
		// worker runs one replica and needs none.
		rule: "POD007",
		edit: func(t *testing.T, r *compiler.Result) {
			remove(t, r, "PodDisruptionBudget", "apps", "web")
		},
		want: []string{
			s.at(t, "web: {", 1) + ": warning POD007: web runs up to 2 replicas but no PodDisruptionBudget selects its pods",
		},
	}, {
		// A liveness probe that repeats readiness with the port as a
		// number and other timing is the same check (web); one of another
		// kind on the same port is not (worker keeps its derived TCP one).
		rule: "POD009",
		edit: func(t *testing.T, r *compiler.Result) {
			c := &podSpec(t, r, "web").Containers[0]
			live := c.ReadinessProbe.DeepCopy()
			live.HTTPGet.Port = intstr.FromInt32(8080)
			live.PeriodSeconds = 60
			c.LivenessProbe = live
		},
		want: []string{
			s.at(t, "web: {", 1) + ": warning POD009: container web has the same readiness and liveness probe (HTTP GET /healthz on port http): a failure that should take the pod out of rotation restarts it; give liveness a lighter check than readiness, or leave it out for gitopsc to derive one",
		},
	}} {
		t.Run(tc.rule, func(t *testing.T) {
			r := s.compile(t, "local")
			tc.edit(t, r)
			sameLines(t, only(tc.rule, s.check(r, policies.Options{})), tc.want)
		})
	}
}

// In a restricted namespace the Pod Security library refuses the same
// edits: POD008 reports them with the library's words.
func TestPodSecurityLevelOfEditedPod(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	for _, o := range r.Output.Objects {
		if ns, ok := o.Obj.(*corev1.Namespace); ok {
			ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
		}
	}
	p := podSpec(t, r, "worker")
	p.SecurityContext.SeccompProfile = nil
	p.Containers[0].SecurityContext.Capabilities.Drop = nil
	sameLines(t, only("POD008", s.check(r, policies.Options{})), []string{
		s.at(t, "worker: {", 1) + `: error POD008: namespace apps enforces Pod Security "restricted", which forbids the pods of worker: unrestricted capabilities (container "worker" must set securityContext.capabilities.drop=["ALL"]), seccompProfile (pod or container "worker" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
	})
}
