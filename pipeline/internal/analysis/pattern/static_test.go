package pattern

import (
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// staticScene scripts one object's story at 5 frames/s: a person walks in
// from the left to x=0.4 (feet at y 0.8) in frames 0..19, stands until
// leave, then walks away to the right (or stays, leave < 0). The static
// region (kind, box) is reported from appear to vanish (−1: to the end).
type staticScene struct {
	kind           StaticKind
	box            track.Box
	appear, vanish int
	leave          int
	light          int  // a light change on this frame (−1: none)
	passer         int  // from this frame another person walks past the object left to right (0: none)
	stops          bool // the other person stops beside the object and stays
}

func (s staticScene) frame(i int) frame {
	var f frame
	x := 0.4
	switch {
	case i < 20:
		x = 0.05 + 0.35*float64(i)/20
	case s.leave >= 0 && i >= s.leave:
		x = 0.4 + 0.03*float64(i-s.leave)
	}
	if x < 1 {
		f.blobs = []image.Rectangle{standing(x, 0.8, 0.25)}
	}
	if i >= s.appear && (s.vanish < 0 || i < s.vanish) {
		f.info.Static = []StaticObject{{Box: s.box, Kind: s.kind, Since: at(s.appear)}}
	}
	if s.passer > 0 && i >= s.passer && (i < s.passer+40 || s.stops) {
		x := -0.05 + 0.03*float64(i-s.passer)
		if s.stops {
			x = min(x, 0.5)
		}
		f.blobs = append(f.blobs, standing(x, 0.84, 0.25))
	}
	if i == s.light {
		f.info.LightChange = true
		f.blobs = nil
	}
	return f
}

var (
	bag    = track.Box{X: 0.41, Y: 0.76, W: 0.035, H: 0.05} // at the person's feet
	tinyB  = track.Box{X: 0.41, Y: 0.79, W: 0.01, H: 0.01}
	torso  = track.Box{X: 0.38, Y: 0.60, W: 0.05, H: 0.15} // the standing person's own still part
	square = Zone{Name: "square", Polygon: rect(0.3, 0.6, 0.6, 0.95)}
	street = Zone{Name: "street", Polygon: rect(0.6, 0.6, 0.95, 0.95)}
)

func TestAbandonedObject(t *testing.T) {
	const dur = 10 * time.Second // 50 frames
	tests := []struct {
		name   string
		cfg    AbandonedConfig
		sc     staticScene
		n      int
		starts []int
	}{
		// The carrier leaves at 30 and is 3 body heights (0.75 of the
		// height, ~0.42 of the width) away from frame ~44 on: 44+50.
		{"left behind", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, -1, 30, -1, 0, false}, 120, []int{95}},
		{"in its zone", AbandonedConfig{Duration: dur, Zone: square}, staticScene{Added, bag, 25, -1, 30, -1, 0, false}, 120, []int{95}},
		{"other zone", AbandonedConfig{Duration: dur, Zone: street}, staticScene{Added, bag, 25, -1, 30, -1, 0, false}, 120, nil},
		{"too small", AbandonedConfig{Duration: dur}, staticScene{Added, tinyB, 25, -1, 30, -1, 0, false}, 120, nil},
		{"owner stays by it", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, -1, -1, -1, 0, false}, 150, nil},
		{"picked up in time", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, 70, 30, -1, 0, false}, 150, nil},
		{"a gap, not an object", AbandonedConfig{Duration: dur}, staticScene{Removed, bag, 25, -1, 30, -1, 0, false}, 120, nil},
		{"person standing still", AbandonedConfig{Duration: dur}, staticScene{Added, torso, 25, -1, -1, -1, 0, false}, 200, nil},
		// A wider radius keeps the carrier in reach longer: 5 body
		// heights, ~0.7 of the width, at frame ~54.
		{"wider radius", AbandonedConfig{Duration: dur, Radius: 5}, staticScene{Added, bag, 25, -1, 30, -1, 0, false}, 120, []int{105}},
		{"light change re-learns", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, -1, 30, 60, 0, false}, 120, []int{95}},
		// Someone walking past (over the bag at ~75) after the carrier
		// has gone does not restart the count.
		{"passer-by", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, -1, 30, -1, 60, false}, 140, []int{95}},
		// Someone who stops beside it (from ~79) stays with it.
		{"someone stops by it", AbandonedConfig{Duration: dur}, staticScene{Added, bag, 25, -1, 30, -1, 60, true}, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name = "a"
			r, err := NewAbandonedObject(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Needs().Static {
				t.Fatal("abandoned_object must ask for the static stage")
			}
			starts, _ := drive(t, r, tt.sc.frame, tt.n)
			if !nearFrames(starts, tt.starts, 3) {
				t.Errorf("starts %v, want %v (±3)", starts, tt.starts)
			}
		})
	}
}

