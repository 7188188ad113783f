package load

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// checkProbeHeaders reports header names the API server would refuse.
// Kubernetes is stricter than HTTP's token rule (RFC 7230 allows "!#$%&'*+.^_`|~"
// as well): it accepts letters, digits and '-' only, so "X_Probe" passes
// an HTTP library and fails the apply. Names are case-insensitive, so two
// that differ only in case are one header given twice.
func checkProbeHeaders(p *model.Probe, path string, errs *diag.List) {
	seen := map[string]string{}
	for _, h := range p.Headers {
		if len(validation.IsHTTPHeaderName(h.Name)) > 0 {
			errs.Add(h.Pos, "%s.http.headers: %q is not a header name Kubernetes accepts (letters, digits and '-' only)", path, h.Name)
			continue
		}
		key := strings.ToLower(h.Name)
		if first, ok := seen[key]; ok {
			errs.Add(h.Pos, "%s.http.headers: %q is header %q again (header names ignore case)", path, h.Name, first)
			continue
		}
		seen[key] = h.Name
	}
}
