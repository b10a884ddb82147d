package scene

import (
	"testing"
	"time"
)

// TestSquare checks the demo square's script against the layout the demo's
// camera section draws: the walker crosses the gate line left to right at
// Cross, the loiterer stands in the doorway from Door for longer than the
// demo's 8 s dwell, the faller lies from Fall to the end of the clip, and
// nobody is in view at the clip's start, so looping it does not make a
// figure jump.
func TestSquare(t *testing.T) {
	sc, tm := Square()
	if len(sc.Actors) != 3 {
		t.Fatalf("%d actors, want walker, loiterer and faller", len(sc.Actors))
	}
	if !(tm.Cross > 4*time.Second && tm.Cross < tm.Door && tm.Door < tm.Fall && tm.Fall+10*time.Second < SquareLength) {
		t.Fatalf("times %+v: want every situation within the clip, in order", tm)
	}
	walker, loiter, faller := &sc.Actors[0], &sc.Actors[1], &sc.Actors[2]
	at := func(a *Actor, d time.Duration) (Point, Pose, bool) {
		p, pose, _, ok := a.pose(d.Seconds())
		return p, pose, ok
	}
	gx := SquareGate[0].X
	if p, _, ok := at(walker, tm.Cross-time.Second); !ok || p.X >= gx {
		t.Errorf("walker 1 s before crossing at %+v (visible %v), want left of the gate x=%g", p, ok, gx)
	}
	if p, _, ok := at(walker, tm.Cross+time.Second); !ok || p.X <= gx || p.Y < SquareGate[1].Y || p.Y > SquareGate[0].Y {
		t.Errorf("walker 1 s after crossing at %+v (visible %v), want right of the gate, within its rows", p, ok)
	}
	in := func(p Point) bool {
		return p.X > SquareDoor[0].X && p.X < SquareDoor[1].X && p.Y > SquareDoor[0].Y && p.Y < SquareDoor[2].Y
	}
	for d := tm.Door + 1500*time.Millisecond; d < tm.Door+12*time.Second; d += 500 * time.Millisecond {
		if p, _, ok := at(loiter, d); !ok || !in(p) {
			t.Fatalf("loiterer at %v: %+v (visible %v), want in the doorway", d, p, ok)
		}
	}
	for d := tm.Fall; d < SquareLength-time.Second; d += time.Second {
		if _, pose, ok := at(faller, d); !ok || pose != Lie {
			t.Fatalf("faller at %v: pose %v (visible %v), want lying", d, pose, ok)
		}
	}
	if _, pose, ok := at(faller, tm.Fall-time.Second); !ok || pose != Stand {
		t.Errorf("faller 1 s before the fall: pose %v (visible %v), want standing", pose, ok)
	}
	for i := range sc.Actors {
		if _, _, ok := at(&sc.Actors[i], 0); ok {
			t.Errorf("actor %d visible at the clip's start", i)
		}
		if _, _, ok := at(&sc.Actors[i], SquareLength); ok {
			t.Errorf("actor %d visible after the clip's end", i)
		}
	}
}
