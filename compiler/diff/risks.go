package diff

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies/reach"
)

// RiskKind names a change that a reviewer should look at before the
// details.
type RiskKind string

// Risk kinds, in the order they are listed.
const (
	RiskEnvironmentRemoved   RiskKind = "environment-removed"
	RiskNamespaceRemoved     RiskKind = "namespace-removed"
	RiskDataRemoved          RiskKind = "data-removed"
	RiskVolumeClaimTemplates RiskKind = "volume-claim-templates-changed"
	RiskServiceType          RiskKind = "service-type-changed"
	RiskLoadBalancer         RiskKind = "load-balancer-added"
	RiskQuotaLowered         RiskKind = "quota-lowered"
	RiskImage                RiskKind = "image-changed"
	RiskFlowsUnknown         RiskKind = "flows-unknown"
	RiskInternetEgress       RiskKind = "internet-egress"
	// RiskHostPort is a Compose service newly published on the host;
	// RiskNetworkJoined one newly on another namespace's network, where
	// it reaches every service on every port; RiskTarget an environment
	// moved between a cluster and Compose.
	RiskHostPort      RiskKind = "host-port-published"
	RiskNetworkJoined RiskKind = "network-joined"
	RiskTarget        RiskKind = "target-changed"
)

var riskOrder = []RiskKind{RiskEnvironmentRemoved, RiskTarget, RiskNamespaceRemoved, RiskDataRemoved, RiskVolumeClaimTemplates,
	RiskServiceType, RiskLoadBalancer, RiskHostPort, RiskQuotaLowered, RiskImage, RiskInternetEgress, RiskNetworkJoined, RiskFlowsUnknown}

// Risk is one flagged change. Network flows are flagged apart, in Flows.
type Risk struct {
	Kind    RiskKind `json:"kind"`
	Object  string   `json:"object,omitempty"`
	Message string   `json:"message"`
	Before  string   `json:"before,omitempty"`
	After   string   `json:"after,omitempty"`
}

func sortRisks(rs []Risk) {
	slices.SortStableFunc(rs, func(a, b Risk) int {
		return cmp.Or(cmp.Compare(slices.Index(riskOrder, a.Kind), slices.Index(riskOrder, b.Kind)),
			cmp.Compare(a.Object, b.Object), cmp.Compare(a.Message, b.Message))
	})
}

// removalRisks flags the removal of objects that hold data, or of a
// namespace, which takes everything in it along.
func removalRisks(o *Object) []Risk {
	switch o.Kind {
	case "Namespace":
		return []Risk{{Kind: RiskNamespaceRemoved, Object: o.Title(), Message: "removed: deleting a namespace deletes everything in it"}}
	case "StatefulSet":
		return []Risk{{Kind: RiskDataRemoved, Object: o.Title(), Message: "removed: its pods keep their data in volume claims"}}
	case "PersistentVolumeClaim":
		return []Risk{{Kind: RiskDataRemoved, Object: o.Title(), Message: "removed: it holds data"}}
	case composefile.KindVolume:
		return []Risk{{Kind: RiskDataRemoved, Object: o.Title(), Message: "removed from the compose file: the named volume holds data, which docker compose down --volumes or a prune deletes"}}
	}
	return nil
}

// additionRisks flags an object that, added to an environment that was
// already there, opens it to the outside: a LoadBalancer Service.
func additionRisks(o *Object, r *render.Object) []Risk {
	if svc, ok := r.Obj.(*corev1.Service); ok && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		return []Risk{{Kind: RiskLoadBalancer, Object: o.Title(), Message: "added: a LoadBalancer Service exposes the component outside the cluster"}}
	}
	if svc, ok := r.Obj.(*composefile.Service); ok {
		var rs []Risk
		for _, p := range svc.Ports {
			rs = append(rs, Risk{Kind: RiskHostPort, Object: o.Title(), Message: fmt.Sprintf("added: publishes the host's port %s/%s", p.Published, p.Protocol)})
		}
		for _, n := range slices.Sorted(maps.Keys(svc.Networks)) {
			if _, outside := composefile.NetworkNamespace(n); outside {
				rs = append(rs, Risk{Kind: RiskInternetEgress, Object: o.Title(), Message: "added on " + n + ", the way out of the host: it reaches any host outside"})
			}
		}
		return rs
	}
	return nil
}

