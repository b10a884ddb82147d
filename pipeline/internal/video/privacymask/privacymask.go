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
// Which polygons are zones at all is geometry.Polygon.Validate's rule, the
// one the policy checks privacy zones by; New refuses anything else. One
// camera's zones are a Zones, which caches the mask per frame size and
// format for every path that needs it (decoder, snapshots, preview).
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
	"sync"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/policy"
)

// ErrInvalid is wrapped by every error New and Zones return: the zones or
// the size cannot be rasterised, and the caller must not run without them.
var ErrInvalid = errors.New("privacymask: invalid zones")

// Fill is the value written to every byte of a masked pixel.
const Fill = 0

// Limits on input, so a hostile policy cannot make New arbitrarily slow:
// rasterising is O(points²) per zone for the self-intersection points. The
// zone limits are geometry's, which the policy enforces too.
const (
	MaxZones         = geometry.MaxZones
	MaxPointsPerZone = geometry.MaxCorners
	MaxDimension     = 16384
)

// Format is the pixel format of the frames a mask is for.
type Format int

const (
	// Any is any continuous 8-bit frame of the mask's size (New's masks).
	Any Format = iota
	// Grey is CV_8UC1: the decoder's analysis frames.
	Grey
	// BGR is CV_8UC3: snapshot and preview frames.
	BGR
)

func (f Format) String() string {
	switch f {
	case Grey:
		return "grey"
	case BGR:
		return "bgr"
	}
	return "any"
}

// channels is the channel count a frame of f has; 0 for Any.
func (f Format) channels() int {
	switch f {
	case Grey:
		return 1
	case BGR:
		return 3
	}
	return 0
}

// span is a run of masked pixels, as pixel offsets into a continuous frame.
// Runs that continue on the next row are merged, so a full-width band is a
// single run.
type span struct{ off, n int }

// Mask is the rasterised zones for one frame size. It is read-only after New
// and safe for concurrent use.
type Mask struct {
	w, h   int
	format Format
	empty  bool
	raster []bool // w*h, true = masked
	spans  []span
	// shared masks belong to a Zones cache: Close leaves them alone.
	shared bool
	closed bool
}

// New rasterises zones for a w×h frame. Every zone must be valid as
// geometry.Polygon.Validate defines it (the rule the policy checks privacy
// zones by, so a policy's zones always build); sizes and counts beyond the
// limits above are refused too. No zones gives an Empty mask.
func New(zones []geometry.Polygon, w, h int) (*Mask, error) {
	if err := check(zones, w, h); err != nil {
		return nil, err
	}
	return build(zones, w, h, Any), nil
}

// check is New's validation.
func check(zones []geometry.Polygon, w, h int) error {
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return fmt.Errorf("%w: invalid frame size %dx%d", ErrInvalid, w, h)
	}
	if len(zones) > MaxZones {
		return fmt.Errorf("%w: %d zones, at most %d", ErrInvalid, len(zones), MaxZones)
	}
	for i, z := range zones {
		if err := z.Validate(); err != nil {
			return fmt.Errorf("%w: zone %d: %v", ErrInvalid, i, err)
		}
	}
	return nil
}

// build rasterises zones whose coordinates are all finite and within 0..1.
// The rasteriser does not need them to be valid polygons: it is
// conservative for any shape, self-intersecting, degenerate or sub-pixel
// (the property test feeds it all of those), so that the fill does not
// depend on the validation in front of it.
func build(zones []geometry.Polygon, w, h int, f Format) *Mask {
	m := &Mask{w: w, h: h, format: f, empty: len(zones) == 0}
	if m.empty {
		return m
	}
	m.raster = make([]bool, w*h)
	r := rasteriser{w: w, h: h, cov: m.raster}
	for _, z := range zones {
		r.polygon(z)
	}
	m.spans = runs(m.raster)
	return m
}

// Empty reports whether there are no zones; Apply then does nothing.
func (m *Mask) Empty() bool { return m.empty }

// Size is the frame size the mask was built for.
func (m *Mask) Size() (w, h int) { return m.w, m.h }

// Format is the frame format the mask was built for.
func (m *Mask) Format() Format { return m.format }

// Covers reports whether pixel (x, y) is masked; outside the frame it is
// false. After Close every pixel is.
func (m *Mask) Covers(x, y int) bool {
	if m.empty || x < 0 || y < 0 || x >= m.w || y >= m.h {
		return false
	}
	return m.closed || m.raster[y*m.w+x]
}

