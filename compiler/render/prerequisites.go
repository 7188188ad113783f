package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Prerequisites says what a cluster must have before the environment's
// output reconciles there: the controllers, classes and Secrets the
// rendered objects name but do not create. Each entry is one line, in a
// fixed order; only what the output uses is listed.
func (o *Output) Prerequisites() []string {
	if o.Needs != nil {
		return o.Needs
	}
	env := o.Env.Env
	cl := env.Cluster
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	fluxDir := env.Flux.PathPrefix + "/" + env.Name + "/" + LayerFlux
	controllers := "source-controller and kustomize-controller"
	if len(o.Env.System.Charts) > 0 {
		controllers = "source-controller, kustomize-controller and helm-controller"
	}
	if env.Flux.ManagedSource {
		add("Flux: %s (flux install), and something that applies %s, such as a Kustomization of that path; gitopsc renders the GitRepository %s/%s, with no credentials: a private repository needs its secretRef", controllers, fluxDir, env.Flux.SourceNamespace, env.Flux.SourceName)
	} else {
		add("Flux: %s, and the GitRepository %s/%s and the Kustomization of %s that flux bootstrap --path=%s creates", controllers, env.Flux.SourceNamespace, env.Flux.SourceName, fluxDir, fluxDir)
	}
	var sops, stores, classes, ingress, lbs, tls []string
	provided := map[string]bool{}
	hpa, gpus := false, false
	for _, obj := range o.Objects {
		switch t := obj.Obj.(type) {
		case nil:
			if obj.Kind == "Secret" {
				sops = append(sops, obj.Namespace+"/"+obj.Name)
			}
		case *appsv1.StatefulSet:
			for _, pvc := range t.Spec.VolumeClaimTemplates {
				if pvc.Spec.StorageClassName != nil {
					classes = append(classes, *pvc.Spec.StorageClassName)
				}
			}
		case *networkingv1.Ingress:
			if t.Spec.IngressClassName != nil {
				ingress = append(ingress, *t.Spec.IngressClassName)
			}
			for _, x := range t.Spec.TLS {
				if cl.Distribution == "eks" {
					tls = append(tls, "an ACM certificate for "+strings.Join(x.Hosts, ", ")+" (the ALB finds it by host name, not from the Secret)")
				} else {
					tls = append(tls, "Secret "+t.Namespace+"/"+x.SecretName+": the TLS certificate for "+strings.Join(x.Hosts, ", "))
				}
			}
		case *corev1.Service:
			if t.Spec.Type == corev1.ServiceTypeLoadBalancer {
				lbs = append(lbs, t.Namespace+"/"+t.Name)
			}
		}
		if obj.Kind == "HorizontalPodAutoscaler" {
			hpa = true
		}
		if obj.Kind == "ExternalSecret" {
			stores = append(stores, externalStore(o, obj.Name, obj.Namespace))
		}
		switch obj.Kind {
		case "ClusterSecretStore":
			provided["ClusterSecretStore "+obj.Name] = true
		case "SecretStore":
			provided["SecretStore "+obj.Namespace+"/"+obj.Name] = true
		}
	}
	// A store written under objects comes with the output.
	externalSecrets := len(stores)
	stores = slices.DeleteFunc(stores, func(s string) bool { return provided[s] })
	for _, c := range o.Env.System.Components {
		gpus = gpus || c.Resources.GPUs > 0
	}
	// Custom resources written under objects need their CRD, unless
	// objects holds it too.
	crds := map[string]bool{}
	custom := map[string]int{}
	namespaces := map[string]bool{}
	foreign := map[string]int{}
	for _, obj := range o.Checked() {
		switch t := obj.Obj.(type) {
		case *apiextensionsv1.CustomResourceDefinition:
			crds[t.Spec.Names.Kind+"."+t.Spec.Group] = true
		case *corev1.Namespace:
			namespaces[t.Name] = true
		}
		if obj.Source == nil || obj.Source.Chart != "" {
			continue
		}
		if obj.Source.Typed == nil && !builtinUntyped[obj.Source.Group] {
			custom[obj.Source.Kind+"."+obj.Source.Group]++
		}
		if ns := obj.Namespace; ns != "" && o.Env.System.Namespace(ns) == nil && !clusterNamespaces[ns] {
			foreign[ns]++
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(foreign)) {
		if !namespaces[ns] {
			add("Namespace %s, for %s written under objects (gitopsc renders the system's namespaces only)", ns, Count(foreign[ns], "object"))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(custom)) {
		if externalSecrets > 0 && strings.HasSuffix(k, ".external-secrets.io") {
			// The External Secrets Operator's line below covers it.
			continue
		}
		if !crds[k] {
			add("the CustomResourceDefinition of %s and the controller that serves it, for %s written under objects", k, Count(custom[k], "object"))
		}
	}
	if line := o.operatorNeeds(crds); line != "" {
		add("%s", line)
	}
	if len(sops) > 0 {
		add("Secret %s/%s: the SOPS age key (age.agekey), for %s", env.Flux.SourceNamespace, env.Flux.DecryptionSecret, Count(len(sops), "SOPS-encrypted Secret"))
	}
	if externalSecrets > 0 {
		// A chart that holds the CRDs installs the operator.
		operator := !crds["ExternalSecret.external-secrets.io"]
		switch {
		case operator && len(stores) > 0:
			add("External Secrets Operator (%s) and %s, for %s", ExternalSecretAPIVersion, strings.Join(uniq(stores), " and "), Count(externalSecrets, "ExternalSecret"))
		case operator:
			add("External Secrets Operator (%s), for %s", ExternalSecretAPIVersion, Count(externalSecrets, "ExternalSecret"))
		case len(stores) > 0:
			add("%s, for %s", strings.Join(uniq(stores), " and "), Count(externalSecrets, "ExternalSecret"))
		}
	}
	for _, c := range uniq(ingress) {
		switch {
		case cl.Distribution == "k3s" && c == "traefik":
			add("IngressClass traefik: k3s's bundled Traefik (k3s without --disable=traefik)")
		case cl.Distribution == "eks" && c == "alb":
			add("IngressClass alb: the AWS Load Balancer Controller")
		case cl.Distribution == "minikube" && c == "nginx":
			add("IngressClass nginx: minikube's ingress addon (minikube addons enable ingress)")
		default:
			add("IngressClass %s: an ingress controller that serves it", c)
		}
	}
	for _, x := range uniq(tls) {
		add("%s", x)
	}
	if len(lbs) > 0 {
		switch cl.Distribution {
		case "eks":
			add("loadBalancerClass service.k8s.aws/nlb: the AWS Load Balancer Controller, for %s", Count(len(lbs), "LoadBalancer Service"))
		case "minikube":
			add("minikube tunnel running on the host, which gives LoadBalancer Services an address, for %s", Count(len(lbs), "LoadBalancer Service"))
		default:
			add("a load balancer controller: k3s's ServiceLB (k3s without --disable=servicelb), for %s", Count(len(lbs), "LoadBalancer Service"))
		}
	}
	for _, c := range uniq(classes) {
		switch {
		case cl.Distribution == "k3s" && c == "local-path":
			add("StorageClass local-path: k3s's bundled local-path provisioner")
		case cl.Distribution == "eks" && c == "gp3":
			add("StorageClass gp3: the Amazon EBS CSI driver's (EKS creates only gp2)")
		case cl.Distribution == "minikube" && c == "standard":
			add("StorageClass standard: minikube's storage-provisioner addon (on by default)")
		default:
			add("StorageClass %s", c)
		}
	}
	if hpa {
		switch cl.Distribution {
		case "k3s":
			add("metrics-server, for the HorizontalPodAutoscalers: k3s's bundled one (k3s without --disable=metrics-server)")
		case "minikube":
			add("metrics-server, for the HorizontalPodAutoscalers: minikube's addon (minikube addons enable metrics-server)")
		default:
			add("metrics-server, for the HorizontalPodAutoscalers: the EKS add-on or its chart")
		}
	}
	if gpus {
		add("the NVIDIA device plugin on the GPU nodes, for %s", ResourceGPU)
	}
	switch np, ok := enforcers[cl.NetworkPolicy]; {
	case ok:
		add("NetworkPolicy enforcement: %s", np)
	case cl.NetworkPolicy == "" && cl.Distribution == "minikube":
		add("NetworkPolicy enforcement, which minikube's default CNI does not do: minikube start --cni=calico, named in cluster.networkPolicy")
	case cl.NetworkPolicy == "":
		add("NetworkPolicy enforcement, which the environment does not name (cluster.networkPolicy): without it the policies isolate nothing")
	}
	return out
}

// clusterNamespaces are the namespaces every cluster, or Flux, has.
var clusterNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true, "flux-system": true}

// builtinUntyped are built-in API groups whose objects pass as written
// (the loader decodes no type of theirs), and which need no CRD.
var builtinUntyped = map[string]bool{"apiregistration.k8s.io": true, "internal.apiserver.k8s.io": true,
	"storagemigration.k8s.io": true, "authentication.k8s.io": true, "authorization.k8s.io": true}

// enforcers name what cluster.networkPolicy says enforces policies.
var enforcers = map[string]string{
	"vpc-cni":     `the Amazon VPC CNI's network policy agent (enableNetworkPolicy: "true" on the vpc-cni add-on)`,
	"calico":      "Calico",
	"cilium":      "Cilium",
	"kube-router": "k3s's embedded kube-router policy controller (k3s without --disable-network-policy)",
}

// externalStore names the store an ExternalSecret reads from.
func externalStore(o *Output, name, namespace string) string {
	for _, s := range o.Env.System.Secrets {
		if s.ObjectName == name && s.Namespace == namespace {
			if s.Source.StoreKind == "SecretStore" {
				// Namespaced: one is needed in each namespace that reads it.
				return "SecretStore " + namespace + "/" + s.Source.Store
			}
			return s.Source.StoreKind + " " + s.Source.Store
		}
	}
	return "its secret store"
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Count is n of what, in the plural unless n is 1: "3 PodMonitors".
func Count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// operatorNeeds says what the PodMonitors and the PrometheusRule gitopsc
// renders need: the prometheus-operator, unless a chart or objects hold
// its CRDs, and a Prometheus that selects them, unless one is rendered
// (rule MON001 checks that one).
func (o *Output) operatorNeeds(crds map[string]bool) string {
	monitors, rules := 0, 0
	prometheus := false
	for _, obj := range o.Checked() {
		switch {
		case obj.APIVersion != MonitoringAPIVersion:
		case obj.Kind == "Prometheus":
			prometheus = true
		case obj.Source == nil && obj.Kind == "PodMonitor":
			monitors++
		case obj.Source == nil && obj.Kind == "PrometheusRule":
			rules++
		}
	}
	if monitors+rules == 0 {
		return ""
	}
	var what []string
	if monitors > 0 {
		what = append(what, Count(monitors, "PodMonitor"))
	}
	if rules > 0 {
		what = append(what, "the PrometheusRule "+AlertsName)
	}
	m := o.Env.System.Monitoring
	selects := "a Prometheus whose podMonitorSelector and ruleSelector match " + selectorText(m, o.Env.System.Name) + ", with podMonitorNamespaceSelector and ruleNamespaceSelector {} (every namespace)"
	operator := crds["PodMonitor.monitoring.coreos.com"] && crds["PrometheusRule.monitoring.coreos.com"]
	switch {
	case operator && prometheus:
		return ""
	case operator:
		return selects + ", for " + strings.Join(what, " and ")
	case prometheus:
		return "the prometheus-operator's CRDs (PodMonitor, PrometheusRule), for " + strings.Join(what, " and ")
	}
	return "the prometheus-operator (" + MonitoringAPIVersion + ") and " + selects + ", for " + strings.Join(what, " and ")
}

// selectorText shows the labels a Prometheus must select gitopsc's
// monitoring objects by.
func selectorText(m *model.Monitoring, system string) string {
	if len(m.Labels) == 0 {
		return LabelPartOf + ": " + system
	}
	var kv []string
	for _, s := range m.Labels {
		kv = append(kv, s.Key+": "+s.Value)
	}
	return strings.Join(kv, ", ")
}
