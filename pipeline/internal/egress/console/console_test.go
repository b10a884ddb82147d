package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
	"github.com/edgeguard/edgeguard/policy"
)

// livePolicy is the built-in policy with snapshots and live view allowed.
func livePolicy(t testing.TB, live bool) *policy.Policy {
	t.Helper()
	text := strings.Replace(string(policy.DefaultYAML()), "  snapshots: false\n",
		fmt.Sprintf("  snapshots: true\n  live_view: %v\n", live), 1)
	p, err := policy.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// guard is a real egress guard that never connects: the console's bytes
// pass its HTTP gate, which needs no broker.
func guard(t testing.TB, p *policy.Policy) *egress.Guard {
	t.Helper()
	g, err := egress.New(egress.Config{Broker: "tcp://127.0.0.1:1", TopicPrefix: "edgeguard", Device: "box"}, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

type cameras []console.Camera

func (c cameras) Cameras() []console.Camera { return append([]console.Camera(nil), c...) }

type status struct{}

func (status) Device() console.Device {
	return console.Device{ID: "box", Status: "ready", Policy: console.Policy{Name: "p", Version: "1", SHA256: "abc"}}
}

// live answers with jpg or err, counting calls.
type live struct {
	jpg   []byte
	err   error
	calls atomic.Int32
}

func (l *live) LiveJPEG(ctx context.Context, cam string) ([]byte, error) {
	l.calls.Add(1)
	return l.jpg, l.err
}

func testJPEG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 32, 16)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIF puts an APP1 segment after SOI.
func withEXIF(j []byte) []byte {
	app1 := []byte{0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0}
	return append(append(append([]byte(nil), j[:2]...), app1...), j[2:]...)
}

func newConsole(t testing.TB, p *policy.Policy, l *live, ring *console.Ring) http.Handler {
	t.Helper()
	if ring == nil {
		ring = console.NewRing(10)
	}
	c, err := console.New(console.Config{
		Gate:    guard(t, p),
		Cameras: cameras{{ID: "cam1", State: "streaming"}, {ID: "cam2", State: "connecting"}},
		Status:  status{}, Events: ring, Live: l,
		LiveInterval: time.Hour, // one picture per camera in a test
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Handler()
}

func do(t testing.TB, h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewRequiresGate(t *testing.T) {
	_, err := console.New(console.Config{Cameras: cameras{}, Status: status{}, Events: console.NewRing(1), Live: &live{}})
	if err == nil || !strings.Contains(err.Error(), "Gate") {
		t.Fatalf("err = %v, want one naming the Gate", err)
	}
}

func TestLatestJPEG(t *testing.T) {
	jpg := testJPEG(t)
	for _, tt := range []struct {
		name      string
		pol       *policy.Policy
		src       *live
		path      string
		want      int
		wantError string // in the JSON reason
	}{
		{"allowed", livePolicy(t, true), &live{jpg: jpg}, "/api/cameras/cam1/latest.jpg", 200, ""},
		{"policy without live view", livePolicy(t, false), &live{err: console.ErrLiveViewNotAllowed}, "/api/cameras/cam1/latest.jpg", 403, "egress.live_view: false"},
		{"source ignores the policy: the guard refuses", livePolicy(t, false), &live{jpg: jpg}, "/api/cameras/cam1/latest.jpg", 403, "live view not allowed"},
		{"anonymiser not ready", livePolicy(t, true), &live{err: fmt.Errorf("%w: face detector loading", console.ErrNotReady)}, "/api/cameras/cam1/latest.jpg", 503, "face detector loading"},
		{"no picture", livePolicy(t, true), &live{err: console.ErrNoPicture}, "/api/cameras/cam2/latest.jpg", 503, "no picture"},
		{"metadata: the guard refuses", livePolicy(t, true), &live{jpg: withEXIF(jpg)}, "/api/cameras/cam1/latest.jpg", 500, "EXIF"},
		{"unknown camera", livePolicy(t, true), &live{jpg: jpg}, "/api/cameras/cam9/latest.jpg", 404, "unknown camera"},
		{"traversal in the id", livePolicy(t, true), &live{jpg: jpg}, "/api/cameras/..%2F..%2Fetc/latest.jpg", 404, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, newConsole(t, tt.pol, tt.src, nil), "GET", tt.path, nil)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("guard headers missing: %v", w.Header())
			}
			if tt.want == 200 {
				if ct := w.Header().Get("Content-Type"); ct != "image/jpeg" || !bytes.Equal(w.Body.Bytes(), jpg) {
					t.Errorf("Content-Type %q, %d bytes; want the JPEG", ct, w.Body.Len())
				}
				return
			}
			var body struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, tt.wantError) {
				t.Errorf("body %s (%v), want a JSON error containing %q", w.Body, err, tt.wantError)
			}
		})
	}
}

func TestLiveAtMostOnePicturePerInterval(t *testing.T) {
	src := &live{jpg: testJPEG(t)}
	h := newConsole(t, livePolicy(t, true), src, nil)
	for range 5 {
		if w := do(t, h, "GET", "/api/cameras/cam1/latest.jpg", nil); w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d pictures made for 5 requests within the interval, want 1", n)
	}
}

func TestEvents(t *testing.T) {
	ring := console.NewRing(100)
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for i := range 60 {
		cam, typ := "cam1", "motion"
		if i%2 == 1 {
			cam, typ = "cam2", "line_crossing"
		}
		ring.Add(event.Event{ID: fmt.Sprint(i), Camera: cam, Type: typ, Phase: event.PhaseStart, At: event.Time{Time: at.Add(time.Duration(i) * time.Second)}})
	}
	h := newConsole(t, livePolicy(t, false), &live{}, ring)
	for _, tt := range []struct {
		query string
		code  int
		n     int
		first string // id of the newest
	}{
		{"", 200, 50, "59"}, // default limit
		{"?limit=1", 200, 1, "59"},
		{"?limit=500", 200, 60, "59"},
		{"?camera=cam1&limit=100", 200, 30, "58"},
		{"?camera=cam2&type=line_crossing", 200, 30, "59"},
		{"?type=motion&camera=cam2", 200, 0, ""},
		{"?limit=0", 400, 0, ""},
		{"?limit=-1", 400, 0, ""},
		{"?limit=501", 400, 0, ""},
		{"?limit=abc", 400, 0, ""},
		{"?limit=99999999999999999999", 400, 0, ""},
		{"?camera=cam9", 404, 0, ""},
		{"?camera=..%2Fcam1", 404, 0, ""},
	} {
		w := do(t, h, "GET", "/api/events"+tt.query, nil)
		if w.Code != tt.code {
			t.Errorf("%q: status %d, want %d: %s", tt.query, w.Code, tt.code, w.Body)
			continue
		}
		if tt.code != 200 {
			continue
		}
		var body struct{ Events []event.Event }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Events) != tt.n || (tt.n > 0 && body.Events[0].ID != tt.first) {
			t.Errorf("%q: %d events, want %d, newest %s", tt.query, len(body.Events), tt.n, tt.first)
		}
	}
}

