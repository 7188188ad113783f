package diff

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const sopsBase = `apiVersion: v1
kind: Secret
metadata:
  name: api-token
stringData:
  token: ENC[AES256_GCM,data:AAAA,iv:x,tag:y,type:str]
  gone: ENC[AES256_GCM,data:BBBB,iv:x,tag:y,type:str]
  same: ENC[AES256_GCM,data:CCCC,iv:x,tag:y,type:str]
sops:
  mac: ENC[AES256_GCM,data:MMMM,iv:x,tag:y,type:str]
`

const sopsHead = `apiVersion: v1
kind: Secret
metadata:
  name: api-token
stringData:
  token: ENC[AES256_GCM,data:ZZZZ,iv:x,tag:y,type:str]
  same: ENC[AES256_GCM,data:CCCC,iv:x,tag:y,type:str]
data:
  new: ENC[AES256_GCM,data:NNNN,iv:x,tag:y,type:str]
sops:
  mac: ENC[AES256_GCM,data:OOOO,iv:x,tag:y,type:str]
`

func TestSecretKeys(t *testing.T) {
	got, note := secretKeys([]byte(sopsBase), []byte(sopsHead))
	want := []KeyChange{
		{Key: "data.new", Change: Added},
		{Key: "stringData.gone", Change: Removed},
		{Key: "stringData.token", Change: Changed},
	}
	if note != "" || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %q, want %v", got, note, want)
	}
	for _, l := range keyLines(got, note) {
		if strings.Contains(l, "ENC[") {
			t.Errorf("key line shows a ciphertext: %s", l)
		}
	}

	got, _ = secretKeys(nil, []byte(sopsHead))
	if len(got) != 3 || got[0].Change != Added {
		t.Errorf("a new Secret: got %v, want every key added", got)
	}
	if _, note := secretKeys(nil, []byte("{not yaml: [")); note == "" {
		t.Error("unreadable Secret: want a note")
	}
}

