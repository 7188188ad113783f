package images

import (
	"net/http"
	"strings"
	"testing"
)

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.t.Errorf("%s reached the network", req.URL)
	return nil, http.ErrUseLastResponse
}

// go-containerregistry falls back to plain HTTP for private addresses;
// the guard refuses it before anything is dialed.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	tr := tlsUnlessLoopback{failTransport{t}}
	for _, u := range []string{"http://10.0.0.1:5000/v2/", "http://registry.example.com/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := tr.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), "plain HTTP to") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
