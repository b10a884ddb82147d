package staticobj

import (
	"image"
	"reflect"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// feeder renders a scripted scene at 25 fps into a reused grey Mat, every
// step-th frame, as the camera's analysis does.
type feeder struct {
	s       *scene.Scripted
	y, u, v []byte
	mat     gocv.Mat
}

func newFeeder(t testing.TB, sc scene.Script) *feeder {
	t.Helper()
	s := scene.NewScripted(sc)
	w, h := s.Size()
	y, u, v := s.NewFrame()
	f := &feeder{s: s, y: y, u: u, v: v, mat: gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)}
	t.Cleanup(func() { f.mat.Close() })
	return f
}

func (f *feeder) frame(t testing.TB, n int) gocv.Mat {
	f.s.Render(n, f.y, f.u, f.v)
	data, err := f.mat.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	copy(data, f.y)
	return f.mat
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

// base is the suite's square: noise sigma 3, drift ±8 over 60 s.
func base(w, h int) scene.Config { return scene.Static(w, h, 25) }

type obs struct {
	at   time.Duration
	objs []pattern.StaticObject
}

// run feeds the scene at fps for d; the first warmup frames are marked for
// re-learning, as the motion detector's warm-up would.
func run(t testing.TB, st *Stage, sc scene.Script, fps float64, d time.Duration, relearn func(at time.Duration) bool) []obs {
	f := newFeeder(t, sc)
	step := int(25 / fps)
	var out []obs
	for n := 0; n < int(d.Seconds()*25); n += step {
		at := time.Duration(n) * time.Second / 25
		rl := at < 3*time.Second || (relearn != nil && relearn(at))
		objs := st.Apply(t0.Add(at), f.frame(t, n), rl)
		out = append(out, obs{at, append([]pattern.StaticObject(nil), objs...)})
	}
	return out
}

// TestStaticRegions: a bag put down is an Added region where the bag is,
// from StillTime after it appeared, with one Since throughout; a box taken
// away is a Removed region; the empty square, exposure steps (re-learnt, as
// the motion detector asks) and swaying trees give none.
func TestStaticRegions(t *testing.T) {
	bag := scene.Prop{Appear: sec(10), Disappear: time.Hour, Pos: scene.Point{X: 0.42, Y: 0.81}, W: 0.035, H: 0.05, Luma: 35}
	box := scene.Prop{Appear: 0, Disappear: sec(45), Pos: scene.Point{X: 0.56, Y: 0.745}, W: 0.04, H: 0.06, Luma: 200}
	// Taken away before the background was confirmed: a ghost.
	early := box
	early.Disappear = sec(15)
	steps := []scene.Step{{At: sec(15), Offset: 30}, {At: sec(35), Offset: -55}}
	moved := box
	moved.Disappear = sec(30)
	movedTo := moved
	movedTo.Appear, movedTo.Disappear, movedTo.Pos.X = sec(30), time.Hour, box.Pos.X+0.01
	trees := []scene.Tree{{X0: 0.0, Y0: 0.0, X1: 0.22, Y1: 0.34, Amplitude: 3, Hz: 0.7}, {X0: 0.85, Y0: 0.05, X1: 1, Y1: 0.3, Amplitude: 2, Hz: 1.1}}
	stepRelearn := func(at time.Duration) bool {
		return (at >= sec(15) && at < sec(16.2)) || (at >= sec(35) && at < sec(36.2))
	}
	tests := []struct {
		name    string
		sc      scene.Script
		fps     float64
		relearn func(time.Duration) bool
		kind    pattern.StaticKind // 0: no region expected
		where   scene.Prop
	}{
		{"bag put down", scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}}, 5, nil, pattern.Added, bag},
		{"bag put down, 1 fps", scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}}, 1, nil, pattern.Added, bag},
		{"bag put down, 320x180", scene.Script{Base: base(320, 180), Props: []scene.Prop{bag}}, 5, nil, pattern.Added, bag},
		{"box taken away", scene.Script{Base: base(640, 360), Props: []scene.Prop{box}}, 5, nil, pattern.Removed, box},
		{"box there only while learning", scene.Script{Base: base(640, 360), Props: []scene.Prop{early}}, 5, nil, 0, scene.Prop{}},
		{"empty square", scene.Script{Base: base(640, 360)}, 5, nil, 0, scene.Prop{}},
		{"exposure steps", scene.Script{Base: base(640, 360), Exposure: steps}, 5, stepRelearn, 0, scene.Prop{}},
		// Steps the motion detector might not call a light change: +15, −20.
		{"small exposure steps, not re-learnt", scene.Script{Base: base(640, 360), Exposure: []scene.Step{{At: sec(15), Offset: 15}, {At: sec(35), Offset: -35}}}, 5, nil, 0, scene.Prop{}},
		{"trees in wind", scene.Script{Base: base(640, 360), Trees: trees}, 5, nil, 0, scene.Prop{}},
		// Set back a few pixels off its place (displaced): nothing is gone.
		{"box moved 6 px", scene.Script{Base: base(640, 360), Props: []scene.Prop{moved, movedTo}}, 5, nil, 0, scene.Prop{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStage(t, Config{})
			var since time.Time
			for _, o := range run(t, st, tt.sc, tt.fps, sec(60), tt.relearn) {
				if tt.kind == 0 {
					if len(o.objs) > 0 {
						t.Fatalf("%v: regions %+v on a scene without objects", o.at, o.objs)
					}
					continue
				}
				p := tt.where
				want := o.at >= p.Appear+sec(4) && o.at < p.Disappear
				if tt.kind == pattern.Removed {
					want = o.at >= p.Disappear+sec(4)
				}
				if !want {
					continue
				}
				if len(o.objs) != 1 {
					t.Fatalf("%v: %d regions %+v, want 1", o.at, len(o.objs), o.objs)
				}
				r := o.objs[0]
				cx, fy := r.Box.Foot()
				if r.Kind != tt.kind || abs(cx-p.Pos.X) > 0.02 || abs(fy-p.Pos.Y) > 0.03 || abs(r.Box.W-p.W) > 0.02 || abs(r.Box.H-p.H) > 0.03 {
					t.Fatalf("%v: region %+v, want kind %d at %+v", o.at, r, tt.kind, p)
				}
				if since.IsZero() {
					since = r.Since
				}
				if r.Since != since {
					t.Fatalf("%v: since moved from %v to %v", o.at, since, r.Since)
				}
			}
			if tt.kind != 0 && since.IsZero() {
				t.Fatal("no region")
			}
		})
	}
}

