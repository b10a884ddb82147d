package pattern

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// region is a flow region with feet at (x, y), h tall (normalised), moving
// at energy body heights per second (of its own height) with the given
// direction spread.
func region(x, y, h, energy, spread float64) FlowRegion {
	return FlowRegion{Box: track.Box{X: x - h/4, Y: y - h, W: h / 2, H: h}, Speed: energy * h, Spread: spread, Moving: 0.8}
}

func flowFrames(f func(i int) []FlowRegion) func(i int) frame {
	return func(i int) frame { return frame{info: FrameInfo{Flow: f(i)}} }
}

func TestViolent(t *testing.T) {
	fight := region(0.5, 0.85, 0.28, 0.8, 0.3)
	runner := region(0.5, 0.85, 0.28, 2.5, 0.05)
	talkers := region(0.5, 0.85, 0.28, 0.1, 0.5)
	// Grappling: bodies pushing one way for a while, so no spot reverses,
	// but neighbouring parts move against each other in every frame.
	grapple := region(0.5, 0.85, 0.28, 0.8, 0.05)
	grapple.Clash = 0.3
	// Someone getting up: fast for their height, each part one way.
	getUp := region(0.5, 0.85, 0.28, 0.3, 0.08)
	getUp.Clash = 0.05
	must := func(r *Violent, err error) Rule {
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	plain := must(NewViolent(ViolentConfig{Name: "v"}))
	for _, tc := range []struct {
		name         string
		rule         Rule
		frames       func(i int) []FlowRegion
		n            int
		starts, ends []int
	}{
		// The share of violent frames passes one half after 0.6 s, then
		// the 2 s minimum duration: about 2.8 s from the first blow. It
		// ends when the share drops below a third (1.2 s) plus the 3 s
		// quiet time.
		{"fight", plain, func(i int) []FlowRegion { return []FlowRegion{fight} }, 50, []int{14}, []int{50}},
		{"fight ends", plain, func(i int) []FlowRegion {
			if i < 40 {
				return []FlowRegion{fight}
			}
			return nil
		}, 80, []int{14}, []int{60}},
		{"grappling: clashing, not reversing", plain, func(i int) []FlowRegion { return []FlowRegion{grapple} }, 50, []int{14}, []int{50}},
		{"getting up: fast, each part one way", plain, func(i int) []FlowRegion { return []FlowRegion{getUp} }, 50, nil, nil},
		{"stricter clash", must(NewViolent(ViolentConfig{Name: "v", Clash: 0.5})),
			func(i int) []FlowRegion { return []FlowRegion{grapple} }, 50, nil, nil},
		{"slow clash: people talking", plain, func(i int) []FlowRegion {
			r := talkers
			r.Spread, r.Clash = 0, 0.5
			return []FlowRegion{r}
		}, 50, nil, nil},
		{"runner: fast, one way", plain, func(i int) []FlowRegion { return []FlowRegion{runner} }, 50, nil, nil},
		{"people talking: every way, slow", plain, func(i int) []FlowRegion { return []FlowRegion{talkers} }, 50, nil, nil},
		{"nobody", plain, func(i int) []FlowRegion { return nil }, 50, nil, nil},
		{"two walkers crossing for 1 s", plain, func(i int) []FlowRegion {
			if i >= 10 && i < 15 {
				return []FlowRegion{fight}
			}
			return []FlowRegion{runner}
		}, 50, nil, nil},
		{"one frame in four", plain, func(i int) []FlowRegion {
			if i%4 == 0 {
				return []FlowRegion{fight}
			}
			return nil
		}, 100, nil, nil},
		// Once on, every other frame keeps it on: one situation.
		{"a fight with pauses", plain, func(i int) []FlowRegion {
			if i < 30 || (i < 100 && i%2 == 0) {
				return []FlowRegion{fight}
			}
			return nil
		}, 130, []int{14}, []int{116}},
		{"too few moving pixels", plain, func(i int) []FlowRegion {
			r := fight
			r.Moving = 0.01
			return []FlowRegion{r}
		}, 50, nil, nil},
		{"outside the zone", must(NewViolent(ViolentConfig{Name: "v", Zone: Zone{Name: "z", Polygon: rect(0, 0, 0.3, 1)}})),
			func(i int) []FlowRegion { return []FlowRegion{fight} }, 50, nil, nil},
		{"inside the zone", must(NewViolent(ViolentConfig{Name: "v", Zone: Zone{Name: "z", Polygon: rect(0.3, 0, 0.7, 1)}})),
			func(i int) []FlowRegion { return []FlowRegion{runner, fight} }, 50, []int{14}, []int{50}},
		{"stricter spread", must(NewViolent(ViolentConfig{Name: "v", Spread: 0.5})),
			func(i int) []FlowRegion { return []FlowRegion{fight} }, 50, nil, nil},
		{"lower energy", must(NewViolent(ViolentConfig{Name: "v", Energy: 0.05})),
			func(i int) []FlowRegion { return []FlowRegion{talkers} }, 50, []int{14}, []int{50}},
		{"longer minimum duration", must(NewViolent(ViolentConfig{Name: "v", MinDuration: 5 * time.Second})),
			func(i int) []FlowRegion { return []FlowRegion{fight} }, 50, []int{29}, []int{50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			starts, ends := drive(t, tc.rule, flowFrames(tc.frames), tc.n)
			if !slices.Equal(starts, tc.starts) || !slices.Equal(ends, tc.ends) {
				t.Errorf("starts %v ends %v, want %v %v", starts, ends, tc.starts, tc.ends)
			}
		})
	}
}

// TestViolentHolds: while the motion detector re-learns there is no flow;
// a running situation holds instead of ending, and none starts.
func TestViolentHolds(t *testing.T) {
	r, err := NewViolent(ViolentConfig{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	fight := []FlowRegion{region(0.5, 0.85, 0.28, 0.8, 0.3)}
	for i := range 20 {
		r.Observe(at(i), nil, FrameInfo{Flow: fight})
	}
	for i := 20; i < 30; i++ {
		if s := r.Observe(at(i), nil, FrameInfo{LightChange: true}); !s.On || s.Score <= 0 {
			t.Fatalf("frame %d: %+v, want held on", i, s)
		}
	}
	if s := r.Observe(at(30), nil, FrameInfo{Flow: fight}); !s.On || s.Count != 1 || len(s.Boxes) != 1 {
		t.Errorf("after the light change: %+v", s)
	}
	q, _ := NewViolent(ViolentConfig{Name: "q"})
	for i := range 20 {
		if s := q.Observe(at(i), nil, FrameInfo{Warmup: true, Flow: fight}); s.On {
			t.Fatalf("on during warm-up at %d", i)
		}
	}
	// A long gap starts afresh.
	for i := range 20 {
		q.Observe(at(i), nil, FrameInfo{Flow: fight})
	}
	if s := q.Observe(at(40), nil, FrameInfo{Flow: fight}); s.On {
		t.Error("still on after a 4 s gap without frames")
	}
}

func TestEnergy(t *testing.T) {
	persp := geometry.Perspective{Row1: 0.4, Height1: 0.15, Row2: 0.95, Height2: 0.30}
	for _, tc := range []struct {
		name string
		fr   FlowRegion
		p    geometry.Perspective
		want float64
	}{
		{"own height", FlowRegion{Box: track.Box{Y: 0.5, H: 0.25}, Speed: 0.5}, geometry.Perspective{}, 2},
		// Feet at 0.95: a person is 0.30 tall there, so 0.3 frame heights/s is one body height/s.
		{"near, with perspective", FlowRegion{Box: track.Box{Y: 0.65, H: 0.3}, Speed: 0.3}, persp, 1},
		// Feet at 0.4: 0.15 tall; the same pixel speed is twice the body speed.
		{"far, with perspective", FlowRegion{Box: track.Box{Y: 0.25, H: 0.15}, Speed: 0.3}, persp, 2},
		{"degenerate box", FlowRegion{Box: track.Box{}, Speed: 0.05}, geometry.Perspective{}, 5},
	} {
		if got := Energy(tc.fr, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestViolentConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg   ViolentConfig
		field string
	}{
		{ViolentConfig{}, "name"},
		{ViolentConfig{Name: "v", Energy: 30}, "energy"},
		{ViolentConfig{Name: "v", Energy: -1}, "energy"},
		{ViolentConfig{Name: "v", Spread: 1}, "spread"},
		{ViolentConfig{Name: "v", Spread: math.NaN()}, "spread"},
		{ViolentConfig{Name: "v", MinDuration: 2 * time.Minute}, "min_duration"},
		{ViolentConfig{Name: "v", Zone: Zone{Name: "z", Polygon: geometry.Polygon{{X: 0, Y: 0}, {X: 1, Y: 0}}}}, "zone.points"},
		{ViolentConfig{Name: "v", Perspective: geometry.Perspective{Row1: 0.9, Row2: 0.5, Height1: 0.1, Height2: 0.2}}, "perspective.row2"},
		{ViolentConfig{Name: "v", Timing: Timing{QuietTime: -time.Second}}, "quiet_time"},
	} {
		_, err := NewViolent(tc.cfg)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: %v, want an error in %s", tc.cfg, err, tc.field)
		}
	}
	r, err := NewViolent(ViolentConfig{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Type() != TypeViolentMotion || r.Zone() != "" || r.Lifecycle().MinDuration != 2*time.Second {
		t.Errorf("type %s zone %q lifecycle %+v", r.Type(), r.Zone(), r.Lifecycle())
	}
	if n := NeedsOf([]Rule{r}); n != (Needs{Scene: true, Flow: true}) {
		t.Errorf("needs %+v", n)
	}
}
