// Package geometry holds the shapes an operator draws on a camera image —
// zones, directed lines — and a perspective aid, all in normalised
// coordinates so that a rule means the same at every analysis resolution.
//
// (0,0) is the top-left corner of the frame and (1,1) the bottom-right one;
// x is in units of the frame width and y in units of the frame height.
package geometry

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Point is a normalised image position.
type Point struct{ X, Y float64 }

func (p Point) finite() bool {
	return !math.IsNaN(p.X) && !math.IsNaN(p.Y) && !math.IsInf(p.X, 0) && !math.IsInf(p.Y, 0)
}

func (p Point) inFrame() bool { return p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1 }

// FieldError names the part of a shape that is wrong, as a path relative to
// the shape ("points[3]"), so a config loader can prefix file, line and rule.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Limits on the shapes an operator draws, so that a hostile or mistaken
// file cannot make validation or rasterising arbitrarily slow (checking for
// crossing edges is quadratic in the corners). The policy (privacy zones),
// the operator's config (rule zones) and the privacy mask all use them.
const (
	// MaxCorners is the most corners of one polygon.
	MaxCorners = 100
	// MaxZones is the most privacy zones of one camera.
	MaxZones = 32
)

// minArea is the smallest area (in units of the frame's area) a polygon may
// enclose: a millionth of the picture, about two pixels at 1920×1080.
const minArea = 1e-6

// Polygon is a simple (non-self-intersecting) closed polygon; the last point
// connects back to the first.
type Polygon []Point

// Validate reports the first reason a polygon cannot be used, or nil; see
// Problems. It is the one definition of a valid polygon: the policy checks
// privacy zones with it, the operator's config rule zones, and the privacy
// mask refuses to build from anything it rejects, so that what a policy
// accepts the mask can always draw.
func (p Polygon) Validate() error {
	if probs := p.Problems(); len(probs) > 0 {
		return probs[0]
	}
	return nil
}

// Problems lists why a polygon cannot be used; nil if it can. The rules, in
// the order they are checked:
//
//   - at least 3 and at most MaxCorners corners;
//   - every coordinate finite and within 0..1 (every such coordinate is
//     reported, with Field "points[i][k]", k = 0 for x and 1 for y);
//   - no corner repeating the next one (or the last the first: the polygon
//     closes by itself);
//   - not all corners on one line;
//   - no two consecutive edges folding back onto each other;
//   - no two edges crossing or touching (a "bow tie" whose inside would
//     depend on a fill rule the person drawing it cannot see);
//   - an area of at least a millionth of the frame.
//
// Messages speak of corners counted from 1, as a person reads the list;
// Field counts from 0, as a YAML path does.
func (p Polygon) Problems() []*FieldError {
	if e := CornersProblem(len(p)); e != nil {
		return []*FieldError{e}
	}
	var out []*FieldError
	for i, q := range p {
		for k, v := range [2]float64{q.X, q.Y} {
			if !(v >= 0 && v <= 1) { // also NaN
				out = append(out, &FieldError{fmt.Sprintf("points[%d][%d]", i, k),
					fmt.Sprintf("%v is outside the picture; allowed: 0 to 1 (0,0 is the top left corner, 1,1 the bottom right)", v)})
			}
		}
	}
	if out != nil {
		return out
	}
	if msg := p.shapeProblem(); msg != "" {
		return []*FieldError{{"points", msg}}
	}
	return nil
}

// CornersProblem reports a number of corners no polygon may have (the first
// rule of Problems), or nil. A file parser whose corners are not all
// well-formed can still check their number with it.
func CornersProblem(n int) *FieldError {
	switch {
	case n < 3:
		return &FieldError{"points", fmt.Sprintf("needs at least 3 corners [x, y], e.g. [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4]]; got %d", n)}
	case n > MaxCorners:
		return &FieldError{"points", fmt.Sprintf("%d corners; at most %d", n, MaxCorners)}
	}
	return nil
}

