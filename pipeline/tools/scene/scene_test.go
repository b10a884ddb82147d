package scene

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"sync"
	"testing"
	"time"
)

func render(s *Scene, frame int) []byte {
	y, u, v := s.NewFrame()
	s.Render(frame, y, u, v)
	return y
}

func TestValidate(t *testing.T) {
	ok := Static(64, 48, 25)
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr bool
	}{
		{"static", func(*Config) {}, false},
		{"walker", func(c *Config) { *c = Walker(64, 48, 25) }, false},
		{"zero width", func(c *Config) { c.Width = 0 }, true},
		{"negative height", func(c *Config) { c.Height = -1 }, true},
		{"negative fps", func(c *Config) { c.FPS = -5 }, true},
		{"nan noise", func(c *Config) { c.NoiseSigma = math.NaN() }, true},
		{"negative noise", func(c *Config) { c.NoiseSigma = -1 }, true},
		{"inf drift", func(c *Config) { c.DriftAmplitude = math.Inf(1) }, true},
		{"object backwards", func(c *Config) {
			c.Objects = []Object{{Appear: 2 * time.Second, Disappear: time.Second, W: 0.1, H: 0.1}}
		}, true},
		{"object no size", func(c *Config) { c.Objects = []Object{{Disappear: time.Second}} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			if err := c.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewPanicsOnInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted a 0x0 scene")
		}
	}()
	New(Config{})
}

func TestRenderPanicsOnShortPlanes(t *testing.T) {
	s := New(Static(32, 16, 25))
	defer func() {
		if recover() == nil {
			t.Fatal("Render accepted short planes")
		}
	}()
	y, u, _ := s.NewFrame()
	s.Render(0, y, u, u[:1])
}

func TestDeterministic(t *testing.T) {
	for _, size := range []image.Point{{64, 48}, {333, 201}, {640, 360}} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cfg := Walker(size.X, size.Y, 25)
			a, b := New(cfg), New(cfg)
			for _, f := range []int{0, 80, 150, 151, 400} {
				ya, ua, va := a.NewFrame()
				yb, ub, vb := b.NewFrame()
				a.Render(f, ya, ua, va)
				b.Render(f, yb, ub, vb)
				if !bytes.Equal(ya, yb) || !bytes.Equal(ua, ub) || !bytes.Equal(va, vb) {
					t.Fatalf("frame %d differs between two scenes of the same config", f)
				}
				// Rendering into dirty buffers must not depend on their content.
				a.Render(f+1, ya, ua, va)
				a.Render(f, ya, ua, va)
				if !bytes.Equal(ya, yb) {
					t.Fatalf("frame %d depends on buffer history", f)
				}
				for i := range ua {
					if ua[i] != 128 || va[i] != 128 {
						t.Fatalf("chroma not neutral at %d", i)
					}
				}
			}
		})
	}
}

func TestSeedChangesContent(t *testing.T) {
	c := Static(64, 48, 25)
	a := render(New(c), 3)
	c.Seed = 2
	if bytes.Equal(a, render(New(c), 3)) {
		t.Fatal("different seeds rendered the same frame")
	}
}

// TestWalkerTimeline checks the figure against the ground truth: no figure
// and a frame identical to Static before ~3 s and after ~9 s, and a dark
// person-sized blob where Truth says while it crosses.
func TestWalkerTimeline(t *testing.T) {
	const w, h, fps = 320, 180, 5
	walk, still := New(Walker(w, h, fps)), New(Static(w, h, fps))
	sawFigure := 0
	for f := 0; f < 15*fps; f++ {
		yw, ys := render(walk, f), render(still, f)
		boxes := walk.Truth(f, nil)
		sec := float64(f) / fps
		switch {
		case sec < 3 || sec >= 9:
			if len(boxes) != 0 {
				t.Fatalf("frame %d (%.1fs): figure reported outside 3..9 s: %v", f, sec, boxes)
			}
			if !bytes.Equal(yw, ys) {
				t.Fatalf("frame %d (%.1fs): walker frame differs from static with no figure", f, sec)
			}
		case sec >= 3.4 && sec < 8.6:
			if len(boxes) != 1 {
				t.Fatalf("frame %d (%.1fs): want one figure in frame, got %v", f, sec, boxes)
			}
		}
		for _, r := range boxes {
			if r.Dy() < h/5 || r.Dy() > h/3 {
				t.Fatalf("frame %d: figure height %d not about a quarter of %d", f, r.Dy(), h)
			}
			// The torso (middle third of the box) is clearly darker than the
			// same pixels without the figure.
			c := image.Rect(r.Min.X+r.Dx()/3, r.Min.Y+r.Dy()/4, r.Max.X-r.Dx()/3, r.Min.Y+r.Dy()/2)
			if r.Min.X == 0 || r.Max.X == w {
				continue // partly outside the frame
			}
			dw, ds := meanIn(yw, w, c), meanIn(ys, w, c)
			if ds-dw < 40 {
				t.Fatalf("frame %d: torso %v mean %.1f vs background %.1f: figure not visible", f, c, dw, ds)
			}
			// Far away from the figure the frames are identical.
			if !bytes.Equal(yw[:w*(r.Min.Y-2)], ys[:w*(r.Min.Y-2)]) {
				t.Fatalf("frame %d: pixels above the figure changed", f)
			}
			sawFigure++
		}
	}
	if sawFigure < 20 {
		t.Fatalf("figure seen in only %d frames", sawFigure)
	}
}

