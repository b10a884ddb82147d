package framestat

import (
	"image"
	"image/color"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// measure renders frames of sc and returns the stats of frame n (all
// frames before it are measured too, as the camera would).
func measure(t testing.TB, sc scene.Script, n int) pattern.FrameStats {
	s := scene.NewScripted(sc)
	w, h := s.Size()
	y, u, v := s.NewFrame()
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mat := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer mat.Close()
	var st pattern.FrameStats
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i <= n; i += 5 {
		s.Render(i, y, u, v)
		data, err := mat.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		copy(data, y)
		st = m.Measure(t0.Add(time.Duration(i)*time.Second/25), mat, false)
	}
	return st
}

func TestMeasure(t *testing.T) {
	base := scene.Static(320, 180, 25)
	normal := measure(t, scene.Script{Base: base}, 250)
	if !normal.Valid || normal.Mean < 80 || normal.StdDev < 10 || normal.Shift > 0.01 {
		t.Fatalf("normal scene: %+v", normal)
	}
	for _, tc := range []struct {
		name  string
		sc    scene.Script
		check func(pattern.FrameStats) bool
	}{
		{"covered", scene.Script{Base: base, Cover: &scene.Cover{At: 0, Luma: 10}}, func(s pattern.FrameStats) bool { return s.Mean < 20 && s.StdDev < 6 }},
		{"defocused", scene.Script{Base: base, Defocus: &scene.Defocus{At: 5e9, Radius: 3}}, func(s pattern.FrameStats) bool { return s.Sharpness < 0.25*normal.Sharpness }},
		{"moved", scene.Script{Base: base, Shift: &scene.Shift{At: 5e9, DX: 0.05}}, func(s pattern.FrameStats) bool { return s.Shift > 0.03 && s.Shift < 0.07 }},
		{"brighter", scene.Script{Base: base, Exposure: []scene.Step{{At: 5e9, Offset: 30}}}, func(s pattern.FrameStats) bool {
			return s.Shift < 0.01 && s.Mean > normal.Mean+20 && s.Sharpness > 0.5*normal.Sharpness
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := measure(t, tc.sc, 250); !tc.check(st) {
				t.Fatalf("%+v (normal %+v)", st, normal)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	m := newMeter(t)
	bgr := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	if st := m.Measure(time.Time{}, bgr, true); st.Valid {
		t.Fatal("BGR frame measured")
	}
	if _, err := New(Config{RefWidth: 5}); err == nil {
		t.Fatal("bad config accepted")
	}
	m.Close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkMeasure640(b *testing.B) {
	s := scene.New(scene.Walker(640, 360, 25))
	y, u, v := s.NewFrame()
	s.Render(100, y, u, v)
	mat, err := gocv.NewMatFromBytes(360, 640, gocv.MatTypeCV8UC1, y)
	if err != nil {
		b.Fatal(err)
	}
	defer mat.Close()
	for _, bc := range []struct {
		name    string
		changed bool
	}{{"full", true}, {"quiet", false}} {
		b.Run(bc.name, func(b *testing.B) {
			m, _ := New(Config{})
			defer m.Close()
			t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			m.Measure(t0, mat, true)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// 5 frames/s: a quiet view is fully measured every fifth.
				m.Measure(t0.Add(time.Duration(i+1)*200*time.Millisecond), mat, bc.changed)
			}
		})
	}
}

// TestSharpnessIsLaplacianVariance: Measure computes the Laplacian's
// variance from its sum and sum of squares (faster than meanStdDev on a
// 16-bit image); it must be what meanStdDev says, to rounding.
func TestSharpnessIsLaplacianVariance(t *testing.T) {
	m := newMeter(t)
	g := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer g.Close()
	for i, blur := range []int{1, 3, 9, 31} {
		gocv.RandU(&g, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(256, 0, 0, 0))
		if blur > 1 {
			gocv.GaussianBlur(g, &g, image.Pt(blur, blur), 0, 0, gocv.BorderReplicate)
		}
		want := laplacianVariance(g, image.Rect(0, 0, 640, 360))
		got := m.Measure(time.Time{}, g, true).Sharpness
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("image %d (blur %d): sharpness %v, meanStdDev gives %v", i, blur, got, want)
		}
	}
}

// TestFullMeasureWhenDue: sharpness and shift of a quiet view are measured
// once per FullEvery and carried over in between, brightness on every
// frame; a changed frame or a shifted view is measured at once.
func TestFullMeasureWhenDue(t *testing.T) {
	sc := scene.NewScripted(scene.Script{Base: scene.Static(320, 180, 25)})
	w, h := sc.Size()
	y, u, v := sc.NewFrame()
	sc.Render(0, y, u, v)
	sharp, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, y)
	if err != nil {
		t.Fatal(err)
	}
	defer sharp.Close()
	blurred, dark, moved := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer blurred.Close()
	defer dark.Close()
	defer moved.Close()
	gocv.GaussianBlur(sharp, &blurred, image.Pt(9, 9), 0, 0, gocv.BorderReplicate)
	sharp.ConvertToWithParams(&dark, gocv.MatTypeCV8U, 0.2, 0)
	shift := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer shift.Close()
	for i, v := range []float64{1, 0, 0.05 * float64(w), 0, 1, 0} {
		shift.SetDoubleAt(i/3, i%3, v)
	}
	gocv.WarpAffineWithParams(sharp, &moved, shift, image.Pt(w, h), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})

	m := newMeter(t)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	normal := m.Measure(at(0), sharp, false)
	normal = m.Measure(at(200), sharp, false)
	if !normal.Valid || normal.Shift > 0.005 {
		t.Fatalf("normal: %+v", normal)
	}
	// Within FullEvery: the sharpness is carried over, the brightness not.
	st := m.Measure(at(400), blurred, false)
	if st.Sharpness != normal.Sharpness {
		t.Errorf("blurred frame 400 ms after a full measurement: sharpness %v, want the carried %v", st.Sharpness, normal.Sharpness)
	}
	if st = m.Measure(at(600), dark, false); st.Mean > 0.3*normal.Mean || st.Sharpness != normal.Sharpness {
		t.Errorf("dark frame: %+v, want its own mean and the carried sharpness (normal %+v)", st, normal)
	}
	// Changed: measured at once.
	if st = m.Measure(at(800), blurred, true); st.Sharpness > 0.5*normal.Sharpness {
		t.Errorf("changed blurred frame: sharpness %v, normal %v", st.Sharpness, normal.Sharpness)
	}
	// Due: a second after the last full measurement.
	m.Measure(at(1000), sharp, false)
	if st = m.Measure(at(1800), blurred, false); st.Sharpness > 0.5*normal.Sharpness {
		t.Errorf("blurred frame a second after the last full measurement: sharpness %v, normal %v", st.Sharpness, normal.Sharpness)
	}
	// A shifted view is measured on every frame until it is back.
	if st = m.Measure(at(2800), moved, false); st.Shift < 0.03 {
		t.Fatalf("moved view: shift %v", st.Shift)
	}
	if st = m.Measure(at(3000), sharp, false); st.Shift > 0.005 {
		t.Errorf("view back 200 ms after a shifted measurement: shift %v, want about 0", st.Shift)
	}
}

// newMeter is a meter with the defaults, closed when the test ends.
func newMeter(t *testing.T) *Meter {
	t.Helper()
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLowTexture: a flat view in sensor noise (a plain wall, pavement at
// night) has nothing for the phase correlation to find: the displacement it
// names is noise, so the view is reported as without texture and not
// shifted, also with a figure walking over it; measuring it allocates no
// more than a full measurement of any view (gocv's PhaseCorrelate lets its
// 8-byte response escape: BenchmarkMeasure640/full).
func TestLowTexture(t *testing.T) {
	const w, h = 640, 360
	rng := rand.New(rand.NewSource(3))
	buf := make([]byte, w*h)
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer frame.Close()
	render := func(i int) {
		for j := range buf {
			buf[j] = byte(max(0, min(255, 120+3*rng.NormFloat64())))
		}
		data, _ := frame.DataPtrUint8()
		copy(data, buf)
		if i >= 10 { // a dark figure walks in from the left
			x := 20 + 12*(i-10)
			gocv.Rectangle(&frame, image.Rect(x, 150, x+32, 280), color.RGBA{R: 50, G: 50, B: 50}, -1)
		}
	}
	m := newMeter(t)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	flat := 0
	for i := range 40 {
		render(i)
		st := m.Measure(t0.Add(time.Duration(i)*200*time.Millisecond), frame, true)
		if i == 0 {
			continue
		}
		if st.Shift*160 >= 1 {
			t.Fatalf("frame %d: shift %.3f (confidence %.3f) on a fixed flat view", i, st.Shift, st.ShiftConfidence)
		}
		if st.LowTexture {
			flat++
		}
	}
	if flat < 5 {
		t.Errorf("%d frames without texture, want at least the empty view's 9", flat)
	}
	i := 0
	if n := testing.AllocsPerRun(20, func() {
		m.Measure(t0.Add(time.Duration(100+i)*200*time.Millisecond), frame, true)
		i++
	}); n > 1 {
		t.Errorf("Measure on a flat view: %v allocations, want at most 1", n)
	}
}

// TestCellsAreLaplacianVariancePerCell: each of FrameStats.Cells is the
// variance of the Laplacian over its cell of the grid (the area resize
// averages exactly), so that a cover over part of the view shows in the
// cells it covers and nowhere else.
func TestCellsAreLaplacianVariancePerCell(t *testing.T) {
	m := newMeter(t)
	g := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer g.Close()
	cw, ch := 640/pattern.CellCols, 360/pattern.CellRows
	for _, tc := range []struct {
		name    string
		blurred image.Rectangle // smoothed part of the frame
	}{
		{"sharp", image.Rectangle{}},
		{"right half covered", image.Rect(320, 0, 640, 360)},
		{"bottom row of cells covered", image.Rect(0, 270, 640, 360)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gocv.RandU(&g, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(256, 0, 0, 0))
			if !tc.blurred.Empty() {
				r := g.Region(tc.blurred)
				gocv.GaussianBlur(r, &r, image.Pt(31, 31), 0, 0, gocv.BorderReplicate)
				r.Close()
			}
			st := m.Measure(time.Time{}, g, true)
			for y := range pattern.CellRows {
				for x := range pattern.CellCols {
					cell := image.Rect(x*cw, y*ch, (x+1)*cw, (y+1)*ch)
					want := laplacianVariance(g, cell)
					got := st.Cells[y*pattern.CellCols+x]
					if math.Abs(got-want) > 1e-3*want+1e-6 {
						t.Errorf("cell (%d,%d): %v, meanStdDev of its Laplacian gives %v", x, y, got, want)
					}
					if lost := got < 0.25*st.Sharpness; lost != cell.In(tc.blurred) && !tc.blurred.Empty() {
						t.Errorf("cell (%d,%d): sharpness %v of the frame's %v; covered: %v", x, y, got, st.Sharpness, cell.In(tc.blurred))
					}
				}
			}
		})
	}
}

// laplacianVariance is the variance of g's Laplacian (as Measure takes
// it: 16-bit, 3×3, replicated border) over r, by meanStdDev: the reference
// Measure's faster sums must agree with.
func laplacianVariance(g gocv.Mat, r image.Rectangle) float64 {
	lap, mean, std := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer lap.Close()
	defer mean.Close()
	defer std.Close()
	gocv.Laplacian(g, &lap, gocv.MatTypeCV16S, 3, 1, 0, gocv.BorderReplicate)
	sub := lap.Region(r)
	defer sub.Close()
	gocv.MeanStdDev(sub, &mean, &std)
	return std.GetDoubleAt(0, 0) * std.GetDoubleAt(0, 0)
}
