package track

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * 200 * time.Millisecond) }

func person(x, y float64) Box { return Box{X: x, Y: y, W: 0.05, H: 0.25} }

// run feeds frames; dets(i) gives frame i's detections.
func run(t *testing.T, cfg Config, n int, dets func(i int) []Box, check func(i int, ts []Track)) {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ts := tr.Update(at(i), dets(i))
		check(i, ts)
	}
}

func TestBirthAndDeath(t *testing.T) {
	cfg := Config{BirthHits: 3, MaxMisses: 2}
	run(t, cfg, 12, func(i int) []Box {
		if i < 6 {
			return []Box{person(0.1+0.02*float64(i), 0.5)}
		}
		return nil
	}, func(i int, ts []Track) {
		want := 0
		switch {
		case i >= 2 && i < 6:
			want = 1 // born after three hits
		case i >= 6 && i < 8:
			want = 1 // coasting: moving, so only MaxMisses
		}
		if len(ts) != want {
			t.Fatalf("frame %d: %d tracks, want %d", i, len(ts), want)
		}
		if want == 1 && i >= 6 && ts[0].Misses != i-5 {
			t.Fatalf("frame %d: misses %d", i, ts[0].Misses)
		}
	})
}

func TestFlickerIsNeverATrack(t *testing.T) {
	run(t, Config{BirthHits: 3}, 10, func(i int) []Box {
		if i%3 == 0 {
			return []Box{person(0.5, 0.5)}
		}
		return nil
	}, func(i int, ts []Track) {
		if len(ts) != 0 {
			t.Fatalf("frame %d: flicker became a track", i)
		}
	})
}

func TestOcclusionKeepsID(t *testing.T) {
	var id int
	run(t, Config{MaxMisses: 5}, 20, func(i int) []Box {
		if i >= 8 && i < 12 { // hidden behind something for 0.8 s
			return nil
		}
		return []Box{person(0.1+0.02*float64(i), 0.5)}
	}, func(i int, ts []Track) {
		if i < 2 {
			return
		}
		if len(ts) != 1 {
			t.Fatalf("frame %d: %d tracks", i, len(ts))
		}
		if id == 0 {
			id = ts[0].ID
		}
		if ts[0].ID != id {
			t.Fatalf("frame %d: id changed %d → %d", i, id, ts[0].ID)
		}
		if x, _ := ts[0].Box.Center(); i >= 8 && i < 12 && x < 0.1+0.02*float64(i-1) {
			t.Fatalf("frame %d: coasting box did not follow the velocity (x=%g)", i, x)
		}
	})
}

func TestCrossingObjectsKeepTheirIDs(t *testing.T) {
	ids := map[int]float64{} // id → direction of travel
	run(t, Config{}, 40, func(i int) []Box {
		x := 0.01 * float64(i)
		return []Box{person(0.1+x, 0.5), person(0.5-x, 0.52)}
	}, func(i int, ts []Track) {
		for _, tr := range ts {
			if tr.Misses > 0 || i < 5 {
				continue
			}
			dir := 1.0
			if tr.VX < 0 {
				dir = -1
			}
			if d, ok := ids[tr.ID]; ok && d != dir {
				t.Fatalf("frame %d: track %d reversed direction (ids swapped)", i, tr.ID)
			}
			ids[tr.ID] = dir
		}
	})
	if len(ids) != 2 {
		t.Fatalf("%d ids, want 2", len(ids))
	}
}

func TestStoppedObjectIsKeptAndFragmentsMerge(t *testing.T) {
	full := person(0.5, 0.5)
	run(t, Config{MaxMisses: 3, StaticMisses: 50}, 60, func(i int) []Box {
		switch {
		case i < 10:
			return []Box{person(0.3+0.02*float64(i), 0.5)}
		case i < 20:
			return []Box{full}
		case i < 24: // fading into the background: two pieces
			return []Box{{X: 0.5, Y: 0.5, W: 0.05, H: 0.08}, {X: 0.5, Y: 0.68, W: 0.05, H: 0.07}}
		}
		return nil
	}, func(i int, ts []Track) {
		if i < 3 {
			return
		}
		if i < 24+50 && len(ts) != 1 {
			t.Fatalf("frame %d: %d tracks, want the stopped one", i, len(ts))
		}
		if i >= 24 && ts[0].Box.H < 0.2 {
			t.Fatalf("frame %d: coasting box %+v lost the body", i, ts[0].Box)
		}
	})
}

