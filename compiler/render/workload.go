package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// Probe defaults, as a Kubernetes operator would set them by hand.
const (
	defaultProbePath   = "/healthz"
	defaultPeriod      = 10
	defaultTimeout     = 3
	defaultFailures    = 3
	terminationSeconds = 30
)

func (rd *renderer) qty(s string, pos model.Pos, what string) resource.Quantity {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		rd.errs.Add(pos, "%s: %q is not a Kubernetes quantity", what, s)
	}
	return q
}

func (rd *renderer) resources(r model.Resources, what string) corev1.ResourceRequirements {
	req := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:              rd.qty(r.Requests.CPU, r.Requests.CPUPos, what+".requests.cpu"),
			corev1.ResourceMemory:           rd.qty(r.Requests.Memory, r.Requests.MemoryPos, what+".requests.memory"),
			corev1.ResourceEphemeralStorage: rd.qty(orStr(r.Requests.Ephemeral, DefaultEphemeralRequest), r.Requests.EphemeralPos, what+".requests.ephemeral-storage"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:              rd.qty(r.Limits.CPU, r.Limits.CPUPos, what+".limits.cpu"),
			corev1.ResourceMemory:           rd.qty(r.Limits.Memory, r.Limits.MemoryPos, what+".limits.memory"),
			corev1.ResourceEphemeralStorage: rd.qty(orStr(r.Limits.Ephemeral, DefaultEphemeralLimit), r.Limits.EphemeralPos, what+".limits.ephemeral-storage"),
		},
	}
	addGPUs(&req, r)
	return req
}

// Ephemeral storage a container gets unless it states its own: its
// writable layer, its logs and its emptyDir volumes (the writable paths)
// count against it, and the kubelet evicts a pod past its limit.
const (
	DefaultEphemeralRequest = "64Mi"
	DefaultEphemeralLimit   = "1Gi"
)

// EnvKey turns a component name into an environment variable prefix:
// "planner-agent" becomes "PLANNER_AGENT", and another tenant's
// "tenant-b/api" "TENANT_B_API".
func EnvKey(name string) string {
	return strings.ToUpper(envKeyChars.Replace(name))
}

var envKeyChars = strings.NewReplacer("-", "_", "/", "_")

// configData is the component's config plus one service-discovery pair
// per declared flow: TARGET_HOST and TARGET_PORTNAME_PORT, the port
// clients dial (a Service's port, not its target). The flow to the API
// server has none: the kubelet gives every pod KUBERNETES_SERVICE_HOST
// and KUBERNETES_SERVICE_PORT, which client libraries read.
func (rd *renderer) configData(c *model.Component, path string) map[string]string {
	return ConfigData(rd.sys, c, path, (*model.Port).ServicePort, rd.errs)
}

// ConfigData is what c reads as plain variables: service discovery for
// each flow (its host and the port it dials, portOf: a Service's port on
// Kubernetes, the container's on Compose, which has no Services) and its
// config. path is where c is written, for errors.
func ConfigData(sys *model.System, c *model.Component, path string, portOf func(*model.Port) int, errs *diag.List) map[string]string {
	data := map[string]string{}
	origin := map[string]string{}
	for _, f := range c.TalksTo {
		if f.Implicit {
			continue
		}
		// Named as written: a tenant's "cache" is CACHE in every tenant.
		t := sys.Target(f.Target)
		host := EnvKey(f.Ref) + "_HOST"
		port := EnvKey(f.Ref) + "_" + EnvKey(f.Port) + "_PORT"
		if other, ok := origin[host]; ok && other != f.Ref {
			errs.Add(f.Pos, "%s.talksTo: service discovery would name %q and %q alike (%s); a component reaches only one of them by these names: rename one", path, other, f.Ref, host)
			continue
		}
		data[host] = Host(t)
		data[port] = strconv.Itoa(portOf(t.Port(f.Port)))
		origin[host], origin[port] = f.Ref, f.Ref+":"+f.Port
	}
	for _, s := range c.Config {
		if flow, ok := origin[s.Key]; ok {
			errs.Add(s.Pos, "%s.config.%s: the key is set by service discovery for talksTo %q; choose another name", path, s.Key, flow)
			continue
		}
		data[s.Key] = s.Value
	}
	return data
}

