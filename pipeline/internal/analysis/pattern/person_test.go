package pattern

import (
	"image"
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
// too); examined three times without a person, an object (though tall and
// narrow); not yet decided, the shape heuristic.
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