func TestObjectRemoved(t *testing.T) {
	const dur = 10 * time.Second
	tests := []struct {
		name   string
		cfg    RemovedConfig
		sc     staticScene
		n      int
		starts []int
	}{
		// The gap appears when the person leaves (30): 30+50.
		{"taken away", RemovedConfig{Duration: dur}, staticScene{Removed, bag, 30, -1, 30, -1, 0, false}, 120, []int{80}},
		{"in its zone", RemovedConfig{Duration: dur, Zone: square}, staticScene{Removed, bag, 30, -1, 30, -1, 0, false}, 120, []int{80}},
		{"other zone", RemovedConfig{Duration: dur, Zone: street}, staticScene{Removed, bag, 30, -1, 30, -1, 0, false}, 120, nil},
		{"too small", RemovedConfig{Duration: dur}, staticScene{Removed, tinyB, 30, -1, 30, -1, 0, false}, 120, nil},
		{"put back in time", RemovedConfig{Duration: dur}, staticScene{Removed, bag, 30, 70, 30, -1, 0, false}, 150, nil},
		{"an object, not a gap", RemovedConfig{Duration: dur}, staticScene{Added, bag, 30, -1, 30, -1, 0, false}, 120, nil},
		// Someone standing on the spot hides it: the rule waits until
		// they have gone.
		{"someone stands on it", RemovedConfig{Duration: dur}, staticScene{Removed, bag, 22, -1, 100, -1, 0, false}, 150, []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name = "r"
			r, err := NewObjectRemoved(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Needs().Static {
				t.Fatal("object_removed must ask for the static stage")
			}
			starts, _ := drive(t, r, tt.sc.frame, tt.n)
			if !nearFrames(starts, tt.starts, 3) {
				t.Errorf("starts %v, want %v (±3)", starts, tt.starts)
			}
		})
	}
}

// nearFrames reports whether got and want have the same length and each start is
// within tol frames.
func nearFrames(got, want []int, tol int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if d := got[i] - want[i]; d < -tol || d > tol {
			return false
		}
	}
	return true
}

// TestStillPerson: with a perspective, a person-shaped static region is a
// person standing still (after the tracker let them go), not an object, and
// keeps an object beside them attended.
func TestStillPerson(t *testing.T) {
	persp := geometry.Perspective{Row1: 0.4, Height1: 0.15, Row2: 0.95, Height2: 0.30}
	person := track.Box{X: 0.36, Y: 0.56, W: 0.06, H: 0.24} // feet at 0.8: 0.25 tall there
	farBag := track.Box{X: 0.9, Y: 0.76, W: 0.035, H: 0.05}
	tests := []struct {
		name   string
		persp  geometry.Perspective
		static []track.Box
		on     bool
	}{
		{"a still person alone", persp, []track.Box{person}, false},
		{"a bag beside a still person", persp, []track.Box{person, bag}, false},
		{"a bag far from a still person", persp, []track.Box{person, farBag}, true},
		// Without a perspective shape alone cannot tell a person from an
		// upright suitcase: both are objects.
		{"no perspective", geometry.Perspective{}, []track.Box{person}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewAbandonedObject(AbandonedConfig{Name: "a", Duration: 10 * time.Second, Perspective: tt.persp})
			if err != nil {
				t.Fatal(err)
			}
			var objs []StaticObject
			for _, b := range tt.static {
				objs = append(objs, StaticObject{Box: b, Kind: Added, Since: at(0)})
			}
			var sig Signal
			for i := range 60 {
				sig = r.Observe(at(i), nil, FrameInfo{Width: fw, Height: fh, Static: objs})
			}
			if sig.On != tt.on {
				t.Errorf("signal %+v, want on=%v", sig, tt.on)
			}
		})
	}
}

