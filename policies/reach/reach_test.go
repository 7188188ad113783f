package reach

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// The world every row runs in, unless it brings its own namespaces: three
// namespaces, six workloads. Two workloads call different numbers "http", and
// ops/prometheus calls 9090 "metrics" while shop/api calls 9100 that, so a
// named port resolved against the wrong pod shows.
var (
	worldNamespaces = []Namespace{
		{Name: "shop", Labels: map[string]string{"team": "shop"}},
		{Name: "data", Labels: map[string]string{"team": "data"}},
		{Name: "ops", Labels: map[string]string{"team": "ops"}},
	}
	world = []Workload{
		{Namespace: "shop", Name: "web", PodLabels: map[string]string{"app": "web", "tier": "front"},
			Ports: []Port{{Name: "http", Number: 8080}}},
		{Namespace: "shop", Name: "api", PodLabels: map[string]string{"app": "api", "tier": "back"},
			Ports: []Port{{Name: "http", Number: 9090}, {Name: "metrics", Number: 9100}}},
		{Namespace: "data", Name: "mysql", PodLabels: map[string]string{"app": "mysql"},
			Ports: []Port{{Name: "mysql", Number: 3306}}},
		{Namespace: "data", Name: "redis", PodLabels: map[string]string{"app": "redis"},
			Ports: []Port{{Name: "redis", Number: 6379}}},
		{Namespace: "ops", Name: "dns", PodLabels: map[string]string{"app": "dns"},
			Ports: []Port{{Name: "dns", Number: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Number: 53}}},
		{Namespace: "ops", Name: "prometheus", PodLabels: map[string]string{"app": "prometheus"},
			Ports: []Port{{Name: "metrics", Number: 9090}}},
	}
)

// none is an expected empty list, as opposed to nil: not checked.
var none = []string{}

