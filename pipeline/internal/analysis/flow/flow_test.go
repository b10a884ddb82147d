package flow

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"gocv.io/x/gocv"
)

// texture is a deterministic blotchy grey pattern: optical flow needs
// structure to see motion, as on real paving and clothes.
func texture(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	coarse := make([]byte, (w/4+2)*(h/4+2))
	for i := range coarse {
		coarse[i] = byte(40 + r.IntN(170))
	}
	out := make([]byte, w*h)
	cw := w/4 + 2
	for y := range h {
		for x := range w {
			// bilinear upsampling of the coarse noise
			fx, fy := float64(x)/4, float64(y)/4
			x0, y0 := int(fx), int(fy)
			ax, ay := fx-float64(x0), fy-float64(y0)
			v := (1-ax)*(1-ay)*float64(coarse[y0*cw+x0]) + ax*(1-ay)*float64(coarse[y0*cw+x0+1]) +
				(1-ax)*ay*float64(coarse[(y0+1)*cw+x0]) + ax*ay*float64(coarse[(y0+1)*cw+x0+1])
			out[y*w+x] = byte(v)
		}
	}
	return out
}

// patch is a textured rectangle drawn at an offset over the background.
type patch struct {
	r      image.Rectangle // where it is at offset 0
	dx, dy int
	tex    []byte // r-sized
}

// frame composes the background and the patches moved by k times their
// offsets into a new grey Mat.
func frame(t testing.TB, w, h int, bg []byte, k int, ps ...patch) gocv.Mat {
	t.Helper()
	buf := append([]byte(nil), bg...)
	for _, p := range ps {
		pw := p.r.Dx()
		for y := p.r.Min.Y; y < p.r.Max.Y; y++ {
			for x := p.r.Min.X; x < p.r.Max.X; x++ {
				X, Y := x+k*p.dx, y+k*p.dy
				if X >= 0 && X < w && Y >= 0 && Y < h {
					buf[Y*w+X] = p.tex[(y-p.r.Min.Y)*pw+(x-p.r.Min.X)]
				}
			}
		}
	}
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, buf)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newStage(t testing.TB, cfg Config) *Stage {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func moving(boxes ...image.Rectangle) motion.Result {
	return motion.Result{Motion: true, Boxes: boxes}
}

func TestSpeedAndSpread(t *testing.T) {
	const w, h = 640, 360
	bg := texture(w, h, 1)
	box := image.Rect(280, 140, 360, 260)
	one := patch{r: box, dx: 6, tex: texture(box.Dx(), box.Dy(), 2)}
	left := image.Rect(280, 140, 320, 260)
	right := image.Rect(320, 140, 360, 260)
	two := []patch{
		{r: left, dx: -5, dy: 3, tex: texture(left.Dx(), left.Dy(), 3)},
		{r: right, dx: 5, dy: -3, tex: texture(right.Dx(), right.Dy(), 4)},
	}
	tests := []struct {
		name string
		ps   []patch
		// ks: the patches' offset multiple in each frame, 0.2 s apart.
		ks                 []int
		speed              float64 // frame heights per second
		tol                float64 // relative
		spreadLo, spreadHi float64
		clashLo, clashHi   float64
		movingLeast        float64
	}{
		// 6 px at 640x360 per 200 ms = 30 px/s = 0.083 frame heights/s.
		// The smear at the patch edges moves less: a little under.
		{"one way", []patch{one}, []int{0, 1}, 6.0 / h / 0.2, 0.3, 0, 0.1, 0, 0.1, 0.3},
		{"one way for a second", []patch{one}, []int{0, 1, 2, 3, 4, 5}, 6.0 / h / 0.2, 0.3, 0, 0.1, 0, 0.1, 0.3},
		// Each spot keeps its direction, like two people walking up to
		// each other: not erratic. Where the halves part and overlap the
		// flow is ambiguous: less speed. Only the cells on the seam hold
		// both directions.
		{"two opposite halves", two, []int{0, 1, 2, 3}, math.Hypot(5, 3) / h / 0.2, 0.4, 0, 0.25, 0, 0.3, 0.3},
		// Back and forth at the same spot: erratic over time, yet each
		// frame pair moves the whole patch one way.
		{"back and forth", []patch{one}, []int{0, 1, 0, 1, 0}, 6.0 / h / 0.2, 0.3, 0.5, 1, 0, 0.1, 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStage(t, Config{})
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var got []pattern.FlowRegion
			for i, k := range tt.ks {
				f := frame(t, w, h, bg, k, tt.ps...)
				got = s.Apply(t0.Add(time.Duration(i)*200*time.Millisecond), f, moving(box), noFG(t))
				f.Close()
				if i == 0 && len(got) != 0 {
					t.Fatalf("first frame gave %+v", got)
				}
			}
			if len(got) != 1 {
				t.Fatalf("got %d regions, want 1", len(got))
			}
			r := got[0]
			if math.Abs(r.Speed-tt.speed) > tt.tol*tt.speed {
				t.Errorf("speed %.4f, want %.4f ±%.0f%%", r.Speed, tt.speed, 100*tt.tol)
			}
			if r.Spread < tt.spreadLo || r.Spread > tt.spreadHi {
				t.Errorf("spread %.3f, want %.2f..%.2f", r.Spread, tt.spreadLo, tt.spreadHi)
			}
			if r.Clash < tt.clashLo || r.Clash > tt.clashHi {
				t.Errorf("clash %.3f, want %.2f..%.2f", r.Clash, tt.clashLo, tt.clashHi)
			}
			if r.Moving < tt.movingLeast {
				t.Errorf("moving %.3f, want at least %.2f", r.Moving, tt.movingLeast)
			}
			wantBox := [4]float64{280.0 / w, 140.0 / h, 80.0 / w, 120.0 / h}
			if gb := [4]float64{r.Box.X, r.Box.Y, r.Box.W, r.Box.H}; gb != wantBox {
				t.Errorf("box %v, want %v", gb, wantBox)
			}
		})
	}
}

