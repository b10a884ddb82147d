package camera

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// Camera faults: one test per way a camera or its network misbehaves. Each
// runs the real supervisor against a real RTSP server on loopback and
// watches the statuses the camera publishes. Waits are bounded by
// faultGuard only so that a hang fails instead of blocking; no test
// asserts how long anything took, only lower bounds that sleeping
// guarantees.

const faultGuard = 60 * time.Second

// lineLog collects log lines, to check that failures do not flood the log.
type lineLog struct{ testlog.Buffer }

func (l *lineLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// faultRig is one supervised camera.
type faultRig struct {
	started time.Time
	t       *testing.T
	cam     *Camera
	rec     *recorder
	logs    *lineLog
	stop    func()

	mu       sync.Mutex
	attempts []time.Time // start of every session attempt (Camera.attempted)
}

// attemptTimes returns when each session attempt started. Retries publish
// no status (the status says why the camera is down, once), so back-off
// is measured here.
func (r *faultRig) attemptTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

type rigConfig struct {
	url          string
	transport    string
	backoff      Backoff
	timeout      time.Duration
	stallTimeout time.Duration
	width        int
	rules        func() ([]pattern.Rule, error)
}

func superviseRig(t *testing.T, rc rigConfig) *faultRig {
	t.Helper()
	if rc.backoff == (Backoff{}) {
		rc.backoff = Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Healthy: time.Hour}
	}
	if rc.width == 0 {
		rc.width = 320
	}
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	logs := &lineLog{}
	rec := newRecorder()
	cam, err := New(Config{Device: "d", ID: "c", URL: rc.url, Transport: rc.transport, AnalysisFPS: 10,
		AnalysisWidth: rc.width, Motion: m,
		Timeout: rc.timeout, StallTimeout: rc.stallTimeout, Rules: withMotion(rc.rules), Sink: rec, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	r := &faultRig{t: t, cam: cam, rec: rec, logs: logs, started: time.Now()}
	cam.attempted = func() {
		r.mu.Lock()
		r.attempts = append(r.attempts, time.Now())
		r.mu.Unlock()
	}
	// Events are not what these tests look at; keep the recorder's signal
	// channel from filling up.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-rec.signal:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		Supervise(ctx, cam, rc.backoff)
	}()
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(r.stop)
	return r
}

// waitForEvent polls the recorded events until one matches.
func (r *faultRig) waitForEvent(what string, match func(event.Event) bool) {
	r.t.Helper()
	deadline := time.Now().Add(faultGuard)
	for {
		evs, _ := r.rec.snapshot()
		for _, ev := range evs {
			if match(ev) {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("gave up waiting for %s; %d events", what, len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds; what says what was awaited.
func (r *faultRig) waitFor(what string, cond func(states []event.CameraStatus, st Stats) bool) {
	r.t.Helper()
	deadline := time.Now().Add(faultGuard)
	for {
		_, states := r.rec.snapshot()
		st := r.cam.Stats()
		if cond(states, st) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("gave up waiting for %s; stats %+v; states %s", what, st, fmtStates(states))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(states []event.CameraStatus, pred func(event.CameraStatus) bool) int {
	n := 0
	for _, s := range states {
		if pred(s) {
			n++
		}
	}
	return n
}

func isState(want event.CameraState) func(event.CameraStatus) bool {
	return func(s event.CameraStatus) bool { return s.State == want }
}

func fmtStates(states []event.CameraStatus) string {
	var b strings.Builder
	for _, s := range states {
		fmt.Fprintf(&b, "\n  %s %q %dx%d", s.State, s.Error, s.Width, s.Height)
	}
	return b.String()
}

// streamingFor waits until the camera has reported streaming n times.
func (r *faultRig) streamingFor(n int) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("streaming status #%d", n), func(states []event.CameraStatus, _ Stats) bool {
		return count(states, isState(event.StateStreaming)) >= n
	})
}

// analysedMore waits until n more frames than now have been analysed.
func (r *faultRig) analysedMore(n uint64) {
	r.t.Helper()
	base := r.cam.Stats().Analysed
	r.waitFor(fmt.Sprintf("%d more analysed frames", n), func(_ []event.CameraStatus, st Stats) bool {
		return st.Analysed >= base+n
	})
}

func faultSim(t *testing.T, cfg simcam.Config) *simcam.Server {
	t.Helper()
	if cfg.Scene.Width == 0 && cfg.OfferCodec == "" {
		cfg.Scene = scene.Walker(320, 180, 25)
	}
	cfg.Codec = codec.H264
	cfg.ClipSeconds = 2
	cfg.Audio = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := simcam.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// assertTransitions checks that the status sequence only makes moves a
// supervised camera can make, that every status names the camera, and the
// status rule (docs/events.md): retries are not announced (no connecting
// after offline or error), a state is published again only with other
// details and then keeps its since, and reasons come from the fixed
// vocabulary (no URL, no address).
func assertTransitions(t *testing.T, states []event.CameraStatus) {
	t.Helper()
	allowed := map[event.CameraState][]event.CameraState{
		"":                    {event.StateConnecting},
		event.StateConnecting: {event.StateStreaming, event.StateOffline, event.StateError},
		// streaming → streaming: the size changed mid-stream.
		event.StateStreaming: {event.StateStreaming, event.StateOffline, event.StateError},
		// offline → offline: another reason (or none: the stop that ends
		// the back-off wait). Retries stay offline until one streams.
		event.StateOffline: {event.StateStreaming, event.StateOffline, event.StateError},
		// error stays on the topic during the slow retries.
		event.StateError: {event.StateStreaming, event.StateOffline, event.StateError},
	}
	var prev event.CameraStatus
	for i, s := range states {
		if !slices.Contains(allowed[prev.State], s.State) {
			t.Errorf("status %d: %s after %s%s", i, s.State, prev.State, fmtStates(states))
			return
		}
		if s.Camera != "c" || s.Device != "d" || s.Since.IsZero() {
			t.Errorf("status %+v lacks camera, device or time", s)
		}
		if s.State == prev.State {
			if s == prev {
				t.Errorf("status %d: %s published again unchanged%s", i, s.State, fmtStates(states))
			}
			if !s.Since.Equal(prev.Since.Time) {
				t.Errorf("status %d: %s again, since moved from %v to %v", i, s.State, prev.Since, s.Since)
			}
		}
		if !knownReason(s.Error) {
			t.Errorf("status %d: reason %q is not from the vocabulary", i, s.Error)
		}
		prev = s
	}
}

// knownReason: "" or one of Reason's words (with the codecs or the status
// code where it adds them).
func knownReason(r string) bool {
	switch r {
	case "", ReasonUnauthorized, ReasonNoVideo, ReasonConnectionRefused, ReasonConnectionClosed,
		ReasonNetworkUnreachable, ReasonHostNotFound, ReasonTimeout, ReasonNotFound, ReasonForbidden,
		ReasonStalled, ReasonEnded, ReasonError:
		return true
	}
	return !strings.Contains(r, "://") && (strings.HasPrefix(r, ReasonUnsupportedCodec) || strings.HasPrefix(r, ReasonStatus+" "))
}

// TestFaultSessionEnds: the camera drops the connection or tears the
// session down mid-stream; the supervisor reports offline with the reason
// and reconnects, and the new session is counted.
func TestFaultSessionEnds(t *testing.T) {
	for _, tt := range []struct {
		name      string
		transport string
		fault     func(*simcam.Server) int
	}{
		{"server closes connection/tcp", "tcp", (*simcam.Server).DropSessions},
		{"server closes connection/udp", "udp", (*simcam.Server).DropSessions},
		{"teardown/tcp", "tcp", (*simcam.Server).Teardown},
		{"teardown/udp", "udp", (*simcam.Server).Teardown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := faultSim(t, simcam.Config{UDP: tt.transport == "udp"})
			r := superviseRig(t, rigConfig{url: sim.URL(), transport: tt.transport, timeout: 2 * time.Second})
			r.streamingFor(1)
			if n := tt.fault(sim); n != 1 {
				t.Fatalf("fault hit %d connections/sessions, want 1", n)
			}
			r.streamingFor(2)
			r.analysedMore(3)
			r.stop()
			_, states := r.rec.snapshot()
			assertTransitions(t, states)
			i := indexOf(states, isState(event.StateOffline))
			if i < 0 || states[i].Error == "" {
				t.Fatalf("no offline status with a reason between the sessions:%s", fmtStates(states))
			}
			if st := r.cam.Stats(); st.SessionsStarted < 2 || sim.Plays() < 2 {
				t.Errorf("sessions: camera counted %d, server saw %d PLAYs; want ≥ 2", st.SessionsStarted, sim.Plays())
			}
			t.Logf("reason: %s", states[i].Error)
			checkLogBound(t, r, 12)
		})
	}
}

// TestFaultServerSendsTeardown: a camera that sends its own TEARDOWN
// request ends the session; the supervisor retries. The status says
// "stream ended" once; the log names the TEARDOWN.
func TestFaultServerSendsTeardown(t *testing.T) {
	srv, err := simcam.StartScript(simcam.ScriptConfig{TeardownAfterPlay: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r := superviseRig(t, rigConfig{url: srv.URL(), timeout: 5 * time.Second})
	// Three attempts started: two sessions were ended by the camera.
	r.waitFor("two sessions ended by TEARDOWN", func(_ []event.CameraStatus, st Stats) bool {
		return st.SessionsStarted >= 3
	})
	r.stop()
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	if n := count(states, func(s event.CameraStatus) bool {
		return s.State == event.StateOffline && s.Error == ReasonEnded
	}); n != 1 {
		t.Errorf("%d offline %q statuses, want 1%s", n, ReasonEnded, fmtStates(states))
	}
	if !strings.Contains(r.logs.String(), "TEARDOWN") {
		t.Errorf("log does not name the camera's TEARDOWN:\n%s", r.logs.String())
	}
}

func indexOf(states []event.CameraStatus, pred func(event.CameraStatus) bool) int {
	for i, s := range states {
		if pred(s) {
			return i
		}
	}
	return -1
}

// checkLogBound: one line per state change, never per frame or packet.
// max is generous; a flood is hundreds of lines.
func checkLogBound(t *testing.T, r *faultRig, max int) {
	t.Helper()
	if n := r.logs.Lines(); n > max {
		t.Errorf("%d log lines, want ≤ %d:\n%s", n, max, r.logs.String())
	}
}

// TestFaultStall: the connection stays up but the camera stops sending
// video; after StallTimeout the camera reports the stall, reconnects, and
// streams again once video resumes.
func TestFaultStall(t *testing.T) {
	sim := faultSim(t, simcam.Config{})
	// The RTSP read time-out is far longer than the stall time-out, so the
	// stall detector is what ends the session.
	r := superviseRig(t, rigConfig{url: sim.URL(), timeout: time.Minute, stallTimeout: 500 * time.Millisecond})
	r.streamingFor(1)
	sim.Pause()
	r.waitFor("stalled status", func(states []event.CameraStatus, _ Stats) bool {
		return indexOf(states, func(s event.CameraStatus) bool {
			return s.State == event.StateOffline && strings.Contains(s.Error, ErrStalled.Error())
		}) >= 0
	})
	sim.Resume()
	r.streamingFor(2)
	r.analysedMore(3)
	r.stop()
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	if st := r.cam.Stats(); st.SessionsStarted < 2 {
		t.Errorf("%d sessions, want a reconnect", st.SessionsStarted)
	}
}

// TestFaultVideoLossTamper: with a tamper rule configured, a camera whose
// pictures stop is reported as tampered with detail "lost" once the rule's
// duration has passed without a picture, across the reconnects the stall
// causes, and the situation ends with the first picture after it.
func TestFaultVideoLossTamper(t *testing.T) {
	sim := faultSim(t, simcam.Config{})
	rules := func() ([]pattern.Rule, error) {
		r, err := pattern.NewTamper(pattern.TamperConfig{Name: "lens", Duration: time.Second})
		return []pattern.Rule{r}, err
	}
	r := superviseRig(t, rigConfig{url: sim.URL(), timeout: time.Minute, stallTimeout: 500 * time.Millisecond, rules: rules})
	r.streamingFor(1)
	lost := func(phase event.Phase) func(event.Event) bool {
		return func(ev event.Event) bool {
			return ev.Type == pattern.TypeTamper && ev.Detail == "lost" && ev.Phase == phase
		}
	}
	sim.Pause()
	paused := time.Now()
	r.waitForEvent("tamper lost start", lost(event.PhaseStart))
	if d := time.Since(paused); d < time.Second {
		t.Errorf("lost reported %v after the pictures stopped, before the rule's 1s", d)
	}
	sim.Resume()
	r.waitForEvent("tamper lost end", lost(event.PhaseEnd))
	r.stop()
	evs, _ := r.rec.snapshot()
	var starts, ends int
	var id string
	for _, ev := range evs {
		switch {
		case lost(event.PhaseStart)(ev):
			starts++
			id = ev.EventID
		case lost(event.PhaseEnd)(ev):
			ends++
			if ev.EventID != id || ev.EndedAt == nil || !ev.EndedAt.After(ev.StartedAt.Time) {
				t.Errorf("end %+v does not close start %s", ev, id)
			}
		}
	}
	if starts != 1 || ends != 1 {
		t.Errorf("%d starts and %d ends of video loss, want one situation", starts, ends)
	}
}

// TestFaultResolutionChange: the camera switches from 640x360 to 320x180
// mid-stream (new SPS/PPS in band, same session). Analysis follows the
// new size without a reconnect.
func TestFaultResolutionChange(t *testing.T) {
	sim := faultSim(t, simcam.Config{Scene: scene.Walker(640, 360, 25)})
	r := superviseRig(t, rigConfig{url: sim.URL(), width: 640, timeout: 5 * time.Second})
	r.streamingFor(1)
	r.waitFor("analysis at 640", func(_ []event.CameraStatus, st Stats) bool {
		return st.LastAnalysisWidth == 640 && st.Analysed >= 3
	})
	if err := sim.SwitchScene(scene.Walker(320, 180, 25)); err != nil {
		t.Fatal(err)
	}
	r.waitFor("analysis at 320", func(_ []event.CameraStatus, st Stats) bool {
		return st.LastAnalysisWidth == 320
	})
	r.analysedMore(10)
	if err := sim.SwitchScene(scene.Walker(640, 360, 25)); err != nil {
		t.Fatal(err)
	}
	r.waitFor("analysis back at 640", func(_ []event.CameraStatus, st Stats) bool {
		return st.LastAnalysisWidth == 640
	})
	r.analysedMore(10)
	r.stop()
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	if st := r.cam.Stats(); st.SessionsStarted != 1 {
		t.Errorf("%d sessions: a resolution change must not need a reconnect%s", st.SessionsStarted, fmtStates(states))
	}
	// Session, streaming, and one line per format change (decoder and camera).
	checkLogBound(t, r, 10)
}

// TestFaultTimestampJump: the camera's RTP timestamps jump forward an
// hour and back 30 s within one session; frames keep being analysed.
func TestFaultTimestampJump(t *testing.T) {
	sim := faultSim(t, simcam.Config{})
	r := superviseRig(t, rigConfig{url: sim.URL(), timeout: 5 * time.Second})
	r.streamingFor(1)
	r.analysedMore(3)
	sim.JumpTimestamps(time.Hour)
	r.analysedMore(10)
	sim.JumpTimestamps(-time.Hour - 30*time.Second)
	r.analysedMore(10)
	r.stop()
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	if st := r.cam.Stats(); st.SessionsStarted != 1 {
		t.Errorf("%d sessions: a timestamp jump must not end the session%s", st.SessionsStarted, fmtStates(states))
	}
	checkLogBound(t, r, 6)
}

// TestFaultUDPLossAndReorder: 5 % loss and 5 % reordering on UDP. The
// decoder resyncs at key frames (the lost access units are skipped), the
// session stays up and analysis continues.
func TestFaultUDPLossAndReorder(t *testing.T) {
	// A low bit rate keeps frames to a few packets, so that whole GOPs
	// survive often enough for the test to be quick.
	sim := faultSim(t, simcam.Config{UDP: true, BitrateKbps: 300,
		Impairment: simcam.Impairment{LossRate: 0.05, ReorderRate: 0.05, Seed: 3}})
	r := superviseRig(t, rigConfig{url: sim.URL(), transport: "udp", timeout: 5 * time.Second})
	r.streamingFor(1)
	r.analysedMore(10)
	r.stop()
	st := r.cam.Stats()
	dropped, reordered := sim.Impaired()
	if dropped == 0 || reordered == 0 {
		t.Fatalf("impairment did nothing: %d dropped, %d reordered", dropped, reordered)
	}
	// Access units broken by loss are not decoded: fewer pictures than
	// units received.
	if st.Decoded >= st.AccessUnits {
		t.Errorf("decoded %d of %d access units despite loss", st.Decoded, st.AccessUnits)
	}
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	if st.SessionsStarted != 1 {
		t.Errorf("%d sessions: loss must not end the session%s", st.SessionsStarted, fmtStates(states))
	}
	t.Logf("stats %+v; server dropped %d, reordered %d", st, dropped, reordered)
	checkLogBound(t, r, 10)
}

// TestFaultBrokenCamera: a camera that answers with garbage, hangs up, or
// never answers at one RTSP step: each attempt fails within the step
// time-out, the status gives the generic reason once, the log names the
// step, and retries back off.
func TestFaultBrokenCamera(t *testing.T) {
	for _, tt := range []struct {
		step   string
		reply  simcam.Reply
		reason string
	}{
		// The client cannot parse garbage as a reply and waits for one.
		{"OPTIONS", simcam.ReplyGarbage, ReasonTimeout},
		{"DESCRIBE", simcam.ReplyGarbage, ReasonTimeout},
		{"DESCRIBE", simcam.ReplyClose, ReasonConnectionClosed},
		{"OPTIONS", simcam.ReplySilent, ReasonTimeout},
		{"DESCRIBE", simcam.ReplySilent, ReasonTimeout},
		{"SETUP", simcam.ReplySilent, ReasonTimeout},
		{"PLAY", simcam.ReplySilent, ReasonTimeout},
	} {
		t.Run(tt.reply.String()+"/"+tt.step, func(t *testing.T) {
			srv, err := simcam.StartScript(simcam.ScriptConfig{Replies: map[string]simcam.Reply{tt.step: tt.reply},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			b := Backoff{Initial: 20 * time.Millisecond, Max: 80 * time.Millisecond, Healthy: time.Hour}
			r := superviseRig(t, rigConfig{url: srv.URL(), timeout: 100 * time.Millisecond, backoff: b})
			const attempts = 4
			// The next attempt started: this many have failed.
			r.waitFor("failed attempts", func(_ []event.CameraStatus, st Stats) bool {
				return st.SessionsStarted >= attempts+1
			})
			r.stop()
			_, states := r.rec.snapshot()
			assertTransitions(t, states)
			// Issue 18 item 5: the status names the kind of failure, not
			// the step (whose text quotes the URL); the log keeps the step.
			if n := count(states, func(s event.CameraStatus) bool {
				return s.State == event.StateOffline && s.Error == tt.reason
			}); n != 1 {
				t.Errorf("%d offline %q statuses over %d attempts, want 1%s", n, tt.reason, attempts, fmtStates(states))
			}
			for _, s := range states {
				if s.State == event.StateStreaming || s.State == event.StateError {
					t.Errorf("status %s for a broken camera", s.State)
				}
			}
			if logs := r.logs.String(); !strings.Contains(logs, tt.step+" ") {
				t.Errorf("log does not name the step %s:\n%s", tt.step, logs)
			}
			at := r.attemptTimes()
			checkSpacing(t, at, b, false)
			// At most one warning per failed attempt.
			checkLogBound(t, r, len(at)+2)
		})
	}
}

// checkSlowRetries: attempts after a permanent error (the error status is
// published once and stays) are at least Max/2 apart on average, a lower
// bound only: a sleep is never short.
func checkSlowRetries(t *testing.T, r *faultRig, b Backoff) {
	t.Helper()
	st := r.cam.Stats()
	elapsed := time.Since(r.started)
	if min := time.Duration(st.SessionsStarted-1) * b.Max / 2; elapsed < min {
		t.Errorf("%d attempts in %v, want at least %v between them", st.SessionsStarted, elapsed, b.Max/2)
	}
	_, states := r.rec.snapshot()
	if n := count(states, isState(event.StateError)); n != 1 {
		t.Errorf("error published %d times, want once while it lasts%s", n, fmtStates(states))
	}
}

// checkSpacing: consecutive attempts (the camera's own attempt times) are
// at least the jittered back-off apart. Only lower bounds: a sleep is
// never short.
func checkSpacing(t *testing.T, attempts []time.Time, b Backoff, atMax bool) {
	t.Helper()
	if len(attempts) < 2 {
		t.Fatalf("%d attempts: nothing to space", len(attempts))
	}
	wait := b.Initial
	for i := 1; i < len(attempts); i++ {
		want := wait / 2 // full jitter keeps at least half
		if atMax {
			want = b.Max / 2
		}
		if gap := attempts[i].Sub(attempts[i-1]); gap < want {
			t.Errorf("attempts %d and %d %v apart, want ≥ %v (gaps%s)", i, i+1, gap, want, fmtAttempts(attempts))
		}
		wait = min(wait*2, b.Max)
	}
}

// TestFaultWrongPassword: a clear error status "unauthorized", retries at
// the slow (Max) interval only, and one log line per attempt that never
// contains the password.
func TestFaultWrongPassword(t *testing.T) {
	sim := faultSim(t, simcam.Config{Username: "admin", Password: "right-Pa55"})
	url := strings.Replace(sim.URL(), "right-Pa55", "wrong-Pa55", 1)
	b := Backoff{Initial: time.Millisecond, Max: 150 * time.Millisecond, Healthy: time.Hour}
	r := superviseRig(t, rigConfig{url: url, timeout: 5 * time.Second, backoff: b})
	const attempts = 4
	r.waitFor("unauthorized attempts", func(states []event.CameraStatus, st Stats) bool {
		return count(states, isState(event.StateError)) >= 1 && st.SessionsStarted >= attempts
	})
	r.stop()
	// The error stays on the retained topic while retrying: published once.
	checkSlowRetries(t, r, b)
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	for _, s := range states {
		if s.State == event.StateError && s.Error != "unauthorized" {
			t.Errorf("error status %q, want exactly \"unauthorized\"", s.Error)
		}
		if s.State == event.StateStreaming || s.State == event.StateOffline && s.Error != "" {
			t.Errorf("unexpected status %s %q", s.State, s.Error)
		}
	}
	// Every retry waits the slow interval, from the first failure on.
	at := r.attemptTimes()
	checkSpacing(t, at, b, true)
	checkLogBound(t, r, len(at)+2)
	logs := r.logs.String()
	for _, secret := range []string{"wrong-Pa55", "right-Pa55"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the password %q", secret)
		}
	}
}

// TestFaultUnsupportedCodec: a camera offering only MJPEG or AV1 video is
// an error status naming the codec, not a crash, retried slowly.
func TestFaultUnsupportedCodec(t *testing.T) {
	for _, tt := range []struct{ offer, name string }{{"mjpeg", "M-JPEG"}, {"av1", "AV1"}} {
		t.Run(tt.offer, func(t *testing.T) {
			sim := faultSim(t, simcam.Config{OfferCodec: tt.offer})
			b := Backoff{Initial: time.Millisecond, Max: 100 * time.Millisecond, Healthy: time.Hour}
			r := superviseRig(t, rigConfig{url: sim.URL(), timeout: 5 * time.Second, backoff: b})
			r.waitFor("error status", func(states []event.CameraStatus, st Stats) bool {
				return count(states, isState(event.StateError)) >= 1 && st.SessionsStarted >= 3
			})
			r.stop()
			checkSlowRetries(t, r, b)
			_, states := r.rec.snapshot()
			assertTransitions(t, states)
			for _, s := range states {
				if s.State == event.StateError && !strings.Contains(s.Error, tt.name) {
					t.Errorf("error status %q does not name %s", s.Error, tt.name)
				}
			}
			checkSpacing(t, r.attemptTimes(), b, true)
			if got := sim.Setups(); len(got) != 0 {
				t.Errorf("SETUPs %v for an unusable stream", got)
			}
		})
	}
}

// TestFaultBackoffGrows: a camera that refuses connections is retried
// with growing waits (exponential from Initial, jitter keeps at least
// half). Upper bounds (the cap) need an injectable clock in Supervise.
func TestFaultBackoffGrows(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Healthy: time.Hour}
	r := superviseRig(t, rigConfig{url: "rtsp://" + addr + "/x", timeout: time.Second, backoff: b})
	r.waitFor("six attempts", func(_ []event.CameraStatus, st Stats) bool {
		return st.SessionsStarted >= 6
	})
	r.stop()
	_, states := r.rec.snapshot()
	assertTransitions(t, states)
	at := r.attemptTimes()
	checkSpacing(t, at, b, false)
	checkLogBound(t, r, len(at)+2)
}
