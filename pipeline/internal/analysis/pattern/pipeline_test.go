package pattern

import (
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// TestLightChangeOnset: the frame before the motion detector flags a
// light change already shows it (one blob over most of the picture); the
// person tracked until then comes out of the change as if that frame had
// shown nothing, not with that blob's box.
func TestLightChangeOnset(t *testing.T) {
	run := func(onset bool) []track.Track {
		r, err := NewLoitering(LoiterConfig{Name: "l", Dwell: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPipeline(track.Config{}, r)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			f := FrameInfo{Width: fw, Height: fh}
			var blobs []image.Rectangle
			switch {
			case i < 10:
				blobs = []image.Rectangle{standing(0.3+0.02*float64(i), 0.8, 0.3)}
			case i < 15:
				blobs = []image.Rectangle{standing(0.5, 0.8, 0.3)}
			case i == 15:
				if onset {
					blobs = []image.Rectangle{image.Rect(100, 0, fw, fh)}
				}
			case i < 22:
				f.LightChange = true
			}
			p.Frame(at(i), blobs, f)
		}
		return append([]track.Track(nil), p.Tracks()...)
	}
	want, got := run(false), run(true)
	if len(want) != 1 || len(got) != 1 {
		t.Fatalf("%d tracks with the ramp, %d without; want the person alone", len(got), len(want))
	}
	if got[0].Box != want[0].Box || !got[0].LastSeen.Equal(want[0].LastSeen) {
		t.Errorf("with a frame of ramp: box %+v seen %v; flagged at once: %+v seen %v", got[0].Box, got[0].LastSeen, want[0].Box, want[0].LastSeen)
	}
	if got[0].Box.W > 0.3 {
		t.Errorf("box %+v took the changing picture's blob", got[0].Box)
	}
}
