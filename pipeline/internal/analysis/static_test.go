package analysis

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

func staticRules(t testing.TB) []pattern.Rule {
	a, err := pattern.NewAbandonedObject(pattern.AbandonedConfig{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pattern.NewObjectRemoved(pattern.RemovedConfig{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	return []pattern.Rule{a, r}
}

// bagScene renders the square with a bag put down at 10 s into a reused
// grey Mat.
type bagScene struct {
	s       *scene.Scripted
	y, u, v []byte
	mat     gocv.Mat
}

func newBagScene(t testing.TB) *bagScene {
	bag := scene.Prop{Appear: 10 * time.Second, Disappear: time.Hour, Pos: scene.Point{X: 0.42, Y: 0.81}, W: 0.035, H: 0.05, Luma: 35}
	s := scene.NewScripted(scene.Script{Base: scene.Static(640, 360, 25), Props: []scene.Prop{bag}})
	y, u, v := s.NewFrame()
	b := &bagScene{s: s, y: y, u: u, v: v, mat: gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)}
	t.Cleanup(func() { b.mat.Close() })
	return b
}

func (b *bagScene) frame(t testing.TB, n int) gocv.Mat {
	b.s.Render(n, b.y, b.u, b.v)
	data, err := b.mat.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	copy(data, b.y)
	return b.mat
}

// TestStaticStage: the static-object stage runs only when a rule needs it,
// and then reports a bag put down in FrameInfo.Static.
func TestStaticStage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tamper, err := pattern.NewTamper(pattern.TamperConfig{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		rules []pattern.Rule
		want  bool
	}{
		{"no static rule", []pattern.Rule{tamper}, false},
		{"abandoned and removed", staticRules(t), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			an, err := New(Config{Track: track.DefaultConfig(), Rules: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			defer an.Close()
			if (an.static != nil) != tt.want {
				t.Fatalf("static stage built: %v, want %v", an.static != nil, tt.want)
			}
			b := newBagScene(t)
			var last Frame
			for n := 0; n < 25*20; n += 5 { // 20 s at 5 frames/s
				last = an.Apply(t0.Add(time.Duration(n)*time.Second/25), b.frame(t, n))
			}
			if got := len(last.Info.Static); (got == 1) != tt.want || got > 1 {
				t.Fatalf("%d static regions %+v, want the bag: %v", got, last.Info.Static, tt.want)
			}
			if tt.want && last.Info.Static[0].Kind != pattern.Added {
				t.Fatalf("bag reported as %+v", last.Info.Static[0])
			}
		})
	}
}

// BenchmarkApplyStatic is one analysis frame at 640x360 (motion, frame
// statistics, tracks, rules) while a bag lies on the ground, with a rule
// that needs no pixel stage and with the static rules: the difference is
// the static-object stage's cost.
func BenchmarkApplyStatic(b *testing.B) {
	for _, bc := range []struct {
		name  string
		rules func(testing.TB) []pattern.Rule
	}{
		{"tamper", func(t testing.TB) []pattern.Rule {
			r, err := pattern.NewTamper(pattern.TamperConfig{Name: "t"})
			if err != nil {
				t.Fatal(err)
			}
			return []pattern.Rule{r}
		}},
		{"static", staticRules},
	} {
		b.Run(bc.name, func(b *testing.B) {
			t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			an, err := New(Config{Track: track.DefaultConfig(), Rules: bc.rules(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer an.Close()
			sc := newBagScene(b)
			n := 0
			for ; n < 25*20; n += 5 {
				an.Apply(t0.Add(time.Duration(n)*time.Second/25), sc.frame(b, n))
			}
			frames := make([]gocv.Mat, 4)
			for k := range frames {
				m := sc.frame(b, n+5*k)
				frames[k] = m.Clone()
				defer frames[k].Close()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				an.Apply(t0.Add(time.Duration(n+5*i)*time.Second/25), frames[i%4])
			}
		})
	}
}
