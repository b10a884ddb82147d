package person

import (
	"errors"
	"image"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"gocv.io/x/gocv"
)

// TestConfirmNeural: on vtest.avi, where the neural detector found a person
// on a moving blob, Confirm at that person's box finds them again (as it
// must when they stand still and their blob is gone), with no Go
// allocations; a blank frame holds nobody; HOG refuses. (Measured: 15 of
// 20; the carried boxes lag their people a little.)
func TestConfirmNeural(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes video")
	}
	det, err := motion.NewDetector(motion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	pd := newNeural(t, Config{})
	defer pd.Close()
	tried, found := 0, 0
	vtestFrames(t, func(i int, grey gocv.Mat) bool {
		res := det.Apply(grey)
		r := pd.Detect(grey, res.Boxes)
		if i < 20 || i%10 != 0 || len(r.Persons) == 0 {
			return tried < 20
		}
		b := r.Persons[0]
		fw, fh := float64(grey.Cols()), float64(grey.Rows())
		box := image.Rect(int(b.X*fw), int(b.Y*fh), int((b.X+b.W)*fw), int((b.Y+b.H)*fh))
		c, err := pd.Confirm(grey, box)
		if err != nil {
			t.Fatal(err)
		}
		tried++
		if c.IoU >= 0.3 && c.Score >= pd.Config().MinScore {
			found++
		}
		if tried == 1 {
			if n := testing.AllocsPerRun(3, func() { _, _ = pd.Confirm(grey, box) }); n != 0 {
				t.Errorf("Confirm: %v allocations, want 0", n)
			}
		}
		return tried < 20
	})
	t.Logf("confirmed %d of %d people the detector had found on blobs", found, tried)
	if tried < 10 || found*10 < tried*7 {
		t.Errorf("confirmed %d of %d, want at least 70%%", found, tried)
	}
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	grey := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer grey.Close()
	if _, err := h.Confirm(grey, image.Rect(10, 10, 50, 130)); !errors.Is(err, ErrNotNeural) {
		t.Errorf("HOG Confirm: %v, want ErrNotNeural", err)
	}
	if c, err := pd.Confirm(grey, image.Rect(10, 10, 50, 130)); err != nil || !c.Box.Empty() {
		t.Errorf("Confirm on a blank frame = %+v, %v; want nobody", c, err)
	}
}