func checksum(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// volumeName turns a writable path into a volume name: "/var/cache/nginx"
// becomes "var-cache-nginx".
func volumeName(path string) string { return "w-" + model.PathSlug(path) }

func (rd *renderer) component(c *model.Component) {
	path := c.Path
	ns := c.Namespace
	labels := rd.componentLabels(c)
	// The component's objects share one label map (see renderer).
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	obj := func(apiVersion, kind, name string, pos model.Pos, o any) {
		rd.add(&Object{Layer: ns, APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, Obj: o, Component: c.Name, Pos: pos})
	}

	rd.serviceAccount(c, meta, obj)

	data := rd.configData(c, path)
	obj("v1", "ConfigMap", c.ObjectName, c.Pos, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(c.ObjectName),
		Data:       data,
	})
	rd.fileConfigMaps(c, meta, obj)

	pod := rd.podTemplate(c, path, labels, checksum(data))
	selector := &metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)}
	var replicas *int32
	if c.Autoscale == nil {
		n := int32(c.Replicas)
		replicas = &n
	}
	switch {
	case c.RunsToCompletion():
		rd.job(c, meta(c.ObjectName), pod, obj)
	case c.Kind == model.Stateful:
		m := meta(c.ObjectName)
		// Deleting a StatefulSet by pruning would orphan its data: never prune.
		m.Annotations = map[string]string{AnnotationPrune: "disabled"}
		ss := &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: m,
			Spec: appsv1.StatefulSetSpec{
				Replicas:            replicas,
				Selector:            selector,
				ServiceName:         c.ObjectName + "-headless",
				PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				MinReadySeconds:     int32(c.Rolling.MinReadySeconds),
				UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
				Template:            pod,
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
					WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
			},
		}
		for _, v := range c.Storage {
			class := v.Class
			if class == "" {
				class = rd.env.Cluster.StorageClass
			}
			ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: v.Name, Labels: copyMap(rd.selectorLabels(c))},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: &class,
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: rd.qty(v.Size, v.Pos, path+".storage."+v.Name+".size"),
					}},
				},
			})
		}
		obj("apps/v1", "StatefulSet", c.ObjectName, c.Pos, ss)
	default:
		surge, unavailable := intOrPercent(c.Rolling.MaxSurge), intOrPercent(c.Rolling.MaxUnavailable)
		if c.Resources.GPUs > 0 && !c.Rolling.Pos.IsValid() {
			// A surge pod needs GPUs a full pool does not have, and
			// 25% unavailable rounds down to none: the rollout would wait
			// forever. Replace one pod at a time instead.
			surge, unavailable = intstr.FromInt32(0), intstr.FromInt32(1)
		}
		obj("apps/v1", "Deployment", c.ObjectName, c.Pos, &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta(c.ObjectName),
			Spec: appsv1.DeploymentSpec{
				Replicas:             replicas,
				Selector:             selector,
				RevisionHistoryLimit: ptr(int32(5)),
				MinReadySeconds:      int32(c.Rolling.MinReadySeconds),
				Strategy: appsv1.DeploymentStrategy{
					Type:          appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
				},
				Template: pod,
			},
		})
	}

	rd.services(c, meta, obj)

	if a := c.Autoscale; a != nil {
		kind := "Deployment"
		if c.Kind == model.Stateful {
			kind = "StatefulSet"
		}
		min := int32(a.Min)
		util := int32(a.CPUUtilization)
		obj("autoscaling/v2", "HorizontalPodAutoscaler", c.ObjectName, a.Pos, &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
			ObjectMeta: meta(c.ObjectName),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: c.ObjectName},
				MinReplicas:    &min,
				MaxReplicas:    int32(a.Max),
				Metrics: []autoscalingv2.MetricSpec{{
					Type: autoscalingv2.ResourceMetricSourceType,
					Resource: &autoscalingv2.ResourceMetricSource{
						Name:   corev1.ResourceCPU,
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util},
					},
				}},
			},
		})
	}

	if Replicated(c) {
		one := intstr.FromInt32(1)
		pos := c.ReplicasPos
		if c.Autoscale != nil {
			pos = c.Autoscale.Pos
		}
		if !pos.IsValid() {
			pos = c.Pos
		}
		obj("policy/v1", "PodDisruptionBudget", c.ObjectName, pos, &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: meta(c.ObjectName),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable:             &one,
				Selector:                   &metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)},
				UnhealthyPodEvictionPolicy: unhealthyEviction(rd.env.Cluster),
			},
		})
	}

	if e := c.Expose; e != nil && e.Ingress {
		rd.ingress(c, e, meta, obj)
	}
	rd.flowPolicies(c)
}

