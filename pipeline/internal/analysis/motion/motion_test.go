package motion

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

func newDetector(t testing.TB, cfg Config) *Detector {
	t.Helper()
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero takes defaults", Config{}, false},
		{"default", DefaultConfig(), false},
		{"history 1", Config{History: 1}, true},
		{"negative var threshold", Config{VarThreshold: -1}, true},
		{"nan var threshold", Config{VarThreshold: math.NaN()}, true},
		{"min area 1", Config{MinArea: 1}, true},
		{"negative min area", Config{MinArea: -0.1}, true},
		{"negative warmup", Config{WarmupFrames: -1}, true},
		{"global change > 1", Config{MaxGlobalChange: 1.5}, true},
		{"min area above global", Config{MinArea: 0.5, MaxGlobalChange: 0.3}, true},
		{"shadow threshold 1", Config{ShadowThreshold: 1}, true},
		{"model width 16", Config{ModelWidth: 16}, true},
		{"model at full width", Config{ModelWidth: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDetector(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewDetector() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				if d.Config() != DefaultConfig() && tt.cfg == (Config{}) {
					t.Fatalf("zero config not defaulted: %+v", d.Config())
				}
				d.Close()
			}
		})
	}
}

// visible returns the fraction of the figure inside the frame at frame n.
func visible(s *scene.Scene, n int) (float64, image.Rectangle) {
	boxes := s.Truth(n, nil)
	if len(boxes) == 0 {
		return 0, image.Rectangle{}
	}
	c := s.Config()
	w, h := s.Size()
	full := c.Objects[0].W * float64(w) * c.Objects[0].H * float64(h)
	r := boxes[0]
	return float64(r.Dx()*r.Dy()) / full, r
}

// TestWalker: motion is reported while the figure is in the frame, with boxes
// on the figure, never during warm-up, never before it enters and at most
// two frames after it has left.
func TestWalker(t *testing.T) {
	const fps = 5
	tests := []struct {
		name  string
		w, h  int
		luma  uint8
		model int // Config.ModelWidth
	}{
		{"640x360 dark", 640, 360, 45, 0},
		{"320x180 dark", 320, 180, 45, 0},
		{"640x360 mid-grey (a shadow at OpenCV default tau 0.5)", 640, 360, 65, 0},
		{"320x180 bright", 320, 180, 210, 0},
		{"640x360 dark, model at full width", 640, 360, 45, -1},
		{"640x360 mid-grey, model at full width", 640, 360, 65, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := scene.Walker(tt.w, tt.h, fps)
			cfg.Objects[0].Luma = tt.luma
			f := newFeeder(t, cfg)
			const warmup = 10
			d := newDetector(t, Config{WarmupFrames: warmup, ModelWidth: tt.model})
			lastSeen := -100
			first, last := -1, -1
			for n := 0; n < 15*fps; n++ {
				r := d.Apply(f.frame(t, n, 0))
				vis, truth := visible(f.s, n)
				if vis > 0 {
					lastSeen = n
				}
				if r.Warmup != (n < warmup) {
					t.Fatalf("frame %d: Warmup = %v", n, r.Warmup)
				}
				if r.LightChange {
					t.Fatalf("frame %d: unexpected light change", n)
				}
				if r.Motion {
					if first < 0 {
						first = n
					}
					last = n
					if r.Score <= 0 || r.Score > 1 || r.Area <= 0 || len(r.Boxes) == 0 {
						t.Fatalf("frame %d: inconsistent result %+v", n, r)
					}
				} else if r.Score != 0 || r.Area != 0 || len(r.Boxes) != 0 {
					t.Fatalf("frame %d: no motion but %+v", n, r)
				}
				switch {
				case vis >= 0.5:
					if !r.Motion {
						t.Fatalf("frame %d (%.1fs): figure %.0f%% in frame at %v, no motion", n, float64(n)/fps, vis*100, truth)
					}
					var best float64
					for _, b := range r.Boxes {
						best = max(best, iou(b, truth))
					}
					// A figure cut by the frame's edge loses a little more to
					// the model's area filter there.
					if need := 0.6; best < need && (vis > 0.99 || best < need-0.1) {
						t.Fatalf("frame %d: boxes %v do not match figure %v (IoU %.2f)", n, r.Boxes, truth, best)
					}
				case vis == 0 && n > lastSeen+2 && r.Motion:
					t.Fatalf("frame %d (%.1fs): motion %+v with no figure (last seen frame %d)", n, float64(n)/fps, r, lastSeen)
				}
			}
			t.Logf("motion from %.1fs to %.1fs", float64(first)/fps, float64(last)/fps)
			if first < 0 || float64(first)/fps > 3.6 || float64(last)/fps < 8.4 {
				t.Fatalf("motion %d..%d does not span the crossing (3-9 s)", first, last)
			}
		})
	}
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

