package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
	"github.com/edgeguard/edgeguard/policy"
)

// testLogger keeps test output readable; -v shows the service's log.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startCamera starts a simulated camera with an audio track.
func startCamera(t *testing.T, c codec.Codec, sc scene.Config, clip int) *simcam.Server {
	t.Helper()
	s, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: c, Scene: sc, ClipSeconds: clip, Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// testConfig is a configuration for the cameras in cams, with its outbox
// on disk in a directory of the test's own: without outbox.dir the service
// would use the default state directory, /var/lib/edgeguard when tests run
// as root, and tests would share (and replay) each other's events.
func testConfig(t testing.TB, brokerURL string, cams map[string]string) *config.Config {
	cfg := config.Defaults()
	cfg.Device = "e2e"
	cfg.MQTT.Broker = brokerURL
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Outbox.Dir = t.TempDir()
	for _, id := range slices.Sorted(maps.Keys(cams)) {
		c := config.Camera{ID: id, URL: cams[id], Enabled: true, CameraSettings: cfg.Defaults}
		c.Motion.Warmup = 2 * time.Second
		c.Motion.QuietTime = 2 * time.Second
		cfg.Cameras = append(cfg.Cameras, c)
	}
	return &cfg
}

func events(msgs []mosquittotest.Message, cam string) []event.Event {
	var out []event.Event
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/"+cam+"/events") {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(m.Payload, &ev); err == nil {
			out = append(out, ev)
		}
	}
	return out
}

// crossing finds the first whole situation — a start, its end, every
// message in between belonging to it — that lasted at least 3 s, i.e. one
// walk of the figure through the frame rather than one cut by warm-up.
func crossing(evs []event.Event) (start, end event.Event, ok bool) {
	for i, s := range evs {
		if s.Phase != event.PhaseStart {
			continue
		}
		for _, e := range evs[i+1:] {
			if e.EventID != s.EventID {
				break
			}
			if e.Phase == event.PhaseEnd && e.EndedAt != nil && e.EndedAt.Sub(s.StartedAt.Time) >= 3*time.Second {
				return s, e, true
			}
		}
	}
	return event.Event{}, event.Event{}, false
}

// TestEndToEnd runs the service against a real Mosquitto and real RTSP
// servers streaming H.264 and H.265 with an audio track: motion produces a
// start and an end, a static scene with sensor noise and light drift
// produces nothing, and no camera ever saw a SETUP for its audio track.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")

	walker := scene.Walker(640, 360, 25)
	static := scene.Static(640, 360, 25)
	servers := map[string]*simcam.Server{
		"h264-motion": startCamera(t, codec.H264, walker, 14),
		"h265-motion": startCamera(t, codec.H265, walker, 14),
		"h264-static": startCamera(t, codec.H264, static, 14),
		"h265-static": startCamera(t, codec.H265, static, 14),
	}
	urls := map[string]string{}
	for id, s := range servers {
		urls[id] = s.URL()
	}
	cfg := testConfig(t, mq.URL(), urls)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t)}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// Motion cameras: a start and an end. The figure crosses at 3–9 s of
	// each 14 s loop; the cameras stream from before the service connects,
	// so the first situation may be cut short by the warm-up: wait for one
	// whole crossing.
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		_, _, ok1 := crossing(events(m, "h264-motion"))
		_, _, ok2 := crossing(events(m, "h265-motion"))
		return ok1 && ok2
	}, 120*time.Second)
	for _, cam := range []string{"h264-motion", "h265-motion"} {
		evs := events(msgs, cam)
		start, end, _ := crossing(evs)
		for i, ev := range evs {
			if ev.Schema != event.Schema || ev.Device != "e2e" || ev.Camera != cam || ev.Type != "motion" {
				t.Errorf("%s: event %d: %+v", cam, i, ev)
			}
			if ev.Policy == nil || ev.Policy.Name != policy.Default().Name || ev.Policy.SHA256 == "" {
				t.Errorf("%s: event %d does not name the policy: %+v", cam, i, ev.Policy)
			}
			if len(ev.Boxes) != 0 || ev.Count != 0 {
				t.Errorf("%s: default policy let boxes/count out: %+v", cam, ev)
			}
			if i > 0 && ev.Seq <= evs[i-1].Seq {
				t.Errorf("%s: seq not increasing: %d after %d", cam, ev.Seq, evs[i-1].Seq)
			}
			if i > 0 && ev.ID == evs[i-1].ID {
				t.Errorf("%s: duplicate id %s", cam, ev.ID)
			}
		}
		// The figure is visible for 6 s.
		if d := end.EndedAt.Sub(start.StartedAt.Time); d > 10*time.Second {
			t.Errorf("%s: situation lasted %v, figure was visible 6 s", cam, d)
		}
	}

	// Static cameras: let them run a whole clip loop past warm-up, then
	// there must be no event at all.
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		var n int
		for _, x := range m {
			if strings.Contains(x.Topic, "-static/status") && strings.Contains(string(x.Payload), `"streaming"`) {
				n++
			}
		}
		return n == 2
	}, 30*time.Second)
	time.Sleep(16 * time.Second)
	msgs = sub.Messages()
	for _, cam := range []string{"h264-static", "h265-static"} {
		if evs := events(msgs, cam); len(evs) > 0 {
			t.Errorf("%s: static scene with noise and drift produced events: %+v", cam, evs)
		}
	}

	// Invariant 1: no camera saw a SETUP for its audio track.
	for id, s := range servers {
		if got := s.Setups(); len(got) == 0 || slices.Contains(got, "audio") || slices.ContainsFunc(got, func(m string) bool { return m != "video" }) {
			t.Errorf("%s: SETUP requests %v, want video only", id, got)
		}
	}

	// Camera status is retained JSON with codec and size.
	for _, m := range msgs {
		if m.Topic == "edgeguard/e2e/h265-motion/status" && strings.Contains(string(m.Payload), "streaming") {
			var st event.CameraStatus
			if err := json.Unmarshal(m.Payload, &st); err != nil || st.Codec != "h265" || st.Width != 640 || st.Height != 360 || st.FPS < 24 || st.FPS > 26 {
				t.Errorf("status %s: %+v %v", m.Payload, st, err)
			}
		}
	}
	if !slices.ContainsFunc(msgs, func(m mosquittotest.Message) bool {
		return m.Topic == "edgeguard/e2e/status" && string(m.Payload) == event.DeviceOnline
	}) {
		t.Errorf("no online status: %s", mosquittotest.Dump(msgs))
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(msgs))
	}
}