// Replicated reports whether more than one pod of c can run: a fixed
// count of two or more, or an autoscaling maximum of two or more. Such a
// workload gets a PodDisruptionBudget.
func Replicated(c *model.Component) bool {
	if c.Autoscale != nil {
		return c.Autoscale.Max >= 2
	}
	return c.Replicas >= 2
}

func (rd *renderer) podTemplate(c *model.Component, path string, labels map[string]string, configSum string) corev1.PodTemplateSpec {
	annotations := map[string]string{AnnotationChecksum: configSum}
	if m := c.Metrics; m != nil && !rd.sys.Monitoring.Operator() {
		annotations[model.AnnotationScrape] = "true"
		annotations[model.AnnotationMetricsPort] = strconv.Itoa(c.Port(m.Port).Number)
		annotations[model.AnnotationMetricsPath] = m.Path
	}
	yes, no := true, false
	podSec := &corev1.PodSecurityContext{
		RunAsNonRoot:   &yes,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	readOnly := true
	var addCaps []corev1.Capability
	if s := c.Security; s != nil {
		podSec.RunAsUser, podSec.RunAsGroup, podSec.FSGroup = s.RunAsUser, s.RunAsGroup, s.FSGroup
		if s.ReadOnlyRootFilesystem != nil {
			readOnly = *s.ReadOnlyRootFilesystem
		}
		for _, cp := range s.AddCapabilities {
			addCaps = append(addCaps, corev1.Capability(cp))
		}
	}
	containerSec := func() *corev1.SecurityContext {
		ro := readOnly
		return &corev1.SecurityContext{
			AllowPrivilegeEscalation: &no,
			ReadOnlyRootFilesystem:   &ro,
			RunAsNonRoot:             &yes,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: addCaps},
		}
	}

	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	for _, w := range c.Writable {
		name := volumeName(w.Path)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: w.Path})
	}
	for _, v := range c.Storage {
		mounts = append(mounts, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath})
	}
	// What sidecars mount beside their own files: what the main
	// container writes.
	shared := append([]corev1.VolumeMount(nil), mounts...)
	fileVols, fileMounts, filesSum := fileVolumes(c)
	volumes, mounts = append(volumes, fileVols...), append(mounts, fileMounts[""]...)
	if filesSum != "" {
		annotations[AnnotationFilesChecksum] = filesSum
	}

	ports := containerPorts(c, "")
	env := secretEnv(nil, c.Secrets)
	readiness, liveness := ReadinessAndLiveness(c)
	main := corev1.Container{
		Name:                     c.ObjectName,
		Image:                    rd.pin(c.Image, path+".image"),
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  c.Command,
		Args:                     c.Args,
		Ports:                    ports,
		EnvFrom:                  []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: c.ObjectName}}}},
		Env:                      env,
		Resources:                rd.resources(c.Resources, path+".resources"),
		SecurityContext:          containerSec(),
		VolumeMounts:             mounts,
		ReadinessProbe:           rd.probe(c, readiness),
		LivenessProbe:            rd.probe(c, liveness),
		StartupProbe:             rd.probe(c, c.Probes.Startup),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	extra := func(ic model.InitContainer, ipath string, mounts []corev1.VolumeMount) corev1.Container {
		return corev1.Container{
			Name:                     ic.Name,
			Image:                    rd.pin(ic.Image, ipath+".image"),
			ImagePullPolicy:          corev1.PullIfNotPresent,
			Command:                  ic.Command,
			Args:                     ic.Args,
			Env:                      secretEnv(configEnv(ic.Config), ic.Secrets),
			Resources:                rd.resources(ic.Resources, ipath+".resources"),
			SecurityContext:          containerSec(),
			VolumeMounts:             mounts,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}
	}
	// Sidecars come first: a sidecar starts, and is ready, before the
	// next init container starts, so that a proxy or a log shipper also
	// serves the init containers. They mount what the main container
	// writes (its writable paths and volumes) beside their own files, so
	// that a log shipper reads the logs; each has its own sidecar files.
	var inits []corev1.Container
	always := corev1.ContainerRestartPolicyAlways
	for _, sc := range c.Sidecars {
		spath := path + ".sidecars." + sc.Name
		ctr := extra(sc.InitContainer, spath, append(append([]corev1.VolumeMount(nil), shared...), fileMounts[sc.Name]...))
		ctr.RestartPolicy = &always
		ctr.Ports = containerPorts(c, sc.Name)
		ctr.ReadinessProbe = rd.probe(c, sidecarProbe(c, sc.Name, sc.Probes.Readiness))
		ctr.LivenessProbe = rd.probe(c, sidecarProbe(c, sc.Name, sc.Probes.Liveness))
		ctr.StartupProbe = rd.probe(c, sidecarProbe(c, sc.Name, sc.Probes.Startup))
		inits = append(inits, ctr)
	}
	for i, ic := range c.Init {
		inits = append(inits, extra(ic, fmt.Sprintf("%s.initContainers[%d]", path, i), mounts))
	}
	token := c.ReadsAPI()
	spec := corev1.PodSpec{
		ServiceAccountName:            c.ObjectName,
		AutomountServiceAccountToken:  &token,
		EnableServiceLinks:            &no,
		SecurityContext:               podSec,
		InitContainers:                inits,
		Containers:                    []corev1.Container{main},
		Volumes:                       volumes,
		TerminationGracePeriodSeconds: ptr(int64(terminationSeconds)),
	}
	spec.NodeSelector, spec.Tolerations = rd.placement(c)
	if Replicated(c) {
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       "kubernetes.io/hostname",
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: rd.selectorLabels(c)},
		}}
	}
	podLabels := copyMap(labels)
	for _, l := range c.Pod.Labels {
		podLabels[l.Key] = l.Value
	}
	for _, a := range c.Pod.Annotations {
		annotations[a.Key] = a.Value
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
		Spec:       spec,
	}
}