func TestCameras(t *testing.T) {
	ring := console.NewRing(4)
	ring.Add(event.Event{ID: "1", Camera: "cam1", Type: "line_crossing", Phase: event.PhaseStart, At: event.Time{Time: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}})
	w := do(t, newConsole(t, livePolicy(t, false), &live{}, ring), "GET", "/api/cameras", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var body struct {
		Device  console.Device
		Cameras []console.Camera
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Device.ID != "box" || body.Device.Policy.SHA256 != "abc" || len(body.Cameras) != 2 {
		t.Fatalf("got %+v", body)
	}
	if le := body.Cameras[0].LastEvent; le == nil || le.Type != "line_crossing" || body.Cameras[1].LastEvent != nil {
		t.Errorf("last events %+v, %+v", body.Cameras[0].LastEvent, body.Cameras[1].LastEvent)
	}
}

func TestAssetsAndTraversal(t *testing.T) {
	h := newConsole(t, livePolicy(t, false), &live{}, nil)
	for _, tt := range []struct {
		path, wantType string
	}{
		{"/", "text/html; charset=utf-8"},
		{"/static/console.js", "text/javascript; charset=utf-8"},
		{"/static/console.css", "text/css; charset=utf-8"},
	} {
		w := do(t, h, "GET", tt.path, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != tt.wantType || w.Body.Len() == 0 {
			t.Errorf("%s: %d %q", tt.path, w.Code, w.Header().Get("Content-Type"))
		}
		if strings.Contains(w.Body.String(), "http://") || strings.Contains(w.Body.String(), "https://") {
			t.Errorf("%s refers to another host", tt.path)
		}
	}
	for _, p := range []string{
		"/static/../console.go", "/static/..%2Fconsole.go", "/static/%2e%2e/%2e%2e/go.mod",
		"/assets/index.html", "/static/", "/static/console.go", "/console.go", "/..%2f..%2fetc%2fpasswd",
		"/api/", "/api/cameras/cam1", "/api/cameras/cam1/latest.png", "/index.html",
	} {
		w := do(t, h, "GET", p, nil)
		if w.Code == 200 || strings.Contains(w.Body.String(), "package console") {
			t.Errorf("%s: status %d, body %.80q", p, w.Code, w.Body)
		}
	}
}

func TestRequestLimits(t *testing.T) {
	h := newConsole(t, livePolicy(t, false), &live{}, nil)
	for _, tt := range []struct {
		name, method, path string
		body               io.Reader
		want               int
	}{
		{"POST", "POST", "/api/cameras", strings.NewReader("{}"), 405},
		{"PUT", "PUT", "/", nil, 405},
		{"oversized body", "GET", "/api/cameras", bytes.NewReader(make([]byte, 5<<10)), 413},
		{"oversized body, length unknown", "GET", "/api/cameras", io.MultiReader(bytes.NewReader(make([]byte, 5<<10))), 413},
		{"a body at all", "GET", "/api/cameras", strings.NewReader("x"), 400},
		{"long URL", "GET", "/api/events?camera=" + strings.Repeat("a", 3000), nil, 414},
		{"HEAD", "HEAD", "/api/cameras", nil, 200},
	} {
		r := httptest.NewRequest(tt.method, tt.path, tt.body)
		if tt.name == "oversized body, length unknown" {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
		}
		if tt.method == "HEAD" && w.Body.Len() != 0 {
			t.Errorf("HEAD has a body")
		}
	}
}

func TestRing(t *testing.T) {
	r := console.NewRing(3)
	if _, ok := r.Last("a"); ok {
		t.Fatal("empty ring has a last event")
	}
	for i := range 5 {
		r.Add(event.Event{ID: fmt.Sprint(i), Camera: "a"})
	}
	got := r.Recent("", "", 10)
	if len(got) != 3 || got[0].ID != "4" || got[2].ID != "2" {
		t.Errorf("recent = %v, want 4 3 2", got)
	}
}

// FuzzRequest: whatever the path and query, the console answers with a
// status and a type the guard lets leave, and never panics.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{"/", "/api/events?limit=5&camera=cam1", "/api/cameras/cam1/latest.jpg", "/static/../x", "/api/events?limit=-0"} {
		f.Add(s)
	}
	h := newConsole(f, livePolicy(f, true), &live{jpg: testJPEG(f)}, nil)
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.NewRequest("GET", "http://box"+target, nil)
		if err != nil || r.URL.Path == "" || r.URL.Path[0] != '/' {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		ct := w.Header().Get("Content-Type")
		if w.Code == 200 && ct == "" {
			t.Errorf("%q: 200 without a Content-Type", target)
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%q: no Content-Security-Policy", target)
		}
	})
}
