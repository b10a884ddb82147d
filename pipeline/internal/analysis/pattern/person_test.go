package pattern

import (
	"image"
	"math"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

func normBox(r image.Rectangle) track.Box {
	return track.Box{X: float64(r.Min.X) / fw, Y: float64(r.Min.Y) / fh, W: float64(r.Dx()) / fw, H: float64(r.Dy()) / fh}
}

// body is what the person detector reports for a standing blob.
func body(r image.Rectangle) track.Box {
	b := normBox(r)
	return track.Box{X: b.X + b.W/4, Y: b.Y + b.H/16, W: b.W / 2, H: b.H * 7 / 8}
}

// TestPersonDetectorVerdict: with a person detector, class person follows
// its verdict per track: confirmed once, a person for good (lying down
// too); examined without a person (three times by HOG, once by the neural
// detector), an object (though tall and narrow); not yet decided, the
// shape heuristic.
func TestPersonDetectorVerdict(t *testing.T) {
	zone := Zone{Name: "z", Polygon: rect(0, 0, 1, 1)}
	tests := []struct {
		name string
		// blob and detector output on frame i
		frame func(i int) frame
		want  bool // an intrusion by a person starts
	}{
		{"lying, confirmed while standing", func(i int) frame {
			b := standing(0.5, 0.8, 0.25)
			if i >= 8 {
				b = lying(0.5, 0.8, 0.25) // shape alone: an object
			}
			f := frame{blobs: []image.Rectangle{b}, info: FrameInfo{PersonsValid: true}}
			if i == 5 {
				f.info.Persons = []track.Box{body(b)}
				f.info.PersonsChecked = []track.Box{normBox(b)}
			}
			return f
		}, true},
		{"tall, never a person", func(i int) frame {
			b := standing(0.5, 0.8, 0.25) // shape alone: a person
			f := frame{blobs: []image.Rectangle{b}, info: FrameInfo{PersonsValid: true}}
			if i >= 2 && i <= 6 && i%2 == 0 { // examined on frames 2, 4, 6 (a track from frame 2)
				f.info.PersonsChecked = []track.Box{normBox(b)}
			}
			return f
		}, false},
		{"tall, HOG found nobody only once", func(i int) frame {
			b := standing(0.5, 0.8, 0.25)
			f := frame{blobs: []image.Rectangle{b}, info: FrameInfo{PersonsValid: true}}
			if i == 4 {
				f.info.PersonsChecked = []track.Box{normBox(b)}
			}
			return f
		}, true},
		{"tall, the neural detector found nobody once (a car from above)", func(i int) frame {
			b := standing(0.5, 0.8, 0.25)
			f := frame{blobs: []image.Rectangle{b}, info: FrameInfo{PersonsValid: true, PersonsNeural: true}}
			if i == 4 {
				f.info.PersonsChecked = []track.Box{normBox(b)}
			}
			return f
		}, false},
		{"neural: missed once, then found", func(i int) frame {
			b := standing(0.5, 0.8, 0.25)
			f := frame{blobs: []image.Rectangle{b}, info: FrameInfo{PersonsValid: true, PersonsNeural: true}}
			switch i {
			case 4:
				f.info.PersonsChecked = []track.Box{normBox(b)}
			case 9:
				f.info.Persons = []track.Box{body(b)}
				f.info.PersonsChecked = []track.Box{normBox(b)}
			}
			return f
		}, true},
		{"tall, not examined yet", func(i int) frame {
			return frame{blobs: []image.Rectangle{standing(0.5, 0.8, 0.25)}, info: FrameInfo{PersonsValid: true}}
		}, true},
		{"wide, no detector", func(i int) frame {
			return frame{blobs: []image.Rectangle{lying(0.5, 0.8, 0.25)}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The rule only counts objects from frame 10 on: by then the
			// verdict is in.
			r, err := NewIntrusion(IntrusionConfig{Name: "i", Zone: zone, Class: Person, MinDuration: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			starts, _ := drive(t, r, tt.frame, 40)
			if got := len(starts) > 0; got != tt.want {
				t.Errorf("intrusion started: %v, want %v (starts %v)", got, tt.want, starts)
			}
		})
	}
}

// TestCrowdCountsPeopleInOneBlob: five people shoulder to shoulder are one
// blob; the person detector finds five bodies in it.
func TestCrowdCountsPeopleInOneBlob(t *testing.T) {
	group := image.Rect(200, 190, 330, 290)
	var bodies []track.Box
	for k := range 5 {
		bodies = append(bodies, body(image.Rect(200+k*24, 190, 236+k*24, 290)))
	}
	for _, tc := range []struct {
		name   string
		hog    bool
		starts int
	}{{"shape only", false, 0}, {"person detector", true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewCrowd(CrowdConfig{Name: "c", MinCount: 4, MinOccupancy: -1, Duration: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			starts, _ := drive(t, r, func(i int) frame {
				f := frame{blobs: []image.Rectangle{group}}
				if tc.hog {
					f.info.PersonsValid, f.info.Persons = true, bodies
				}
				return f
			}, 30)
			if len(starts) != tc.starts {
				t.Errorf("%d crowd starts, want %d", len(starts), tc.starts)
			}
		})
	}
}

// TestStandingHeight: the reference for "lying low" is the median of the
// latest upright heights, so that one box inflated by a merge does not
// raise it and walking towards the camera earlier does not lower it.
func TestStandingHeight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		heights []float64
		want    float64
	}{
		{"none", nil, 0},
		{"one", []float64{0.3}, 0.3},
		{"a merge inflates one box", []float64{0.30, 0.31, 0.52, 0.30}, 0.305},
		{"only the latest count", []float64{0.10, 0.12, 0.15, 0.40, 0.42, 0.44, 0.46}, 0.43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st downState
			for i, h := range tc.heights {
				st.addUpright(at(i), h)
			}
			if got := st.standingHeight(); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("standing height %v, want %v", got, tc.want)
			}
			if want := time.Duration(max(len(tc.heights)-1, 0)) * 200 * time.Millisecond; st.uprightFor != want {
				t.Fatalf("upright for %v, want %v", st.uprightFor, want)
			}
		})
	}
}

// TestPersonDownOnRealShapes: the ways real blobs of a falling person
// differ from the ideal one, and what is not a person down.
func TestPersonDownOnRealShapes(t *testing.T) {
	x, y, h := 0.5, 0.8, 0.3
	bent := func() image.Rectangle { // picking something up: wide, not low
		ph := 0.8 * h * fh
		return image.Rect(int(x*fw-0.45*ph), int(y*fh-ph), int(x*fw+0.45*ph), int(y*fh))
	}
	fragment := image.Rect(int(x*fw), int((y-0.05)*fh), int((x+0.06)*fw), int(y*fh))      // a hand, a bag: wide, low, short
	square := image.Rect(int(x*fw-0.1*fh), int(y*fh-0.2*fh), int(x*fw+0.1*fh), int(y*fh)) // part of a lying body
	one := func(r image.Rectangle) frame { return frame{blobs: []image.Rectangle{r}} }
	for _, tc := range []struct {
		name   string
		frames func(i int) frame
		starts []int
	}{
		{"bending while standing does not restart the upright time", func(i int) frame {
			switch {
			case i%4 == 3 && i < 16:
				return one(bent()) // never 1 s upright in a row
			case i < 16:
				return one(standing(x, y, h))
			case i < 20:
				return one(lying(x, y, h))
			}
			return frame{} // absorbed: coasting
		}, []int{16 + 15}},
		{"one odd blob while lying does not restart down", func(i int) frame {
			switch {
			case i < 16:
				return one(standing(x, y, h))
			case i == 22:
				return one(square)
			case i < 26:
				return one(lying(x, y, h))
			}
			return frame{}
		}, []int{16 + 15}},
		{"a fall that fades in jumping pieces stays down", func(i int) frame {
			// He falls forward and slides: the lying box moves on, then
			// the background model leaves pieces that jump ahead and
			// lower (their union about twice his box, their foot
			// moving), then nothing: to the tracker alone a walker
			// lost, who coasts on and dies before the down time is up.
			cx, fy := int(x*fw)+6*4, int(y*fh)
			switch {
			case i < 16:
				return one(standing(x, y, h))
			case i < 21:
				return one(lying(x+0.01*float64(i-16), y, h))
			case i == 21:
				return one(image.Rect(cx+10, fy-15, cx+50, fy+10))
			case i == 22:
				return one(image.Rect(cx+25, fy-5, cx+55, fy+20))
			}
			return frame{}
		}, []int{16 + 15}},
		{"walking out at the bottom is not down", func(i int) frame {
			// The border cuts the walker's box off: wide and low, as if
			// lying, then gone: walked out, not kept.
			ph, pw := int(h*fh), int(0.25*h*fh) // with a bag: half a height wide
			switch {
			case i < 16:
				return one(standing(x, y, h))
			case i < 22:
				foot := int(y*fh) + (i-15)*25 // walking down, out of view
				return one(image.Rect(int(x*fw)-pw, foot-ph, int(x*fw)+pw, min(foot, fh)))
			}
			return frame{}
		}, nil},
		{"a small wide fragment is not a body lying", func(i int) frame {
			if i < 16 {
				return one(standing(x, y, h))
			}
			return one(fragment)
		}, nil},
		{"getting up ends it", func(i int) frame {
			switch {
			case i < 16:
				return one(standing(x, y, h))
			case i < 24:
				return one(lying(x, y, h))
			}
			return one(standing(x, y, h))
		}, nil},
		{"never upright long enough", func(i int) frame {
			if i < 4 {
				return one(standing(x, y, h))
			}
			return one(lying(x, y, h))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewPersonDown(PersonDownConfig{Name: "d", DownTime: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			starts, _ := drive(t, r, tc.frames, 60)
			if len(starts) != len(tc.starts) {
				t.Fatalf("starts at frames %v, want %v", starts, tc.starts)
			}
			for k, s := range starts {
				if d := s - tc.starts[k]; d < -2 || d > 2 {
					t.Fatalf("starts at frames %v, want %v (±2)", starts, tc.starts)
				}
			}
		})
	}
}

// TestPersonDownStopNoAllocs: keeping a fallen person's track stopped
// (Tracker.Stop on every frame while down) allocates nothing per frame.
func TestPersonDownStopNoAllocs(t *testing.T) {
	r, err := NewPersonDown(PersonDownConfig{Name: "d", DownTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(track.Config{}, r)
	if err != nil {
		t.Fatal(err)
	}
	f := FrameInfo{Width: fw, Height: fh}
	i := 0
	for ; i < 40; i++ {
		var blobs []image.Rectangle
		switch {
		case i < 16:
			blobs = []image.Rectangle{standing(0.5, 0.8, 0.3)}
		case i < 21:
			blobs = []image.Rectangle{lying(0.5, 0.8, 0.3)}
		}
		p.Frame(at(i), blobs, f)
	}
	if ts := p.Tracks(); len(ts) != 1 || ts[0].Misses == 0 {
		t.Fatalf("tracks %+v, want the fallen person coasting", ts)
	}
	if n := testing.AllocsPerRun(20, func() { i++; p.Frame(at(i), nil, f) }); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

// TestRunningCutOff: a walker whose box is cut off by the bottom of the
// image looks short, so fast in body heights; such boxes are not judged
// without a perspective.
func TestRunningCutOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		y, h float64 // foot row and box height
		want bool
	}{
		{"a runner", 0.8, 0.25, true},
		{"a walker cut off by the bottom edge", 1.0, 0.08, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRunning(RunningConfig{Name: "r"})
			if err != nil {
				t.Fatal(err)
			}
			v := 0.35 // frame widths per second: 2.5 body heights of 0.25, 8 of 0.08 (at 16:9)
			starts, _ := drive(t, r, func(i int) frame {
				return frame{blobs: []image.Rectangle{standing(0.05+v*float64(i)/5, tc.y, tc.h)}}
			}, 14)
			if got := len(starts) > 0; got != tc.want {
				t.Fatalf("running reported %v, want %v (starts %v)", got, tc.want, starts)
			}
		})
	}
}
