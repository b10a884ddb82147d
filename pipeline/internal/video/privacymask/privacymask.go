// Package privacymask blanks the operator's privacy zones in decoded frames,
// before any other stage sees them (invariant 2).
//
// The zones are rasterised conservatively: every pixel whose square touches
// a zone polygon at all (boundary included) is filled, however thin or small
// the polygon. A pixel half inside a zone would otherwise leak part of what
// it shows, so rounding always errs towards hiding. Fill rule: non-zero
// winding, which for a self-intersecting polygon fills at least as much as
// even-odd.
//
// The raster is computed once per resolution, in pure Go with exact
// geometry (no anti-aliasing heuristics, no dilation), and stored as runs of
// pixels, so Apply is a handful of memclr calls with no allocation and no
// cgo beyond reading the Mat's header.
package privacymask

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gocv.io/x/gocv"
)

// ErrInvalid is wrapped by every error New returns: the zones or the size
// cannot be rasterised, and the caller must not run without them.
var ErrInvalid = errors.New("privacymask: invalid zones")

// Point is a vertex in normalised frame coordinates, 0..1 on both axes,
// (0,0) top-left.
type Point struct{ X, Y float64 }

// Fill is the value written to every byte of a masked pixel.
const Fill = 0

// Limits on input, so a hostile policy cannot make New arbitrarily slow:
// rasterising is O(points²) per zone for the self-intersection points.
const (
	MaxZones         = 64
	MaxPointsPerZone = 1024
	MaxDimension     = 16384
)

// span is a run of masked pixels, as pixel offsets into a continuous frame.
// Runs that continue on the next row are merged, so a full-width band is a
// single run.
type span struct{ off, n int }

// Mask is the rasterised zones for one frame size. It is read-only after New
// and safe for concurrent use.
type Mask struct {
	w, h   int
	empty  bool
	raster []bool // w*h, true = masked
	spans  []span
}

// New rasterises zones for a w×h frame. It rejects zones with fewer than
// three points, coordinates outside 0..1 or not finite, and sizes or counts
// beyond the limits above. No zones gives an Empty mask.
func New(zones [][]Point, w, h int) (*Mask, error) {
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return nil, fmt.Errorf("%w: invalid frame size %dx%d", ErrInvalid, w, h)
	}
	if len(zones) > MaxZones {
		return nil, fmt.Errorf("%w: %d zones, at most %d", ErrInvalid, len(zones), MaxZones)
	}
	for i, z := range zones {
		if len(z) < 3 {
			return nil, fmt.Errorf("%w: zone %d has %d points, need at least 3", ErrInvalid, i, len(z))
		}
		if len(z) > MaxPointsPerZone {
			return nil, fmt.Errorf("%w: zone %d has %d points, at most %d", ErrInvalid, i, len(z), MaxPointsPerZone)
		}
		for j, p := range z {
			if !(p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1) { // also rejects NaN
				return nil, fmt.Errorf("%w: zone %d point %d (%v, %v) outside 0..1", ErrInvalid, i, j, p.X, p.Y)
			}
		}
	}
	m := &Mask{w: w, h: h, empty: len(zones) == 0}
	if m.empty {
		return m, nil
	}
	m.raster = make([]bool, w*h)
	r := rasteriser{w: w, h: h, cov: m.raster}
	for _, z := range zones {
		r.polygon(z)
	}
	m.spans = runs(m.raster)
	return m, nil
}

// Empty reports whether there are no zones; Apply then does nothing.
func (m *Mask) Empty() bool { return m.empty }

// Size is the frame size the mask was built for.
func (m *Mask) Size() (w, h int) { return m.w, m.h }

// Covers reports whether pixel (x, y) is masked; outside the frame it is false.
func (m *Mask) Covers(x, y int) bool {
	if m.empty || x < 0 || y < 0 || x >= m.w || y >= m.h {
		return false
	}
	return m.raster[y*m.w+x]
}

