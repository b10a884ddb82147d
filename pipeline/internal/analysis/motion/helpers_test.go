package motion

import (
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// feeder renders scene frames straight into a reused grey Mat (the Y plane
// is the grey image), the way the decoder fills the analysis frame.
type feeder struct {
	s       *scene.Scene
	y, u, v []byte
	mat     gocv.Mat
}

func newFeeder(t testing.TB, cfg scene.Config) *feeder {
	t.Helper()
	s := scene.New(cfg)
	y, u, v := s.NewFrame()
	f := &feeder{s: s, y: y, u: u, v: v, mat: gocv.NewMatWithSize(cfg.Height, cfg.Width, gocv.MatTypeCV8UC1)}
	t.Cleanup(func() { f.mat.Close() })
	return f
}

// frame renders frame n and adds offset to every pixel (saturating), to
// simulate a sudden light change.
func (f *feeder) frame(t testing.TB, n int, offset int) gocv.Mat {
	f.s.Render(n, f.y, f.u, f.v)
	if offset != 0 {
		for i, p := range f.y {
			f.y[i] = byte(max(0, min(255, int(p)+offset)))
		}
	}
	data, err := f.mat.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	copy(data, f.y)
	return f.mat
}
