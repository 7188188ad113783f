package policies

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// checkProbesDiffer reports containers whose readiness and liveness
// probes are the same check. Two probes are the same check as kube-score
// ("Pod Probes Identical") judges them: the same kind and, for HTTP the
// same path and port, for TCP the same port, for exec the same command;
// timing and headers do not make a different check. Unlike kube-score,
// ports are compared by number (a port name and its number are one
// port, two names are not), and two gRPC checks of one port and service
// are the same too.
func checkProbesDiffer(ctx *Context) []Finding {
	var fs []Finding
	for _, w := range workloads(ctx) {
		// Native sidecars (init containers that restart) are probed like
		// the main container.
		probed := slices.Clone(w.Template.Spec.Containers)
		for _, c := range w.Template.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				probed = append(probed, c)
			}
		}
		for i, c := range probed {
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				continue
			}
			check, same := sameProbe(&c, c.ReadinessProbe, c.LivenessProbe)
			if !same {
				continue
			}
			// The liveness probe is the one to change: where the source
			// declares it, for the main container or a sidecar.
			pos := w.pos()
			if w.Component != nil {
				if l := livenessOf(w.Component, i, c.Name); l != nil {
					pos = l.Pos
				}
			}
			advice := "give liveness a lighter check than readiness, or leave it out for gitopsc to derive one"
			if c.ReadinessProbe.TCPSocket != nil {
				advice = "let readiness check more than a connection (http, grpc or exec), or leave liveness out"
			}
			fs = append(fs, Finding{Pos: pos, Target: w.target(), Object: w.object(),
				Message: fmt.Sprintf("container %s has the same readiness and liveness probe (%s): a failure that should take the pod out of rotation restarts it; %s", c.Name, check, advice)})
		}
	}
	return fs
}

// sameProbe reports whether two probes of container c are one check,
// and that check in words.
func sameProbe(c *corev1.Container, a, b *corev1.Probe) (string, bool) {
	port := func(p intstr.IntOrString) string {
		if p.Type == intstr.String {
			for _, cp := range c.Ports {
				if cp.Name == p.StrVal {
					return fmt.Sprint(cp.ContainerPort)
				}
			}
			return p.StrVal
		}
		return p.String()
	}
	switch {
	case a.HTTPGet != nil && b.HTTPGet != nil:
		if a.HTTPGet.Path == b.HTTPGet.Path && port(a.HTTPGet.Port) == port(b.HTTPGet.Port) {
			return fmt.Sprintf("HTTP GET %s on port %s", a.HTTPGet.Path, a.HTTPGet.Port.String()), true
		}
	case a.TCPSocket != nil && b.TCPSocket != nil:
		if port(a.TCPSocket.Port) == port(b.TCPSocket.Port) {
			return "TCP connect to port " + a.TCPSocket.Port.String(), true
		}
	case a.GRPC != nil && b.GRPC != nil:
		if a.GRPC.Port == b.GRPC.Port && deref(a.GRPC.Service) == deref(b.GRPC.Service) {
			what := fmt.Sprintf("gRPC health check on port %d", a.GRPC.Port)
			if s := deref(a.GRPC.Service); s != "" {
				what += " for " + s
			}
			return what, true
		}
	case a.Exec != nil && b.Exec != nil:
		if slices.Equal(a.Exec.Command, b.Exec.Command) {
			return "the command " + strings.Join(a.Exec.Command, " "), true
		}
	}
	return "", false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// credentialHeaders are request headers whose value is a credential
// whatever it looks like.
var credentialHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "cookie": true}

// probeHeaderSecrets reports probe headers that carry a credential. A
// probe header cannot come from a Secret, so one written in the source
// lands in git and in the rendered pod spec. The message names the
// header, never its value.
func probeHeaderSecrets(c *model.Component) []Finding {
	var fs []Finding
	for _, p := range []struct {
		name string
		p    *model.Probe
	}{{"readiness", c.Probes.Readiness}, {"liveness", c.Probes.Liveness}, {"startup", c.Probes.Startup}} {
		if p.p == nil {
			continue
		}
		for _, h := range p.p.Headers {
			why := LooksSecret(strings.ReplaceAll(h.Name, "-", "_"), h.Value)
			if why == "" && h.Value != "" && credentialHeaders[strings.ToLower(h.Name)] {
				why = "the header carries credentials"
			}
			if why != "" {
				fs = append(fs, Finding{Pos: h.Pos, Target: c.Name,
					Message: fmt.Sprintf("header %s of the %s probe of %s holds a plaintext value and %s; a probe header cannot be read from a secret: serve the health check without credentials, or use an exec probe that reads them from a secret-backed environment variable", h.Name, p.name, c.Name, why)})
			}
		}
	}
	return fs
}

// livenessOf is the declared liveness probe of the i-th probed container
// (the main one first, then the sidecars), nil when none is declared.
func livenessOf(c *model.Component, i int, name string) *model.Probe {
	if i == 0 {
		return c.Probes.Liveness
	}
	for _, sc := range c.Sidecars {
		if sc.Name == name {
			return sc.Probes.Liveness
		}
	}
	return nil
}