// TestCarrierSize: a track that walked is someone who can carry or attend
// an object unless it shrank in both area and height — then the tracker
// left it on the object put down.
func TestCarrierSize(t *testing.T) {
	person := track.Box{X: 0.4, Y: 0.55, W: 0.06, H: 0.25}
	tests := []struct {
		name string
		now  track.Box
		want bool
	}{
		{"still upright", person, true},
		{"merged with a neighbour: wider", track.Box{X: 0.4, Y: 0.55, W: 0.15, H: 0.26}, true},
		{"lying down: lower, as large", track.Box{X: 0.35, Y: 0.7, W: 0.14, H: 0.09}, true},
		{"lying down: low and smaller", track.Box{X: 0.35, Y: 0.75, W: 0.125, H: 0.044}, true},
		{"crouching", track.Box{X: 0.4, Y: 0.65, W: 0.06, H: 0.15}, true},
		{"left on a bag", track.Box{X: 0.41, Y: 0.76, W: 0.035, H: 0.05}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWalkers()
			born := t0
			f := FrameInfo{Width: fw, Height: fh}
			for i := range 10 { // walks in
				b := person
				b.X = 0.1 + 0.03*float64(i)
				w.update([]track.Track{{ID: 1, Born: born, Box: b}}, f)
			}
			tr := track.Track{ID: 1, Born: born, Box: tt.now}
			w.update([]track.Track{tr}, f)
			if got := w.person(&tr); got != tt.want {
				t.Errorf("person = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStaticConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"abandoned name", Validate(AbandonedConfig{}), "name: required"},
		{"abandoned duration", Validate(AbandonedConfig{Name: "a", Duration: time.Millisecond}), "duration: 1ms is outside 1s..24h0m0s"},
		{"abandoned min_size", Validate(AbandonedConfig{Name: "a", MinSize: 0.3}), "min_size: 0.3 is outside 0..0.25"},
		{"abandoned radius", Validate(AbandonedConfig{Name: "a", Radius: 0.01}), "radius: 0.01 is outside 0.1..100"},
		{"abandoned zone", Validate(AbandonedConfig{Name: "a", Zone: Zone{Polygon: rect(0, 0, 1, 1)}}), "zone.name: a zone needs a name"},
		{"abandoned perspective", Validate(AbandonedConfig{Name: "a", Perspective: geometry.Perspective{Row1: 0.9, Height1: 0.3, Row2: 0.4, Height2: 0.1}}), "perspective.row2: must be at least 0.05 below row1"},
		{"removed name", Validate(RemovedConfig{}), "name: required"},
		{"removed duration", Validate(RemovedConfig{Name: "r", Duration: 25 * time.Hour}), "duration: 25h0m0s is outside 1s..24h0m0s"},
		{"removed min_size", Validate(RemovedConfig{Name: "r", MinSize: -1}), "min_size: -1 is outside 0..0.25"},
		{"removed quiet time", Validate(RemovedConfig{Name: "r", Timing: Timing{QuietTime: 2 * time.Hour}}), "quiet_time: 2h0m0s is outside 0s..1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.want {
				t.Errorf("got %v, want %s", tt.err, tt.want)
			}
		})
	}
}
