package policies

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/gitopsc/gitopsc/compiler/model"
)

var securityRules = []*Rule{
	{
		ID: "POD001", Family: "security", Severity: Error,
		Title: "pods run as non-root",
		Rationale: `A process running as root in a container is root on the node if it
escapes. runAsNonRoot makes the kubelet refuse to start a container whose
user is root.`,
		On: OnBoth,
		Check: onCompose(composeRoot, podCheck(func(p *corev1.PodSpec, c *corev1.Container) string {
			// User 0 is root whatever runAsNonRoot says; with it set, as
			// gitopsc renders it, the kubelet refuses to start the
			// container in any namespace, so Pod Security alone (POD008)
			// would miss it where the level is not restricted.
			if uid := runAsUser(p, c); uid != nil && *uid == 0 {
				if nonRoot := runAsNonRoot(p, c); nonRoot != nil && *nonRoot {
					return "runs as user 0 (root) while runAsNonRoot is set: the kubelet refuses to start it"
				}
				return "runs as user 0 (root)"
			}
			if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
				if !*c.SecurityContext.RunAsNonRoot {
					return "sets runAsNonRoot: false"
				}
				return ""
			}
			if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
				return "does not set runAsNonRoot"
			}
			return ""
		})),
	},
	{
		ID: "POD002", Family: "security", Severity: Error,
		Title: "containers forbid privilege escalation",
		Rationale: `allowPrivilegeEscalation: false stops setuid binaries and file
capabilities from raising a process's privileges.`,
		Check: podCheck(func(p *corev1.PodSpec, c *corev1.Container) string {
			if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				return "does not set allowPrivilegeEscalation: false"
			}
			return ""
		}),
	},
	{
		ID: "POD003", Family: "security", Severity: Error,
		Title: "containers drop all capabilities",
		Rationale: `Container runtimes grant a default set of Linux capabilities (NET_RAW,
CHOWN, ...). Drop ALL and add back only what a component declares, with a
reason, in security.addCapabilities.`,
		Check: podCheck(func(p *corev1.PodSpec, c *corev1.Container) string {
			if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil {
				for _, d := range c.SecurityContext.Capabilities.Drop {
					if d == "ALL" {
						return ""
					}
				}
			}
			return "does not drop ALL capabilities"
		}),
	},
	{
		ID: "POD004", Family: "security", Severity: Error,
		Title: "pods use the RuntimeDefault seccomp profile",
		Rationale: `Without a seccomp profile a container may make any system call,
including those most kernel exploits need.`,
		Check: podCheck(func(p *corev1.PodSpec, c *corev1.Container) string {
			ok := func(s *corev1.SeccompProfile) bool {
				return s != nil && (s.Type == corev1.SeccompProfileTypeRuntimeDefault || s.Type == corev1.SeccompProfileTypeLocalhost)
			}
			if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
				if ok(c.SecurityContext.SeccompProfile) {
					return ""
				}
				return "sets an unconfined seccomp profile"
			}
			if p.SecurityContext == nil || !ok(p.SecurityContext.SeccompProfile) {
				return "has no RuntimeDefault seccomp profile"
			}
			return ""
		}),
	},
	{
		ID: "POD005", Family: "security", Severity: Warning,
		Title: "containers have a read-only root filesystem",
		Rationale: `A read-only root filesystem keeps an intruder from changing the
container's binaries and configuration. Paths a program must write to are
declared under writable and mounted as emptyDir volumes.`,
		Check: podCheck(func(p *corev1.PodSpec, c *corev1.Container) string {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				return "has a writable root filesystem"
			}
			return ""
		}),
	},
	{
		ID: "POD006", Family: "security", Severity: Warning,
		Title: "long-running containers have readiness and liveness probes",
		Rationale: `Without a readiness probe a Service sends traffic to pods that cannot
serve it yet; without a liveness probe a hung process is never restarted.
A container whose readiness probe is a TCP connect needs no liveness
probe: no check is lighter, and one that repeats readiness restarts pods
that should only leave rotation (POD009).`,
		Check: checkProbes,
	},
	{
		ID: "POD009", Family: "security", Severity: Warning,
		Title: "readiness and liveness probes differ",
		Rationale: `Readiness asks whether a pod should get traffic now; liveness asks
whether its process must be restarted. With one check for both, a failure
that should only take pods out of rotation (a database restart that
/healthz reports) restarts them instead, every replica at once, which
makes the outage worse. Liveness should check less than readiness and
nothing downstream: a TCP connect to the serving port, or a path that
only says the process is alive. Left out, gitopsc derives such a
liveness probe from readiness. Probes are the same check as kube-score
judges them ("Pod Probes Identical", graded CRITICAL): the same HTTP path
and port, TCP port, gRPC port and service, or exec command; different
timing or headers do not make them different.`,
		Check: checkProbesDiffer,
	},
	{
		ID: "POD007", Family: "security", Severity: Warning,
		Title: "replicated workloads have a PodDisruptionBudget",
		Rationale: `A node drain may evict every replica of a workload at once unless a
PodDisruptionBudget limits how many may be down.`,
		Check: checkPDB,
	},
	{
		ID: "POD008", Family: "security", Severity: Error,
		Title: "pods pass their namespace's Pod Security level",
		Rationale: `Each namespace enforces a Pod Security Standard (restricted unless the
source says otherwise). A pod the level forbids is refused by the API
server, and its workload never starts. Pods are checked with the
Kubernetes Pod Security admission library itself.`,
		Check: checkPodSecurityLevel,
	},
	imageUserRule,
}

