package analysis

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/motion"
	"github.com/edgeguard/edgeguard/pipeline/pattern"
	"github.com/edgeguard/edgeguard/pipeline/scene"
	"github.com/edgeguard/edgeguard/pipeline/track"
	"gocv.io/x/gocv"
)

// TestFlowOnlyWhenNeeded: optical flow is computed only for a camera with a
// rule that needs it, and then measures the moving people.
func TestFlowOnlyWhenNeeded(t *testing.T) {
	violent, err := pattern.NewViolent(pattern.ViolentConfig{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	running, err := pattern.NewRunning(pattern.RunningConfig{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	base := scene.Static(320, 180, 25)
	keys := func(x float64) []scene.Key {
		return []scene.Key{{At: 0, Pos: scene.Point{X: x, Y: 0.9}, Pose: scene.Walk}, {At: 3 * time.Second, Pos: scene.Point{X: x, Y: 0.9}, Pose: scene.Fight}, {At: time.Minute, Pos: scene.Point{X: x, Y: 0.9}}}
	}
	sc := scene.NewScripted(scene.Script{Base: base, Actors: []scene.Actor{{Keys: keys(0.45), H: 0.35, Luma: 40}, {Keys: keys(0.56), H: 0.35, Luma: 200}}})
	for _, tc := range []struct {
		name string
		rule pattern.Rule
		flow bool
	}{
		{"violent_motion", violent, true},
		{"running", running, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Config{Motion: motion.Config{WarmupFrames: 5}, Track: track.DefaultConfig(), Rules: []pattern.Rule{tc.rule}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if (a.flow != nil) != tc.flow {
				t.Fatalf("flow stage built: %v, want %v", a.flow != nil, tc.flow)
			}
			mat := gocv.NewMatWithSize(180, 320, gocv.MatTypeCV8UC1)
			defer mat.Close()
			y, u, v := sc.NewFrame()
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			regions := 0
			for n := 0; n < 25*8; n += 5 {
				sc.Render(n, y, u, v)
				data, err := mat.DataPtrUint8()
				if err != nil {
					t.Fatal(err)
				}
				copy(data, y)
				f := a.Apply(t0.Add(time.Duration(n)*40*time.Millisecond), mat)
				for _, fr := range f.Info.Flow {
					if fr.Speed > 0 {
						regions++
					}
				}
			}
			if tc.flow && regions < 10 {
				t.Errorf("%d moving flow regions in 8 s of a fight", regions)
			}
			if !tc.flow && regions != 0 {
				t.Errorf("flow computed without a rule that needs it")
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