func abs(v float64) float64 { return max(v, -v) }

// TestAbsorb: a region older than AbsorbAfter is learnt into the
// background and no longer reported; TestRelearn: a frame size change or a
// relearn request forgets every region.
func TestAbsorbAndRelearn(t *testing.T) {
	bag := scene.Prop{Appear: sec(10), Disappear: time.Hour, Pos: scene.Point{X: 0.42, Y: 0.81}, W: 0.035, H: 0.05, Luma: 35}
	sc := scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}}
	st := newStage(t, Config{AbsorbAfter: 10 * time.Second})
	obs := run(t, st, sc, 5, sec(35), nil)
	seen, gone := false, false
	for _, o := range obs {
		if len(o.objs) > 0 {
			seen = true
			if gone {
				t.Fatalf("%v: region back after it was absorbed: %+v", o.at, o.objs)
			}
		} else if seen {
			gone = true
			if o.at < sec(10+10) {
				t.Fatalf("%v: region gone before AbsorbAfter", o.at)
			}
		}
	}
	if !seen || !gone {
		t.Fatalf("seen %v, absorbed %v", seen, gone)
	}

	// A region, then a smaller frame: learning starts afresh.
	st2 := newStage(t, Config{})
	run(t, st2, sc, 5, sec(16), nil)
	if st2.n == 0 {
		t.Fatal("no region before the size change")
	}
	small := scene.Script{Base: base(320, 180), Props: []scene.Prop{bag}}
	if objs := run(t, st2, small, 5, sec(1), nil); len(objs[len(objs)-1].objs) != 0 {
		t.Fatalf("regions right after a size change: %+v", objs)
	}
	if st2.n != 0 {
		t.Fatal("regions kept across a size change")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero takes defaults", Config{}, false},
		{"threshold 255", Config{Threshold: 255}, true},
		{"negative move threshold", Config{MoveThreshold: -1}, true},
		{"min area 0.5", Config{MinArea: 0.5}, true},
		{"learn time 1ms", Config{LearnTime: time.Millisecond}, true},
		{"negative still time", Config{StillTime: -time.Second}, true},
		{"negative confirm time", Config{ConfirmTime: -time.Second}, true},
		{"absorb 1ms", Config{AbsorbAfter: time.Millisecond}, true},
		{"max width 16", Config{MaxWidth: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				if tt.cfg == (Config{}) && s.Config().Threshold != DefaultConfig().Threshold {
					t.Errorf("zero config not defaulted: %+v", s.Config())
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal("second Close:", err)
				}
			}
		})
	}
}

