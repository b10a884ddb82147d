//go:build matprofile

package camera

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// countingPublisher drops snapshots and counts them.
type countingPublisher struct{ n atomic.Int64 }

func (p *countingPublisher) PublishSnapshot(context.Context, string, string, []byte) error {
	p.n.Add(1)
	return nil
}

// wantAll makes the camera ask for a snapshot at every situation start.
type wantAll struct{ *snapshot.Worker }

func (wantAll) Wanted() bool { return true }

// TestMatLeak runs the camera pipeline as the service does — a real RTSP
// camera (simcam, libx264, 1080p), decoding, the privacy mask, analysis
// with every pattern rule of the evaluation (so every pixel stage runs),
// situations with snapshots anonymised (face detection) and JPEG-encoded —
// through two sessions and a change of privacy zones, stops everything, and
// checks with gocv's Mat profile that every Mat made on the way was closed.
//
// Build tag matprofile (make leakcheck): only then does gocv count Mats.
func TestMatLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for about 25 s")
	}
	start := gocv.MatProfile.Count()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	sim, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264,
		Scene: scene.Walker(1920, 1080, 25), ClipSeconds: 10, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	anon, err := anonymise.New(anonymise.Config{Persons: true, Timeout: time.Minute, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{}
	worker := snapshot.New(snapshot.Config{Anonymiser: func() *anonymise.Anonymiser { return anon },
		Publisher: pub, Logger: log})
	wctx, stopWorker := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); worker.Run(wctx) }()

	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	rec := newRecorder()
	cam, err := New(Config{Device: "d", ID: "c", URL: sim.URL(), AnalysisFPS: 5, AnalysisWidth: 640, Motion: m,
		Rules:     withMotion(func() ([]pattern.Rule, error) { return eval.Rules(), nil }),
		Zones:     privacymask.NewZones([]geometry.Polygon{{{X: 0, Y: 0}, {X: 0.2, Y: 0}, {X: 0.2, Y: 0.2}}}),
		Snapshots: wantAll{worker}, Sink: rec, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// Drain the recorder's signal channel; the events themselves are kept.
	go func() {
		for range rec.signal {
		}
	}()

	// Two sessions (the supervisor's reconnect), the second with other
	// privacy zones set while it runs (the masks are rebuilt). Mats in use
	// are sampled while streaming: a leak per frame would show as growth.
	var peak, mid int
	for session, d := range []time.Duration{12 * time.Second, 12 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		done := make(chan struct{})
		go func() {
			defer close(done)
			cam.Run(ctx)
		}()
		tick := time.NewTicker(500 * time.Millisecond)
		for i := 0; ; i++ {
			select {
			case <-done:
			case <-tick.C:
				n := gocv.MatProfile.Count() - start
				peak = max(peak, n)
				if session == 1 && i == 6 {
					cam.SetZones(privacymask.NewZones([]geometry.Polygon{{{X: 0.8, Y: 0.8}, {X: 1, Y: 0.8}, {X: 1, Y: 1}}}))
				}
				if session == 1 && i == 20 {
					mid = n
				}
				continue
			}
			break
		}
		tick.Stop()
		cancel()
	}
	stopWorker()
	wg.Wait()
	anon.Close()

	st := cam.Stats()
	evs, _ := rec.snapshot()
	ws := worker.Stats()
	t.Logf("analysed %d frames in %d sessions, %d events, %d snapshots submitted, %d published; Mats open while streaming: peak %d, late in session 2: %d",
		st.Analysed, st.SessionsStarted, len(evs), ws.Submitted, pub.n.Load(), peak, mid)
	if st.Analysed < 50 || st.SessionsStarted != 2 {
		t.Fatalf("the pipeline did not run: %+v", st)
	}
	if len(evs) == 0 || ws.Submitted == 0 {
		t.Errorf("no situation or no snapshot (events %d, snapshots %d): the leak check did not cover those paths", len(evs), ws.Submitted)
	}
	if end := gocv.MatProfile.Count(); end != start {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%d Mats not closed (count %d at start, %d at the end); made at:\n%s", end-start, start, end, b.String())
	}
}
