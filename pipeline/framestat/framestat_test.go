package framestat

import (
	"image"
	"math"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/pattern"
	"github.com/edgeguard/edgeguard/pipeline/scene"
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
	for i := 0; i <= n; i += 5 {
		s.Render(i, y, u, v)
		data, err := mat.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		copy(data, y)
		st = m.Measure(mat)
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
	if st := m.Measure(bgr); st.Valid {
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
	m, _ := New(Config{})
	defer m.Close()
	m.Measure(mat)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m.Measure(mat)
	}
}

// TestSharpnessIsLaplacianVariance: Measure computes the Laplacian's
// variance from its sum and sum of squares (faster than meanStdDev on a
// 16-bit image); it must be what meanStdDev says, to rounding.
func TestSharpnessIsLaplacianVariance(t *testing.T) {
	m := newMeter(t)
	g := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer g.Close()
	lap, mean, std := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer lap.Close()
	defer mean.Close()
	defer std.Close()
	for i, blur := range []int{1, 3, 9, 31} {
		gocv.RandU(&g, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(256, 0, 0, 0))
		if blur > 1 {
			gocv.GaussianBlur(g, &g, image.Pt(blur, blur), 0, 0, gocv.BorderReplicate)
		}
		gocv.Laplacian(g, &lap, gocv.MatTypeCV16S, 3, 1, 0, gocv.BorderReplicate)
		gocv.MeanStdDev(lap, &mean, &std)
		want := std.GetDoubleAt(0, 0) * std.GetDoubleAt(0, 0)
		got := m.Measure(g).Sharpness
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("image %d (blur %d): sharpness %v, meanStdDev gives %v", i, blur, got, want)
		}
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