// containerPorts are the ports of c's container called container: ""
// for the main one, else a sidecar's name.
func containerPorts(c *model.Component, container string) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, p := range c.Ports {
		if p.Container == container {
			ports = append(ports, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.Number), Protocol: corev1.Protocol(p.Protocol)})
		}
	}
	return ports
}

// configEnv is config as environment variables with their values: an
// extra container reads its few settings inline rather than from a
// ConfigMap, and a change of one changes the pod template, which rolls
// the pods.
func configEnv(config []model.Setting) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, s := range config {
		env = append(env, corev1.EnvVar{Name: s.Key, Value: s.Value})
	}
	return env
}

// secretEnv adds environment variables read from secrets to env.
func secretEnv(env []corev1.EnvVar, secrets []model.SecretRef) []corev1.EnvVar {
	for _, s := range secrets {
		env = append(env, corev1.EnvVar{Name: s.Env, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: model.ObjectPart(s.Secret)}, Key: s.Key},
		}})
	}
	return env
}

// sidecarProbe is a sidecar's probe with its port filled in: the one it
// names, else the sidecar's port named after the probe's kind (http,
// grpc), else its first TCP port. A sidecar gets no default probes.
func sidecarProbe(c *model.Component, sidecar string, p *model.Probe) *model.Probe {
	if p == nil || p.Port != "" || p.Kind == model.ProbeExec {
		return p
	}
	q := *p
	for _, want := range []string{p.Kind, ""} {
		for _, port := range c.Ports {
			if port.Container == sidecar && port.Protocol != "UDP" && (want == "" || port.Name == want) {
				q.Port = port.Name
				return &q
			}
		}
	}
	return &q
}

