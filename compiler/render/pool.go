package render

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// ResourceGPU is the extended resource the NVIDIA device plugin
// advertises on GPU nodes.
const ResourceGPU corev1.ResourceName = "nvidia.com/gpu"

// RequestsGPU is the ResourceQuota key that caps a namespace's GPUs:
// quotas count extended resources by request only.
const RequestsGPU = corev1.DefaultResourceRequestsPrefix + ResourceGPU

// placement is the nodeSelector and tolerations that put c's pods on its
// pool: the pool's labels and architecture, and a toleration of each of
// its taints. The nodes shorthand is every node of the cluster, so pods
// are only pinned to the architecture when the cluster runs arm64 alone.
func (rd *renderer) placement(c *model.Component) (map[string]string, []corev1.Toleration) {
	p := rd.env.Cluster.Pool(c.Pool)
	if p == nil || p.Shorthand {
		if rd.env.Cluster.ArchOnly("arm64") {
			return map[string]string{LabelArch: "arm64", "kubernetes.io/os": "linux"}, nil
		}
		return nil, nil
	}
	sel := map[string]string{"kubernetes.io/os": "linux"}
	if len(p.Arch) == 1 {
		sel[LabelArch] = p.Arch[0]
	}
	for _, l := range p.Labels {
		sel[l.Key] = l.Value
	}
	var tols []corev1.Toleration
	for _, t := range p.Taints {
		tol := corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffect(t.Effect)}
		if t.Value != "" {
			tol.Operator, tol.Value = corev1.TolerationOpEqual, t.Value
		}
		tols = append(tols, tol)
	}
	return sel, tols
}

// addGPUs puts r's GPUs into requests and limits alike: Kubernetes
// requires an extended resource's request to equal its limit.
func addGPUs(req *corev1.ResourceRequirements, r model.Resources) {
	if r.GPUs == 0 {
		return
	}
	n := *resource.NewQuantity(int64(r.GPUs), resource.DecimalSI)
	req.Requests[ResourceGPU] = n
	req.Limits[ResourceGPU] = n.DeepCopy()
}
