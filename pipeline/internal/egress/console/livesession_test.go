package console

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorded is a SessionRecorder that remembers.
type recorded struct {
	mu   sync.Mutex
	list []string
}

func (r *recorded) LiveSession(camera, session, who string, from, to time.Time, pictures int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(session) != 16 {
		panic("session id " + session)
	}
	r.list = append(r.list, fmt.Sprintf("%s %s %s→%s %d", who, camera, from.Format("05"), to.Format("05"), pictures))
}

func (r *recorded) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

// fakeTimer stands for time.AfterFunc: the test fires it.
type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { t.stopped = true; return true }

// tracker is a session tracker on a fake clock (second 0 of a minute),
// its timers and its log.
func tracker(t *testing.T) (*sessions, *time.Time, *[]*fakeTimer, *recorded, *bytes.Buffer) {
	t.Helper()
	now := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	var timers []*fakeTimer
	rec := &recorded{}
	var log bytes.Buffer
	s := newSessions(10*time.Second, rec, slog.New(slog.NewTextHandler(&log, nil)))
	s.now = func() time.Time { return now }
	s.after = func(d time.Duration, f func()) stopper {
		ft := &fakeTimer{d: d, f: f}
		timers = append(timers, ft)
		return ft
	}
	return s, &now, &timers, rec, &log
}

func TestSessionsTracker(t *testing.T) {
	s, now, timers, rec, log := tracker(t)
	at := func(sec int) { *now = now.Truncate(time.Minute).Add(time.Duration(sec) * time.Second) }
	must := func(who, cam string) {
		t.Helper()
		if err := s.delivered(who, cam); err != nil {
			t.Fatal(err)
		}
	}
	must("local 10.0.0.1", "cam1") // 00: session A starts, timer for 10 s
	if len(*timers) != 1 || (*timers)[0].d != 10*time.Second {
		t.Fatalf("timers %v, want one of 10s", *timers)
	}
	at(4)
	must("local 10.0.0.1", "cam1") // A: 2 pictures
	must("local 10.0.0.2", "cam1") // B: another viewer
	must("local 10.0.0.1", "cam2") // C: another camera
	at(9)
	must("local 10.0.0.1", "cam1") // A: 3, last at 09
	at(10)
	(*timers)[0].f() // nothing idle for 10 s yet except none: B and C are at 04
	if got := rec.got(); len(got) != 0 {
		t.Fatalf("ended early: %v", got)
	}
	if len(*timers) != 2 || (*timers)[1].d != 4*time.Second {
		t.Fatalf("re-armed for %v, want 4s (B and C idle at 14)", (*timers)[1].d)
	}
	at(14)
	(*timers)[1].f()
	want := []string{"local 10.0.0.1 cam2 04→04 1", "local 10.0.0.2 cam1 04→04 1"}
	if got := rec.got(); len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Fatalf("ended %v, want %v", got, want)
	}
	// A picture after the gap, before any sweep: the old session ends
	// there and a new one starts.
	at(30)
	must("local 10.0.0.1", "cam1")
	if got := rec.got(); len(got) != 3 || got[2] != "local 10.0.0.1 cam1 00→09 3" {
		t.Fatalf("ended %v, want A 00→09 with 3 pictures", got)
	}
	s.Close()
	if got := rec.got(); len(got) != 4 || got[3] != "local 10.0.0.1 cam1 30→30 1" {
		t.Fatalf("at Close %v", got)
	}
	if err := s.delivered("local 10.0.0.1", "cam1"); err != errConsoleClosed {
		t.Errorf("after Close: %v", err)
	}
	if last := (*timers)[len(*timers)-1]; !last.stopped {
		t.Error("Close left the timer running")
	}
	if n := strings.Count(log.String(), "live view session started"); n != 4 { // A, B, C, A again
		t.Errorf("%d start lines, want 4:\n%s", n, log)
	}
	if n := strings.Count(log.String(), "live view session ended"); n != 4 {
		t.Errorf("%d end lines, want 4:\n%s", n, log)
	}
	if !strings.Contains(log.String(), `who="local 10.0.0.1" camera=cam1 from=2026-12-04T22:00:00Z to=2026-12-04T22:00:09Z pictures=3`) {
		t.Errorf("end line lacks who, camera, from, to, pictures:\n%s", log)
	}
}