// Apply fills the masked pixels of frame with Fill, in place. frame is
// normally grey (CV_8UC1) or BGR (CV_8UC3); any continuous 8-bit Mat of the
// mask's size works. An empty frame is left alone.
//
// It fails closed: a frame the mask cannot be applied to exactly (another
// size, another depth, not continuous) is filled entirely, because the
// zones it should hide cannot be located in it.
func (m *Mask) Apply(frame gocv.Mat) {
	if m.empty || frame.Empty() {
		return
	}
	t := frame.Type()
	if frame.Rows() != m.h || frame.Cols() != m.w || t&7 != 0 /* depth CV_8U */ || !frame.IsContinuous() {
		frame.SetTo(gocv.NewScalar(Fill, Fill, Fill, Fill))
		return
	}
	data, err := frame.DataPtrUint8()
	c := frame.Channels()
	if err != nil || len(data) < m.w*m.h*c {
		frame.SetTo(gocv.NewScalar(Fill, Fill, Fill, Fill))
		return
	}
	for _, s := range m.spans {
		b := data[s.off*c : (s.off+s.n)*c]
		if Fill == 0 {
			clear(b)
		} else {
			for i := range b {
				b[i] = Fill
			}
		}
	}
}

// Close releases the mask. It holds no C memory today; Close exists so
// callers treat it like the other per-camera resources.
func (m *Mask) Close() error {
	m.raster, m.spans = nil, nil
	return nil
}

func runs(cov []bool) []span {
	var out []span
	for i := 0; i < len(cov); {
		if !cov[i] {
			i++
			continue
		}
		j := i
		for j < len(cov) && cov[j] {
			j++
		}
		out = append(out, span{off: i, n: j - i})
		i = j
	}
	return slices.Clip(out)
}

// eps (in pixels) widens every computed extent a little, so floating-point
// rounding can only add pixels that the boundary passes within a millionth
// of a pixel, never drop one it touches.
const eps = 1e-6

type rasteriser struct {
	w, h int
	cov  []bool
}

type edge struct {
	x0, y0, x1, y1 float64
}

// xAt is the edge's x at height y (the edge must not be horizontal).
func (e *edge) xAt(y float64) float64 {
	return e.x0 + (e.x1-e.x0)*(y-e.y0)/(e.y1-e.y0)
}

// polygon marks every pixel whose closed square meets the closed polygon z
// (non-zero fill).
//
// The plane is cut into horizontal bands at every vertex and every crossing
// of two edges. Inside a band the edges that span it keep their left-right
// order, and the filled set is a union of trapezoids between pairs of them
// (found by summing edge directions, i.e. the winding number). Within one
// pixel row a trapezoid's x extent is exactly [min of its left edge at the
// two heights, max of its right edge at the two heights], because edges are
// straight; so the pixels it touches in that row are exactly those whose
// [x, x+1] meets that interval. Edges themselves are marked as well, which
// covers degenerate (zero-area) parts such as spikes and collinear polygons.
func (r *rasteriser) polygon(z []Point) {
	fw, fh := float64(r.w), float64(r.h)
	n := len(z)
	edges := make([]edge, 0, n)
	for i := range n {
		a, b := z[i], z[(i+1)%n]
		edges = append(edges, edge{a.X * fw, a.Y * fh, b.X * fw, b.Y * fh})
	}
	for i := range edges {
		r.segment(&edges[i])
	}

	ys := make([]float64, 0, 2*n)
	for i := range edges {
		ys = append(ys, edges[i].y0)
	}
	for i := range edges {
		for j := i + 1; j < len(edges); j++ {
			if y, ok := crossingY(&edges[i], &edges[j]); ok {
				ys = append(ys, y)
			}
		}
	}
	slices.Sort(ys)
	ys = slices.Compact(ys)

	type active struct {
		e   *edge
		xm  float64
		dir int
	}
	var act []active
	for k := 0; k+1 < len(ys); k++ {
		a, b := ys[k], ys[k+1]
		mid := (a + b) / 2
		act = act[:0]
		for i := range edges {
			e := &edges[i]
			lo, hi := min(e.y0, e.y1), max(e.y0, e.y1)
			if lo <= a && hi >= b && e.y0 != e.y1 {
				dir := 1
				if e.y1 < e.y0 {
					dir = -1
				}
				act = append(act, active{e, e.xAt(mid), dir})
			}
		}
		slices.SortFunc(act, func(p, q active) int {
			switch {
			case p.xm < q.xm:
				return -1
			case p.xm > q.xm:
				return 1
			}
			return 0
		})
		wn := 0
		var left *edge
		for _, ae := range act {
			if wn == 0 {
				left = ae.e
			}
			wn += ae.dir
			if wn == 0 {
				r.trapezoid(left, ae.e, a, b)
			}
		}
	}
}