// TestStaticNeverMoves runs two minutes (two drift periods) of noise and
// light drift: no motion and no light change, ever.
func TestStaticNeverMoves(t *testing.T) {
	const fps = 5
	tests := []struct {
		name  string
		w, h  int
		sigma float64
	}{
		{"640x360 sigma 3", 640, 360, 3},
		{"320x180 sigma 3", 320, 180, 3},
		{"320x180 sigma 6", 320, 180, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := 120 * fps
			if testing.Short() {
				frames = 30 * fps
			}
			cfg := scene.Static(tt.w, tt.h, fps)
			cfg.NoiseSigma = tt.sigma
			f := newFeeder(t, cfg)
			d := newDetector(t, DefaultConfig())
			for n := range frames {
				if r := d.Apply(f.frame(t, n, 0)); r.Motion || r.LightChange {
					t.Fatalf("frame %d (%.1fs): %+v on a static scene", n, float64(n)/fps, r)
				}
			}
		})
	}
}

// TestLightChange: a sudden global brightness step is a light change, never
// motion, and the model recovers within a few frames, also with a walker.
func TestLightChange(t *testing.T) {
	const fps = 5
	tests := []struct {
		name   string
		walker bool
		at     int
		offset int
	}{
		{"brighter", false, 40, 50},
		{"darker", false, 40, -50},
		{"brighter during walk", true, 25, 50},
		{"darker during walk", true, 25, -40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := scene.Static(320, 180, fps)
			if tt.walker {
				cfg = scene.Walker(320, 180, fps)
			}
			f := newFeeder(t, cfg)
			d := newDetector(t, DefaultConfig())
			recovered := -1
			for n := 0; n < tt.at+40; n++ {
				off := 0
				if n >= tt.at {
					off = tt.offset
				}
				r := d.Apply(f.frame(t, n, off))
				vis, _ := visible(f.s, n)
				switch {
				case n == tt.at:
					if !r.LightChange || r.Motion {
						t.Fatalf("frame %d: step not reported as light change: %+v", n, r)
					}
				case n > tt.at && r.LightChange:
					if r.Motion {
						t.Fatalf("frame %d: motion during light change", n)
					}
					if n > tt.at+adaptFrames+2 {
						t.Fatalf("frame %d: still adapting %d frames after the step", n, n-tt.at)
					}
				case n > tt.at:
					if recovered < 0 {
						recovered = n
					}
					if r.Motion && vis == 0 {
						t.Fatalf("frame %d: false motion after the light change: %+v", n, r)
					}
					if tt.walker && vis >= 0.5 && n > recovered+1 && !r.Motion {
						t.Fatalf("frame %d: figure in frame but no motion after recovery at %d", n, recovered)
					}
				case n < tt.at && r.LightChange:
					t.Fatalf("frame %d: light change before the step", n)
				}
			}
			if recovered < 0 {
				t.Fatal("never recovered")
			}
			t.Logf("recovered %d frames after the step", recovered-tt.at)
		})
	}
}

func TestSizeChangeRestartsWarmup(t *testing.T) {
	d := newDetector(t, Config{WarmupFrames: 3})
	a := newFeeder(t, scene.Static(160, 90, 5))
	b := newFeeder(t, scene.Static(96, 54, 5))
	for n := range 5 {
		if r := d.Apply(a.frame(t, n, 0)); r.Warmup != (n < 3) {
			t.Fatalf("frame %d: warmup %v", n, r.Warmup)
		}
	}
	if r := d.Apply(b.frame(t, 0, 0)); !r.Warmup {
		t.Fatal("new size did not restart warm-up")
	}
}

