package camera

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestLiveFrame: a live frame is asked for on demand and comes at the
// analysis size in BGR with the privacy zones filled, like a snapshot;
// after a while of watching analysis has noted the moving areas. Without
// a session the request ends with ErrNoLiveFrame.
func TestLiveFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a few seconds")
	}
	sim := startSim(t, scene.Walker(640, 360, 25), "", "")
	zones := privacymask.NewZones([]geometry.Polygon{{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0.5, Y: 0.3}, {X: 0, Y: 0.3}}})
	m := motion.DefaultConfig()
	m.WarmupFrames = 5
	c, err := New(Config{Device: "d", ID: "c", URL: sim.URL(), AnalysisFPS: 5, AnalysisWidth: 320,
		Motion: m, Rules: withMotion(nil), Zones: zones, Sink: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if _, err := c.LiveFrame(short); !errors.Is(err, ErrNoLiveFrame) {
		t.Errorf("live frame without a session: %v, want ErrNoLiveFrame", err)
	}
	cancelShort()

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var known bool
	for i := 0; i < 40 && !known; i++ {
		f, err := c.LiveFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Frame.Cols() != 320 || f.Frame.Channels() != 3 {
			t.Fatalf("live frame %dx%d with %d channels, want 320 wide BGR", f.Frame.Cols(), f.Frame.Rows(), f.Frame.Channels())
		}
		mask, err := zones.Mask(f.Frame.Cols(), f.Frame.Rows(), privacymask.BGR)
		if err != nil {
			t.Fatal(err)
		}
		if cv, lk := filledWhereMasked(t, f.Frame, mask); cv == 0 || lk != 0 {
			t.Errorf("live frame: %d masked pixels, %d carried source data", cv, lk)
		}
		known = f.BlobsKnown && len(f.Blobs) > 0
		f.Frame.Close()
		time.Sleep(250 * time.Millisecond)
	}
	if !known {
		t.Error("analysis never noted the walker's moving area for the live view")
	}
}
