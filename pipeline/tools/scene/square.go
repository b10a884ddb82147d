package scene

import (
	"math"
	"time"
)

// The demo square's layout, in normalised frame coordinates, so that the
// demo's camera section draws its zone and line where Square's people
// walk, wait and fall.
var (
	// SquareDoor is the doorway on the right, where the loiterer waits.
	SquareDoor = [4]Point{{0.66, 0.40}, {0.90, 0.40}, {0.90, 0.62}, {0.66, 0.62}}
	// SquareGate is a line across the left of the square, drawn upwards
	// on screen (from bottom to top), so that walking from screen left to
	// screen right crosses it left to right.
	SquareGate = [2]Point{{0.30, 0.98}, {0.30, 0.55}}
	// SquarePerspective is a standing person's height (normalised) with
	// feet at two rows: 0.15 at row 0.40 and 0.30 at row 0.95, as in the
	// evaluation suite's camera.
	SquarePerspective = [4]float64{0.40, 0.15, 0.95, 0.30}
)

// SquareLength is how long Square's script runs before it starts again:
// the simulated camera loops it.
const SquareLength = 40 * time.Second

// SquareTimes are the times, from the clip's start, at which each of
// Square's situations begins: the walker crosses SquareGate, the loiterer
// steps into SquareDoor, the faller goes down. A rule reports later, by its
// own time (dwell, down time).
type SquareTimes struct {
	Cross, Door, Fall time.Duration
}

// Square is the demo's scene: a 640x360 square at 25 fps on which, within
// its first 20 s, one person crosses the gate line from left to right, a
// second walks into the doorway and waits there (shifting weight, a small
// step now and then) for 16 s, and a third walks in from the right, stops,
// falls and stays down until the clip ends. The clip is empty at its
// start and end but for the person lying there, so looping it shows the
// same sequence again.
func Square() (Script, SquareTimes) {
	base := Static(640, 360, 25)
	base.Seed = 7
	walker, tc := squarePath(4*time.Second, -0.05, 0.80, 45).walkTo(SquareGate[0].X, 0.795)
	walker.walkTo(1.05, 0.78)
	loiter, _ := squarePath(7*time.Second, 1.05, 0.64, 55).walkTo(0.78, 0.53)
	td := loiter.t - 1200*time.Millisecond // the feet cross the zone's edge before the spot
	for range 4 {
		loiter.stay(3*time.Second, Stand, 0.008, 0.004).stay(time.Second, Walk, -0.008, -0.004)
	}
	loiter.walkTo(1.05, 0.70)
	faller, _ := squarePath(13*time.Second, 1.05, 0.88, 190).walkTo(0.58, 0.88)
	faller.stay(1500*time.Millisecond, Stand, 0, 0)
	tf := faller.t
	faller.stay(SquareLength-tf-100*time.Millisecond, Lie, 0, 0)
	return Script{Base: base, Actors: []Actor{walker.actor(), loiter.actor(), faller.actor()}}, SquareTimes{Cross: tc, Door: td, Fall: tf}
}

// squareWay builds an actor's keyframes at a walking pace.
type squareWay struct {
	keys []Key
	t    time.Duration
	pos  Point
	luma uint8
}

func squarePath(t time.Duration, x, y float64, luma uint8) *squareWay {
	return &squareWay{t: t, pos: Point{x, y}, luma: luma}
}

// squareHeightAt is SquarePerspective's standing height with feet at row y.
func squareHeightAt(y float64) float64 {
	p := SquarePerspective
	return p[1] + (y-p[0])*(p[3]-p[1])/(p[2]-p[0])
}

// walkTo walks to (x, y) at 0.9 body heights per second and returns the
// way and the time it gets there.
func (w *squareWay) walkTo(x, y float64) (*squareWay, time.Duration) {
	to := Point{x, y}
	h := squareHeightAt((w.pos.Y + y) / 2)
	d := math.Hypot((to.X-w.pos.X)*640/360, to.Y-w.pos.Y) / h
	w.keys = append(w.keys, Key{At: w.t, Pos: w.pos, Pose: Walk})
	w.t += time.Duration(d / 0.9 * float64(time.Second))
	w.pos = to
	return w, w.t
}

// stay holds pose for d, drifting by (dx, dy).
func (w *squareWay) stay(d time.Duration, pose Pose, dx, dy float64) *squareWay {
	w.keys = append(w.keys, Key{At: w.t, Pos: w.pos, Pose: pose})
	w.t += d
	w.pos = Point{w.pos.X + dx, w.pos.Y + dy}
	return w
}

func (w *squareWay) actor() Actor {
	keys := append(w.keys, Key{At: w.t, Pos: w.pos})
	ys := 0.0
	for _, k := range keys {
		ys += k.Pos.Y
	}
	return Actor{Keys: keys, H: squareHeightAt(ys / float64(len(keys))), Luma: w.luma}
}