// shapeProblem describes why p, whose corners are all in the frame, is not
// a simple polygon with an area, or returns "".
func (p Polygon) shapeProblem() string {
	n := len(p)
	for i := range n {
		j := (i + 1) % n
		if p[i] == p[j] {
			if j == 0 {
				return fmt.Sprintf("the last corner repeats the first (corner %d); the polygon closes by itself, leave it out", n)
			}
			return fmt.Sprintf("corner %d repeats corner %d", j+1, i+1)
		}
	}
	if p.collinear() {
		return "the polygon has no area (all corners on one line)"
	}
	for i := range n {
		a, b, c := p[i], p[(i+1)%n], p[(i+2)%n]
		// An edge that doubles back on the previous one.
		if cross(a, b, c) == 0 && (b.X-a.X)*(c.X-b.X)+(b.Y-a.Y)*(c.Y-b.Y) < 0 {
			return fmt.Sprintf("the edges at corner %d fold back onto each other", (i+1)%n+1)
		}
	}
	for i := range n {
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue // adjacent through the closing edge
			}
			if segmentsIntersect(p[i], p[(i+1)%n], p[j], p[(j+1)%n]) {
				return fmt.Sprintf("edge %d–%d crosses or touches edge %d–%d; list the corners in order around the area",
					i+1, (i+1)%n+1, j+1, (j+1)%n+1)
			}
		}
	}
	if math.Abs(p.Area()) < minArea {
		return "the polygon has no area to speak of (less than a millionth of the picture)"
	}
	return ""
}

// collinear reports whether all corners lie on the line through the first
// two (which differ: repeated corners are checked first).
func (p Polygon) collinear() bool {
	for _, q := range p[2:] {
		if cross(p[0], p[1], q) != 0 {
			return false
		}
	}
	return true
}

// Area is the signed area in normalised units (positive when the points run
// clockwise on screen, y pointing down).
func (p Polygon) Area() float64 {
	var a float64
	for i := range p {
		q, r := p[i], p[(i+1)%len(p)]
		a += q.X*r.Y - r.X*q.Y
	}
	return a / 2
}

// Contains reports whether pt lies inside the polygon (even-odd rule; points
// exactly on an edge may go either way).
func (p Polygon) Contains(pt Point) bool {
	in := false
	n := len(p)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := p[i], p[j]
		if (a.Y > pt.Y) != (b.Y > pt.Y) {
			x := a.X + (pt.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y)
			if pt.X < x {
				in = !in
			}
		}
	}
	return in
}

// Bounds returns the polygon's bounding box.
func (p Polygon) Bounds() (min, max Point) {
	min, max = Point{math.Inf(1), math.Inf(1)}, Point{math.Inf(-1), math.Inf(-1)}
	for _, q := range p {
		min.X, min.Y = math.Min(min.X, q.X), math.Min(min.Y, q.Y)
		max.X, max.Y = math.Max(max.X, q.X), math.Max(max.Y, q.Y)
	}
	return min, max
}

// Within reports whether polygon p lies entirely inside polygon q
// (boundaries may touch). policy diff uses it to say which way a reshaped
// privacy zone goes: a zone that only shrinks hides strictly less, one that
// only grows strictly more; anything else needs a person's look.
//
// Every edge of p is cut where it meets an edge of q; p is within q when
// every corner of p and the midpoint of every piece is inside or on q.
// That also holds for concave zones, where corners alone would not tell.
func (p Polygon) Within(q Polygon) bool {
	for _, c := range p {
		if !q.containsOrOn(c) {
			return false
		}
	}
	var ts []float64
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		ts = append(ts[:0], 0, 1)
		for j := range q {
			if t, ok := cutAt(a, b, q[j], q[(j+1)%len(q)]); ok {
				ts = append(ts, t)
			}
			// Corners of q on the edge cut it too.
			if t, ok := paramOn(a, b, q[j]); ok {
				ts = append(ts, t)
			}
		}
		slices.Sort(ts)
		for k := 1; k < len(ts); k++ {
			if ts[k]-ts[k-1] < 1e-12 {
				continue
			}
			m := (ts[k] + ts[k-1]) / 2
			if !q.containsOrOn(Point{a.X + m*(b.X-a.X), a.Y + m*(b.Y-a.Y)}) {
				return false
			}
		}
	}
	return true
}

