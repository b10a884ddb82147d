package camera

import (
	"context"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestPatternRules: a figure walking across the frame crosses a configured
// line; the camera sends a line_crossing start and end naming the line,
// with its own event id, alongside the motion situation, all on one
// sequence counter.
func TestPatternRules(t *testing.T) {
	if testing.Short() {
		t.Skip("streams")
	}
	sim := startSim(t, scene.Walker(640, 360, 25), "", "")
	rec := newRecorder()
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	// The walker goes left to right across the middle, feet at y ≈ 0.7.
	gate := geometry.Line{A: geometry.Point{X: 0.5, Y: 0.95}, B: geometry.Point{X: 0.5, Y: 0.35}}
	rules := func() ([]pattern.Rule, error) {
		r, err := pattern.NewLineCrossing(pattern.LineConfig{Name: "gate-rule", LineName: "gate", Line: gate})
		return []pattern.Rule{r}, err
	}
	c, err := New(Config{Device: "d", ID: "c", URL: sim.URL(), AnalysisFPS: 5, AnalysisWidth: 320, Motion: m,
		Rules: withMotion(rules), Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var start event.Event
	timeout := time.After(60 * time.Second) // hang guard
	for start.Type != pattern.TypeLineCrossing {
		select {
		case start = <-rec.signal:
		case <-timeout:
			evs, _ := rec.snapshot()
			t.Fatalf("no line_crossing start; events %+v", evs)
		}
	}
	cancel()
	<-done
	evs, _ := rec.snapshot()
	var seq uint64
	var motionStart, lineEnd bool
	for _, ev := range evs {
		if ev.Seq <= seq {
			t.Errorf("seq %d after %d: one counter for every event of the camera", ev.Seq, seq)
		}
		seq = ev.Seq
		switch {
		case ev.Type == "motion" && ev.Phase == event.PhaseStart:
			motionStart = true
		case ev.Type == pattern.TypeLineCrossing && ev.Phase == event.PhaseEnd:
			lineEnd = ev.EventID == start.EventID
		}
		if ev.Type == pattern.TypeLineCrossing && ev.EventID != start.EventID {
			t.Errorf("line_crossing event %+v: want one situation", ev)
		}
	}
	if start.Phase != event.PhaseStart || start.Zone != "gate" || start.Count != 1 || len(start.Boxes) != 1 {
		t.Errorf("start %+v: want phase start, zone gate, one object and its box", start)
	}
	if !motionStart || !lineEnd {
		t.Errorf("events %+v: want a motion start and the line_crossing ended", evs)
	}
}

// TestNoMotionEvents: with motion events off, the rules still see the
// motion detector's blobs and report; no motion event is sent. Frames go
// straight into the analyser (no RTSP), at 5 frames/s of scene time.
func TestNoMotionEvents(t *testing.T) {
	const w, h = 320, 180
	sc := scene.New(scene.Walker(w, h, 25))
	y, u, v := sc.NewFrame()
	gate := geometry.Line{A: geometry.Point{X: 0.5, Y: 0.95}, B: geometry.Point{X: 0.5, Y: 0.35}}
	rec := &recorder{signal: make(chan event.Event, 1000)}
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	// Motion events off: the rules are the pattern rules alone.
	c, err := New(Config{ID: "c", URL: "rtsp://h/", Motion: m, Sink: rec, Rules: func() ([]pattern.Rule, error) {
		r, err := pattern.NewLineCrossing(pattern.LineConfig{Name: "gate-rule", LineName: "gate", Line: gate})
		return []pattern.Rule{r}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	pool := &framePool{}
	defer pool.Close()
	a := &analyser{cam: c, pool: pool}
	defer a.close()
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for n := 0; n < 10*25; n += 5 {
		sc.Render(n, y, u, v)
		f := pool.get(w, h)
		buf, _ := f.DataPtrUint8()
		copy(buf, y[:w*h])
		a.analyse(ctx, analysisFrame{mat: f, at: t0.Add(time.Duration(n) * 40 * time.Millisecond).UnixNano()})
	}
	evs, _ := rec.snapshot()
	var types []string
	for _, ev := range evs {
		types = append(types, string(ev.Type)+" "+string(ev.Phase))
	}
	if len(types) != 2 || types[0] != "line_crossing start" || types[1] != "line_crossing end" || evs[0].Zone != "gate" {
		t.Errorf("events %v: want one line_crossing start and end, no motion", types)
	}
}
