package analysis

import (
	"os"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// TestHoldStillRendered: a rendered person walks in and stands still for
// 30 s; the tracker alone keeps a stopped track for StaticMisses (here
// 2 s) after the blob fades, the hold keeps it, detected (Misses reset),
// where they stand, for as long as the neural detector finds them there.
func TestHoldStillRendered(t *testing.T) {
	if _, _, err := models.Read(models.NanoDet); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("NanoDet model not installed (bash .ci/setup installs it): %v", err)
		}
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("renders 36 s")
	}
	const w, h, fps = 640, 360, 25
	c := scene.Static(w, h, fps)
	c.Seed = 5
	stander := scene.Actor{H: 0.3, Luma: 40, Keys: []scene.Key{
		{At: 0, Pos: scene.Point{X: 0.1, Y: 0.8}, Pose: scene.Walk},
		{At: 4 * time.Second, Pos: scene.Point{X: 0.4, Y: 0.8}, Pose: scene.Stand},
		{At: 40 * time.Second, Pos: scene.Point{X: 0.4, Y: 0.8}, Pose: scene.Stand}}}
	for _, hold := range []bool{false, true} {
		tamper, err := pattern.NewTamper(pattern.TamperConfig{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		tc := track.DefaultConfig()
		tc.StaticMisses = 10
		an, err := New(Config{Motion: motion.DefaultConfig(), Track: tc, Rules: []pattern.Rule{tamper},
			PersonDetector: PersonDetectorDNN, HoldStill: hold})
		if err != nil {
			t.Fatal(err)
		}
		s := scene.NewScripted(scene.Script{Base: c, Actors: []scene.Actor{stander}})
		y, u, v := s.NewFrame()
		grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		late, kept := 0, 0
		for n := 0; n < 36*fps; n += fps / 5 {
			s.Render(n, y, u, v)
			data, _ := grey.DataPtrUint8()
			copy(data, y)
			an.Apply(t0.Add(time.Duration(n)*time.Second/fps), grey)
			if n < 20*fps {
				continue
			}
			late++
			for _, tr := range an.Tracks() {
				if x, _ := tr.Box.Foot(); x > 0.35 && x < 0.45 && tr.Misses < 5 {
					kept++
					break
				}
			}
		}
		if hold {
			// Steady state, the person held: no Go allocations per frame.
			n := 36 * fps
			allocs := testing.AllocsPerRun(20, func() {
				n += fps / 5
				an.Apply(t0.Add(time.Duration(n)*time.Second/fps), grey)
			})
			if allocs != 0 {
				t.Errorf("Apply with a held person: %v allocations per frame, want 0", allocs)
			}
		}
		grey.Close()
		an.Close()
		t.Logf("hold %v: a track at the stander in %d of the last %d frames", hold, kept, late)
		switch {
		case hold && kept < late*9/10:
			t.Errorf("with the hold: kept in %d of %d frames, want nearly all", kept, late)
		case !hold && kept > late/10:
			t.Errorf("without the hold: kept in %d of %d frames; the test does not show the hold", kept, late)
		}
	}
}
