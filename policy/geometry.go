package policy

import (
	"fmt"
	"math"
	"slices"
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

// polygonWithin reports whether polygon a lies entirely inside polygon b
// (boundaries may touch). policy diff uses it to say which way a reshaped
// privacy zone goes: a zone that only shrinks hides strictly less, one that
// only grows strictly more; anything else needs a person's look.
//
// Every edge of a is cut where it meets an edge of b; a is within b when
// every corner of a and the midpoint of every piece is inside or on b.
// That also holds for concave zones, where corners alone would not tell.
func polygonWithin(a, b []Point) bool {
	for _, p := range a {
		if !insideOrOn(p, b) {
			return false
		}
	}
	var ts []float64
	for i := range a {
		p, q := a[i], a[(i+1)%len(a)]
		ts = append(ts[:0], 0, 1)
		for j := range b {
			if t, ok := cutAt(p, q, b[j], b[(j+1)%len(b)]); ok {
				ts = append(ts, t)
			}
			// Corners of b on the edge cut it too.
			if t, ok := paramOn(p, q, b[j]); ok {
				ts = append(ts, t)
			}
		}
		slices.Sort(ts)
		for k := 1; k < len(ts); k++ {
			if ts[k]-ts[k-1] < 1e-12 {
				continue
			}
			m := (ts[k] + ts[k-1]) / 2
			if !insideOrOn(Point{p.X + m*(q.X-p.X), p.Y + m*(q.Y-p.Y)}, b) {
				return false
			}
		}
	}
	return true
}

// geomEps is the tolerance for "on the boundary", far below any distance
// that matters in an image (1e-9 of its width).
const geomEps = 1e-9

// insideOrOn reports whether p is inside polygon poly or on its boundary.
func insideOrOn(p Point, poly []Point) bool {
	in := false
	for i := range poly {
		a, b := poly[i], poly[(i+1)%len(poly)]
		if math.Abs(cross(a, b, p)) <= geomEps*math.Hypot(b.X-a.X, b.Y-a.Y) &&
			p.X >= math.Min(a.X, b.X)-geomEps && p.X <= math.Max(a.X, b.X)+geomEps &&
			p.Y >= math.Min(a.Y, b.Y)-geomEps && p.Y <= math.Max(a.Y, b.Y)+geomEps {
			return true
		}
		if (a.Y > p.Y) != (b.Y > p.Y) && p.X < a.X+(p.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y) {
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
	if l == 0 || math.Abs(cross(p, q, c)) > geomEps*l {
		return 0, false
	}
	t := ((c.X-p.X)*(q.X-p.X) + (c.Y-p.Y)*(q.Y-p.Y)) / (l * l)
	return t, t >= 0 && t <= 1
}
