package analysis

import (
	"image"
	"slices"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/flow"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
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
			regions := 0
			fightFrames(t, 320, 180, 0, func(_ int, now time.Time, mat gocv.Mat) {
				for _, fr := range a.Apply(now, mat).Info.Flow {
					if fr.Speed > 0 {
						regions++
					}
				}
			})
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

// TestFlowFromModel: with the background model at the flow's width, the
// analyser hands the flow the model's frame and mask; the regions must be
// exactly those the flow finds from the analysis frame and the upscaled
// mask.
func TestFlowFromModel(t *testing.T) {
	const w, h = 640, 360
	det, err := motion.NewDetector(motion.Config{WarmupFrames: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	full, err := flow.New(flow.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	model, err := flow.New(flow.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	regions := 0
	fightFrames(t, w, h, 0.3, func(n int, now time.Time, mat gocv.Mat) {
		res := det.Apply(mat)
		small, fg, ok := det.Model()
		if !ok || image.Pt(small.Cols(), small.Rows()) != model.SizeFor(image.Pt(w, h)) {
			t.Fatalf("model frame %v, flow size %v", image.Pt(small.Cols(), small.Rows()), model.SizeFor(image.Pt(w, h)))
		}
		got := slices.Clone(model.ApplyDownscaled(now, image.Pt(w, h), small, res, fg))
		want := full.Apply(now, mat, res, det.Foreground())
		if !slices.Equal(got, want) {
			t.Fatalf("frame %d: from the model %+v, from the frame %+v", n, got, want)
		}
		regions += len(got)
	})
	if regions < 20 {
		t.Errorf("only %d flow regions compared", regions)
	}
}

// fightFrames renders 8 s of two people at 25 frames/s who walk (from
// walk frame widths to the left of where they stop) and fight from 3 s on,
// and calls fn with every fifth frame (5 analysis frames/s) as a grey Mat.
func fightFrames(t *testing.T, w, h int, walk float64, fn func(n int, now time.Time, mat gocv.Mat)) {
	t.Helper()
	keys := func(x float64) []scene.Key {
		return []scene.Key{{At: 0, Pos: scene.Point{X: x - walk, Y: 0.9}, Pose: scene.Walk}, {At: 3 * time.Second, Pos: scene.Point{X: x, Y: 0.9}, Pose: scene.Fight}, {At: time.Minute, Pos: scene.Point{X: x, Y: 0.9}}}
	}
	sc := scene.NewScripted(scene.Script{Base: scene.Static(w, h, 25), Actors: []scene.Actor{{Keys: keys(0.45), H: 0.35, Luma: 40}, {Keys: keys(0.56), H: 0.35, Luma: 200}}})
	mat := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer mat.Close()
	y, u, v := sc.NewFrame()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 0; n < 25*8; n += 5 {
		sc.Render(n, y, u, v)
		data, err := mat.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		copy(data, y)
		fn(n, t0.Add(time.Duration(n)*40*time.Millisecond), mat)
	}
}