// ReadinessAndLiveness are the probes a component declares, with the
// defaults for the ones it leaves out. A component without ports gets no
// default.
//
// Readiness defaults to HTTP GET /healthz on the port named http, else a
// TCP connect to the first port. Liveness is derived from readiness and
// is never the same check: the two answer different questions, and with
// one check for both, a failure that should only take the pod out of
// rotation (a slow database behind /healthz) restarts it, on every
// replica at once. The derived liveness is a TCP connect to the port
// readiness checks, with the same initial delay and timeout, twice the
// period and twice the failure threshold (two minutes before a restart
// against 30 s out of rotation, with the defaults): it depends on nothing
// downstream and restarts only a process that stopped accepting
// connections. When readiness is itself a TCP connect there is no lighter
// check, and gitopsc adds no liveness probe rather than one identical to
// readiness (which kube-score grades CRITICAL, and POD009 reports when
// written): as kube-score advises, no liveness probe is safer than one
// that restarts a pod for what should only take it out of rotation.
func ReadinessAndLiveness(c *model.Component) (readiness, liveness *model.Probe) {
	readiness, liveness = c.Probes.Readiness, c.Probes.Liveness
	if firstTCP(c) == nil {
		// Every check but exec connects over TCP: a component with UDP
		// ports only gets no default, and POD006 says so.
		return readiness, liveness
	}
	if readiness == nil {
		if tcpPort(c, "http") {
			readiness = &model.Probe{Kind: model.ProbeHTTP, Port: "http"}
		} else {
			readiness = &model.Probe{Kind: model.ProbeTCP}
		}
	}
	if liveness == nil && readiness.Kind != model.ProbeTCP && tcpPort(c, probePort(c, readiness)) {
		liveness = &model.Probe{
			Kind:                model.ProbeTCP,
			Port:                probePort(c, readiness),
			InitialDelaySeconds: readiness.InitialDelaySeconds,
			PeriodSeconds:       2 * or(readiness.PeriodSeconds, defaultPeriod),
			TimeoutSeconds:      readiness.TimeoutSeconds,
			FailureThreshold:    2 * or(readiness.FailureThreshold, defaultFailures),
		}
	}
	return readiness, liveness
}

// probePort is the name of the port a probe checks: the one it names,
// else the port named after its kind (http, grpc), else the first. An
// exec probe checks no port; for it this is the port a TCP check of the
// component would use.
func probePort(c *model.Component, p *model.Probe) string {
	switch {
	case p.Port != "":
		return p.Port
	case p.Kind == model.ProbeGRPC && tcpPort(c, "grpc"):
		return "grpc"
	case (p.Kind == model.ProbeHTTP || p.Kind == model.ProbeExec) && tcpPort(c, "http"):
		return "http"
	}
	if p := firstTCP(c); p != nil {
		return p.Name
	}
	return c.Ports[0].Name
}

