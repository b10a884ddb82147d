package camera

import (
	"context"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// TestNonReferencePicturesNotDecoded: from a camera whose stream has
// non-reference pictures (a B-frame between references), the camera decodes
// only the pictures analysis needs and every reference picture; analysis
// still runs at its rate and the walker still makes a motion event.
func TestNonReferencePicturesNotDecoded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for 9 s")
	}
	const w, h, fps = 640, 360, 25
	clip, err := simcam.Encode(scene.Walker(w, h, fps), codec.EncoderConfig{Codec: codec.H264, FPS: fps, GOP: 50, BFrames: 1}, 10*fps)
	if err != nil {
		t.Fatal(err)
	}
	discardable := 0
	for _, au := range clip {
		if codec.Discardable(codec.H264, au) {
			discardable++
		}
	}
	if discardable < len(clip)/3 {
		t.Fatalf("clip has %d discardable AUs of %d", discardable, len(clip))
	}
	sim, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264, Scene: scene.Walker(w, h, fps), Clip: clip})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	rec := newRecorder()
	// A privacy zone above the walker's path: frames analysis gets are still
	// masked when pictures around them were never decoded (invariant 2).
	zone := []geometry.Polygon{{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.3}, {X: 0, Y: 0.3}}}
	c := testCamera(t, sim.URL(), zone, rec)
	var mu sync.Mutex
	var checked, leaked int
	c.inspect = func(m gocv.Mat) {
		buf, _ := m.DataPtrUint8()
		w := m.Cols()
		mu.Lock()
		defer mu.Unlock()
		checked++
		for y := range int(0.3*float64(m.Rows())) - 1 {
			for x := range w {
				if buf[y*w+x] != privacymask.Fill {
					leaked++
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	c.Run(ctx)
	st := c.Stats()
	t.Logf("%d AUs: %d decoded, %d not decoded (not needed), %d skipped, %d analysed; %d of %d AUs in the clip discardable",
		st.AccessUnits, st.Decoded, st.NotDecoded, st.SkippedAUs, st.Analysed, discardable, len(clip))
	if st.NotDecoded < st.AccessUnits/4 {
		t.Errorf("only %d of %d AUs left undecoded", st.NotDecoded, st.AccessUnits)
	}
	if st.Decoded+st.NotDecoded+st.SkippedAUs+st.DecodeErrors+st.DroppedAUs < st.AccessUnits-2 {
		t.Errorf("AUs unaccounted for: %+v", st)
	}
	// 8+ s at 5 frames/s after the stream's rate is known.
	if st.Analysed < 30 {
		t.Errorf("analysed %d frames", st.Analysed)
	}
	if evs, _ := rec.snapshot(); len(evs) == 0 {
		t.Errorf("no motion event from the walker")
	}
	mu.Lock()
	defer mu.Unlock()
	if checked < 30 || leaked != 0 {
		t.Errorf("checked %d frames, %d zone pixels carried source data", checked, leaked)
	}
}
