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
	}{
		{"hidden 1 s", 5, 0, 300},
		{"hidden 1 s, a step aside", 5, 0.03, 300},
		{"gone 5 s", 25, 0, -1},
		{"another spot (4 body heights away)", 5, -0.45, -1},
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
					ts = []track.Track{first}
				case i >= 200+tt.gap:
					ts = []track.Track{second}
				}
				if s := r.Observe(at(i), ts, FrameInfo{Width: fw, Height: fh}); s.On && onFrom < 0 {
					onFrom = i
				}
			}
			if onFrom != tt.onFrom {
				t.Errorf("on from frame %d, want %d", onFrom, tt.onFrom)
			}
		})
	}
}
