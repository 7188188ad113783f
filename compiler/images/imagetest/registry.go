package imagetest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Fault is how a Registry misbehaves.
type Fault string

// Faults a Registry can inject.
const (
	NoFault      Fault = "none"
	ServerError  Fault = "500"  // manifest reads answer 500 Internal Server Error
	Unauthorized Fault = "401"  // every request answers 401 with a Basic challenge
	Forbidden    Fault = "403"  // every request answers 403
	Hang         Fault = "hang" // requests never answer
)

// ParseFault parses a fault name.
func ParseFault(s string) (Fault, error) {
	switch f := Fault(s); f {
	case NoFault, ServerError, Unauthorized, Forbidden, Hang:
		return f, nil
	}
	return "", fmt.Errorf("unknown fault %q (want none, 500, 401, 403 or hang)", s)
}

// Registry is go-containerregistry's registry on a loopback port.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string

	srv   *httptest.Server
	inner http.Handler
	stop  chan struct{}

	mu    sync.Mutex
	fault Fault
	times int // how many more requests the fault hits; <0 for all
}

// StartRegistry starts an empty registry on 127.0.0.1.
func StartRegistry() *Registry {
	r := &Registry{
		inner: registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		stop:  make(chan struct{}),
		fault: NoFault,
	}
	r.srv = httptest.NewServer(r)
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// SetFault makes the registry misbehave from now on: for the next times
// requests it hits, or for all when times is 0. ServerError hits only
// manifest reads, so a client gets past the version check first.
func (r *Registry) SetFault(f Fault, times int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault, r.times = f, times
	if times <= 0 {
		r.times = -1
	}
}

// Close stops the registry, ending requests left hanging.
func (r *Registry) Close() {
	close(r.stop)
	r.srv.Close()
}

// ServeHTTP answers as the registry would, unless a fault hits.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch r.take(req) {
	case ServerError:
		registryError(w, http.StatusInternalServerError, "UNKNOWN", "injected server error")
	case Unauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="imagetest"`)
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case Forbidden:
		registryError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	case Hang:
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
	default:
		r.inner.ServeHTTP(w, req)
	}
}

// take returns the fault that hits req, counting it.
func (r *Registry) take(req *http.Request) Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fault == NoFault || r.times == 0 {
		return NoFault
	}
	if r.fault == ServerError && !(strings.Contains(req.URL.Path, "/manifests/") && (req.Method == http.MethodGet || req.Method == http.MethodHead)) {
		return NoFault
	}
	if r.times > 0 {
		r.times--
	}
	return r.fault
}

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`+"\n", code, msg)
}
