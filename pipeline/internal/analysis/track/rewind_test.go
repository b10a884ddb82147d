package track

import (
	"math"
	"testing"
)

// TestRewind: the frame before a light change is flagged already shows it;
// a track matched to its blob gets its box, velocity and last detection
// back and counts the frame as a miss, and a track born from such a blob
// is never confirmed. Also with the history full, which the hit shifted.
func TestRewind(t *testing.T) {
	change := Box{X: 0.3, Y: 0, W: 0.7, H: 1} // most of the picture
	for _, tc := range []struct {
		name    string
		history int
		walk    int // frames walked before the change's first frame
	}{
		{"history not full", 64, 10},
		{"history full", 8, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(Config{BirthHits: 3, MaxMisses: 5, History: tc.history})
			if err != nil {
				t.Fatal(err)
			}
			var before []Track
			for i := range tc.walk {
				before = tr.Update(at(i), []Box{person(0.3+0.01*float64(i), 0.5)})
			}
			if len(before) != 1 {
				t.Fatalf("%d tracks before the change, want 1", len(before))
			}
			b := before[0]
			hist := append([]Sample(nil), b.History...)
			tr.Update(at(tc.walk), []Box{change, {X: 0, Y: 0, W: 0.1, H: 0.3}})
			ts := tr.Rewind()
			if len(ts) != 1 {
				t.Fatalf("%d tracks after Rewind, want 1 (%+v)", len(ts), ts)
			}
			got := ts[0]
			want := b.Box // coasting one frame on its velocity
			want.X += b.VX * at(1).Sub(at(0)).Seconds()
			if math.Abs(got.Box.X-want.X) > 1e-9 || got.Box.Y != want.Y || got.Box.W != want.W || got.Box.H != want.H || !got.LastSeen.Equal(b.LastSeen) || got.Misses != 1 || got.VX != b.VX || got.VY != b.VY {
				t.Errorf("after Rewind: box %+v seen %v misses %d v %g,%g; want box %+v seen %v misses 1 v %g,%g",
					got.Box, got.LastSeen, got.Misses, got.VX, got.VY, want, b.LastSeen, b.VX, b.VY)
			}
			n := len(got.History)
			last := got.History[n-1]
			if last.Seen || !last.At.Equal(at(tc.walk)) {
				t.Errorf("last sample %+v, want an unseen one at the change's first frame", last)
			}
			// The rest of the history is what it was (the oldest sample,
			// if the hit pushed it out, is back).
			if want := hist[len(hist)-(n-1):]; !samples(got.History[:n-1], want) {
				t.Errorf("history %+v, want %+v then the miss", got.History[:n-1], want)
			}
			// After the change, the blob-born track does not become one.
			for i := tc.walk + 1; i < tc.walk+4; i++ {
				if ts := tr.Update(at(i), nil); len(ts) != 1 {
					t.Fatalf("frame %d: %d tracks, want the walker alone", i, len(ts))
				}
			}
		})
	}
}

func samples(a, b []Sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Box != b[i].Box || a[i].Seen != b[i].Seen || !a[i].At.Equal(b[i].At) {
			return false
		}
	}
	return true
}

// TestHoldVelocityRestart: the first blob after a hold does not give the
// track a velocity from the detector's box to the blob's (two kinds of
// box); the next blob does.
func TestHoldVelocityRestart(t *testing.T) {
	tr, err := New(Config{BirthHits: 3, MaxMisses: 5})
	if err != nil {
		t.Fatal(err)
	}
	var ts []Track
	for i := range 10 {
		ts = tr.Update(at(i), []Box{person(0.5, 0.5)}) // standing
	}
	ts = tr.Update(at(10), nil)
	tr.Hold(ts[0].ID, Box{X: 0.45, Y: 0.45, W: 0.1, H: 0.35}) // the detector's whole figure
	tr.Update(at(11), nil)
	ts = tr.Update(at(12), []Box{person(0.5, 0.5)}) // a blob of them again
	if ts[0].VX != 0 || ts[0].VY != 0 {
		t.Errorf("velocity after the first blob %g,%g, want 0,0", ts[0].VX, ts[0].VY)
	}
	ts = tr.Update(at(13), []Box{person(0.52, 0.5)})
	if ts[0].VX <= 0 {
		t.Errorf("velocity after the second blob %g, want > 0", ts[0].VX)
	}
}

// TestLeavingIsNotStaying: someone who stood at one spot for a while and
// then walks out across a border of the picture has a confined path, but
// they left: their track coasts only MaxMisses, as any walker's. Standing
// at the border, also swaying there, is staying.
func TestLeavingIsNotStaying(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table float64 // where they stand (the box's left edge)
		exitX float64 // where the walk ends
		stay  int     // frames standing where the walk ended, before the detections stop
		alive bool    // the track is still there 2 s after the last detection
	}{
		{"walks out on the right", 0.85, 0.95, 0, false},
		{"stops short of the border", 0.75, 0.85, 8, true},
		{"stands at the border", 0.95, 0.95, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(Config{MaxMisses: 5, StaticMisses: 600})
			if err != nil {
				t.Fatal(err)
			}
			x := tc.table
			stay := tc.stay
			var ts []Track
			for i := range 80 {
				var dets []Box
				switch {
				case i < 50: // standing at a table for 10 s, swaying
					dets = []Box{person(tc.table+0.005*float64(i%2), 0.5)}
				case x < tc.exitX:
					x += 0.03
					dets = []Box{person(min(x, tc.exitX), 0.5)}
				case stay > 0: // standing where the walk ended, swaying
					stay--
					dets = []Box{person(tc.exitX-0.005*float64(stay%2), 0.5)}
				}
				ts = tr.Update(at(i), dets)
			}
			if alive := len(ts) == 1; alive != tc.alive {
				t.Errorf("alive %v, want %v (%+v)", alive, tc.alive, ts)
			}
		})
	}
}
