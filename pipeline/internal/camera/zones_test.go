package camera

import (
	"context"
	"image"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// keepSnapshots is a SnapshotSink that keeps the first frame it gets.
type keepSnapshots struct {
	mu    sync.Mutex
	first *gocv.Mat
	got   chan struct{}
}

func (k *keepSnapshots) Wanted() bool { return true }

func (k *keepSnapshots) Submit(frame *gocv.Mat, _, _ string, _ []image.Rectangle) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.first != nil {
		frame.Close()
		return
	}
	k.first = frame
	close(k.got)
}

// filledWhereMasked counts the pixels of frame that the mask covers but
// that carry source data in some channel.
func filledWhereMasked(t *testing.T, frame gocv.Mat, m *privacymask.Mask) (covered, leaked int) {
	t.Helper()
	w, h := m.Size()
	if frame.Cols() != w || frame.Rows() != h {
		t.Fatalf("frame %dx%d, mask %dx%d", frame.Cols(), frame.Rows(), w, h)
	}
	data, err := frame.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	c := frame.Channels()
	for y := range h {
		for x := range w {
			if !m.Covers(x, y) {
				continue
			}
			covered++
			for k := range c {
				if data[(y*w+x)*c+k] != privacymask.Fill {
					leaked++
					break
				}
			}
		}
	}
	return covered, leaked
}

// TestSnapshotMaskedLikeAnalysis: the decode path (grey, analysis size)
// and the snapshot path (BGR, snapshot size) fill the zones with the same
// zones' masks, the ones Zones.Mask returns for those sizes and formats
// (which TestSameMaskEverywhere in privacymask checks against each other
// and against New).
func TestSnapshotMaskedLikeAnalysis(t *testing.T) {
	if testing.Short() {
		t.Skip("streams up to 12 s")
	}
	sim := startSim(t, scene.Walker(640, 360, 25), "", "")
	// Above and beside the walker's path, with slanted edges.
	zones := privacymask.NewZones([]geometry.Polygon{
		{{X: 0, Y: 0}, {X: 0.6, Y: 0}, {X: 0.45, Y: 0.3}, {X: 0, Y: 0.25}},
		{{X: 0.8, Y: 0.1}, {X: 1, Y: 0.05}, {X: 0.97, Y: 0.4}},
	})
	snaps := &keepSnapshots{got: make(chan struct{})}
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	c, err := New(Config{Device: "d", ID: "c", URL: sim.URL(), AnalysisFPS: 5, AnalysisWidth: 320, SnapshotWidth: 640,
		Motion: m, Rules: withMotion(nil), Zones: zones, Snapshots: snaps, Sink: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var frames, covered, leaked int
	c.inspect = func(f gocv.Mat) {
		mask, err := zones.Mask(f.Cols(), f.Rows(), privacymask.Grey)
		if err != nil {
			t.Error(err)
			return
		}
		cv, lk := filledWhereMasked(t, f, mask)
		mu.Lock()
		frames, covered, leaked = frames+1, covered+cv, leaked+lk
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	select {
	case <-snaps.got:
	case <-done:
	}
	cancel()
	<-done

	mu.Lock()
	if frames < 10 || covered == 0 || leaked != 0 {
		t.Errorf("analysis: %d frames, %d masked pixels, %d carried source data", frames, covered, leaked)
	}
	mu.Unlock()
	snaps.mu.Lock()
	defer snaps.mu.Unlock()
	if snaps.first == nil {
		t.Fatalf("no snapshot (stats %+v)", c.Stats())
	}
	defer snaps.first.Close()
	f := *snaps.first
	if f.Channels() != 3 || f.Cols() != 640 {
		t.Fatalf("snapshot %dx%d with %d channels", f.Cols(), f.Rows(), f.Channels())
	}
	mask, err := zones.Mask(f.Cols(), f.Rows(), privacymask.BGR)
	if err != nil {
		t.Fatal(err)
	}
	if cv, lk := filledWhereMasked(t, f, mask); cv == 0 || lk != 0 {
		t.Errorf("snapshot: %d masked pixels, %d carried source data", cv, lk)
	}
}

// TestSetZonesKeepsEqual: a reload that leaves a camera's zones as they
// were keeps the Zones, and with it the masks already built.
func TestSetZonesKeepsEqual(t *testing.T) {
	poly := []geometry.Polygon{{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0, Y: 0.5}}}
	c := testCamera(t, "rtsp://127.0.0.1:1/x", poly, newRecorder())
	first := c.zones.Load()
	c.SetZones(privacymask.NewZones(poly))
	if c.zones.Load() != first {
		t.Fatal("equal zones replaced the current ones")
	}
	other := privacymask.NewZones(poly[:0])
	c.SetZones(other)
	if c.zones.Load() != other {
		t.Fatal("other zones not taken")
	}
	c.SetZones(nil)
	if z := c.zones.Load(); z == nil || z.Len() != 0 {
		t.Fatal("nil zones")
	}
}
