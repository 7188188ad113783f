package policies_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/policies"
)

// The source can only reference secrets, so SEC003 guards the output
// against a plain Secret and a ConfigMap value the source does not show.
// A credential written in config is SEC001's, at its line, and is not
// reported a second time.
func TestOutputPlaintextRule(t *testing.T) {
	s := loadSystem(t, shop)
	r := s.compile(t, "local")
	web := object(t, r, "ConfigMap", "apps", "web")
	r.Output.Objects = append(r.Output.Objects, &render.Object{
		Layer: "apps", APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "leak", Component: "web", Pos: web.Pos,
		Obj: &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "leak"},
			StringData: map[string]string{"password": "hunter2hunter2"},
		},
	})
	data := web.Obj.(*corev1.ConfigMap).Data
	data["UPLOAD_USER"] = "AKIAIOSFODNN7EXAMPLE"
	data["LOG_LEVEL"] = "postgres://app:hunter2hunter2@db/app" // not what config says
	got := s.check(r, policies.Options{})
	sameLines(t, got, []string{
		s.at(t, "web: {", 1) + ": error SEC003: ConfigMap apps/web key LOG_LEVEL: the value looks like a URL with a password",
		s.at(t, "web: {", 1) + ": error SEC003: ConfigMap apps/web key UPLOAD_USER: the value looks like an AWS access key",
		s.at(t, "web: {", 1) + ": error SEC003: Secret apps/leak would be written with plaintext data",
	})
	for _, l := range got {
		for _, v := range []string{"hunter2", "AKIAIOSFODNN7EXAMPLE"} {
			if strings.Contains(l, v) {
				t.Errorf("finding repeats the value %s: %s", v, l)
			}
		}
	}
}