// tcpPort reports whether c's main container has a TCP port called name.
func tcpPort(c *model.Component, name string) bool {
	p := c.Port(name)
	return p != nil && p.Protocol != "UDP" && p.Container == ""
}

// firstTCP is the first TCP port of c's main container, nil when it has
// none.
func firstTCP(c *model.Component) *model.Port {
	for i := range c.Ports {
		if c.Ports[i].Protocol != "UDP" && c.Ports[i].Container == "" {
			return &c.Ports[i]
		}
	}
	return nil
}

// probe renders a probe; nil when there is none.
func (rd *renderer) probe(c *model.Component, p *model.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := &corev1.Probe{
		InitialDelaySeconds: int32(p.InitialDelaySeconds),
		PeriodSeconds:       int32(or(p.PeriodSeconds, defaultPeriod)),
		TimeoutSeconds:      int32(or(p.TimeoutSeconds, defaultTimeout)),
		FailureThreshold:    int32(or(p.FailureThreshold, defaultFailures)),
		SuccessThreshold:    1,
	}
	switch p.Kind {
	case model.ProbeHTTP:
		out.HTTPGet = &corev1.HTTPGetAction{Path: orStr(p.Path, defaultProbePath), Port: intstr.FromString(probePort(c, p)), Scheme: corev1.URISchemeHTTP}
		for _, h := range p.Headers {
			out.HTTPGet.HTTPHeaders = append(out.HTTPGet.HTTPHeaders, corev1.HTTPHeader{Name: h.Name, Value: h.Value})
		}
	case model.ProbeTCP:
		out.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromString(probePort(c, p))}
	case model.ProbeGRPC:
		// GRPCAction takes a number, not a port name: the container
		// port, which is what the kubelet dials.
		out.GRPC = &corev1.GRPCAction{}
		if port := c.Port(probePort(c, p)); port != nil {
			out.GRPC.Port = int32(port.Number)
		}
		if p.Service != "" {
			out.GRPC.Service = &p.Service
		}
	default:
		out.Exec = &corev1.ExecAction{Command: p.Command}
	}
	return out
}

type metaFunc func(name string) metav1.ObjectMeta
type objFunc func(apiVersion, kind, name string, pos model.Pos, o any)

func (rd *renderer) services(c *model.Component, meta metaFunc, obj objFunc) {
	if len(c.Ports) == 0 {
		return
	}
	var ports []corev1.ServicePort
	for _, p := range c.Ports {
		ports = append(ports, servicePort(p))
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(c.ObjectName),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: rd.selectorLabels(c),
			Ports:    ports,
		},
	}
	obj("v1", "Service", c.ObjectName, c.Pos, svc)
	if e := c.Expose; e != nil && e.LoadBalancer {
		rd.loadBalancer(c, e, meta, obj)
	}
	if c.Kind == model.Stateful {
		headless := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta(c.ObjectName + "-headless"),
			Spec: corev1.ServiceSpec{
				Type:                     corev1.ServiceTypeClusterIP,
				ClusterIP:                corev1.ClusterIPNone,
				PublishNotReadyAddresses: true,
				Selector:                 rd.selectorLabels(c),
				Ports:                    ports,
			},
		}
		obj("v1", "Service", c.ObjectName+"-headless", c.Pos, headless)
	}
}

// servicePort is a named port as a Service port: the port clients dial,
// reaching the container port of the same name.
func servicePort(p model.Port) corev1.ServicePort {
	sp := corev1.ServicePort{Name: p.Name, Port: int32(p.ServicePort()), TargetPort: intstr.FromString(p.Name), Protocol: corev1.Protocol(p.Protocol)}
	if p.Container != "" {
		// Endpoints resolve a named targetPort in a native sidecar only
		// from Kubernetes 1.32 (kubernetes/kubernetes#127958): name the
		// number, which every version routes.
		sp.TargetPort = intstr.FromInt32(int32(p.Number))
	}
	if p.AppProtocol != "" {
		sp.AppProtocol = ptr(p.AppProtocol)
	}
	return sp
}