// runAsUser is the user a container runs as when the pod or the
// container names one: the container's setting wins.
func runAsUser(p *corev1.PodSpec, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if p.SecurityContext != nil {
		return p.SecurityContext.RunAsUser
	}
	return nil
}

// runAsNonRoot is the container's runAsNonRoot, or the pod's.
func runAsNonRoot(p *corev1.PodSpec, c *corev1.Container) *bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return c.SecurityContext.RunAsNonRoot
	}
	if p.SecurityContext != nil {
		return p.SecurityContext.RunAsNonRoot
	}
	return nil
}

// podCheck makes a rule that judges every container of every workload.
func podCheck(judge func(*corev1.PodSpec, *corev1.Container) string) func(*Context) []Finding {
	return func(ctx *Context) []Finding {
		var fs []Finding
		for _, w := range workloads(ctx) {
			spec := &w.Template.Spec
			for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
				for i := range list {
					if why := judge(spec, &list[i]); why != "" {
						fs = append(fs, Finding{Pos: securityPos(w), Target: w.target(), Object: w.object(),
							Message: fmt.Sprintf("container %s %s", list[i].Name, why)})
					}
				}
			}
		}
		return fs
	}
}

// securityPos is the component's security exception when it has one: the
// usual cause of a security finding.
func securityPos(w *workload) model.Pos {
	if w.Component != nil && w.Component.Security != nil {
		return w.Component.Security.Pos
	}
	return w.pos()
}

func checkProbes(ctx *Context) []Finding {
	var fs []Finding
	for _, w := range workloads(ctx) {
		if w.Runs != nil {
			continue // a job's pods end when their work is done: no probes
		}
		for _, c := range w.Template.Spec.Containers {
			var missing []string
			if c.ReadinessProbe == nil {
				missing = append(missing, "readiness")
			}
			if c.LivenessProbe == nil {
				missing = append(missing, "liveness")
			}
			if len(missing) == 1 && c.LivenessProbe == nil && c.ReadinessProbe.TCPSocket != nil {
				// Nothing checks less than a TCP connect: the only liveness
				// probe to add would repeat readiness (POD009).
				continue
			}
			if len(missing) > 0 {
				fs = append(fs, Finding{Pos: w.pos(), Target: w.target(), Object: w.object(),
					Message: fmt.Sprintf("container %s has no %s probe; declare probes or a port to probe", c.Name, strings.Join(missing, " or "))})
			}
		}
	}
	return fs
}

func checkPDB(ctx *Context) []Finding {
	// Selectors are compiled once and bucketed by namespace: comparing
	// every workload with every budget is quadratic on large systems.
	selectors := map[string][]labels.Selector{}
	for _, o := range ctx.Output.Objects {
		p, ok := o.Obj.(*policyv1.PodDisruptionBudget)
		if !ok || p.Spec.Selector == nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil && !sel.Empty() {
			selectors[p.Namespace] = append(selectors[p.Namespace], sel)
		}
	}
	var fs []Finding
	for _, w := range workloads(ctx) {
		// A drain leaves DaemonSet pods be; a bare Pod has no controller
		// a budget would slow down.
		if w.Replicas < 2 || w.Runs != nil || w.Kind == "DaemonSet" || w.Kind == "Pod" {
			// A Job gets no budget: the Job controller replaces a pod
			// that is evicted.
			continue
		}
		covered := false
		for _, sel := range selectors[w.Namespace] {
			if sel.Matches(labels.Set(w.Template.Labels)) {
				covered = true
				break
			}
		}
		if !covered {
			fs = append(fs, Finding{Pos: w.pos(), Target: w.target(), Object: w.object(),
				Message: fmt.Sprintf("%s runs up to %d replicas but no PodDisruptionBudget selects its pods", w.Name, w.Replicas)})
		}
	}
	return fs
}

var evaluator = func() psa.Evaluator {
	e, err := psa.NewEvaluator(psa.DefaultChecks(), nil)
	if err != nil {
		panic(err) // the library's own default checks are valid
	}
	return e
}()

func checkPodSecurityLevel(ctx *Context) []Finding {
	levels := map[string]string{}
	for _, o := range ctx.Output.Objects {
		if ns, ok := o.Obj.(*corev1.Namespace); ok {
			levels[ns.Name] = ns.Labels["pod-security.kubernetes.io/enforce"]
		}
	}
	var fs []Finding
	for _, w := range workloads(ctx) {
		level, err := psaapi.ParseLevel(levels[w.Namespace])
		if err != nil || level == psaapi.LevelPrivileged {
			continue
		}
		res := psa.AggregateCheckResults(evaluator.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &w.Template.ObjectMeta, &w.Template.Spec))
		if !res.Allowed {
			fs = append(fs, Finding{Pos: securityPos(w), Target: w.target(), Object: w.object(),
				Message: fmt.Sprintf("namespace %s enforces Pod Security %q, which forbids the pods of %s: %s", w.Namespace, level, w.Name, res.ForbiddenDetail())})
		}
	}
	return fs
}
