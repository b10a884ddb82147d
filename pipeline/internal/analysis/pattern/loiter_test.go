package pattern

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// TestLoiterHandover: the tracker loses someone who is hidden for a moment
// and starts a new track when they show again; a new track where a staying
// one ended, soon after, keeps its dwell time. Later, or elsewhere, the
// clock starts afresh.
func TestLoiterHandover(t *testing.T) {
	zone := Zone{Name: "door", Polygon: rect(0.1, 0.3, 0.9, 0.7)}
	tests := []struct {
		name   string
		gap    int     // frames without a track (5 per second)
		dx     float64 // where the second track shows, from the first's spot
		onFrom int     // first frame the rule is on; -1: never
		// ended: the first track was ended on purpose (Pipeline.End:
		// nobody was there any more), not lost.
		ended bool
	}{
		{"hidden 1 s", 5, 0, 300, false},
		{"hidden 1 s, a step aside", 5, 0.03, 300, false},
		{"gone 5 s", 25, 0, -1, false},
		{"another spot (4 body heights away)", 5, -0.45, -1, false},
		{"ended: the place was empty", 5, 0, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewLoitering(LoiterConfig{Name: "l", Zone: zone, Dwell: 60 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			first := track.Track{ID: 1, Born: at(0), Box: track.Box{X: 0.6, Y: 0.4, W: 0.04, H: 0.2}}
			second := track.Track{ID: 2, Born: at(200 + tt.gap), Box: first.Box}
			second.Box.X += tt.dx
			onFrom := -1
			for i := 0; i < 340; i++ {
				var ts []track.Track
				switch {
				case i < 200:
					first.LastSeen = at(i)
					ts = []track.Track{first}
				case i >= 200+tt.gap:
					second.LastSeen = at(i)
					ts = []track.Track{second}
				}
				f := FrameInfo{Width: fw, Height: fh}
				if i == 200 && tt.ended {
					f.ended = []trackKey{keyOf(&first)}
				}
				if s := r.Observe(at(i), ts, f); s.On && onFrom < 0 {
					onFrom = i
				}
			}
			if onFrom != tt.onFrom {
				t.Errorf("on from frame %d, want %d", onFrom, tt.onFrom)
			}
		})
	}
}

// TestLoiterNoChainAfterFade: a track that faded from the foreground (a
// person standing still) and is detected again where it faded keeps its
// dwell; one detected again elsewhere after a longer gap is someone who
// took the faded track over (the next visitor of a table), and their own
// dwell starts then.
func TestLoiterNoChainAfterFade(t *testing.T) {
	zone := Zone{Name: "table", Polygon: rect(0.1, 0.3, 0.9, 0.9)}
	a := track.Box{X: 0.5, Y: 0.4, W: 0.05, H: 0.3}
	b := a
	b.X += 0.08 // beside the first spot, within the radius
	tests := []struct {
		name   string
		gap    int       // frames the track coasts undetected (5 per second)
		back   track.Box // where its next detection is
		onFrom int       // first frame the rule is on
	}{
		{"still person, back in place after 10 s", 50, a, 150},
		{"taken over beside it after 4 s", 20, b, 100 + 20 + 150},
		{"a step aside after 1 s", 5, b, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewLoitering(LoiterConfig{Name: "l", Zone: zone, Dwell: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			tr := track.Track{ID: 1, Born: at(0), Box: a}
			onFrom := -1
			for i := 0; i < 400; i++ {
				switch {
				case i < 100:
					tr.Misses, tr.LastSeen = 0, at(i)
				case i < 100+tt.gap:
					tr.Misses = i - 99
				default:
					tr.Misses, tr.Box, tr.LastSeen = 0, tt.back, at(i)
				}
				if s := r.Observe(at(i), []track.Track{tr}, FrameInfo{Width: fw, Height: fh}); s.On && onFrom < 0 {
					onFrom = i
				}
			}
			if onFrom != tt.onFrom {
				t.Errorf("on from frame %d, want %d", onFrom, tt.onFrom)
			}
		})
	}
}

// TestLoiterNeedsASeenArrival: a track confirmed from a moment of debris
// (an exposure step) and coasting on, never detected again, stays nowhere;
// a person seen arriving who then stands still, undetected, does.
func TestLoiterNeedsASeenArrival(t *testing.T) {
	zone := Zone{Name: "z", Polygon: rect(0.1, 0.3, 0.9, 0.9)}
	for _, tt := range []struct {
		name   string
		seen   int // frames detected before coasting
		onFrom int
	}{
		{"debris seen 0.6 s", 3, -1},
		{"person seen arriving for 3 s", 15, 150},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewLoitering(LoiterConfig{Name: "l", Zone: zone, Dwell: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			tr := track.Track{ID: 1, Born: at(0), Box: track.Box{X: 0.5, Y: 0.4, W: 0.05, H: 0.3}}
			onFrom := -1
			for i := 0; i < 250; i++ {
				if i < tt.seen {
					tr.LastSeen, tr.Misses = at(i), 0
				} else {
					tr.Misses = i - tt.seen + 1
				}
				if s := r.Observe(at(i), []track.Track{tr}, FrameInfo{Width: fw, Height: fh}); s.On && onFrom < 0 {
					onFrom = i
				}
			}
			if onFrom != tt.onFrom {
				t.Errorf("on from frame %d, want %d", onFrom, tt.onFrom)
			}
		})
	}
}
