package camera

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestFaultDownCameraStatusSteady (issue 18 item 8): a camera that stays
// unreachable for several retries is announced once, offline with a
// constant since; the retries are counted (Stats, the reconnects metric),
// not published as connecting/offline pairs. When it comes back it
// streams, announced once.
func TestFaultDownCameraStatusSteady(t *testing.T) {
	addr := freeAddr(t)
	b := Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Healthy: time.Hour}
	r := superviseRig(t, rigConfig{url: "rtsp://" + addr + "/cam", timeout: time.Second, backoff: b})
	const retries = 5
	r.waitFor("several failed attempts", func(_ []event.CameraStatus, st Stats) bool {
		return st.SessionsStarted >= retries+1
	})
	_, down := r.rec.snapshot()
	if n := count(down, isState(event.StateOffline)); n != 1 {
		t.Errorf("%d offline statuses over %d attempts, want 1%s", n, r.cam.Stats().SessionsStarted, fmtStates(down))
	}
	if n := count(down, isState(event.StateConnecting)); n != 1 {
		t.Errorf("%d connecting statuses, want only the first attempt's%s", n, fmtStates(down))
	}

	sim := faultSim(t, simcam.Config{Addr: addr, Path: "cam"})
	r.streamingFor(1)
	r.analysedMore(3)
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	var offline []event.CameraStatus
	for _, s := range states {
		if s.State == event.StateOffline {
			offline = append(offline, s)
		}
	}
	for _, s := range offline[1:] {
		if !s.Since.Equal(offline[0].Since.Time) {
			t.Errorf("offline since moved from %v to %v while the camera stayed down", offline[0].Since, s.Since)
		}
	}
	if n := count(states, isState(event.StateStreaming)); n != 1 {
		t.Errorf("%d streaming statuses, want 1%s", n, fmtStates(states))
	}
	if st := r.cam.Stats(); st.SessionsStarted < retries+2 || sim.Plays() != 1 {
		t.Errorf("%d sessions started, %d PLAYs: want the retries counted and one session", st.SessionsStarted, sim.Plays())
	}
}

