package track

import "testing"

// TestHold: a walker who stops and fades is kept by Hold where the
// confirmation put them, without drift; a detection wins over a hold; End
// ends the track; Hold and End name only existing tracks.
func TestHold(t *testing.T) {
	held := person(0.5, 0.5)
	for _, tc := range []struct {
		name string
		// after frame 10 the walker has no detection; hold(i) says whether
		// a confirmation comes on frame i, det(i) whether a detection does.
		hold, det func(i int) bool
		end       int // frame on which End is called; 0: never
		wantAlive bool
		wantBox   Box
	}{
		{"held, no drift", func(i int) bool { return i%5 == 1 }, func(int) bool { return false }, 0, true, held},
		{"detection wins", func(int) bool { return true }, func(i int) bool { return i == 30 }, 0, true, person(0.52, 0.5)},
		{"ended", func(i int) bool { return i%5 == 1 }, func(int) bool { return false }, 20, false, Box{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := walkThenFade(t, 0.3, tc.det, func(tr *Tracker, i int, ts []Track) {
				if tc.hold(i) && len(ts) == 1 && !tr.Hold(ts[0].ID, held) {
					t.Fatalf("frame %d: Hold(%d) found no track", i, ts[0].ID)
				}
				if i == tc.end && len(ts) == 1 && !tr.End(ts[0].ID) {
					t.Fatalf("End(%d) found no track", ts[0].ID)
				}
			})
			wantTrack(t, ts, tc.wantAlive, tc.wantBox)
		})
	}
	tr, _ := New(Config{})
	if tr.Hold(7, held) || tr.End(7) {
		t.Error("Hold/End of a missing track reported true")
	}
}

// TestStop: a walker whose pieces still move when they vanish (a person
// who fell, seen as jumping fragments) coasts on and dies after MaxMisses;
// told by Stop that it stopped, it stays at the box given, without drift,
// like a stopped object. A detection wins over a Stop; a walker leaving
// across the border is not kept; Stop names only confirmed tracks.
func TestStop(t *testing.T) {
	down := Box{X: 0.4, Y: 0.7, W: 0.2, H: 0.08}
	for _, tc := range []struct {
		name string
		// x0 is where the walk starts (it goes right by 0.02 a frame for
		// frames 0..10); stop says whether Stop is called after frame 10;
		// det(i) whether a detection comes on frame i > 10.
		x0        float64
		stop      bool
		det       func(i int) bool
		wantAlive bool
		wantBox   Box
	}{
		{"no stop: coasts and dies", 0.3, false, func(int) bool { return false }, false, Box{}},
		{"stopped where it lies", 0.3, true, func(int) bool { return false }, true, down},
		{"detection wins", 0.3, true, func(i int) bool { return i == 30 }, true, person(0.52, 0.5)},
		{"leaving the picture", 0.75, true, func(int) bool { return false }, false, Box{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := walkThenFade(t, tc.x0, tc.det, func(tr *Tracker, i int, ts []Track) {
				if tc.stop && len(ts) == 1 && !tr.Stop(ts[0].ID, down) {
					t.Fatalf("frame %d: Stop(%d) found no track", i, ts[0].ID)
				}
			})
			wantTrack(t, ts, tc.wantAlive, tc.wantBox)
		})
	}
	tr, _ := New(Config{})
	if tr.Stop(7, down) {
		t.Error("Stop of a missing track reported true")
	}
}

// TestWithin: the share of a box inside another, not symmetric.
func TestWithin(t *testing.T) {
	whole := Box{X: 0, Y: 0, W: 1, H: 1}
	for _, tc := range []struct {
		b, o Box
		want float64
	}{
		{Box{X: 0.25, Y: 0.25, W: 0.5, H: 0.5}, whole, 1},
		{whole, Box{X: 0.25, Y: 0.25, W: 0.5, H: 0.5}, 0.25},
		{Box{X: 0.5, Y: 0, W: 1, H: 1}, whole, 0.5},
		{Box{X: 2, Y: 2, W: 1, H: 1}, whole, 0},
		{Box{X: 0.5, Y: 0.5}, whole, 0}, // empty
	} {
		if got := tc.b.Within(tc.o); got != tc.want {
			t.Errorf("%+v.Within(%+v) = %v, want %v", tc.b, tc.o, got, tc.want)
		}
	}
}

// walkThenFade runs a tracker over a walker going right by 0.02 a frame
// from x0 for frames 0..10, then, for frames 11..30, a detection at
// (0.52, 0.5) only where det says so; after(i) runs before each of those
// later frames' Update. It returns the tracks after frame 30.
func walkThenFade(t *testing.T, x0 float64, det func(i int) bool, after func(tr *Tracker, i int, ts []Track)) []Track {
	t.Helper()
	tr, err := New(Config{BirthHits: 3, MaxMisses: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ts []Track
	for i := range 31 {
		var dets []Box
		if i <= 10 {
			dets = []Box{person(x0+0.02*float64(i), 0.5)}
		} else {
			if det(i) {
				dets = []Box{person(0.52, 0.5)}
			}
			after(tr, i, ts)
		}
		ts = tr.Update(at(i), dets)
	}
	return ts
}

// wantTrack checks that one track is alive at box, or none is.
func wantTrack(t *testing.T, ts []Track, alive bool, box Box) {
	t.Helper()
	if got := len(ts) == 1; got != alive {
		t.Fatalf("alive %v, want %v (%+v)", got, alive, ts)
	}
	if alive && ts[0].Box != box {
		t.Errorf("box %+v, want %+v", ts[0].Box, box)
	}
}
