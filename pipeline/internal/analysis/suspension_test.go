package analysis

import (
	"image"
	"image/color"
	"math/rand"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"gocv.io/x/gocv"
)

// flatScene renders a view without texture: a plain grey wall or pavement
// (luma 120) in sensor noise of the given sigma, the same every run.
type flatScene struct {
	w, h  int
	sigma float64
	rng   *rand.Rand
	buf   []byte
}

func newFlatScene(w, h int, sigma float64, seed int64) *flatScene {
	return &flatScene{w: w, h: h, sigma: sigma, rng: rand.New(rand.NewSource(seed)), buf: make([]byte, w*h)}
}

// render fills grey with the noisy wall and the given dark figures
// (normalised boxes) on it.
func (s *flatScene) render(grey *gocv.Mat, figures ...track.Box) {
	for i := range s.buf {
		v := 120 + s.rng.NormFloat64()*s.sigma
		s.buf[i] = byte(max(0, min(255, v)))
	}
	data, _ := grey.DataPtrUint8()
	copy(data, s.buf)
	for _, b := range figures {
		r := image.Rect(int(b.X*float64(s.w)), int(b.Y*float64(s.h)), int((b.X+b.W)*float64(s.w)), int((b.Y+b.H)*float64(s.h)))
		gocv.Rectangle(grey, r, color.RGBA{R: 50, G: 50, B: 50}, -1)
	}
}

// TestLowTextureKeepsRulesRunning: on a view without texture the phase
// correlation finds no peak, and the noise it names as a displacement must
// not count as a moved camera: a walker crossing a line and standing in a
// zone is reported, and the frames say why the view-shift check is off.
func TestLowTextureKeepsRulesRunning(t *testing.T) {
	const w, h, fps = 640, 360, 5
	line, err := pattern.NewLineCrossing(pattern.LineConfig{Name: "gate", LineName: "gate", Line: geometry.Line{A: geometry.Point{X: 0.5, Y: 0.1}, B: geometry.Point{X: 0.5, Y: 0.95}}})
	if err != nil {
		t.Fatal(err)
	}
	zone := pattern.Zone{Name: "z", Polygon: geometry.Polygon{{X: 0.6, Y: 0.3}, {X: 0.95, Y: 0.3}, {X: 0.95, Y: 0.95}, {X: 0.6, Y: 0.95}}}
	stay, err := pattern.NewIntrusion(pattern.IntrusionConfig{Name: "stay", Zone: zone, MinDuration: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	an, err := New(Config{Motion: motion.DefaultConfig(), Track: track.DefaultConfig(), Rules: []pattern.Rule{line, stay}})
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	sc := newFlatScene(w, h, 3, 1)
	grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer grey.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	starts := map[string]bool{}
	reasons := map[pattern.Suspension]int{}
	for n := 0; n < 30*fps; n++ {
		at := float64(n) / fps
		var figs []track.Box
		// Walks in from the left at 3 s, 0.1 frame widths a second, and
		// stands still from 10 s at x 0.75.
		if at >= 3 {
			x := min(0.05+0.1*(at-3), 0.75)
			figs = append(figs, track.Box{X: x, Y: 0.45, W: 0.05, H: 0.35})
		}
		sc.render(&grey, figs...)
		f := an.Apply(t0.Add(time.Duration(n)*time.Second/fps), grey)
		reasons[f.Info.Suspension()]++
		for _, ev := range f.Events {
			if ev.Phase == lifecycle.Start {
				starts[ev.Rule] = true
			}
		}
	}
	if !starts["gate"] || !starts["stay"] {
		t.Errorf("rules that started: %v; want the line crossing and the zone stay (suspensions by frames: %v)", starts, reasons)
	}
	if reasons[pattern.SuspendedViewMoved] > 0 {
		t.Errorf("%d frames of a fixed flat view taken for a moved view", reasons[pattern.SuspendedViewMoved])
	}
	// Before the figure comes, the view is nothing but noise.
	if reasons[pattern.SuspendedLowTexture] < 2*fps {
		t.Errorf("%d frames reported low texture, want the empty view's (by frames: %v)", reasons[pattern.SuspendedLowTexture], reasons)
	}
}
