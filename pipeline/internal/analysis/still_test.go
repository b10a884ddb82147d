package analysis

import (
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// TestJudge is the identity guard of a look at a stopped person's box.
func TestJudge(t *testing.T) {
	at := image.Rect(100, 100, 140, 200)
	for _, tc := range []struct {
		name         string
		conf, anchor image.Rectangle
		want         stillVerdict
	}{
		{"nobody", image.Rectangle{}, image.Rectangle{}, stillMiss},
		{"elsewhere", image.Rect(300, 100, 340, 200), image.Rectangle{}, stillMiss},
		{"much smaller", image.Rect(110, 150, 130, 200), image.Rectangle{}, stillMiss},
		{"first confirmation", image.Rect(102, 98, 142, 202), image.Rectangle{}, stillHoldAt},
		{"same as anchor", image.Rect(101, 101, 141, 201), image.Rect(100, 100, 140, 200), stillHoldAt},
		{"moved from anchor", image.Rect(118, 100, 158, 200), image.Rect(90, 100, 130, 200), stillOther},
		{"shrank from anchor", image.Rect(100, 100, 140, 200), image.Rect(95, 40, 145, 200), stillOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := judge(tc.conf, at, tc.anchor); got != tc.want {
				t.Errorf("judge = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestStillDue: only tracks without a blob are looked at, each at most
// every `every` frames, the longest waiting first; a blob for the track
// forgets its hold, the hold itself does not.
func TestStillDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &stillHold{every: 5}
	moving := track.Track{ID: 1, Born: t0, LastSeen: t0}
	still := track.Track{ID: 2, Born: t0, LastSeen: t0, Misses: 1}
	tr, x := s.due([]track.Track{moving, still})
	if tr == nil || tr.ID != 2 {
		t.Fatalf("due = %v, want track 2", tr)
	}
	x.look, x.heldAt = s.frame, t0.Add(time.Second)
	held := still
	held.Misses, held.LastSeen = 0, x.heldAt
	for i := 1; i < 5; i++ {
		ts := []track.Track{moving, held}
		if i > 1 {
			ts[1].Misses = i - 1
		}
		if tr, _ := s.due(ts); tr != nil {
			t.Fatalf("look %d frames after the last: %v", i, tr)
		}
	}
	still.Misses = 5
	if tr, _ := s.due([]track.Track{still}); tr == nil || tr.ID != 2 {
		t.Fatalf("due after every frames = %v, want track 2", tr)
	}
	if s.find(&still) == nil {
		t.Fatal("hold forgotten")
	}
	blob := still
	blob.Misses, blob.LastSeen = 0, t0.Add(9*time.Second)
	s.due([]track.Track{blob})
	if s.find(&still) != nil {
		t.Fatal("a blob for the track did not end its hold")
	}
}

// TestPiece: a coasting track inside the box a person was just held at,
// and smaller, is a piece of them (their head, left behind as they faded);
// one with a blob of its own, one that sticks out, or the held track
// itself is not.
func TestPiece(t *testing.T) {
	held := track.Box{X: 0.5, Y: 0.1, W: 0.2, H: 0.8}
	self := track.Track{ID: 1, Box: held}
	for _, tc := range []struct {
		name string
		u    track.Track
		want bool
	}{
		{"head, coasting", track.Track{ID: 2, Box: track.Box{X: 0.55, Y: 0.12, W: 0.08, H: 0.1}, Misses: 3}, true},
		{"head with a blob", track.Track{ID: 2, Box: track.Box{X: 0.55, Y: 0.12, W: 0.08, H: 0.1}}, false},
		{"someone beside", track.Track{ID: 2, Box: track.Box{X: 0.65, Y: 0.1, W: 0.2, H: 0.7}, Misses: 3}, false},
		{"larger", track.Track{ID: 2, Box: track.Box{X: 0.45, Y: 0.05, W: 0.3, H: 0.9}, Misses: 3}, false},
		{"the held track", self, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := piece(&tc.u, &self, held); got != tc.want {
				t.Errorf("piece = %v, want %v", got, tc.want)
			}
		})
	}
}