// LoadBalancerName is the name of the LoadBalancer Service that exposes
// a component outside the cluster, beside its ClusterIP Service.
func LoadBalancerName(c *model.Component) string { return c.ObjectName + "-external" }

// loadBalancer renders the Service that exposes c through a load
// balancer: the exposed port only, answering on servicePort when set.
func (rd *renderer) loadBalancer(c *model.Component, e *model.Expose, meta metaFunc, obj objFunc) {
	sp := servicePort(*exposedPort(c, e))
	if e.ServicePort != 0 {
		sp.Port = int32(e.ServicePort)
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(LoadBalancerName(c)),
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			Selector:              rd.selectorLabels(c),
			Ports:                 []corev1.ServicePort{sp},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
		},
	}
	if rd.env.Cluster.Distribution == "eks" {
		svc.Annotations = map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
		}
		svc.Spec.LoadBalancerClass = ptr("service.k8s.aws/nlb")
	}
	svc.Annotations = annotate(svc.Annotations, e.Annotations)
	obj("v1", "Service", LoadBalancerName(c), e.Pos, svc)
}

// exposedPort is the port an exposure routes to: the one named, else
// "http", else the first.
func exposedPort(c *model.Component, e *model.Expose) *model.Port {
	if e.Port != "" {
		return c.Port(e.Port)
	}
	if p := c.Port("http"); p != nil {
		return p
	}
	return &c.Ports[0]
}

func (rd *renderer) ingress(c *model.Component, e *model.Expose, meta metaFunc, obj objFunc) {
	port := exposedPort(c, e)
	prefix := networkingv1.PathTypePrefix
	m := meta(c.ObjectName)
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: m,
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr(rd.env.Cluster.IngressClass),
			Rules: []networkingv1.IngressRule{{
				Host: e.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     e.Path,
						PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: c.ObjectName,
							Port: networkingv1.ServiceBackendPort{Name: port.Name},
						}},
					}},
				}},
			}},
		},
	}
	if e.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{e.Host}, SecretName: e.TLSSecret}}
	}
	if rd.env.Cluster.Distribution == "eks" {
		listen := `[{"HTTP":80}]`
		if e.TLSSecret != "" {
			listen = `[{"HTTP":80},{"HTTPS":443}]`
		}
		ing.Annotations = map[string]string{
			"alb.ingress.kubernetes.io/scheme":       "internet-facing",
			"alb.ingress.kubernetes.io/target-type":  "ip",
			"alb.ingress.kubernetes.io/listen-ports": listen,
			"alb.ingress.kubernetes.io/healthcheck-path": func() string {
				if p := c.Probes.Readiness; p != nil && p.Kind == model.ProbeHTTP {
					return orStr(p.Path, defaultProbePath)
				}
				return defaultProbePath
			}(),
		}
		if e.TLSSecret != "" {
			ing.Annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
		}
	}
	ing.Annotations = annotate(ing.Annotations, e.Annotations)
	obj("networking.k8s.io/v1", "Ingress", c.ObjectName, e.Pos, ing)
}

func intOrPercent(s string) intstr.IntOrString {
	if n, err := strconv.Atoi(s); err == nil {
		return intstr.FromInt32(int32(n))
	}
	return intstr.FromString(s)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// unhealthyEviction is a PodDisruptionBudget's unhealthyPodEvictionPolicy,
// AlwaysAllow: a pod that is not ready does not block draining a node. It
// is on from Kubernetes 1.27 (PDBUnhealthyPodEvictionPolicy) and left out
// before.
func unhealthyEviction(cl model.Cluster) *policyv1.UnhealthyPodEvictionPolicyType {
	if !cl.HasMinor(27) {
		return nil
	}
	return ptr(policyv1.AlwaysAllow)
}