// TestBadInput: an empty frame, a colour frame or a closed stage give nil.
func TestBadInput(t *testing.T) {
	st := newStage(t, Config{})
	empty := gocv.NewMat()
	defer empty.Close()
	bgr := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	if st.Apply(t0, empty, false) != nil || st.Apply(t0, bgr, false) != nil {
		t.Fatal("regions from an empty or colour frame")
	}
	grey := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer grey.Close()
	st.Close()
	if st.Apply(t0, grey, false) != nil {
		t.Fatal("regions from a closed stage")
	}
}

// BenchmarkApply640 is the steady state at the camera's default analysis
// size with one bag on the ground (one region followed and reported).
func BenchmarkApply640(b *testing.B) {
	bag := scene.Prop{Appear: 0, Disappear: time.Hour, Pos: scene.Point{X: 0.42, Y: 0.81}, W: 0.035, H: 0.05, Luma: 35}
	f := newFeeder(b, scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}})
	st := newStage(b, Config{})
	// Learn an empty background, then put the bag down and let it settle.
	empty := newFeeder(b, scene.Script{Base: base(640, 360)})
	for i := range 50 {
		st.Apply(t0.Add(time.Duration(i)*200*time.Millisecond), empty.frame(b, 5*i), i < 15)
	}
	frames := make([]gocv.Mat, 4)
	for k := range frames {
		m := f.frame(b, 5*(50+k))
		frames[k] = m.Clone()
		defer frames[k].Close()
	}
	i := 50
	for ; i < 80; i++ {
		st.Apply(t0.Add(time.Duration(i)*200*time.Millisecond), frames[i%4], false)
	}
	if len(st.Apply(t0.Add(time.Duration(i)*200*time.Millisecond), frames[i%4], false)) != 1 {
		b.Fatal("the bag is not reported")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		st.Apply(t0.Add(time.Duration(i+1+n)*200*time.Millisecond), frames[n%4], false)
	}
}

// TestEveryLooksAtOneFrameASecond: at 5 frames/s the stage looks at every
// fifth frame and returns its regions for the four after it; a skipped
// frame that asks for re-learning clears them at once, and the next frame
// looked at re-learns.
func TestEveryLooksAtOneFrameASecond(t *testing.T) {
	bag := scene.Prop{Appear: sec(10), Disappear: time.Hour, Pos: scene.Point{X: 0.42, Y: 0.81}, W: 0.035, H: 0.05, Luma: 35}
	obs := run(t, newStage(t, Config{}), scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}}, 5, sec(20), nil)
	seen := 0
	for i, o := range obs {
		if o.at < sec(15) {
			continue
		}
		seen += len(o.objs)
		if first := i - i%5; !reflect.DeepEqual(o.objs, obs[first].objs) {
			t.Fatalf("%v: %+v, the frame looked at (%v) gave %+v", o.at, o.objs, obs[first].at, obs[first].objs)
		}
	}
	if seen == 0 {
		t.Fatal("no region for the bag")
	}

	st := newStage(t, Config{})
	f := newFeeder(t, scene.Script{Base: base(640, 360), Props: []scene.Prop{bag}})
	n := 0
	apply := func(relearn bool) []pattern.StaticObject {
		at := time.Duration(n) * time.Second / 25
		objs := st.Apply(t0.Add(at), f.frame(t, n), relearn || at < 3*time.Second)
		n += 5
		return objs
	}
	for n < 25*16 {
		apply(false)
	}
	if n%25 != 0 {
		t.Fatalf("frame %d", n)
	}
	if objs := apply(false); len(objs) != 1 {
		t.Fatalf("16 s: %+v, want the bag", objs)
	}
	if objs := apply(true); objs != nil {
		t.Fatalf("skipped frame asking to re-learn: %+v", objs)
	}
	for range 3 {
		if objs := apply(false); objs != nil {
			t.Fatalf("after a re-learn request: %+v", objs)
		}
	}
	if objs := apply(false); objs != nil || st.frames != 1 {
		t.Fatalf("next frame looked at: %+v, %d frames learnt (want a fresh background)", objs, st.frames)
	}
}