func TestPasserByDoesNotTakeAStoppedObject(t *testing.T) {
	stand := person(0.5, 0.5)
	var standID int
	run(t, Config{StaticMisses: 100}, 60, func(i int) []Box {
		var d []Box
		if i < 10 {
			d = append(d, stand)
		}
		if i >= 20 {
			d = append(d, person(0.2+0.02*float64(i-20), 0.5)) // walks through
		}
		return d
	}, func(i int, ts []Track) {
		if i == 9 {
			standID = ts[0].ID
		}
		if i < 12 {
			return
		}
		for _, tr := range ts {
			if tr.ID == standID {
				if x, _ := tr.Box.Center(); x != 0.525 {
					t.Fatalf("frame %d: the stopped track moved to x=%g", i, x)
				}
				return
			}
		}
		t.Fatalf("frame %d: stopped track lost", i)
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Gate: -1}, {BirthHits: 100}, {MaxMisses: -1}, {MaxMisses: 10, StaticMisses: 5}, {History: 1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestIoU(t *testing.T) {
	a := Box{0, 0, 0.2, 0.2}
	for _, tc := range []struct {
		b    Box
		want float64
	}{{a, 1}, {Box{0.1, 0, 0.2, 0.2}, 1.0 / 3}, {Box{0.5, 0.5, 0.1, 0.1}, 0}} {
		if got := a.IoU(tc.b); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("IoU(%v) = %g want %g", tc.b, got, tc.want)
		}
	}
}

// BenchmarkUpdate: five walkers; steady state must not allocate.
func BenchmarkUpdate(b *testing.B) {
	tr, _ := New(Config{})
	dets := make([]Box, 5)
	b.ReportAllocs()
	for i := range b.N {
		for k := range dets {
			dets[k] = person(float64(k)*0.18+0.002*float64(i%100), 0.5)
		}
		tr.Update(at(i), dets)
	}
}

// blobs merges overlapping boxes, as connected components would.
func blobs(bs []Box) []Box {
	out := append([]Box(nil), bs...)
	for merged := true; merged; {
		merged = false
		for a := 0; a < len(out) && !merged; a++ {
			for b := a + 1; b < len(out); b++ {
				if out[a].IoU(out[b]) > 0 {
					out[a] = union(out[a], out[b])
					out = append(out[:b], out[b+1:]...)
					merged = true
					break
				}
			}
		}
	}
	return out
}

// Five people walk in from both sides and stop shoulder to shoulder: their
// blobs merge into one, then fade. Every one of them must stay a track
// (crowd counts them), hidden in the group's track, and they must die with
// the group.
func TestGroupMembersSurviveMerging(t *testing.T) {
	const stop, fade = 30, 45
	xs := []float64{0.40, 0.43, 0.46, 0.49, 0.52}
	people := func(i int) []Box {
		var d []Box
		for k, x := range xs {
			// From the left or the right, 0.015 per frame, to the spot.
			if i < stop {
				off := float64(stop-i) * 0.015
				if k%2 == 0 {
					x -= off
				} else {
					x += off
				}
			}
			d = append(d, person(x, 0.5+0.01*float64(k%2)))
		}
		return d
	}
	const limit = 30
	run(t, Config{StaticMisses: limit}, fade+limit+10, func(i int) []Box {
		if i < fade {
			return blobs(people(i))
		}
		return nil // faded; the group's track coasts as a stopped object
	}, func(i int, ts []Track) {
		merged := 0
		for _, tr := range ts {
			if tr.Merged() {
				merged++
			}
		}
		switch {
		case i >= stop && i < stop+20:
			// One blob: the group's track, and the others hidden in it
			// (one may have stopped on its own just before the merge).
			if len(ts) != len(xs) || merged < len(xs)-2 {
				t.Fatalf("frame %d: %d tracks (%d merged), want %d (at least %d merged)", i, len(ts), merged, len(xs), len(xs)-2)
			}
		case i > fade+limit:
			if len(ts) != 0 {
				t.Fatalf("frame %d: %d tracks outlived the group", i, len(ts))
			}
		}
	})
}

// Two people walk past each other: while their blobs overlap one of them is
// hidden in the other's; afterwards both are tracked again and nobody is
// left behind as a ghost.
func TestCrossingWalkersSplitAgain(t *testing.T) {
	run(t, Config{}, 50, func(i int) []Box {
		a, b := person(0.1+0.016*float64(i), 0.5), person(0.9-0.016*float64(i), 0.51)
		if a.IoU(b) > 0 {
			return []Box{union(a, b)}
		}
		return []Box{a, b}
	}, func(i int, ts []Track) {
		if i >= 3 && len(ts) != 2 {
			t.Fatalf("frame %d: %d tracks, want 2", i, len(ts))
		}
		if i >= 45 {
			for _, tr := range ts {
				if tr.Merged() || tr.Misses > 0 {
					t.Fatalf("frame %d: %+v still hidden after the split", i, tr.Box)
				}
			}
		}
	})
}

// Someone paces up and down a doorway: after a while the background model
// shows them only at the turns, once every few seconds. The track must
// bridge those gaps (it kept to a small area for long), where a passer-by's
// track dies after MaxMisses.
func TestPacerIsKeptThroughGaps(t *testing.T) {
	const visible = 60 // frames of continuous detections (12 s)
	pace := func(i int) Box {
		// 0.08 back and forth every 4 s.
		ph := float64(i%40) / 20
		if ph > 1 {
			ph = 2 - ph
		}
		return person(0.70+0.08*ph, 0.4)
	}
	var id int
	run(t, Config{}, 200, func(i int) []Box {
		if i < visible || i%20 == 0 {
			return []Box{pace(i)}
		}
		return nil
	}, func(i int, ts []Track) {
		if i == visible-1 {
			id = ts[0].ID
		}
		if i >= visible && (len(ts) != 1 || ts[0].ID != id) {
			t.Fatalf("frame %d: pacer's track lost (%d tracks)", i, len(ts))
		}
	})
	// The same gaps after walking straight for as long: the track dies.
	run(t, Config{}, 100, func(i int) []Box {
		if i < visible || i%20 == 0 {
			return []Box{person(0.02*float64(i), 0.4)}
		}
		return nil
	}, func(i int, ts []Track) {
		if i >= visible+6 && i < 80 && len(ts) != 0 {
			t.Fatalf("frame %d: walker's track kept through a gap", i)
		}
	})
}
