package camera

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// recorder is a Sink that keeps everything and signals each event.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	states []event.CameraStatus
	signal chan event.Event
}

func newRecorder() *recorder { return &recorder{signal: make(chan event.Event, 100)} }

func (r *recorder) Event(_ context.Context, ev event.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.signal <- ev
	return nil
}

func (r *recorder) Status(_ context.Context, st event.CameraStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, st)
	return nil
}

func (r *recorder) snapshot() ([]event.Event, []event.CameraStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events), slices.Clone(r.states)
}

func startSim(t *testing.T, sc scene.Config, user, pass string) *simcam.Server {
	t.Helper()
	s, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264, Scene: sc,
		ClipSeconds: 10, Audio: true, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testCamera(t *testing.T, url string, zones []geometry.Polygon, sink Sink) *Camera {
	t.Helper()
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	c, err := New(Config{Device: "d", ID: "c", URL: url, AnalysisFPS: 5, AnalysisWidth: 320, Motion: m,
		Rules: withMotion(nil), Zones: privacymask.NewZones(zones), Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPrivacyZoneHidesMotion: motion only inside a privacy zone produces no
// event, and every frame analysis receives has the zone's pixels filled
// (invariant 2) — while the same stream without the zone does produce one.
func TestPrivacyZoneHidesMotion(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for 11 s")
	}
	sim := startSim(t, scene.Walker(640, 360, 25), "", "")
	// The walker crosses at y 0.56–0.60 with a quarter-frame height.
	zone := []geometry.Polygon{{{X: 0, Y: 0.35}, {X: 1, Y: 0.35}, {X: 1, Y: 0.85}, {X: 0, Y: 0.85}}}
	masked, open := newRecorder(), newRecorder()
	mc := testCamera(t, sim.URL(), zone, masked)
	var checked, leaked int
	var mu sync.Mutex
	mc.inspect = func(m gocv.Mat) {
		buf, _ := m.DataPtrUint8()
		w, h := m.Cols(), m.Rows()
		mu.Lock()
		defer mu.Unlock()
		checked++
		for y := int(0.35*float64(h)) + 1; y < int(0.85*float64(h)); y++ {
			for x := range w {
				if buf[y*w+x] != privacymask.Fill {
					leaked++
				}
			}
		}
	}
	oc := testCamera(t, sim.URL(), nil, open)
	// One clip loop and a bit: the figure is in frame 3–9 s of every 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 11*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range []*Camera{mc, oc} {
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx) }()
	}
	wg.Wait()
	mevs, _ := masked.snapshot()
	oevs, _ := open.snapshot()
	if len(mevs) != 0 {
		t.Errorf("motion inside the privacy zone produced events: %+v", mevs)
	}
	if len(oevs) == 0 {
		t.Errorf("the same stream without the zone produced no event (stats %+v)", oc.Stats())
	}
	mu.Lock()
	defer mu.Unlock()
	if checked < 20 || leaked != 0 {
		t.Errorf("checked %d frames, %d zone pixels carried source data", checked, leaked)
	}
}

// TestStopEndsSituation: cancelling a camera mid-situation sends the end.
func TestStopEndsSituation(t *testing.T) {
	if testing.Short() {
		t.Skip("streams")
	}
	sim := startSim(t, scene.Walker(320, 180, 25), "", "")
	rec := newRecorder()
	c := testCamera(t, sim.URL(), nil, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var start event.Event
	select {
	case start = <-rec.signal:
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("no start event")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	evs, _ := rec.snapshot()
	last := evs[len(evs)-1]
	if start.Phase != event.PhaseStart || last.Phase != event.PhaseEnd || last.EventID != start.EventID {
		t.Fatalf("events %+v: want the start closed by an end", evs)
	}
}

// TestSuperviseUnauthorized: a wrong password is a clear error state.
func TestSuperviseUnauthorized(t *testing.T) {
	sim := startSim(t, scene.Static(320, 180, 25), "admin", "right")
	rec := newRecorder()
	url := "rtsp://admin:wrong@" + sim.URL()[len("rtsp://admin:right@"):]
	c := testCamera(t, url, nil, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Supervise(ctx, c, Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Healthy: time.Minute})
	}()
	deadline := time.Now().Add(30 * time.Second) // hang guard
	for {
		_, states := rec.snapshot()
		if slices.ContainsFunc(states, func(s event.CameraStatus) bool {
			return s.State == event.StateError && s.Error == "unauthorized"
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no unauthorized status: %+v", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	_, states := rec.snapshot()
	if last := states[len(states)-1]; last.State != event.StateOffline {
		t.Errorf("last status %+v, want offline after stop", last)
	}
	for _, s := range states {
		if s.Camera != "c" || s.Device != "d" || s.Since.IsZero() {
			t.Errorf("status %+v", s)
		}
	}
}

func TestAnalysisSize(t *testing.T) {
	for _, tt := range []struct{ sw, sh, w, ww, wh int }{
		{1920, 1080, 640, 640, 360},
		{640, 360, 640, 640, 360},
		{320, 240, 640, 320, 240},
		{2560, 1440, 641, 640, 360},
		{1280, 720, 100, 100, 56},
	} {
		if w, h := analysisSize(tt.sw, tt.sh, tt.w); w != tt.ww || h != tt.wh {
			t.Errorf("analysisSize(%d,%d,%d) = %dx%d, want %dx%d", tt.sw, tt.sh, tt.w, w, h, tt.ww, tt.wh)
		}
	}
}

func TestLatestSlotKeepsNewest(t *testing.T) {
	var dropped int
	p := &framePool{}
	defer p.Close()
	s := newLatestSlot(func(m *gocv.Mat) { dropped++; p.put(m) })
	for i := range 3 {
		s.offer(analysisFrame{mat: p.get(4, 2), at: int64(i)})
	}
	f, ok := s.take()
	if !ok || f.at != 2 || dropped != 2 {
		t.Fatalf("take = %v %v, dropped %d", f.at, ok, dropped)
	}
	p.put(f.mat)
	if _, ok := s.take(); ok {
		t.Fatal("slot not empty after take")
	}
	// A dropped frame's Mat went back to the pool and was reused by the
	// third offer: two Mats for three frames.
	if n := len(p.all); n != 2 {
		t.Fatalf("pool made %d Mats", n)
	}
	m := p.get(4, 2)
	if len(p.all) != 2 {
		t.Fatal("pool did not reuse a free Mat")
	}
	p.put(m)
	// A size change retires the old Mats.
	p.put(p.get(8, 4))
	if len(p.all) != 1 {
		t.Fatalf("after size change the pool holds %d Mats", len(p.all))
	}
}

func TestFPSEstimator(t *testing.T) {
	var e fpsEstimator
	var fps float64
	var ok bool
	for i := range fpsSample {
		fps, ok = e.observe(time.Duration(i) * 40 * time.Millisecond)
	}
	if !ok || fps != 25 {
		t.Fatalf("fps %v %v", fps, ok)
	}
}