func TestInputTypes(t *testing.T) {
	f := newFeeder(t, scene.Walker(320, 180, 5))
	bgr := gocv.NewMat()
	defer bgr.Close()
	d := newDetector(t, Config{WarmupFrames: 5})
	seen := false
	for n := range 40 {
		gocv.CvtColor(f.frame(t, n, 0), &bgr, gocv.ColorGrayToBGR)
		seen = seen || d.Apply(bgr).Motion
	}
	if !seen {
		t.Fatal("no motion on BGR input")
	}

	empty := gocv.NewMat()
	defer empty.Close()
	float := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV32F)
	defer float.Close()
	for name, m := range map[string]gocv.Mat{"empty": empty, "float": float} {
		if r := d.Apply(m); fmt.Sprint(r) != fmt.Sprint(Result{}) {
			t.Fatalf("%s input: %+v", name, r)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if r := d.Apply(f.frame(t, 30, 0)); r.Motion {
		t.Fatal("closed detector reported motion")
	}
}

// TestApplyNoAllocs: steady state, with a figure in the frame (so connected
// components and boxes are exercised), Apply makes no Go allocations.
func TestApplyNoAllocs(t *testing.T) {
	f := newFeeder(t, scene.Walker(320, 180, 5))
	d := newDetector(t, Config{WarmupFrames: 5})
	for n := range 20 {
		d.Apply(f.frame(t, n, 0))
	}
	frame := f.frame(t, 30, 0)
	if r := d.Apply(frame); !r.Motion {
		t.Fatal("need motion for this test")
	}
	if a := testing.AllocsPerRun(50, func() { d.Apply(frame) }); a != 0 {
		t.Fatalf("Apply allocates %v times per call", a)
	}
}

func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		size  image.Point
		model int
	}{{image.Pt(640, 360), 0}, {image.Pt(640, 360), -1}, {image.Pt(320, 180), 0}} {
		size := bc.size
		name := fmt.Sprintf("%dx%d", size.X, size.Y)
		if bc.model < 0 {
			name += "_model_full"
		}
		b.Run(name, func(b *testing.B) {
			// Pre-render the walk so the benchmark measures only Apply.
			f := newFeeder(b, scene.Walker(size.X, size.Y, 5))
			var frames []gocv.Mat
			for n := 15; n < 45; n++ { // figure in frame
				m := f.frame(b, n, 0)
				frames = append(frames, m.Clone())
			}
			defer func() {
				for _, m := range frames {
					m.Close()
				}
			}()
			d := newDetector(b, Config{WarmupFrames: 5, ModelWidth: bc.model})
			for _, m := range frames {
				d.Apply(m)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Apply(frames[i%len(frames)])
				i++
			}
		})
	}
}

// TestShadowThresholdOnGrey documents why ShadowThreshold is not OpenCV's
// 0.5: on grey frames a person in mid-grey clothes is then mostly "shadow".
func TestShadowThresholdOnGrey(t *testing.T) {
	count := func(tau float64) int {
		cfg := scene.Walker(640, 360, 5)
		cfg.Objects[0].Luma = 65
		f := newFeeder(t, cfg)
		d := newDetector(t, Config{ShadowThreshold: tau, WarmupFrames: 10})
		c := 0
		for n := range 75 {
			if d.Apply(f.frame(t, n, 0)).Motion {
				c++
			}
		}
		return c
	}
	opencv, ours := count(0.5), count(DefaultConfig().ShadowThreshold)
	if ours < 25 || opencv > ours/3 {
		t.Fatalf("motion frames: tau 0.5 → %d, default → %d", opencv, ours)
	}
}

// TestStartWithFigureInView: the detector starts while a figure already
// walks in view (a camera restart, a short clip) with the shortest warm-up:
// motion on the figure from the second frame on, not only once MOG2's own
// start-up schedule has slowed down (frame 6), and no ghost lingering where
// it stood in the first frame.
func TestStartWithFigureInView(t *testing.T) {
	const fps = 5
	tests := []struct {
		name  string
		w, h  int
		model int
	}{
		{"640x360 model 320", 640, 360, 0},
		{"320x180", 320, 180, 0},
		{"640x360 model at full width", 640, 360, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeeder(t, scene.Walker(tt.w, tt.h, fps))
			d := newDetector(t, Config{WarmupFrames: 1, ModelWidth: tt.model})
			const start = 5 * fps // mid-crossing (3-9 s)
			for n := start; n < start+8; n++ {
				r := d.Apply(f.frame(t, n, 0))
				if n == start {
					if !r.Warmup {
						t.Fatalf("first frame: Warmup = false")
					}
					continue
				}
				if r.Warmup || r.LightChange {
					t.Fatalf("frame %d: %+v after the first frame", n-start, r)
				}
				_, truth := visible(f.s, n)
				if !r.Motion {
					t.Fatalf("frame %d after the start: no motion on the figure at %v", n-start, truth)
				}
				var best float64
				for _, b := range r.Boxes {
					best = max(best, iou(b, truth))
				}
				// The second frame also sees where the figure stood in the
				// first: the box may span both, for that frame only.
				if need := 0.5; n > start+2 && best < need {
					t.Fatalf("frame %d after the start: boxes %v do not match figure %v (IoU %.2f)", n-start, r.Boxes, truth, best)
				}
				if n > start+2 && len(r.Boxes) > 1 {
					t.Fatalf("frame %d after the start: %d blobs %v for one figure %v (a ghost?)", n-start, len(r.Boxes), r.Boxes, truth)
				}
			}
		})
	}
}