// Apply fills the masked pixels of frame with Fill, in place. frame is
// normally grey (CV_8UC1) or BGR (CV_8UC3); a mask of format Any works on
// any continuous 8-bit Mat of its size, one of Grey or BGR only on that
// format. An empty frame is left alone.
//
// It fails closed: a frame the mask cannot be applied to exactly (another
// size, another depth or format, not continuous), or any frame after Close,
// is filled entirely, because the zones it should hide cannot be located in
// it.
func (m *Mask) Apply(frame gocv.Mat) {
	if m.empty || frame.Empty() {
		return
	}
	t := frame.Type()
	c := frame.Channels()
	if m.closed || frame.Rows() != m.h || frame.Cols() != m.w || t&7 != 0 /* depth CV_8U */ || !frame.IsContinuous() ||
		(m.format != Any && c != m.format.channels()) {
		fillAll(frame)
		return
	}
	data, err := frame.DataPtrUint8()
	if err != nil || len(data) < m.w*m.h*c {
		fillAll(frame)
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

func fillAll(frame gocv.Mat) { frame.SetTo(gocv.NewScalar(Fill, Fill, Fill, Fill)) }

// Close releases the mask; from then on Apply fills whole frames. It holds
// no C memory today; Close exists so callers treat it like the other
// per-camera resources. A mask from Zones.Mask is shared and stays usable.
func (m *Mask) Close() error {
	if m.shared {
		return nil
	}
	m.closed = true
	m.raster, m.spans = nil, nil
	return nil
}

// Zones is one camera's set of privacy zones and the cache of its masks:
// the decode path (grey, analysis size), the snapshot path (BGR, snapshot
// size) and the preview (BGR) all take their mask from it, so the same zones
// give the same pixels everywhere, and a mask is built once per frame size
// and format and kept until the zones change, which is a new Zones (a policy
// reload). A nil *Zones has no zones. Safe for concurrent use.
type Zones struct {
	polys []geometry.Polygon
	err   error // why the zones cannot be drawn; every Mask returns it

	mu    sync.Mutex
	masks []*Mask // most recently used first, at most maxCachedMasks
}

// maxCachedMasks bounds a Zones' cache: one mask each for analysis and
// snapshots, and room for a resolution change without thrashing.
const maxCachedMasks = 4

// NewZones takes the zones (copied) and checks them as New does. Invalid
// zones do not fail here: every Mask and Apply reports the error, so that a
// camera handed them fails closed, analysing and sending nothing.
func NewZones(polys []geometry.Polygon) *Zones {
	z := &Zones{}
	if len(polys) > 0 {
		z.polys = make([]geometry.Polygon, len(polys))
		for i, p := range polys {
			z.polys[i] = slices.Clone(p)
		}
	}
	if err := check(z.polys, 1, 1); err != nil {
		z.err = err
	}
	return z
}

// ForCamera is the one conversion from a policy to a camera's zones: the
// service at start and on every reload, and the preview, take them from it.
func ForCamera(pol *policy.Policy, camera string) *Zones {
	return NewZones(pol.Zones(camera))
}

// Err is why the zones cannot be drawn, or nil.
func (z *Zones) Err() error {
	if z == nil {
		return nil
	}
	return z.err
}

// Len is the number of zones.
func (z *Zones) Len() int {
	if z == nil {
		return 0
	}
	return len(z.polys)
}

// Polygons returns a copy of the zones (the preview outlines them).
func (z *Zones) Polygons() []geometry.Polygon {
	if z.Len() == 0 {
		return nil
	}
	out := make([]geometry.Polygon, len(z.polys))
	for i, p := range z.polys {
		out[i] = slices.Clone(p)
	}
	return out
}

// Equal reports whether z and o hold the same zones, in the same order.
func (z *Zones) Equal(o *Zones) bool {
	var a, b []geometry.Polygon
	if z != nil {
		a = z.polys
	}
	if o != nil {
		b = o.polys
	}
	return slices.EqualFunc(a, b, func(p, q geometry.Polygon) bool { return slices.Equal(p, q) })
}

// Mask returns the zones' mask for w×h frames of format f, built on first
// use and then kept. The mask is shared: do not Close it.
func (z *Zones) Mask(w, h int, f Format) (*Mask, error) {
	if z == nil {
		z = &Zones{}
	}
	if z.err != nil {
		return nil, z.err
	}
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return nil, fmt.Errorf("%w: invalid frame size %dx%d", ErrInvalid, w, h)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	for i, m := range z.masks {
		if m.w == w && m.h == h && m.format == f {
			copy(z.masks[1:i+1], z.masks[:i])
			z.masks[0] = m
			return m, nil
		}
	}
	m := build(z.polys, w, h, f)
	m.shared = true
	if len(z.masks) < maxCachedMasks {
		z.masks = append(z.masks, nil)
	}
	copy(z.masks[1:], z.masks)
	z.masks[0] = m
	return m, nil
}

// Apply fills the zones in frame, a frame of format f, with the mask for
// its size. Every path that lets a frame out of the decoder calls it before
// anything else sees the frame (invariant 2). If the zones cannot be drawn
// the whole frame is filled and the error returned: the caller must stop.
func (z *Zones) Apply(frame gocv.Mat, f Format) error {
	if frame.Empty() {
		return nil
	}
	m, err := z.Mask(frame.Cols(), frame.Rows(), f)
	if err != nil {
		fillAll(frame)
		return err
	}
	m.Apply(frame)
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
func (r *rasteriser) polygon(z geometry.Polygon) {
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