// TestFaultReasonHidesURL (issue 18 item 5): the published reason is a
// word from the fixed vocabulary, never the camera URL or its address;
// the log keeps the detail (redacted) for the operator.
func TestFaultReasonHidesURL(t *testing.T) {
	for _, tt := range []struct {
		name   string
		url    func(t *testing.T) string
		reason string
		logged string // part of the detail the log must still show
	}{
		{"refused", func(t *testing.T) string { return "rtsp://admin:s3cr3t@" + freeAddr(t) + "/cam" },
			"connection refused", "dial tcp"},
		{"not found", func(t *testing.T) string {
			return strings.TrimSuffix(faultSim(t, simcam.Config{}).URL(), "stream") + "nothing-here"
		}, "not found", "404"},
		{"silent at DESCRIBE", func(t *testing.T) string {
			srv, err := simcam.StartScript(simcam.ScriptConfig{Replies: map[string]simcam.Reply{"DESCRIBE": simcam.ReplySilent}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			return srv.URL()
		}, "timeout", "DESCRIBE"},
		{"hangs up at DESCRIBE", func(t *testing.T) string {
			srv, err := simcam.StartScript(simcam.ScriptConfig{Replies: map[string]simcam.Reply{"DESCRIBE": simcam.ReplyClose}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			return srv.URL()
		}, "connection closed", "DESCRIBE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			b := Backoff{Initial: 20 * time.Millisecond, Max: 80 * time.Millisecond, Healthy: time.Hour}
			r := superviseRig(t, rigConfig{url: url, timeout: 200 * time.Millisecond, backoff: b})
			r.waitFor("offline status", func(states []event.CameraStatus, _ Stats) bool {
				return count(states, isState(event.StateOffline)) >= 1
			})
			r.stop()
			_, states := r.rec.snapshot()
			host := url[len("rtsp://"):]
			host = host[strings.LastIndexByte(host[:strings.IndexByte(host, '/')], '@')+1 : strings.IndexByte(host, '/')]
			for _, s := range states {
				if strings.Contains(s.Error, "rtsp://") || strings.Contains(s.Error, host) || strings.Contains(s.Error, "s3cr3t") {
					t.Errorf("status error %q shows the camera's URL or address", s.Error)
				}
			}
			i := indexOf(states, isState(event.StateOffline))
			if got := states[i].Error; got != tt.reason {
				t.Errorf("offline reason %q, want %q", got, tt.reason)
			}
			logs := r.logs.String()
			if !strings.Contains(logs, tt.logged) || strings.Contains(logs, "s3cr3t") {
				t.Errorf("log does not keep the detail %q (or shows the password):\n%s", tt.logged, logs)
			}
		})
	}
}

// fmtAttempts is for failure messages.
func fmtAttempts(ts []time.Time) string {
	var b strings.Builder
	for i, at := range ts {
		if i > 0 {
			fmt.Fprintf(&b, " +%v", at.Sub(ts[i-1]).Round(time.Millisecond))
		}
	}
	return b.String()
}

// TestStatusRule: which statuses a camera publishes (docs/events.md,
// Camera status). since is when the state changed; retries are not
// announced; a state is published again only with other details, keeping
// its since.
func TestStatusRule(t *testing.T) {
	type in struct {
		state  event.CameraState
		reason string
		width  int
	}
	type out struct {
		state  event.CameraState
		reason string
		since  int // index of the input whose time since must be
	}
	conn := in{state: event.StateConnecting}
	off := func(r string) in { return in{state: event.StateOffline, reason: r} }
	errSt := func(r string) in { return in{state: event.StateError, reason: r} }
	stream := func(w int) in { return in{state: event.StateStreaming, width: w} }
	for _, tt := range []struct {
		name string
		ins  []in
		want []out
	}{
		{"retries while down are not announced",
			[]in{conn, off("connection refused"), conn, off("connection refused"), conn, off("connection refused")},
			[]out{{event.StateConnecting, "", 0}, {event.StateOffline, "connection refused", 1}}},
		{"a changed reason keeps since",
			[]in{conn, off("connection refused"), conn, off("timeout"), conn, off("timeout")},
			[]out{{event.StateConnecting, "", 0}, {event.StateOffline, "connection refused", 1}, {event.StateOffline, "timeout", 1}}},
		{"back after an outage",
			[]in{conn, stream(640), off("stream ended"), conn, off("connection refused"), conn, stream(640)},
			[]out{{event.StateConnecting, "", 0}, {event.StateStreaming, "", 1}, {event.StateOffline, "stream ended", 2},
				{event.StateOffline, "connection refused", 2}, {event.StateStreaming, "", 6}}},
		{"error stays during the slow retries",
			[]in{conn, errSt("unauthorized"), conn, errSt("unauthorized"), conn, off("connection refused")},
			[]out{{event.StateConnecting, "", 0}, {event.StateError, "unauthorized", 1}, {event.StateOffline, "connection refused", 5}}},
		{"a new resolution keeps since",
			[]in{conn, stream(640), stream(320), stream(320)},
			[]out{{event.StateConnecting, "", 0}, {event.StateStreaming, "", 1}, {event.StateStreaming, "", 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			cam, err := New(Config{Device: "d", ID: "c", URL: "rtsp://127.0.0.1:1/x", Sink: rec,
				Rules: withMotion(nil)})
			if err != nil {
				t.Fatal(err)
			}
			// Each input at its own time, one second apart, so since says
			// which input set it.
			base := time.Date(2026, 11, 23, 10, 3, 57, 0, time.UTC)
			at := func(i int) event.Time { return event.Time{Time: base.Add(time.Duration(i) * time.Second)} }
			for i, s := range tt.ins {
				cam.status(t.Context(), event.CameraStatus{State: s.state, Error: s.reason, Width: s.width, Since: at(i)})
			}
			_, got := rec.snapshot()
			if len(got) != len(tt.want) {
				t.Fatalf("published %d statuses, want %d:%s", len(got), len(tt.want), fmtStates(got))
			}
			for i, w := range tt.want {
				if got[i].State != w.state || got[i].Error != w.reason || !got[i].Since.Equal(at(w.since).Time) {
					t.Errorf("status %d = %s %q since %v, want %s %q since %v", i, got[i].State, got[i].Error,
						got[i].Since.Format(time.TimeOnly), w.state, w.reason, at(w.since).Format(time.TimeOnly))
				}
			}
		})
	}
}