func allOf(proto corev1.Protocol) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &proto}
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name       string
		namespaces []Namespace // worldNamespaces when nil
		policies   []networkingv1.NetworkPolicy

		// only lists every flow, in Result.Flows form, leaving out those
		// not from workload or namespace from and into into, when set.
		from, into string
		only       []string
		flowCount  int // when not 0
		allow      []string
		block      []string
		// explain maps a connection to its Verdict.String.
		explain map[string]string
		// external maps a workload to its ExternalOf, as strings.
		external map[string][]string
		// deny maps a namespace to DefaultDeny's ingress and egress.
		deny map[string][2]bool
	}{{
		name:      "without policies every workload reaches every declared port, its own included",
		flowCount: 6 * 8,
		allow:     []string{"shop/web -> data/mysql TCP/3306", "data/mysql -> data/mysql TCP/3306", "ops/dns -> shop/api TCP/9100"},
		block:     []string{"shop/web -> data/mysql TCP/3307", "shop/web -> ops/dns SCTP/53"},
		explain: map[string]string{
			"shop/web -> data/mysql TCP/3306": "shop/web -> data/mysql TCP/3306 (mysql) allowed: egress not isolated; ingress not isolated",
			"shop/web -> data/mysql TCP/3307": "shop/web -> data/mysql TCP/3307 is not a flow: data/mysql declares no port TCP/3307",
		},
		external: map[string][]string{"shop/web": {
			"shop/web egress to anything on any port (not isolated)",
			"shop/web ingress from anything on any port (not isolated)",
		}},
		deny: map[string][2]bool{"shop": {false, false}},
	}, {
		name:     "default deny both ways allows nothing",
		policies: denyAll("shop", "data", "ops"),
		only:     none,
		explain: map[string]string{
			"shop/web -> data/mysql TCP/3306": "shop/web -> data/mysql TCP/3306 (mysql) blocked: " +
				"egress from shop/web is isolated by shop/default-deny and no rule allows data/mysql on TCP/3306; " +
				"ingress to data/mysql is isolated by data/default-deny and no rule allows shop/web on TCP/3306",
		},
		external: map[string][]string{"shop/web": none, "ops/dns": none},
		deny:     map[string][2]bool{"shop": {true, true}, "data": {true, true}, "ops": {true, true}},
	}, {
		name: "a pod label allows a flow within a namespace when both ends agree",
		policies: policies(denyAll("shop", "data", "ops"),
			netpol("shop", "api-in", selecting(sel("app", "api")), allowIn(on(tcp(9090)), pods(sel("app", "web")))),
			netpol("shop", "web-out", selecting(sel("app", "web")), types(egress), allowOut(on(tcp(9090)), pods(sel("app", "api"))))),
		only: []string{"shop/web -> shop/api TCP/9090 (http)"},
		explain: map[string]string{
			"shop/web -> shop/api TCP/9090": "shop/web -> shop/api TCP/9090 (http) allowed: " +
				"egress by shop/web-out spec.egress[0].to[0]; ingress by shop/api-in spec.ingress[0].from[0]",
			"shop/web -> shop/api TCP/9100": "shop/web -> shop/api TCP/9100 (metrics) blocked: " +
				"egress from shop/web is isolated by shop/default-deny, shop/web-out and no rule allows shop/api on TCP/9100; " +
				"ingress to shop/api is isolated by shop/api-in, shop/default-deny and no rule allows shop/web on TCP/9100",
		},
		deny: map[string][2]bool{"shop": {true, true}},
	}, {
		name: "ingress allowed but the client's egress blocked is no flow",
		policies: policies(denyAll("shop"),
			netpol("shop", "api-in", selecting(sel("app", "api")), allowIn(on(tcp(9090)), pods(sel("app", "web"))))),
		from: "shop",
		only: none,
		explain: map[string]string{
			"shop/web -> shop/api TCP/9090": "shop/web -> shop/api TCP/9090 (http) blocked: " +
				"egress from shop/web is isolated by shop/default-deny and no rule allows shop/api on TCP/9090",
		},
	}, {
		name: "namespaceSelector and podSelector in one peer match pods that satisfy both",
		policies: policies(denyAll("data"), openEgress("data"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")),
				allowIn(anyPort, podsInNamespaces(sel("team", "shop"), sel("app", "web"))))),
		into: "data/mysql",
		only: []string{"shop/web -> data/mysql TCP/3306 (mysql)"},
	}, {
		name: "namespaceSelector and podSelector as two peers match pods that satisfy either",
		policies: policies(denyAll("data"), openEgress("data"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")),
				allowIn(anyPort, namespaces(sel("team", "shop")), pods(sel("app", "redis"))))),
		into: "data/mysql",
		only: []string{
			"data/redis -> data/mysql TCP/3306 (mysql)",
			"shop/api -> data/mysql TCP/3306 (mysql)",
			"shop/web -> data/mysql TCP/3306 (mysql)",
		},
		explain: map[string]string{
			"data/redis -> data/mysql TCP/3306": "data/redis -> data/mysql TCP/3306 (mysql) allowed: " +
				"egress by data/egress-open spec.egress[0]; ingress by data/mysql-in spec.ingress[0].from[1]",
		},
	}, {
		name: "a namespaceSelector on kubernetes.io/metadata.name matches the name, whatever the labels claim",
		namespaces: []Namespace{
			{Name: "shop"},
			{Name: "data"},
			{Name: "ops", Labels: map[string]string{NamespaceNameLabel: "shop"}},
		},
		policies: policies(denyAll("data"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")),
				allowIn(anyPort, namespaces(sel(NamespaceNameLabel, "shop"))))),
		into: "data/mysql",
		only: []string{
			"shop/api -> data/mysql TCP/3306 (mysql)",
			"shop/web -> data/mysql TCP/3306 (mysql)",
		},
	}, {
		name: "a named port resolves against each destination's own ports",
		policies: policies(denyAll("shop"),
			netpol("shop", "http-in", selecting(sel()), allowIn(on(named("http")), namespaces(sel("team", "ops"))))),
		into: "shop",
		only: []string{
			"ops/dns -> shop/api TCP/9090 (http)",
			"ops/dns -> shop/web TCP/8080 (http)",
			"ops/prometheus -> shop/api TCP/9090 (http)",
			"ops/prometheus -> shop/web TCP/8080 (http)",
		},
	}, {
		name: "a named port in an egress rule resolves against the destination, not the source",
		policies: policies(denyAll("ops"),
			netpol("ops", "prometheus-out", selecting(sel("app", "prometheus")), types(egress),
				allowOut(on(named("metrics")), namespaces(sel())))),
		from: "ops/prometheus",
		only: []string{"ops/prometheus -> shop/api TCP/9100 (metrics)"},
		explain: map[string]string{
			"ops/prometheus -> ops/prometheus TCP/9090": "ops/prometheus -> ops/prometheus TCP/9090 (metrics) blocked: " +
				"ingress to ops/prometheus is isolated by ops/default-deny and no rule allows ops/prometheus on TCP/9090",
		},
		external: map[string][]string{"ops/prometheus": {
			"ops/prometheus egress to all pods in every other namespace on TCP/metrics (ops/prometheus-out spec.egress[0].to[0])",
		}},
	}, {
		name: "endPort admits the whole range and nothing outside it",
		policies: policies(denyAll("data"),
			netpol("data", "backend-in", selecting(sel()), allowIn(on(tcpRange(3000, 4000)), namespaces(sel("team", "shop"))))),
		into: "data",
		only: []string{
			"shop/api -> data/mysql TCP/3306 (mysql)",
			"shop/web -> data/mysql TCP/3306 (mysql)",
		},
	}, {
		name: "a UDP rule does not admit TCP on the same port",
		policies: policies(denyAll("ops"),
			netpol("ops", "dns-in", selecting(sel("app", "dns")), allowIn(on(udp(53)), namespaces(sel())))),
		into: "ops",
		only: []string{
			"data/mysql -> ops/dns UDP/53 (dns)",
			"data/redis -> ops/dns UDP/53 (dns)",
			"shop/api -> ops/dns UDP/53 (dns)",
			"shop/web -> ops/dns UDP/53 (dns)",
		},
		explain: map[string]string{
			"shop/web -> ops/dns TCP/53": "shop/web -> ops/dns TCP/53 (dns-tcp) blocked: " +
				"ingress to ops/dns is isolated by ops/default-deny, ops/dns-in and no rule allows shop/web on TCP/53",
		},
	}, {
		name: "a port entry with only a protocol admits every port of that protocol",
		policies: policies(denyAll("ops"),
			netpol("ops", "dns-in", selecting(sel("app", "dns")), allowIn(on(allOf(corev1.ProtocolUDP)), namespaces(sel())))),
		into: "ops",
		only: []string{
			"data/mysql -> ops/dns UDP/53 (dns)",
			"data/redis -> ops/dns UDP/53 (dns)",
			"shop/api -> ops/dns UDP/53 (dns)",
			"shop/web -> ops/dns UDP/53 (dns)",
		},
		block: []string{"shop/web -> ops/dns TCP/53"},
	}, {
		name: "an empty podSelector selects every pod of its namespace and a lone podSelector peer only pods there",
		policies: policies(
			netpol("data", "all-in", selecting(sel()), types(ingress), allowIn(anyPort, pods(sel("app", "redis"))))),
		into: "data",
		only: []string{
			"data/redis -> data/mysql TCP/3306 (mysql)",
			"data/redis -> data/redis TCP/6379 (redis)",
		},
		allow: []string{"shop/web -> ops/prometheus TCP/9090"},
		deny:  map[string][2]bool{"data": {true, false}, "ops": {false, false}},
	}, {
		name: "policyTypes omitted and no egress rules isolates ingress only",
		policies: policies(
			netpol("data", "mysql-in", selecting(sel("app", "mysql")), allowIn(anyPort, namespaces(sel("team", "shop"))))),
		allow: []string{"shop/web -> data/mysql TCP/3306", "data/mysql -> ops/prometheus TCP/9090"},
		block: []string{"ops/dns -> data/mysql TCP/3306"},
		deny:  map[string][2]bool{"data": {false, false}},
	}, {
		name: "policyTypes omitted with egress rules isolates both directions",
		policies: policies(
			netpol("data", "mysql", selecting(sel("app", "mysql")),
				allowIn(anyPort, namespaces(sel("team", "shop"))),
				allowOut(on(udp(53)), podsInNamespaces(sel(NamespaceNameLabel, "ops"), sel("app", "dns"))))),
		allow: []string{"shop/web -> data/mysql TCP/3306", "data/mysql -> ops/dns UDP/53"},
		block: []string{"ops/dns -> data/mysql TCP/3306", "data/mysql -> ops/dns TCP/53", "data/mysql -> shop/web TCP/8080"},
	}, {
		name: "policyTypes Egress alone ignores the ingress rules it carries",
		policies: policies(
			netpol("data", "mysql-out", selecting(sel("app", "mysql")), types(egress),
				allowIn(anyPort, pods(sel("app", "redis"))))),
		allow: []string{"ops/dns -> data/mysql TCP/3306"},
		block: []string{"data/mysql -> data/redis TCP/6379"},
	}, {
		name: "an empty namespaceSelector lets every namespace in, and outside ones too",
		policies: policies(denyAll("shop", "data", "ops"), openEgress("shop", "data", "ops"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")), allowIn(anyPort, namespaces(sel())))),
		into: "data",
		only: []string{
			"data/mysql -> data/mysql TCP/3306 (mysql)",
			"data/redis -> data/mysql TCP/3306 (mysql)",
			"ops/dns -> data/mysql TCP/3306 (mysql)",
			"ops/prometheus -> data/mysql TCP/3306 (mysql)",
			"shop/api -> data/mysql TCP/3306 (mysql)",
			"shop/web -> data/mysql TCP/3306 (mysql)",
		},
		external: map[string][]string{"data/mysql": {
			"data/mysql egress to anything on any port (data/egress-open spec.egress[0])",
			"data/mysql ingress from all pods in every other namespace on any port (data/mysql-in spec.ingress[0].from[0])",
		}},
		// The broad rule is label-targeted: the namespace still denies by
		// default, but not its egress, which egress-open lets out.
		deny: map[string][2]bool{"data": {true, false}},
	}, {
		name: "a broad rule in a policy selecting every pod undoes the namespace's default deny",
		policies: policies(denyAll("data"),
			netpol("data", "all-in", selecting(sel()), allowIn(anyPort, namespaces(sel())))),
		deny: map[string][2]bool{"data": {false, true}},
	}, {
		name: "matchExpressions NotIn and DoesNotExist match pods lacking the label",
		policies: policies(denyAll("data"), openEgress("data"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")),
				allowIn(anyPort, podsInNamespaces(sel("team NotIn ops"), sel("tier DoesNotExist"))))),
		into: "data/mysql",
		only: []string{
			"data/mysql -> data/mysql TCP/3306 (mysql)",
			"data/redis -> data/mysql TCP/3306 (mysql)",
		},
		external: map[string][]string{"data/mysql": {
			"data/mysql egress to anything on any port (data/egress-open spec.egress[0])",
			"data/mysql ingress from pods !tier in other namespaces matching team notin (ops) on any port (data/mysql-in spec.ingress[0].from[0])",
		}},
	}, {
		name: "matchExpressions In and Exists",
		policies: policies(denyAll("data"),
			netpol("data", "mysql-in", selecting(sel("app", "mysql")),
				allowIn(anyPort, podsInNamespaces(sel("team In shop,ops"), sel("tier Exists"))))),
		into: "data/mysql",
		only: []string{
			"shop/api -> data/mysql TCP/3306 (mysql)",
			"shop/web -> data/mysql TCP/3306 (mysql)",
		},
	}, {
		name: "an ipBlock matches no workload and is reported as external egress",
		policies: policies(denyAll("shop"),
			netpol("shop", "web-out", selecting(sel("app", "web")), types(egress),
				allowOut(on(tcp(443)), cidr("10.0.0.0/8", "10.1.0.0/16")))),
		from: "shop/web",
		only: none,
		external: map[string][]string{"shop/web": {
			"shop/web egress to 10.0.0.0/8 except 10.1.0.0/16 on TCP/443 (shop/web-out spec.egress[0].to[0])",
		}},
	}, {
		name: "DNS to kube-system by namespace name is external egress",
		policies: policies(denyAll("shop"),
			netpol("shop", "allow-dns", selecting(sel()), types(egress),
				allowOut(on(udp(53), tcp(53)), podsInNamespaces(sel(NamespaceNameLabel, "kube-system"), sel("k8s-app", "kube-dns"))))),
		from: "shop",
		only: none,
		external: map[string][]string{"shop/api": {
			"shop/api egress to pods k8s-app=kube-dns in namespace kube-system on UDP/53, TCP/53 (shop/allow-dns spec.egress[0].to[0])",
		}},
		deny: map[string][2]bool{"shop": {true, true}},
	}, {
		name: "DNS to any destination keeps the default deny: only a rule open on every port undoes it",
		policies: policies(denyAll("shop"),
			netpol("shop", "allow-dns", selecting(sel()), types(egress), allowOut(on(udp(53))))),
		from:     "shop",
		only:     []string{"shop/api -> ops/dns UDP/53 (dns)", "shop/web -> ops/dns UDP/53 (dns)"},
		external: map[string][]string{"shop/web": {"shop/web egress to anything on UDP/53 (shop/allow-dns spec.egress[0])"}},
		deny:     map[string][2]bool{"shop": {true, true}},
	}, {
		name: "a namespaceSelector that can only match given namespaces is not external",
		policies: policies(denyAll("shop"),
			netpol("shop", "web-out", selecting(sel("app", "web")), types(egress),
				allowOut(on(tcp(3306)), namespaces(sel(NamespaceNameLabel+" In data,ops"))),
				allowOut(on(tcp(6379)), namespaces(sel("team", "data", NamespaceNameLabel+" DoesNotExist"))))),
		from:     "shop/web",
		only:     []string{"shop/web -> data/mysql TCP/3306 (mysql)"},
		external: map[string][]string{"shop/web": none},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nss := tt.namespaces
			if nss == nil {
				nss = worldNamespaces
			}
			r, err := Analyze(nss, world, tt.policies)
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, r, nss, world, tt.policies)

			if tt.only != nil {
				var got []string
				for _, f := range r.Flows {
					if touches(f.From, tt.from) && touches(f.To, tt.into) {
						got = append(got, f.String())
					}
				}
				if !slices.Equal(got, tt.only) {
					t.Errorf("flows:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.only, "\n\t"))
				}
			}
			if tt.flowCount != 0 && len(r.Flows) != tt.flowCount {
				t.Errorf("%d flows, want %d", len(r.Flows), tt.flowCount)
			}
			for _, s := range tt.allow {
				if f := parseFlow(t, s); !r.Allowed(f.From, f.To, f.Port, f.Protocol) {
					t.Errorf("%s blocked, want allowed", s)
				}
			}
			for _, s := range tt.block {
				if f := parseFlow(t, s); r.Allowed(f.From, f.To, f.Port, f.Protocol) {
					t.Errorf("%s allowed, want blocked", s)
				}
			}
			for s, want := range tt.explain {
				f := parseFlow(t, s)
				v, ok := r.Explain(f.From, f.To, f.Port, f.Protocol)
				if !ok {
					t.Fatalf("Explain(%s): unknown workload", s)
				}
				if got := v.String(); got != want {
					t.Errorf("Explain(%s):\n got %s\nwant %s", s, got, want)
				}
			}
			for w, want := range tt.external {
				ns, name, _ := strings.Cut(w, "/")
				got := externalStrings(r.ExternalOf(WorkloadRef{Namespace: ns, Name: name}))
				if !slices.Equal(got, want) {
					t.Errorf("ExternalOf(%s):\n\t%s\nwant:\n\t%s", w, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
				}
			}
			for ns, want := range tt.deny {
				if in, out := r.DefaultDeny(ns); in != want[0] || out != want[1] {
					t.Errorf("DefaultDeny(%s) = %v, %v; want %v, %v", ns, in, out, want[0], want[1])
				}
			}
		})
	}
}

// touches reports whether ref is, or is in, filter ("ns" or "ns/name"); an
// empty filter matches all.
func touches(ref WorkloadRef, filter string) bool {
	if filter == "" {
		return true
	}
	if strings.Contains(filter, "/") {
		return ref.String() == filter
	}
	return ref.Namespace == filter
}

// checkConsistent holds for any input: the flows are sorted and unique,
// match an independent evaluation of the policies (the oracle), and agree
// with Allowed and Explain for every connection between the workloads; the
// external access matches its own oracle, and ExternalOf splits it by
// workload.
func checkConsistent(t *testing.T, r *Result, nss []Namespace, ws []Workload, ps []networkingv1.NetworkPolicy) {
	t.Helper()
	for i := 1; i < len(r.Flows); i++ {
		if CompareFlows(r.Flows[i-1], r.Flows[i]) >= 0 {
			t.Fatalf("flows out of order: %s before %s", r.Flows[i-1], r.Flows[i])
		}
	}
	want := oracleFlows(t, nss, ws, ps)
	if got := flowStrings(r.Flows); !slices.Equal(got, want) {
		opened, closed := DiffFlows(parseFlows(t, want), r.Flows)
		t.Fatalf("flows differ from the oracle:\nextra:\n\t%s\nmissing:\n\t%s",
			strings.Join(flowStrings(opened), "\n\t"), strings.Join(flowStrings(closed), "\n\t"))
	}
	checkExternal(t, r, nss, ws, ps)
	in := map[Flow]bool{}
	for _, f := range r.Flows {
		f.PortName = ""
		in[f] = true
	}
	for _, from := range ws {
		for _, to := range ws {
			for _, p := range to.Ports {
				f := Flow{
					From:     WorkloadRef{Namespace: from.Namespace, Name: from.Name},
					To:       WorkloadRef{Namespace: to.Namespace, Name: to.Name},
					Port:     p.Number,
					Protocol: protocolOrTCP(p.Protocol),
				}
				allowed := r.Allowed(f.From, f.To, f.Port, f.Protocol)
				v, ok := r.Explain(f.From, f.To, f.Port, f.Protocol)
				if !ok || allowed != in[f] || v.Allowed() != allowed {
					t.Fatalf("%s: in Flows %v, Allowed %v, Explain %v (%s)", f, in[f], allowed, v.Allowed(), v)
				}
			}
		}
	}
}

// checkExternal compares r.External with oracleExternal, entry by entry
// and in order, and checks that ExternalOf, taken over the workloads in
// order, gives r.External back.
func checkExternal(t *testing.T, r *Result, nss []Namespace, ws []Workload, ps []networkingv1.NetworkPolicy) {
	t.Helper()
	want := oracleExternal(t, nss, ws, ps)
	if i := firstDifference(r.External, want); i >= 0 {
		t.Fatalf("external access differs from the oracle at entry %d:\n%s\ngot:\n\t%s\nwant:\n\t%s", i,
			describeDifference(r.External, want, i),
			strings.Join(externalStrings(r.External), "\n\t"), strings.Join(externalStrings(want), "\n\t"))
	}
	var split []ExternalAccess
	for _, w := range refs(ws) {
		split = append(split, r.ExternalOf(w)...)
	}
	if i := firstDifference(split, r.External); i >= 0 {
		t.Fatalf("ExternalOf over the workloads differs from External at entry %d:\n%s", i, describeDifference(split, r.External, i))
	}
}

// firstDifference returns the index of the first entry where got and want
// differ, or -1.
func firstDifference(got, want []ExternalAccess) int {
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || !sameExternal(got[i], want[i]) {
			return i
		}
	}
	return -1
}

