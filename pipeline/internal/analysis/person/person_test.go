package person

import (
	"fmt"
	"image"
	"math"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

const width, height, fps = 640, 360, 25

// walker crosses the frame with feet at row y, standing height h (fraction
// of the frame height, as pipeline/tools/eval's perspective gives at that row).
func walker(y, h float64, luma uint8, pose scene.Pose, secs float64) scene.Actor {
	return scene.Actor{H: h, Luma: luma, Keys: []scene.Key{
		{At: 2 * time.Second, Pos: scene.Point{X: -0.05, Y: y}, Pose: pose},
		{At: time.Duration((2 + secs) * float64(time.Second)), Pos: scene.Point{X: 1.05, Y: y - 0.02}},
	}}
}

// tally is what the detector said about one scene.
type tally struct {
	examined, found, frames, framesWithPerson int
}

func (t tally) rate() float64 {
	if t.examined == 0 {
		return 0
	}
	return float64(t.found) / float64(t.examined)
}

// runScene renders the script at 5 analysis frames/s through the real
// motion detector and the person detector and counts, per examination,
// whether a person was found in the examined blob.
func runScene(t *testing.T, sc scene.Script, d time.Duration, cfg Config) tally {
	t.Helper()
	s := scene.NewScripted(sc)
	// As analysis.New configures it when the person detector runs.
	mc := motion.DefaultConfig()
	mc.ModelWidth = -1
	det, err := motion.NewDetector(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	pd, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	mat := gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC1)
	defer mat.Close()
	y, u, v := s.NewFrame()
	var tl tally
	for n := 0; n < int(d.Seconds()*fps); n += fps / 5 {
		s.Render(n, y, u, v)
		data, err := mat.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		copy(data, y)
		tl.analyse(det, pd, mat)
	}
	return tl
}

// analyse runs one analysis frame through the motion detector and, past
// the warm-up and light changes, the person detector on its blobs, and
// counts the outcome.
func (tl *tally) analyse(det *motion.Detector, pd *Detector, grey gocv.Mat) {
	res := det.Apply(grey)
	if res.Warmup || res.LightChange {
		return
	}
	r := pd.Detect(grey, res.Boxes)
	tl.frames++
	if len(r.Persons) > 0 {
		tl.framesWithPerson++
	}
	for _, c := range r.Checked {
		tl.examined++
		if holdsPerson(c, r.Persons) {
			tl.found++
		}
	}
}

func holdsPerson(b track.Box, persons []track.Box) bool {
	for _, p := range persons {
		if cx, cy := p.Center(); cx >= b.X && cx <= b.X+b.W && cy >= b.Y && cy <= b.Y+b.H {
			return true
		}
	}
	return false
}

func base(seed int64) scene.Config {
	c := scene.Static(width, height, fps)
	c.Seed = seed
	return c
}

// TestRenderedScenes: the figures pipeline/tools/eval renders (capsule limbs,
// realistic gait and size) at the suite's three depths, and the moving
// things in its quiet scenes that are not people. HOG was trained on
// photographs of pedestrians; the rendered figures have the outline it
// looks for (head, shoulders, two legs) and it finds them. It must find no
// one in swaying trees, headlights or rain.
func TestRenderedScenes(t *testing.T) {
	if testing.Short() {
		t.Skip("renders and analyses about 3 minutes of video")
	}
	tests := []struct {
		name   string
		sc     scene.Script
		d      time.Duration
		people bool
	}{
		{"walker far", scene.Script{Base: base(1), Actors: []scene.Actor{walker(0.50, 0.18, 45, scene.Walk, 14)}}, 16 * time.Second, true},
		{"walker middle", scene.Script{Base: base(2), Actors: []scene.Actor{walker(0.70, 0.23, 190, scene.Walk, 14)}}, 16 * time.Second, true},
		{"walker near", scene.Script{Base: base(3), Actors: []scene.Actor{walker(0.95, 0.30, 60, scene.Walk, 14)}}, 16 * time.Second, true},
		{"runner", scene.Script{Base: base(4), Actors: []scene.Actor{walker(0.85, 0.27, 40, scene.Run, 5)}}, 8 * time.Second, true},
		{"two side by side", scene.Script{Base: base(5), Actors: []scene.Actor{walker(0.78, 0.25, 40, scene.Walk, 14), walker(0.84, 0.27, 190, scene.Walk, 14)}}, 16 * time.Second, true},
		{"trees in wind", scene.Script{Base: base(6), Trees: []scene.Tree{{X0: 0.0, Y0: 0.0, X1: 0.22, Y1: 0.34, Amplitude: 3, Hz: 0.7}, {X0: 0.85, Y0: 0.05, X1: 1, Y1: 0.3, Amplitude: 2, Hz: 1.1}}}, 30 * time.Second, false},
		{"headlights", scene.Script{Base: base(7), Headlights: []scene.Light{
			{Appear: 6 * time.Second, Disappear: 12 * time.Second, From: scene.Point{X: -0.2, Y: 0.7}, To: scene.Point{X: 1.2, Y: 0.65}, RX: 0.25, RY: 0.12, Gain: 60},
			{Appear: 16 * time.Second, Disappear: 20 * time.Second, From: scene.Point{X: 1.2, Y: 0.9}, To: scene.Point{X: -0.2, Y: 0.85}, RX: 0.3, RY: 0.15, Gain: 80}}}, 24 * time.Second, false},
		{"rain", scene.Script{Base: base(8), Rain: 1500}, 20 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := runScene(t, tt.sc, tt.d, Config{})
			t.Logf("%s: %d frames, %d examinations, %d found a person (%.0f%%), %d frames with a person",
				tt.name, tl.frames, tl.examined, tl.found, 100*tl.rate(), tl.framesWithPerson)
			switch {
			case tt.people && (tl.examined < 5 || tl.rate() < 0.8):
				t.Errorf("found people in %d of %d examinations, want at least 80%%", tl.found, tl.examined)
			case !tt.people && tl.framesWithPerson > 0:
				t.Errorf("found a person on %d frames of a scene without people", tl.framesWithPerson)
			}
		})
	}
}

