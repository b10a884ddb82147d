package observe

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzProbeResult: any answer body is handled; only 200 is healthy, and
// the error names the reasons of a readiness body.
func FuzzProbeResult(f *testing.F) {
	f.Add(200, []byte(`{"status":"ready"}`))
	f.Add(503, []byte(`{"status":"not_ready","reasons":["camera cam1 is offline"]}`))
	f.Add(503, []byte(`{"status":"not_ready","reasons":"wrong type"}`))
	f.Add(404, []byte("404 page not found\n"))
	f.Add(500, []byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		err := probeResult(code, body, "http://127.0.0.1:9090/readyz")
		if (err == nil) != (code == http.StatusOK) {
			t.Fatalf("code %d: err %v", code, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "health: ") {
			t.Fatalf("error %q", err)
		}
	})
}