// TestClash: clash is high only where parts smaller than the region move
// against each other in the same frame pair, and is not measured on regions
// too small for the flow to hold such parts.
func TestClash(t *testing.T) {
	const w, h = 640, 360
	bg := texture(w, h, 11)
	big := image.Rect(240, 60, 400, 300) // 160×240: 80×120 flow pixels
	// Blocks of 40×60 (20×30 flow pixels, a few DIS patches each) in a
	// checkerboard, neighbours going opposite ways: arms and bodies
	// pushing past each other.
	var board []patch
	for i := range 4 {
		for j := range 4 {
			r := image.Rect(big.Min.X+40*i, big.Min.Y+60*j, big.Min.X+40*(i+1), big.Min.Y+60*(j+1))
			sign := 1 - 2*((i+j)%2)
			board = append(board, patch{r: r, dx: 5 * sign, dy: 3 * sign, tex: texture(r.Dx(), r.Dy(), uint64(20+4*i+j))})
		}
	}
	left := image.Rect(big.Min.X, big.Min.Y, big.Min.X+80, big.Max.Y)
	right := image.Rect(big.Min.X+80, big.Min.Y, big.Max.X, big.Max.Y)
	halves := []patch{
		{r: left, dx: -5, dy: 3, tex: texture(left.Dx(), left.Dy(), 12)},
		{r: right, dx: 5, dy: -3, tex: texture(right.Dx(), right.Dy(), 13)},
	}
	small := image.Rect(300, 160, 340, 220) // 20×30 flow pixels
	for _, tt := range []struct {
		name   string
		box    image.Rectangle
		ps     []patch
		lo, hi float64
	}{
		{"one body, one way", big, []patch{{r: big, dx: 6, dy: 2, tex: texture(big.Dx(), big.Dy(), 14)}}, 0, 0.05},
		// Only the column of cells on the seam holds both directions:
		// about a quarter. Two people brushing past each other do so for a
		// moment; the rule's share of violent frames over a second tells
		// that from a fight.
		{"two bodies side by side, opposite ways", big, halves, 0.1, 0.35},
		{"parts pushing past each other", big, board, 0.3, 1},
		{"too small to tell parts apart", small, []patch{
			{r: image.Rect(300, 160, 320, 220), dx: 5, tex: texture(20, 60, 15)},
			{r: image.Rect(320, 160, 340, 220), dx: -5, tex: texture(20, 60, 16)},
		}, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStage(t, Config{})
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var got []pattern.FlowRegion
			for k := range 2 {
				f := frame(t, w, h, bg, k, tt.ps...)
				got = s.Apply(t0.Add(time.Duration(k)*200*time.Millisecond), f, moving(tt.box), noFG(t))
				f.Close()
			}
			if len(got) != 1 {
				t.Fatalf("got %d regions, want 1", len(got))
			}
			if c := got[0].Clash; c < tt.lo || c > tt.hi {
				t.Errorf("clash %.3f, want %.2f..%.2f (spread %.3f)", c, tt.lo, tt.hi, got[0].Spread)
			}
		})
	}
}

// TestStill: a textured region that does not move has no moving pixels.
func TestStill(t *testing.T) {
	const w, h = 640, 360
	bg := texture(w, h, 5)
	f := frame(t, w, h, bg, 0)
	defer f.Close()
	s := newStage(t, Config{})
	t0 := time.Unix(0, 0)
	box := image.Rect(100, 100, 200, 250)
	s.Apply(t0, f, moving(box), noFG(t))
	got := s.Apply(t0.Add(200*time.Millisecond), f, moving(box), noFG(t))
	if len(got) != 1 || got[0].Moving != 0 || got[0].Speed != 0 {
		t.Errorf("still frame: %+v", got)
	}
}