func TestFigureMoves(t *testing.T) {
	s := New(Walker(640, 360, 25))
	a, b := s.Truth(125, nil), s.Truth(175, nil)
	if len(a) != 1 || len(b) != 1 || b[0].Min.X <= a[0].Min.X+50 {
		t.Fatalf("figure does not cross left to right: %v then %v", a, b)
	}
}

// TestStaticDiffersOnlyByNoiseAndDrift: the difference of two static frames
// has the drift difference as its mean, sqrt(2)·sigma as its spread, and no
// spatial structure (every 16x16 block has the same mean difference).
func TestStaticDiffersOnlyByNoiseAndDrift(t *testing.T) {
	const w, h, fps = 640, 360, 25
	cfg := Static(w, h, fps)
	s := New(cfg)
	for _, pair := range [][2]int{{0, 1}, {10, 400}, {100, 900}, {1500, 1501}} {
		a, b := render(s, pair[0]), render(s, pair[1])
		wantMean := float64(s.drift(pair[1])-s.drift(pair[0])) / one
		var sum, sum2 float64
		for i := range a {
			d := float64(b[i]) - float64(a[i])
			sum += d
			sum2 += d * d
		}
		n := float64(len(a))
		mean := sum / n
		sd := math.Sqrt(sum2/n - mean*mean)
		if math.Abs(mean-wantMean) > 0.3 {
			t.Errorf("frames %v: mean difference %.2f, drift says %.2f", pair, mean, wantMean)
		}
		if want := math.Sqrt2 * cfg.NoiseSigma; math.Abs(sd-want) > 0.1*want {
			t.Errorf("frames %v: difference sd %.2f, want about %.2f", pair, sd, want)
		}
		for by := 0; by+16 <= h; by += 16 {
			for bx := 0; bx+16 <= w; bx += 16 {
				r := image.Rect(bx, by, bx+16, by+16)
				if d := meanIn(b, w, r) - meanIn(a, w, r); math.Abs(d-mean) > 2 {
					t.Fatalf("frames %v: block %v differs by %.2f vs global %.2f", pair, r, d, mean)
				}
			}
		}
	}
}

func TestNoNoiseNoDriftIsConstant(t *testing.T) {
	c := Static(96, 54, 25)
	c.NoiseSigma, c.DriftAmplitude = 0, 0
	s := New(c)
	if !bytes.Equal(render(s, 0), render(s, 777)) {
		t.Fatal("frames differ without noise and drift")
	}
}

// TestBackgroundTextured guards the reason the scene exists: not a flat image.
func TestBackgroundTextured(t *testing.T) {
	c := Static(640, 360, 25)
	c.NoiseSigma, c.DriftAmplitude = 0, 0
	y := render(New(c), 0)
	var sum, sum2 float64
	edges := 0
	for i, v := range y {
		f := float64(v)
		sum += f
		sum2 += f * f
		if i%640 != 0 && absDiff(v, y[i-1]) > 15 {
			edges++
		}
	}
	n := float64(len(y))
	mean, sd := sum/n, math.Sqrt(sum2/n-(sum/n)*(sum/n))
	if math.Abs(mean-120) > 10 || sd < 8 {
		t.Fatalf("background mean %.1f sd %.1f: want ~120 and textured", mean, sd)
	}
	if edges < len(y)/100 {
		t.Fatalf("only %d strong horizontal edges", edges)
	}
}

func TestDriftAmplitude(t *testing.T) {
	s := New(Static(32, 18, 25))
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for f := 0; f < 60*25; f++ {
		d := s.drift(f)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo != -8*one || hi != 8*one {
		t.Fatalf("drift range %v..%v, want ±8", float64(lo)/one, float64(hi)/one)
	}
}

func TestConcurrentRender(t *testing.T) {
	s := New(Walker(160, 90, 25))
	want := render(s, 120)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if !bytes.Equal(render(s, 120), want) {
					t.Error("concurrent render differs")
				}
			}
		})
	}
	wg.Wait()
}

func meanIn(y []byte, stride int, r image.Rectangle) float64 {
	var s float64
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			s += float64(y[py*stride+px])
		}
	}
	return s / float64(r.Dx()*r.Dy())
}

func absDiff(a, b byte) byte {
	if a > b {
		return a - b
	}
	return b - a
}

func BenchmarkRender(b *testing.B) {
	for _, size := range []image.Point{{1920, 1080}, {1280, 720}, {640, 360}} {
		b.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(b *testing.B) {
			s := New(Walker(size.X, size.Y, 25))
			y, u, v := s.NewFrame()
			b.SetBytes(int64(len(y) + 2*len(u)))
			b.ReportAllocs()
			f := 150 // figure in frame
			for b.Loop() {
				s.Render(f, y, u, v)
				f++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkNew1080p(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(Walker(1920, 1080, 25))
	}
}