// describeDifference shows entry i of got and want, field by field when
// their String forms are the same.
func describeDifference(got, want []ExternalAccess, i int) string {
	show := func(es []ExternalAccess) string {
		if i >= len(es) {
			return "(none)"
		}
		return es[i].String()
	}
	g, w := show(got), show(want)
	if g == w {
		g, w = fmt.Sprintf("%#v", got[i]), fmt.Sprintf("%#v", want[i])
	}
	return fmt.Sprintf("\tgot  %s\n\twant %s", g, w)
}

func parseFlows(t testing.TB, ss []string) []Flow {
	var fs []Flow
	for _, s := range ss {
		f := parseFlow(t, s)
		if i := strings.Index(s, " ("); i >= 0 {
			f.PortName = strings.TrimSuffix(s[i+2:], ")")
		}
		fs = append(fs, f)
	}
	return fs
}

func TestExplainUnknownWorkload(t *testing.T) {
	r, err := Analyze(worldNamespaces, world, nil)
	if err != nil {
		t.Fatal(err)
	}
	web := WorkloadRef{Namespace: "shop", Name: "web"}
	ghost := WorkloadRef{Namespace: "shop", Name: "ghost"}
	if _, ok := r.Explain(web, ghost, 80, ""); ok {
		t.Error("Explain to an unknown workload reported ok")
	}
	if r.Allowed(ghost, web, 8080, "") {
		t.Error("Allowed from an unknown workload")
	}
	if got := r.ExternalOf(ghost); len(got) != 0 {
		t.Errorf("ExternalOf(unknown) = %v", got)
	}
}

func TestDiffFlows(t *testing.T) {
	before, err := Analyze(worldNamespaces, world, policies(denyAll("data"),
		netpol("data", "mysql-in", selecting(sel("app", "mysql")), allowIn(anyPort, pods(sel("app", "web")), namespaces(sel("team", "ops")))),
	))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Analyze(worldNamespaces, world, policies(denyAll("data"),
		netpol("data", "mysql-in", selecting(sel("app", "mysql")), allowIn(anyPort, namespaces(sel("team", "shop")))),
	))
	if err != nil {
		t.Fatal(err)
	}
	opened, closed := DiffFlows(before.Flows, after.Flows)
	wantOpened := []string{"shop/api -> data/mysql TCP/3306 (mysql)", "shop/web -> data/mysql TCP/3306 (mysql)"}
	wantClosed := []string{"ops/dns -> data/mysql TCP/3306 (mysql)", "ops/prometheus -> data/mysql TCP/3306 (mysql)"}
	if got := flowStrings(opened); !slices.Equal(got, wantOpened) {
		t.Errorf("opened = %q, want %q", got, wantOpened)
	}
	if got := flowStrings(closed); !slices.Equal(got, wantClosed) {
		t.Errorf("closed = %q, want %q", got, wantClosed)
	}
}