// crossingY returns the height at which two edges properly cross.
func crossingY(p, q *edge) (float64, bool) {
	dxp, dyp := p.x1-p.x0, p.y1-p.y0
	dxq, dyq := q.x1-q.x0, q.y1-q.y0
	den := dxp*dyq - dyp*dxq
	if den == 0 {
		return 0, false // parallel or collinear: they never swap order
	}
	t := ((q.x0-p.x0)*dyq - (q.y0-p.y0)*dxq) / den
	u := ((q.x0-p.x0)*dyp - (q.y0-p.y0)*dxp) / den
	if t <= 0 || t >= 1 || u <= 0 || u >= 1 {
		return 0, false
	}
	return p.y0 + t*dyp, true
}

// rows returns the pixel rows whose closed square meets heights [a, b].
func (r *rasteriser) rows(a, b float64) (int, int) {
	r0 := int(math.Ceil(a-eps)) - 1
	r1 := int(math.Floor(b + eps))
	return max(r0, 0), min(r1, r.h-1)
}

// span marks the pixels of row whose closed square meets [lo, hi].
func (r *rasteriser) span(row int, lo, hi float64) {
	x0 := max(int(math.Ceil(lo-eps))-1, 0)
	x1 := min(int(math.Floor(hi+eps)), r.w-1)
	if x0 > x1 {
		return
	}
	line := r.cov[row*r.w : (row+1)*r.w]
	for x := x0; x <= x1; x++ {
		line[x] = true
	}
}

// clampRow is the part of heights [a, b] inside pixel row row. When [a, b]
// only touches the row within eps it is the nearer end of [a, b]: an edge is
// never evaluated outside its own heights, where a nearly horizontal one
// would extrapolate far off (found by FuzzNew).
func clampRow(row int, a, b float64) (float64, float64) {
	ya, yb := min(max(a, float64(row)), b), max(min(b, float64(row+1)), a)
	return min(ya, yb), max(ya, yb)
}

// trapezoid marks the region between edges l and rt for heights a..b.
func (r *rasteriser) trapezoid(l, rt *edge, a, b float64) {
	r0, r1 := r.rows(a, b)
	for row := r0; row <= r1; row++ {
		ya, yb := clampRow(row, a, b)
		lo := min(l.xAt(ya), l.xAt(yb))
		hi := max(rt.xAt(ya), rt.xAt(yb))
		r.span(row, lo, hi)
	}
}

// segment marks the pixels whose closed square meets edge e.
func (r *rasteriser) segment(e *edge) {
	ylo, yhi := min(e.y0, e.y1), max(e.y0, e.y1)
	r0, r1 := r.rows(ylo, yhi)
	for row := r0; row <= r1; row++ {
		if e.y0 == e.y1 {
			r.span(row, min(e.x0, e.x1), max(e.x0, e.x1))
			continue
		}
		ya, yb := clampRow(row, ylo, yhi)
		xa, xb := e.xAt(ya), e.xAt(yb)
		r.span(row, min(xa, xb), max(xa, xb))
	}
}
