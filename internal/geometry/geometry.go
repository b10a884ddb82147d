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

// Polygon is a simple (non-self-intersecting) closed polygon; the last point
// connects back to the first.
type Polygon []Point

// Validate reports a polygon a rule cannot use: fewer than three points,
// points outside the frame, zero area, or edges that cross each other (a
// "bow tie" whose inside is ambiguous to the operator).
func (p Polygon) Validate() error {
	if len(p) < 3 {
		return &FieldError{"points", fmt.Sprintf("a zone needs at least 3 points, got %d", len(p))}
	}
	for i, q := range p {
		if !q.finite() || !q.inFrame() {
			return &FieldError{fmt.Sprintf("points[%d]", i), fmt.Sprintf("(%g, %g) is outside the frame (coordinates are 0..1)", q.X, q.Y)}
		}
	}
	n := len(p)
	for i := 0; i < n; i++ {
		a1, a2 := p[i], p[(i+1)%n]
		for j := i + 1; j < n; j++ {
			// Adjacent edges share a vertex; skip them.
			if j == i+1 || (i == 0 && j == n-1) {
				continue
			}
			b1, b2 := p[j], p[(j+1)%n]
			if segmentsIntersect(a1, a2, b1, b2) {
				return &FieldError{"points", fmt.Sprintf("zone edges %d and %d cross each other (self-intersecting polygon)", i, j)}
			}
		}
	}
	if math.Abs(p.Area()) < 1e-6 {
		return &FieldError{"points", "zone has no area (points are collinear or repeated)"}
	}
	return nil
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