func TestFieldChanges(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want []string
	}{
		{"scalar", "spec: {replicas: 1}", "spec: {replicas: 3}",
			[]string{"- spec.replicas: 1", "+ spec.replicas: 3"}},
		{"keys that are not identifiers", `metadata: {labels: {"app.kubernetes.io/version": "1.0"}}`, `metadata: {labels: {"app.kubernetes.io/version": "1.1"}}`,
			[]string{`- metadata.labels["app.kubernetes.io/version"]: "1.0"`, `+ metadata.labels["app.kubernetes.io/version"]: "1.1"`}},
		{"added subtree", "a: 1", "a: 1\nb: {c: [x, w]}",
			[]string{"+ b.c[0]: x", "+ b.c[1]: w"}},
		{"removed list item", "l: [a, b]", "l: [a]",
			[]string{"- l[1]: b"}},
		{"leaf replaced by a map", "a: x", "a: {b: w}",
			[]string{"- a: x", "+ a.b: w"}},
		{"strings that read as other types are quoted", "a: 'true'", "a: '5'",
			[]string{`- a: "true"`, `+ a: "5"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fieldLines(fieldChanges(parseYAML([]byte(tt.a)), parseYAML([]byte(tt.b))))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestChangeRisks(t *testing.T) {
	tests := []struct {
		kind string
		a, b string
		want []Risk
	}{
		{"ResourceQuota",
			`spec: {hard: {requests.cpu: "2", requests.memory: 4Gi, pods: "10"}}`,
			`spec: {hard: {requests.cpu: 1500m, requests.memory: 8Gi, pods: "10"}}`,
			[]Risk{{Kind: RiskQuotaLowered, Object: "ResourceQuota ns/x", Message: "hard requests.cpu lowered", Before: "2", After: "1500m"}}},
		{"Service", `spec: {ports: []}`, `spec: {type: NodePort}`,
			[]Risk{{Kind: RiskServiceType, Object: "Service ns/x", Message: "type changed", Before: "ClusterIP", After: "NodePort"}}},
		{"Service", `spec: {type: ClusterIP}`, `spec: {}`, nil},
		{"StatefulSet",
			`spec: {volumeClaimTemplates: [{spec: {resources: {requests: {storage: 1Gi}}}}]}`,
			`spec: {volumeClaimTemplates: [{spec: {resources: {requests: {storage: 2Gi}}}}]}`,
			[]Risk{{Kind: RiskVolumeClaimTemplates, Object: "StatefulSet ns/x", Message: "volume claim templates changed: Kubernetes refuses to update them; the StatefulSet must be deleted (orphaning its pods) and recreated"}}},
		{"Deployment",
			`spec: {template: {spec: {containers: [{name: app, image: "r/app:1"}, {name: side, image: "r/side:1"}]}}}`,
			`spec: {template: {spec: {initContainers: [{name: init, image: "r/init:1"}], containers: [{name: app, image: "r/app:2"}, {name: side, image: "r/side:1"}]}}}`,
			[]Risk{
				{Kind: RiskImage, Object: "Deployment ns/x", Message: "init container init added", After: "r/init:1"},
				{Kind: RiskImage, Object: "Deployment ns/x", Message: "image of container app changed", Before: "r/app:1", After: "r/app:2"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			o := &Object{Kind: tt.kind, Namespace: "ns", Name: "x"}
			got := changeRisks(o, parseYAML([]byte(tt.a)), parseYAML([]byte(tt.b)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// bigReport has two environments with n changed objects of 40 lines each,
// and a risk and a flow, so that the details are what a limit cuts.
func bigReport(n int) *Report {
	r := &Report{Input: "sys", Base: Base{Ref: "main", Compiles: true}, Changed: true}
	for _, env := range []string{"eks", "local"} {
		e := &Environment{Name: env, Status: Changed,
			Risks: []Risk{{Kind: RiskImage, Object: "Deployment apps/web", Message: "image of container web changed", Before: "web:1", After: "web:2"}},
			Flows: Flows{Allowed: []Flow{{From: "apps/web", To: "data/db", Port: 5432, Protocol: "TCP"}}}}
		for i := range n {
			o := &Object{Change: Changed, APIVersion: "v1", Kind: "ConfigMap", Namespace: "apps", Name: fmt.Sprintf("cm-%03d", i)}
			for j := range 40 {
				o.lines = append(o.lines, fmt.Sprintf("+  KEY_%d: value-%d", j, j))
			}
			e.Objects = append(e.Objects, o)
		}
		e.Objects = append(e.Objects, &Object{Change: Removed, APIVersion: "v1", Kind: "Service", Namespace: "apps", Name: "old"})
		e.Summary = summarize(e.Objects)
		r.Environments = append(r.Environments, e)
	}
	return r
}

func TestMarkdownFitsTheLimit(t *testing.T) {
	r := bigReport(50)
	var whole bytes.Buffer
	if err := WriteMarkdown(&whole, r, 1<<30); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(whole.String(), "[!NOTE]") {
		t.Fatal("nothing should be cut without a limit")
	}
	for _, limit := range []int{4000, 20000, whole.Len() - 100} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, r, limit); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if len(out) >= limit {
			t.Errorf("limit %d: wrote %d bytes", limit, len(out))
		}
		for _, want := range []string{"| **eks** | ConfigMap |  | 50 |  |", "| **local** | ConfigMap |  | 50 |  |",
			"- **eks** `Deployment apps/web`: image of container web changed", "- **local** newly allowed flow: `apps/web -> data/db TCP/5432`",
			"> Details were cut to keep this comment under"} {
			if !strings.Contains(out, want) {
				t.Errorf("limit %d: missing %q", limit, want)
			}
		}
		if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != c {
			t.Errorf("limit %d: %d <details> but %d </details>", limit, o, c)
		}
		if n := strings.Count(out, "```"); n%2 != 0 {
			t.Errorf("limit %d: an unclosed code fence", limit)
		}
	}
}

func TestMarkdownNoteSaysWhatWasCut(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, bigReport(50), 20000); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	i := strings.Index(out, "> [!NOTE]")
	if i < 0 {
		t.Fatal("no note")
	}
	note := out[i:]
	// eks fits partly, local not at all (its removal list included).
	for _, want := range []string{"in eks", "51 of 51 in local", "Details were cut to keep this comment under 20,000 characters"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q: missing %q", note, want)
		}
	}
}

func TestMarkdownFenceOutlastsBackticks(t *testing.T) {
	r := bigReport(1)
	r.Environments[0].Objects[0].lines = []string{"+  script: echo ```not a fence```"}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, CommentLimit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "````diff\n+  script: echo ```not a fence```\n````\n") {
		t.Errorf("the fence must be longer than any backtick run inside:\n%s", b.String())
	}
}

func TestTextColor(t *testing.T) {
	r := bigReport(1)
	var plain, color bytes.Buffer
	if err := WriteText(&plain, r, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&color, r, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without asking")
	}
	for _, want := range []string{ansiBold + "Summary:" + ansiReset, ansiGreen + "+  KEY_0: value-0" + ansiReset, ansiYellow + "eks: newly allowed flow"} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("missing %q", want)
		}
	}
}
