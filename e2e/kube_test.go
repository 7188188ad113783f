//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kube is a small client of the Kubernetes API over HTTPS with a bearer
// token: discovery, server-side apply, get, list, patch and delete. It is
// all the test needs, and it keeps client-go out of the module.
type kube struct {
	server string
	token  string
	http   *http.Client

	mu        sync.Mutex
	resources map[string]map[string]apiResource // group/version -> kind -> resource
}

// apiResource is where a kind is served.
type apiResource struct {
	base       string // "/api/v1" or "/apis/apps/v1"
	plural     string
	namespaced bool
}

// apiError is a request the API server refused, with its own message.
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func (e *apiError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = http.StatusText(e.Code)
	}
	return fmt.Sprintf("%d %s: %s", e.Code, reason, e.Message)
}

func isNotFound(err error) bool {
	e, ok := err.(*apiError)
	return ok && e.Code == http.StatusNotFound
}

// connect reads the control plane that e2e/run.sh started from
// E2E_SERVER, E2E_TOKEN and E2E_CA_FILE.
func connect() (*kube, error) {
	server, token, caFile := os.Getenv("E2E_SERVER"), os.Getenv("E2E_TOKEN"), os.Getenv("E2E_CA_FILE")
	if server == "" || token == "" || caFile == "" {
		return nil, fmt.Errorf("E2E_SERVER, E2E_TOKEN and E2E_CA_FILE are not set: run make e2e, which starts a control plane and then this test")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	return &kube{
		server: strings.TrimSuffix(server, "/"),
		token:  token,
		http: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		},
		resources: map[string]map[string]apiResource{},
	}, nil
}

// do sends one request and returns the body and the API server's warnings.
func (k *kube) do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) ([]byte, []string, error) {
	u := k.server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, w := range resp.Header.Values("Warning") {
		// 299 - "text", the text a quoted string with \" and \\ escaped
		if i := strings.Index(w, `"`); i >= 0 {
			if u, err := strconv.Unquote(w[i:]); err == nil {
				w = u
			}
		}
		warnings = append(warnings, w)
	}
	if resp.StatusCode >= 300 {
		var st struct{ Reason, Message string }
		if json.Unmarshal(b, &st) != nil || st.Message == "" {
			st.Message = strings.TrimSpace(string(b))
		}
		return nil, warnings, &apiError{Code: resp.StatusCode, Reason: st.Reason, Message: st.Message}
	}
	return b, warnings, nil
}

// resource finds where apiVersion/kind is served. A group just added by a
// CRD may take a moment to appear in discovery: it is asked again for a
// few seconds.
func (k *kube) resource(ctx context.Context, apiVersion, kind string) (apiResource, error) {
	k.mu.Lock()
	kinds, ok := k.resources[apiVersion]
	k.mu.Unlock()
	if ok {
		if r, ok := kinds[kind]; ok {
			return r, nil
		}
	}
	base := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		base = "/api/" + apiVersion
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _, err := k.do(ctx, http.MethodGet, base, nil, "", nil)
		if err == nil {
			var list struct {
				Resources []struct {
					Name       string
					Kind       string
					Namespaced bool
				}
			}
			if err := json.Unmarshal(b, &list); err != nil {
				return apiResource{}, fmt.Errorf("discovery of %s: %v", apiVersion, err)
			}
			kinds := map[string]apiResource{}
			for _, r := range list.Resources {
				if !strings.Contains(r.Name, "/") {
					kinds[r.Kind] = apiResource{base: base, plural: r.Name, namespaced: r.Namespaced}
				}
			}
			k.mu.Lock()
			k.resources[apiVersion] = kinds
			k.mu.Unlock()
			if r, ok := kinds[kind]; ok {
				return r, nil
			}
		} else if !isNotFound(err) {
			return apiResource{}, fmt.Errorf("discovery of %s: %v", apiVersion, err)
		}
		if time.Now().After(deadline) {
			return apiResource{}, fmt.Errorf("the API server does not serve %s %s", apiVersion, kind)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ref names one object.
type ref struct {
	APIVersion, Kind, Namespace, Name string
}

func (r ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func refOf(obj map[string]any) ref {
	s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	meta, _ := obj["metadata"].(map[string]any)
	return ref{APIVersion: s(obj, "apiVersion"), Kind: s(obj, "kind"), Namespace: s(meta, "namespace"), Name: s(meta, "name")}
}

// path is the URL path of one object, or of the collection when name is "".
func (k *kube) path(ctx context.Context, r ref) (string, error) {
	res, err := k.resource(ctx, r.APIVersion, r.Kind)
	if err != nil {
		return "", err
	}
	p := res.base
	if res.namespaced {
		if r.Namespace == "" {
			return "", fmt.Errorf("%s: a namespaced kind without a namespace", r)
		}
		p += "/namespaces/" + r.Namespace
	} else if r.Namespace != "" {
		return "", fmt.Errorf("%s: %s is cluster-scoped but the object names a namespace", r, r.Kind)
	}
	p += "/" + res.plural
	if r.Name != "" {
		p += "/" + r.Name
	}
	return p, nil
}

const fieldManager = "gitopsc-e2e"

// apply creates or updates obj with server-side apply, as Flux's
// kustomize-controller does, with strict field validation: a field the
// schema does not know is an error, not silently dropped.
func (k *kube) apply(ctx context.Context, obj map[string]any) ([]string, error) {
	r := refOf(obj)
	p, err := k.path(ctx, r)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	q := url.Values{"fieldManager": {fieldManager}, "force": {"true"}, "fieldValidation": {"Strict"}}
	_, warnings, err := k.do(ctx, http.MethodPatch, p, q, "application/apply-patch+yaml", body)
	return warnings, err
}

// get decodes one object, or a list when r.Name is "", into out.
func (k *kube) get(ctx context.Context, r ref, query url.Values, out any) error {
	p, err := k.path(ctx, r)
	if err != nil {
		return err
	}
	b, _, err := k.do(ctx, http.MethodGet, p, query, "", nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// mergePatch applies a JSON merge patch to an object or, with sub, to one
// of its subresources ("scale").
func (k *kube) mergePatch(ctx context.Context, r ref, sub string, patch any) error {
	p, err := k.path(ctx, r)
	if err != nil {
		return err
	}
	if sub != "" {
		p += "/" + sub
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, _, err = k.do(ctx, http.MethodPatch, p, nil, "application/merge-patch+json", body)
	return err
}

// remove deletes an object (its dependents are garbage-collected after it);
// one already gone is not an error.
func (k *kube) remove(ctx context.Context, r ref) error {
	p, err := k.path(ctx, r)
	if err != nil {
		return err
	}
	body := []byte(`{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`)
	_, _, err = k.do(ctx, http.MethodDelete, p, nil, "application/json", body)
	if isNotFound(err) {
		return nil
	}
	return err
}