// onEps is the tolerance for "on the boundary", far below any distance
// that matters in an image (1e-9 of its width).
const onEps = 1e-9

// containsOrOn reports whether pt is inside p or on its boundary.
func (p Polygon) containsOrOn(pt Point) bool {
	in := false
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		if math.Abs(cross(a, b, pt)) <= onEps*math.Hypot(b.X-a.X, b.Y-a.Y) &&
			pt.X >= math.Min(a.X, b.X)-onEps && pt.X <= math.Max(a.X, b.X)+onEps &&
			pt.Y >= math.Min(a.Y, b.Y)-onEps && pt.Y <= math.Max(a.Y, b.Y)+onEps {
			return true
		}
		if (a.Y > pt.Y) != (b.Y > pt.Y) && pt.X < a.X+(pt.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y) {
			in = !in
		}
	}
	return in
}

// cutAt returns where along pq (0..1) the segment cd properly crosses it.
func cutAt(p, q, c, d Point) (float64, bool) {
	r := Point{q.X - p.X, q.Y - p.Y}
	s := Point{d.X - c.X, d.Y - c.Y}
	den := r.X*s.Y - r.Y*s.X
	if math.Abs(den) < 1e-15 {
		return 0, false // parallel: overlaps are found through the corners
	}
	t := ((c.X-p.X)*s.Y - (c.Y-p.Y)*s.X) / den
	u := ((c.X-p.X)*r.Y - (c.Y-p.Y)*r.X) / den
	if t < 0 || t > 1 || u < 0 || u > 1 {
		return 0, false
	}
	return t, true
}

// paramOn returns where along pq the point c lies, if it lies on pq.
func paramOn(p, q, c Point) (float64, bool) {
	l := math.Hypot(q.X-p.X, q.Y-p.Y)
	if l == 0 || math.Abs(cross(p, q, c)) > onEps*l {
		return 0, false
	}
	t := ((c.X-p.X)*(q.X-p.X) + (c.Y-p.Y)*(q.Y-p.Y)) / (l * l)
	return t, t >= 0 && t <= 1
}

func cross(o, a, b Point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }

func onSegment(a, b, p Point) bool {
	return math.Min(a.X, b.X) <= p.X && p.X <= math.Max(a.X, b.X) &&
		math.Min(a.Y, b.Y) <= p.Y && p.Y <= math.Max(a.Y, b.Y)
}

// segmentsIntersect includes touching and collinear overlap.
func segmentsIntersect(a1, a2, b1, b2 Point) bool {
	d1, d2 := cross(b1, b2, a1), cross(b1, b2, a2)
	d3, d4 := cross(a1, a2, b1), cross(a1, a2, b2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(b1, b2, a1)) || (d2 == 0 && onSegment(b1, b2, a2)) ||
		(d3 == 0 && onSegment(a1, a2, b1)) || (d4 == 0 && onSegment(a1, a2, b2))
}

// Direction says which crossings of a Line count.
type Direction int

const (
	// Both counts crossings either way.
	Both Direction = iota
	// LeftToRight counts crossings from the left of A→B to its right, as
	// seen on screen standing at A looking at B.
	LeftToRight
	// RightToLeft is the opposite.
	RightToLeft
)

// ParseDirection accepts "both", "left_to_right" and "right_to_left".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "", "both":
		return Both, nil
	case "left_to_right":
		return LeftToRight, nil
	case "right_to_left":
		return RightToLeft, nil
	}
	return Both, fmt.Errorf("unknown direction %q (want both, left_to_right or right_to_left)", s)
}

func (d Direction) String() string {
	switch d {
	case LeftToRight:
		return "left_to_right"
	case RightToLeft:
		return "right_to_left"
	}
	return "both"
}

// Line is a tripwire segment from A to B.
type Line struct {
	A, B      Point
	Direction Direction
}

// Validate reports a line outside the frame or too short to cross.
func (l Line) Validate() error {
	for i, q := range []Point{l.A, l.B} {
		if !q.finite() || !q.inFrame() {
			return &FieldError{fmt.Sprintf("points[%d]", i), fmt.Sprintf("(%g, %g) is outside the frame (coordinates are 0..1)", q.X, q.Y)}
		}
	}
	if math.Hypot(l.B.X-l.A.X, l.B.Y-l.A.Y) < 0.01 {
		return &FieldError{"points", "line is shorter than 1% of the frame"}
	}
	if l.Direction < Both || l.Direction > RightToLeft {
		return &FieldError{"direction", "unknown direction"}
	}
	return nil
}