// TestGhostOrTaken: a gap in a background younger than ConfirmTime is a
// ghost when its own pixels moved first (someone who stood there while it
// was learnt and walked on) and something taken when the motion came to it
// (someone walked up and took it): the first is learnt away, the second is
// a Removed region where the box stood.
func TestGhostOrTaken(t *testing.T) {
	box := scene.Prop{Appear: 0, Disappear: sec(12), Pos: scene.Point{X: 0.56, Y: 0.745}, W: 0.04, H: 0.06, Luma: 200}
	taker := scene.Actor{H: 0.3, Luma: 60, Keys: []scene.Key{
		{At: sec(6), Pos: scene.Point{X: 1.05, Y: 0.75}, Pose: scene.Walk},
		{At: sec(9), Pos: scene.Point{X: 0.63, Y: 0.75}, Pose: scene.Stand},
		{At: sec(12.5), Pos: scene.Point{X: 0.63, Y: 0.75}, Pose: scene.Walk},
		{At: sec(16), Pos: scene.Point{X: 1.05, Y: 0.78}, Pose: scene.Walk},
	}}
	stander := scene.Actor{H: 0.3, Luma: 60, Keys: []scene.Key{
		{At: 0, Pos: scene.Point{X: 0.5, Y: 0.8}, Pose: scene.Stand},
		{At: sec(12), Pos: scene.Point{X: 0.5, Y: 0.8}, Pose: scene.Walk},
		{At: sec(15), Pos: scene.Point{X: 1.1, Y: 0.8}, Pose: scene.Walk},
	}}
	tests := []struct {
		name  string
		sc    scene.Script
		taken bool
	}{
		{"box taken by someone who came for it", scene.Script{Base: base(640, 360), Actors: []scene.Actor{taker}, Props: []scene.Prop{box}}, true},
		{"someone stood while learnt and walked on", scene.Script{Base: base(640, 360), Actors: []scene.Actor{stander}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStage(t, Config{})
			var seen bool
			for _, o := range run(t, st, tt.sc, 5, sec(40), nil) {
				if o.at < sec(22) {
					continue // the walker is gone by 16 s; the gap settles
				}
				if !tt.taken {
					if len(o.objs) > 0 {
						t.Fatalf("%v: regions %+v after a ghost", o.at, o.objs)
					}
					continue
				}
				if len(o.objs) != 1 {
					t.Fatalf("%v: %d regions %+v, want the gap", o.at, len(o.objs), o.objs)
				}
				r := o.objs[0]
				cx, fy := r.Box.Foot()
				if r.Kind != pattern.Removed || abs(cx-box.Pos.X) > 0.02 || abs(fy-box.Pos.Y) > 0.03 {
					t.Fatalf("%v: region %+v, want the gap at %+v", o.at, r, box)
				}
				seen = true
			}
			if tt.taken && !seen {
				t.Fatal("no gap")
			}
		})
	}
}

// TestExposureFitIgnoresWhatMoves: the gain and offset that map the
// background onto the frame are fitted where the frame agreed with the
// background and nothing moves: an arm reaching into a third of the view
// changes the whole frame's spread, not the exposure. Where too little of
// the view is quiet, the whole frame is used (an exposure step moves every
// pixel).
func TestExposureFitIgnoresWhatMoves(t *testing.T) {
	const w, h = 320, 180
	arm := image.Rect(200, 0, 320, 180) // 37 % of the view
	for _, tc := range []struct {
		name      string
		offset    float64         // exposure change of the whole frame
		bright    image.Rectangle // painted 250 in the frame, marked moving
		wantGain  float64
		wantShift float64 // mc - mb
		tol       float64
	}{
		{"quiet view", 0, image.Rectangle{}, 1, 0, 0.02},
		{"arm reaching in", 0, arm, 1, 0, 0.02},
		{"exposure +20 everywhere", 20, image.Rect(0, 0, w, h), 1, 20, 0.02},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStage(t, Config{})
			s.work = image.Pt(w, h)
			bg := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
			defer bg.Close()
			for y := range h {
				for x := range w {
					bg.SetUCharAt(y, x, uint8(60+(x*7+y*13)%120)) // a textured scene
				}
			}
			bg.ConvertTo(&s.bg, gocv.MatTypeCV32F)
			bg.ConvertToWithParams(&s.cur, gocv.MatTypeCV8U, 1, float32(tc.offset))
			s.fg.Close()
			s.moved.Close()
			s.fg = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
			s.moved = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
			s.fg.SetTo(gocv.NewScalar(0, 0, 0, 0))
			s.moved.SetTo(gocv.NewScalar(0, 0, 0, 0))
			if !tc.bright.Empty() {
				m := s.moved.Region(tc.bright)
				m.SetTo(gocv.NewScalar(255, 0, 0, 0))
				m.Close()
				if tc.offset == 0 {
					c := s.cur.Region(tc.bright)
					c.SetTo(gocv.NewScalar(250, 0, 0, 0))
					c.Close()
				}
			}
			s.masked = true
			mc, sc, mb, sb := s.exposureStats()
			if g := sc / sb; abs(g-tc.wantGain) > tc.tol || abs(mc-mb-tc.wantShift) > 1 {
				t.Errorf("gain %.3f, shift %.1f; want %.2f, %.0f", g, mc-mb, tc.wantGain, tc.wantShift)
			}
		})
	}
}