// TestRateLimit: each place is examined at most every Every frames, at
// most Budget crops per frame, the longest-waiting first.
func TestRateLimit(t *testing.T) {
	d, err := New(Config{Every: 3, Budget: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	grey := gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC1)
	defer grey.Close()
	blobs := []image.Rectangle{image.Rect(50, 100, 80, 180), image.Rect(250, 100, 280, 180), image.Rect(450, 100, 480, 180),
		image.Rect(600, 100, 605, 110)} // too small: never examined
	var got []int
	for range 8 {
		got = append(got, d.Detect(grey, blobs).Examined)
	}
	// Frame 1: two of three; 2: the third; 3: none due; 4: the first two
	// again (3 frames on); 5: the third; ...
	if want := []int{2, 1, 0, 2, 1, 0, 2, 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("crops per frame %v, want %v", got, want)
	}
}

// TestCarriedAlong: between examinations, what was found moves with the
// blob (feet on the ground); a blob that is gone takes it away.
func TestCarriedAlong(t *testing.T) {
	s := scene.NewScripted(scene.Script{Base: base(5), Actors: []scene.Actor{{H: 0.25, Luma: 40, Keys: []scene.Key{
		{At: 0, Pos: scene.Point{X: 0.3, Y: 0.8}, Pose: scene.Stand}, {At: time.Hour, Pos: scene.Point{X: 0.3, Y: 0.8}}}}}})
	y, u, v := s.NewFrame()
	s.Render(0, y, u, v)
	grey := gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC1)
	defer grey.Close()
	data, _ := grey.DataPtrUint8()
	copy(data, y)
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The figure: 90 px tall, feet at row 288, centred at x 192.
	blob := image.Rect(174, 198, 210, 288)
	r := d.Detect(grey, []image.Rectangle{blob})
	if r.Examined != 1 || len(r.Persons) != 1 {
		t.Fatalf("first frame: %d crops, %d people; want 1, 1", r.Examined, len(r.Persons))
	}
	first := r.Persons[0]
	r = d.Detect(grey, []image.Rectangle{blob.Add(image.Pt(12, 6))})
	if r.Examined != 0 || len(r.Persons) != 1 {
		t.Fatalf("second frame: %d crops, %d people; want 0 (not due), 1 carried", r.Examined, len(r.Persons))
	}
	if dx, dy := (r.Persons[0].X-first.X)*width, (r.Persons[0].Y-first.Y)*height; math.Abs(dx-12) > 0.5 || math.Abs(dy-6) > 0.5 {
		t.Errorf("carried box moved by (%.1f, %.1f) px, want (12, 6)", dx, dy)
	}
	if r = d.Detect(grey, nil); len(r.Persons) != 0 {
		t.Errorf("no blob: %d people carried", len(r.Persons))
	}
}
