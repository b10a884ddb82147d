package policy

import (
	"fmt"
	"math"
)

// polygonProblem describes why pts is not a simple polygon (corners in
// order around an area, edges not crossing), or returns "". A crossing
// polygon is rejected rather than interpreted: whether its inner parts are
// covered would depend on a fill rule the officer cannot see.
func polygonProblem(pts []Point) string {
	n := len(pts)
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		if pts[i] == pts[j] {
			if j == 0 {
				return fmt.Sprintf("the last corner repeats the first (corner %d); the polygon closes by itself, leave it out", n)
			}
			return fmt.Sprintf("corner %d repeats corner %d", j+1, i+1)
		}
	}
	if collinear(pts) {
		return "the polygon has no area (all corners on one line)"
	}
	for i := 0; i < n; i++ {
		a, b, c := pts[i], pts[(i+1)%n], pts[(i+2)%n]
		// An edge that doubles back on the previous one.
		if cross(a, b, c) == 0 && (b.X-a.X)*(c.X-b.X)+(b.Y-a.Y)*(c.Y-b.Y) < 0 {
			return fmt.Sprintf("the edges at corner %d fold back onto each other", (i+1)%n+1)
		}
	}
	for i := 0; i < n; i++ {
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue // adjacent through the closing edge
			}
			if segmentsTouch(pts[i], pts[(i+1)%n], pts[j], pts[(j+1)%n]) {
				return fmt.Sprintf("edge %d–%d crosses or touches edge %d–%d; list the corners in order around the area",
					i+1, (i+1)%n+1, j+1, (j+1)%n+1)
			}
		}
	}
	if math.Abs(area(pts)) < 1e-12 {
		return "the polygon has no area"
	}
	return ""
}

// collinear reports whether all points lie on the line through the first
// two (which differ: repeated corners are checked first).
func collinear(pts []Point) bool {
	for _, p := range pts[2:] {
		if cross(pts[0], pts[1], p) != 0 {
			return false
		}
	}
	return true
}

// area is the signed shoelace area.
func area(pts []Point) float64 {
	var s float64
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		s += a.X*b.Y - b.X*a.Y
	}
	return s / 2
}

func cross(a, b, c Point) float64 {
	return (b.X-a.X)*(c.Y-a.Y) - (b.Y-a.Y)*(c.X-a.X)
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(a, b, p Point) bool {
	return math.Min(a.X, b.X) <= p.X && p.X <= math.Max(a.X, b.X) &&
		math.Min(a.Y, b.Y) <= p.Y && p.Y <= math.Max(a.Y, b.Y)
}

// segmentsTouch reports whether segments ab and cd have any point in common.
func segmentsTouch(a, b, c, d Point) bool {
	d1, d2 := sign(cross(c, d, a)), sign(cross(c, d, b))
	d3, d4 := sign(cross(a, b, c)), sign(cross(a, b, d))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}
