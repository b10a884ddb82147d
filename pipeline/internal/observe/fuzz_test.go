package observe

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzRedact: whatever text a camera library puts into an error, no URL
// credentials survive into /readyz.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"",
		"DESCRIBE rtsp://admin:s3cr3t@192.0.2.10:554/stream: 401",
		"rtsp://a@b rtsps://u:p@h/x http://x:y@z?q#f",
		"no url here @ all",
		"rtsp://user:p@ss@host/",
		"RTSP://U:P@H",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redact(s)
		for _, m := range userinfo.FindAllStringSubmatch(out, -1) {
			if m[0] != m[1]+"xxxxx@" {
				t.Fatalf("redact(%q) = %q still has credentials %q", s, out, m[0])
			}
		}
		if redact(out) != out {
			t.Fatalf("redact is not idempotent on %q", s)
		}
	})
}

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