// composeRisks flags a Compose service's change that opens the host: a
// port published, the network out of the host joined, a new image.
func composeRisks(o *Object, base, head any, add func(kind RiskKind, msg, before, after string)) {
	ports := func(v any) map[string]bool {
		out := map[string]bool{}
		l, _ := lookup(v, "ports").([]any)
		for _, p := range l {
			out[fmt.Sprintf("%v/%v", lookup(p, "published"), lookup(p, "protocol"))] = true
		}
		return out
	}
	bp := ports(base)
	for _, p := range slices.Sorted(maps.Keys(ports(head))) {
		if !bp[p] {
			add(RiskHostPort, "publishes the host's port "+p, "", "")
		}
	}
	bn, _ := lookup(base, "networks").(map[string]any)
	hn, _ := lookup(head, "networks").(map[string]any)
	for _, n := range sortedKeys(hn) {
		if _, ok := bn[n]; !ok {
			switch ns, outside := composefile.NetworkNamespace(n); {
			case outside:
				add(RiskInternetEgress, "joins "+n+", the way out of the host: it reaches any host outside", "", "")
			case ns != o.Namespace:
				add(RiskNetworkJoined, "joins network "+n+": it reaches every service of namespace "+ns+" on every port, and they reach it", "", "")
			}
		}
	}
	if b, h := lookup(base, "image"), lookup(head, "image"); b != h {
		add(RiskImage, "image changed", fmt.Sprint(b), fmt.Sprint(h))
	}
}

// changeRisks flags changes Kubernetes refuses or that alter what runs:
// volume claim templates, Service types, lowered quotas, images.
func changeRisks(o *Object, base, head any) []Risk {
	var rs []Risk
	add := func(kind RiskKind, msg, before, after string) {
		rs = append(rs, Risk{Kind: kind, Object: o.Title(), Message: msg, Before: before, After: after})
	}
	switch o.Kind {
	case composefile.KindService:
		composeRisks(o, base, head, add)
	case "StatefulSet":
		if !reflect.DeepEqual(lookup(base, "spec", "volumeClaimTemplates"), lookup(head, "spec", "volumeClaimTemplates")) {
			add(RiskVolumeClaimTemplates, "volume claim templates changed: Kubernetes refuses to update them; the StatefulSet must be deleted (orphaning its pods) and recreated", "", "")
		}
	case "Service":
		bt, ht := serviceType(base), serviceType(head)
		if bt != ht {
			add(RiskServiceType, "type changed", bt, ht)
		}
	case "ResourceQuota":
		bh, _ := lookup(base, "spec", "hard").(map[string]any)
		hh, _ := lookup(head, "spec", "hard").(map[string]any)
		for _, k := range sortedKeys(hh) {
			bs, ok1 := bh[k].(string)
			hs, ok2 := hh[k].(string)
			if !ok1 || !ok2 {
				continue
			}
			bq, err1 := resource.ParseQuantity(bs)
			hq, err2 := resource.ParseQuantity(hs)
			if err1 == nil && err2 == nil && hq.Cmp(bq) < 0 {
				add(RiskQuotaLowered, "hard "+k+" lowered", bs, hs)
			}
		}
	}
	for _, list := range []string{"initContainers", "containers"} {
		bi := containerImages(lookup(base, "spec", "template", "spec", list))
		hi := containerImages(lookup(head, "spec", "template", "spec", list))
		what := "container "
		if list == "initContainers" {
			what = "init container "
		}
		for _, name := range sortedKeys(hi) {
			switch b, ok := bi[name]; {
			case !ok:
				add(RiskImage, what+name+" added", "", hi[name].(string))
			case b != hi[name]:
				add(RiskImage, "image of "+what+name+" changed", b.(string), hi[name].(string))
			}
		}
	}
	return rs
}

func serviceType(v any) string {
	if t, _ := lookup(v, "spec", "type").(string); t != "" {
		return t
	}
	return "ClusterIP"
}

// containerImages maps container names to images.
func containerImages(v any) map[string]any {
	m := map[string]any{}
	l, _ := v.([]any)
	for _, c := range l {
		c, _ := c.(map[string]any)
		name, _ := c["name"].(string)
		if img, ok := c["image"].(string); ok {
			m[name] = img
		}
	}
	return m
}

func lookup(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// internetRisks flags egress the change opens to the public internet: an
// ipBlock of all IPv4 or IPv6 addresses, whatever it excepts. A flow to a
// new external without ranges of its own does that, and a reviewer should
// know a workload may now send data anywhere.
func internetRisks(opened []reach.ExternalAccess) []Risk {
	var out []Risk
	for _, x := range opened {
		if x.Direction != networkingv1.PolicyTypeEgress || x.Kind != reach.IPBlock || x.CIDR != "0.0.0.0/0" && x.CIDR != "::/0" {
			continue
		}
		out = append(out, Risk{Kind: RiskInternetEgress, Object: "NetworkPolicy " + x.Rule.Policy.Namespace + "/" + x.Rule.Policy.Name,
			Message: "newly allows egress to the internet: " + describeAccess(x)})
	}
	return out
}