// TestSkips: no regions while the blobs mean nothing or the frames cannot
// be compared.
func TestSkips(t *testing.T) {
	const w, h = 320, 180
	bg := texture(w, h, 9)
	box := image.Rect(100, 50, 160, 140)
	p := patch{r: box, dx: 4, tex: texture(box.Dx(), box.Dy(), 10)}
	f0, f1 := frame(t, w, h, bg, 0, p), frame(t, w, h, bg, 1, p)
	defer f0.Close()
	defer f1.Close()
	small := gocv.NewMatWithSize(90, 160, gocv.MatTypeCV8UC1)
	defer small.Close()
	bgr := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	t0 := time.Unix(0, 0)
	step := 200 * time.Millisecond
	tests := []struct {
		name string
		at   time.Duration
		m    gocv.Mat
		res  motion.Result
	}{
		{"warm-up", step, f1, motion.Result{Warmup: true}},
		{"light change", step, f1, motion.Result{LightChange: true}},
		{"no blobs", step, f1, motion.Result{}},
		{"same instant", 0, f1, moving(box)},
		{"stalled stream", 2 * time.Second, f1, moving(box)},
		{"time going back", -step, f1, moving(box)},
		{"colour frame", step, bgr, moving(box)},
		{"empty frame", step, gocv.NewMat(), moving(box)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStage(t, Config{})
			s.Apply(t0, f0, moving(box), noFG(t))
			if got := s.Apply(t0.Add(tt.at), tt.m, tt.res, noFG(t)); len(got) != 0 {
				t.Errorf("got %+v", got)
			}
		})
	}
	t.Run("size change", func(t *testing.T) {
		s := newStage(t, Config{})
		s.Apply(t0, f0, moving(box), noFG(t))
		if got := s.Apply(t0.Add(step), small, moving(image.Rect(10, 10, 40, 60)), noFG(t)); len(got) != 0 {
			t.Errorf("first frame of the new size: %+v", got)
		}
		s.Apply(t0.Add(2*step), f0, moving(box), noFG(t))
		if got := s.Apply(t0.Add(3*step), f1, moving(box), noFG(t)); len(got) != 1 || got[0].Speed == 0 {
			t.Errorf("after the size is back: %+v", got)
		}
	})
	t.Run("closed", func(t *testing.T) {
		s := newStage(t, Config{})
		s.Apply(t0, f0, moving(box), noFG(t))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := s.Apply(t0.Add(step), f1, moving(box), noFG(t)); len(got) != 0 {
			t.Errorf("closed stage gave %+v", got)
		}
	})
}

func TestGroup(t *testing.T) {
	s := newStage(t, Config{})
	r := image.Rect
	tests := []struct {
		name  string
		boxes []image.Rectangle
		want  []image.Rectangle
	}{
		{"touching fighters", []image.Rectangle{r(100, 100, 130, 200), r(131, 105, 160, 200)}, []image.Rectangle{r(100, 100, 160, 200)}},
		{"a head apart from its body", []image.Rectangle{r(100, 100, 120, 120), r(98, 126, 124, 200)}, []image.Rectangle{r(98, 100, 124, 200)}},
		{"two people metres apart", []image.Rectangle{r(100, 100, 130, 200), r(300, 100, 330, 200)}, []image.Rectangle{r(100, 100, 130, 200), r(300, 100, 330, 200)}},
		{"a chain joins", []image.Rectangle{r(0, 0, 10, 20), r(40, 0, 50, 20), r(20, 0, 30, 20)}, []image.Rectangle{r(0, 0, 50, 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := s.group(tt.boxes)
			got := s.groups[:n]
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{{Width: 10}, {Group: -1}, {Margin: 3}, {MinMove: -1}, {MaxGap: -time.Second}} {
		if s, err := New(c); err == nil {
			s.Close()
			t.Errorf("%+v accepted", c)
		}
	}
}

// noFG is an empty mask: every pixel near a region counts.
func noFG(t testing.TB) gocv.Mat {
	m := gocv.NewMat()
	t.Cleanup(func() { m.Close() })
	return m
}

// TestMask: only pixels the motion detector marked as foreground in the
// previous frame count; the background the flow smears around them does
// not.
func TestMask(t *testing.T) {
	const w, h = 640, 360
	bg := texture(w, h, 11)
	box := image.Rect(280, 140, 360, 260)
	p := patch{r: box, dx: 6, tex: texture(box.Dx(), box.Dy(), 12)}
	f0, f1 := frame(t, w, h, bg, 0, p), frame(t, w, h, bg, 1, p)
	defer f0.Close()
	defer f1.Close()
	mask := func(r image.Rectangle) gocv.Mat {
		m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
		t.Cleanup(func() { m.Close() })
		if !r.Empty() {
			roi := m.Region(r)
			roi.SetTo(gocv.NewScalar(255, 0, 0, 0))
			roi.Close()
		}
		return m
	}
	t0 := time.Unix(0, 0)
	for _, tc := range []struct {
		name     string
		fg       gocv.Mat
		moveLo   float64
		anySpeed bool
	}{
		{"the patch is foreground", mask(box), 0.8, true},
		{"nothing is foreground", mask(image.Rectangle{}), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStage(t, Config{})
			s.Apply(t0, f0, moving(box), tc.fg)
			got := s.Apply(t0.Add(200*time.Millisecond), f1, moving(box.Add(image.Pt(6, 0))), tc.fg)
			if len(got) != 1 {
				t.Fatalf("got %+v", got)
			}
			if r := got[0]; r.Moving < tc.moveLo || (r.Speed > 0) != tc.anySpeed {
				t.Errorf("%+v", r)
			}
		})
	}
}
