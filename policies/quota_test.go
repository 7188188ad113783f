package policies_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/policies"
)

// The schema makes every container state its resources, so QUOTA001 only
// catches a rendered container that lost them.
func TestContainerResourcesRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	p := podSpec(t, r, "web")
	p.InitContainers[0].Resources.Limits = nil
	delete(p.Containers[0].Resources.Requests, corev1.ResourceMemory)
	sameLines(t, only("QUOTA001", s.check(r, policies.Options{})), []string{
		s.at(t, "web: {", 1) + ": error QUOTA001: container migrate sets no limits.cpu, limits.memory",
		s.at(t, "web: {", 1) + ": error QUOTA001: container web sets no requests.memory",
	})
}

// QUOTA006 sums every container of the rendered pod, so one the model
// does not name (a sidecar) counts too; the finding then points at the
// component's resources.
func TestPodFitsNodeCountsEveryContainer(t *testing.T) {
	src := strings.Replace(shop, `arch: ["amd64"]}`,
		`arch: ["amd64"], nodes: {cpu: "940m", memory: "1Gi", max: 3}}`, 1)
	s := loadSystem(t, src)
	r := s.compile(t, "local")
	if got := only("QUOTA006", s.check(r, policies.Options{})); len(got) != 0 {
		t.Fatalf("the shop fits its nodes, got:\n%s", strings.Join(got, "\n"))
	}
	p := podSpec(t, r, "worker")
	p.Containers = append(p.Containers, corev1.Container{Name: "proxy", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("900m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}})
	sameLines(t, only("QUOTA006", s.check(r, policies.Options{})), []string{
		s.at(t, "resources:", 3) + ": error QUOTA006: worker: a pod requests cpu 1 (container worker 100m + container proxy 900m), more than one node of the pool allocates (940m): the scheduler never places it",
		s.at(t, "resources:", 3) + ": error QUOTA006: worker: a pod requests memory 1152Mi (container worker 128Mi + container proxy 1Gi), more than one node of the pool allocates (1Gi): the scheduler never places it",
	})
}

// QUOTA006 explains a pod's request in KEP-753's terms: an init container
// plus the sidecars started before it, when that is what sets it.
func TestPodFitsNodeExplainsSidecars(t *testing.T) {
	src := strings.Replace(shop, `arch: ["amd64"]}`,
		`arch: ["amd64"], nodes: {cpu: "940m", memory: "1Gi", max: 3}}`, 1)
	s := loadSystem(t, src)
	r := s.compile(t, "local")
	always := corev1.ContainerRestartPolicyAlways
	cpu := func(q string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
	}
	p := podSpec(t, r, "worker")
	p.InitContainers = append(p.InitContainers,
		corev1.Container{Name: "proxy", RestartPolicy: &always, Resources: cpu("300m")},
		corev1.Container{Name: "warm", Resources: cpu("800m")})
	sameLines(t, only("QUOTA006", s.check(r, policies.Options{})), []string{
		s.at(t, "resources:", 3) + ": error QUOTA006: worker: a pod requests cpu 1100m (init container warm 800m + sidecar proxy 300m, larger than container worker 100m + sidecar proxy 300m), more than one node of the pool allocates (940m): the scheduler never places it",
	})
}

// PodUsage follows KEP-753: a sidecar adds to the running pod and to the
// init containers listed after it, never to those before it.
func TestPodUsageSidecars(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	ctr := func(cpu string, sidecar bool) corev1.Container {
		c := corev1.Container{Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
		}}
		if sidecar {
			c.RestartPolicy = &always
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		inits []corev1.Container
		want  string
	}{
		{"no sidecars: the largest init container", []corev1.Container{ctr("700m", false)}, "700m"},
		{"sidecar before the init container adds to it", []corev1.Container{ctr("100m", true), ctr("700m", false)}, "800m"},
		{"sidecar after the init container does not", []corev1.Container{ctr("700m", false), ctr("100m", true)}, "700m"},
		{"sidecars add to the running pod", []corev1.Container{ctr("100m", true), ctr("200m", false), ctr("150m", true)}, "550m"},
	} {
		spec := &corev1.PodSpec{InitContainers: tc.inits, Containers: []corev1.Container{ctr("300m", false)}}
		req, _ := policies.PodUsage(spec)
		if got := req[corev1.ResourceCPU]; got.Cmp(resource.MustParse(tc.want)) != 0 {
			t.Errorf("%s: requests.cpu %s, want %s", tc.name, got.String(), tc.want)
		}
	}
}