// Side is positive for points right of A→B (as seen on screen), negative
// left of it and zero on the line through A and B.
func (l Line) Side(p Point) float64 { return cross(l.A, l.B, p) }

// Crossing tests the movement prev→cur against the line. It returns 0 if the
// movement does not cross the segment or crosses in a direction the line
// ignores, +1 for left-to-right and −1 for right-to-left. Touching the line
// is not a crossing: the point must end strictly on the other side.
func (l Line) Crossing(prev, cur Point) int {
	s0, s1 := cross(l.A, l.B, prev), cross(l.A, l.B, cur)
	// With y pointing down, a positive cross product is to the right of A→B.
	var dir int
	switch {
	case s0 < 0 && s1 > 0:
		dir = +1
	case s0 > 0 && s1 < 0:
		dir = -1
	default:
		return 0
	}
	t0, t1 := cross(prev, cur, l.A), cross(prev, cur, l.B)
	if (t0 > 0) == (t1 > 0) && t0 != 0 && t1 != 0 {
		return 0 // the movement passes beside the segment
	}
	switch {
	case l.Direction == LeftToRight && dir < 0, l.Direction == RightToLeft && dir > 0:
		return 0
	}
	return dir
}

// Perspective relates image rows to the expected height of a standing
// person, so that sizes and speeds mean the same near and far: a person at
// the bottom of the frame is taller in pixels than one near the horizon.
// It interpolates linearly between two reference rows (feet positions).
type Perspective struct {
	// Row1, Row2 are normalised y positions of a person's feet, Row1 < Row2.
	Row1, Row2 float64
	// Height1, Height2 are the normalised heights of a standing person whose
	// feet are at Row1 and Row2.
	Height1, Height2 float64
}

// Zero reports an unconfigured perspective; rules then use each object's own
// measured height instead.
func (p Perspective) Zero() bool { return p == Perspective{} }

// Validate reports reference rows or heights that cannot describe a camera.
func (p Perspective) Validate() error {
	if p.Zero() {
		return nil
	}
	switch {
	case !(p.Row1 >= 0 && p.Row1 <= 1):
		return &FieldError{"row1", fmt.Sprintf("%g is outside 0..1", p.Row1)}
	case !(p.Row2 >= 0 && p.Row2 <= 1):
		return &FieldError{"row2", fmt.Sprintf("%g is outside 0..1", p.Row2)}
	case !(p.Row2-p.Row1 >= 0.05):
		return &FieldError{"row2", "must be at least 0.05 below row1"}
	case !(p.Height1 > 0 && p.Height1 <= 1):
		return &FieldError{"height1", fmt.Sprintf("%g is outside (0,1]", p.Height1)}
	case !(p.Height2 > 0 && p.Height2 <= 1):
		return &FieldError{"height2", fmt.Sprintf("%g is outside (0,1]", p.Height2)}
	}
	return nil
}

// HeightAt is the expected person height for feet at row y; it never drops
// below 1% of the frame so that divisions stay finite near the horizon.
func (p Perspective) HeightAt(y float64) float64 {
	h := p.Height1 + (y-p.Row1)*(p.Height2-p.Height1)/(p.Row2-p.Row1)
	return math.Max(h, 0.01)
}

// ErrNoScale is returned when neither a perspective nor a measured height is
// available.
var ErrNoScale = errors.New("geometry: no scale for speed")

// BodyHeights converts a displacement (dx in frame widths, dy in frame
// heights) at feet row y into body heights. aspect is width/height of the
// frame; height is the fallback body height (normalised) when the
// perspective is not configured.
func (p Perspective) BodyHeights(dx, dy, y, aspect, height float64) float64 {
	h := height
	if !p.Zero() {
		h = p.HeightAt(y)
	}
	if !(h > 0) {
		return 0
	}
	return math.Hypot(dx*aspect, dy) / h
}