// TestSessionsBounded: no more than max sessions; a viewer beyond gets an
// error (no picture off the record) until one ends.
func TestSessionsBounded(t *testing.T) {
	s, now, _, rec, _ := tracker(t)
	s.max = 2
	for i := range 2 {
		if err := s.delivered(fmt.Sprintf("local 10.0.0.%d", i), "cam1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.delivered("local 10.0.0.9", "cam1"); err != errTooManySessions {
		t.Fatalf("third viewer: %v, want errTooManySessions", err)
	}
	if err := s.delivered("local 10.0.0.0", "cam1"); err != nil {
		t.Errorf("an open session refused: %v", err)
	}
	*now = now.Add(11 * time.Second)
	if err := s.delivered("local 10.0.0.9", "cam1"); err != nil {
		t.Errorf("after the others went idle: %v", err)
	}
	if got := rec.got(); len(got) != 2 {
		t.Errorf("ended %v, want the 2 idle ones", got)
	}
}

func TestViewer(t *testing.T) {
	for remote, want := range map[string]string{"127.0.0.1:5123": "local 127.0.0.1", "[::1]:80": "local ::1", "pipe": "local pipe"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := viewer(r); got != want {
			t.Errorf("viewer(%s) = %q, want %q", remote, got, want)
		}
	}
	// Logged in: the user name instead of "local".
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, who{"anna", RoleOfficer}))
	if got := viewer(r); got != "anna 192.0.2.7" {
		t.Errorf("viewer(logged in) = %q, want anna 192.0.2.7", got)
	}
}

type passGate struct{}

func (passGate) HTTP(h http.Handler) http.Handler { return h }

type oneCamera struct{}

func (oneCamera) Cameras() []Camera { return []Camera{{ID: "cam1"}} }

type noStatus struct{}

func (noStatus) Device() Device { return Device{} }

type jpegLive struct{}

func (jpegLive) LiveJPEG(context.Context, string) ([]byte, error) {
	return []byte{0xFF, 0xD8, 0xFF, 0xD9}, nil
}

// TestLatestIsOnRecord: every picture latest.jpg delivers counts in its
// viewer's session, and Close records the open sessions and refuses more.
func TestLatestIsOnRecord(t *testing.T) {
	rec := &recorded{}
	c, err := New(Config{Gate: passGate{}, Cameras: oneCamera{}, Status: noStatus{}, Events: NewRing(1), Live: jpegLive{}, Sessions: rec})
	if err != nil {
		t.Fatal(err)
	}
	get := func(remote string) int {
		r := httptest.NewRequest("GET", "/api/cameras/cam1/latest.jpg", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		c.Handler().ServeHTTP(w, r)
		return w.Code
	}
	for _, remote := range []string{"127.0.0.1:1000", "127.0.0.1:1001", "127.0.0.2:1000"} {
		if code := get(remote); code != http.StatusOK {
			t.Fatalf("GET from %s: %d", remote, code)
		}
	}
	c.Close()
	got := rec.got()
	if len(got) != 2 || !strings.HasSuffix(strings.Join(got, "|"), " 2") && !strings.Contains(strings.Join(got, "|"), "local 127.0.0.1 cam1") {
		t.Fatalf("recorded %v, want 127.0.0.1 with 2 pictures and 127.0.0.2 with 1", got)
	}
	for _, g := range got {
		if strings.HasPrefix(g, "local 127.0.0.1 ") && !strings.HasSuffix(g, " 2") || strings.HasPrefix(g, "local 127.0.0.2 ") && !strings.HasSuffix(g, " 1") {
			t.Errorf("recorded %q", g)
		}
	}
	if code := get("127.0.0.1:1000"); code != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d, want 503", code)
	}
}
