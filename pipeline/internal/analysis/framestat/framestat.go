// Package framestat measures the grey analysis frame globally — brightness,
// contrast, sharpness and displacement against a reference view — so that
// the tamper rule can tell a covered, defocused or moved camera from an
// ordinary scene without ever looking at objects.
//
// Brightness and contrast are measured on every frame: a covered lens is
// seen at once. Sharpness and displacement cost nine tenths of the meter
// (a Laplacian and a phase correlation) and describe conditions that last
// seconds; while the view is quiet they are measured once per FullEvery and
// carried over in between, and on every frame while something changes.
//
// Every Mat is allocated once; Measure makes no Go allocations in steady
// state.
package framestat

import (
	"errors"
	"image"
	"math"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"gocv.io/x/gocv"
)

// Config tunes the meter. Zero fields take defaults.
type Config struct {
	// RefWidth is the width of the downscaled image used for the shift
	// estimate; 0 → 160.
	RefWidth int
	// RefRate is how fast the reference view follows slow changes (light,
	// season) per frame while the view is not shifted; 0 → 0.02.
	RefRate float64
	// Rebase is how many consecutive shifted frames make the new view the
	// reference (the camera was deliberately re-aimed); 0 → 600
	// (2 minutes at 5 analysis frames/s).
	Rebase int
	// FullEvery is how often sharpness and shift are measured while the
	// view is quiet (see Measure); 0 → 1s, negative → on every frame.
	FullEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.RefWidth == 0 {
		c.RefWidth = 160
	}
	if c.RefRate == 0 {
		c.RefRate = 0.02
	}
	if c.Rebase == 0 {
		c.Rebase = 600
	}
	if c.FullEvery == 0 {
		c.FullEvery = time.Second
	}
	return c
}

// Meter measures frames of one camera. Not safe for concurrent use.
type Meter struct {
	cfg                           Config
	mean, std, lap, small, smallF gocv.Mat
	// lapF, lapSq: the Laplacian in float and squared; cellMean, cellSq:
	// their means per cell of the sharpness grid.
	lapF, lapSq, cellMean, cellSq gocv.Mat
	ref, win                      gocv.Mat
	// prevF is the previous full measurement's downscaled frame: the
	// texture check correlates the view with itself a moment ago.
	prevF   gocv.Mat
	hasPrev bool
	// refMatched: a view in place has matched the reference well
	// (refMatch) since it was taken; lowTexture: the last full
	// measurement found the view without texture.
	refMatched, lowTexture bool
	hasRef                 bool
	size                   image.Point
	shifted                int
	closed                 bool
	// last is the last full measurement; sinceFull counts the frames
	// measured after it without one.
	last      pattern.FrameStats
	lastAt    time.Time
	sinceFull int
}

// New returns a meter; Close releases it.
func New(cfg Config) (*Meter, error) {
	cfg = cfg.withDefaults()
	if cfg.RefWidth < 32 || cfg.RefWidth > 1024 || !(cfg.RefRate > 0 && cfg.RefRate <= 1) || cfg.Rebase < 1 {
		return nil, errors.New("framestat: invalid config")
	}
	return &Meter{
		cfg: cfg, mean: gocv.NewMat(), std: gocv.NewMat(), lap: gocv.NewMat(),
		small: gocv.NewMat(), smallF: gocv.NewMat(), ref: gocv.NewMat(), win: gocv.NewMat(),
		prevF: gocv.NewMat(), lapF: gocv.NewMat(), lapSq: gocv.NewMat(), cellMean: gocv.NewMat(), cellSq: gocv.NewMat(),
	}, nil
}

// Measure computes the statistics of a grey (CV_8UC1) frame taken at now.
// Sharpness and shift are measured afresh when changed is true (the caller
// saw much of the frame change: a light change, large motion), while the
// last measurement found the view shifted, and otherwise once per
// FullEvery; in between they are the last measurement's.
func (m *Meter) Measure(now time.Time, grey gocv.Mat, changed bool) pattern.FrameStats {
	if m.closed || grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
		return pattern.FrameStats{}
	}
	gocv.MeanStdDev(grey, &m.mean, &m.std)
	mean, std := m.mean.GetDoubleAt(0, 0), m.std.GetDoubleAt(0, 0)
	size := image.Pt(grey.Cols(), grey.Rows())
	due := changed || m.cfg.FullEvery < 0 || size != m.size || !m.hasRef ||
		m.last.Shift*float64(m.cfg.RefWidth) >= 1 ||
		now.Sub(m.lastAt) >= m.cfg.FullEvery || now.Before(m.lastAt)
	m.sinceFull++
	if due {
		m.last = m.measureFull(grey, size)
		m.lastAt, m.sinceFull = now, 0
	}
	st := m.last
	st.Mean, st.StdDev = mean, std
	return st
}

// measureFull measures sharpness and shift, and follows the reference view.
func (m *Meter) measureFull(grey gocv.Mat, size image.Point) pattern.FrameStats {
	var st pattern.FrameStats
	gocv.Laplacian(grey, &m.lap, gocv.MatTypeCV16S, 3, 1, 0, gocv.BorderReplicate)
	// The variance of the Laplacian from its sum and sum of squares, as
	// meanStdDev computes it, but OpenCV 4.6 has no vector code for
	// meanStdDev of 16-bit images (0.28 ms against 0.1 ms for these two).
	n := float64(m.lap.Rows() * m.lap.Cols())
	lapMean := m.lap.Sum().Val1 / n
	l2 := gocv.Norm(m.lap, gocv.NormL2)
	st.Sharpness = max(0, l2*l2/n-lapMean*lapMean)
	m.measureCells(&st)

	if size != m.size {
		m.size, m.hasRef, m.hasPrev, m.refMatched, m.lowTexture, m.shifted = size, false, false, false, false, 0
	}
	rw := m.cfg.RefWidth
	rh := max(8, rw*size.Y/max(size.X, 1))
	gocv.Resize(grey, &m.small, image.Pt(rw, rh), 0, 0, gocv.InterpolationArea)
	m.small.ConvertTo(&m.smallF, gocv.MatTypeCV32F)
	if !m.hasRef {
		m.smallF.CopyTo(&m.ref)
		m.smallF.CopyTo(&m.prevF)
		m.hasRef, m.hasPrev = true, true
		st.ShiftConfidence = 1
		st.Valid = true
		return st
	}
	p, resp := gocv.PhaseCorrelate(m.ref, m.smallF, m.win)
	st.Shift = math.Hypot(float64(p.X), float64(p.Y)) / float64(rw)
	st.ShiftConfidence = resp
	if math.IsNaN(st.Shift) {
		st.Shift = 0
	}
	matched := st.Shift*float64(rw) < 1 && resp >= refMatch
	m.refMatched = m.refMatched || matched
	// Once without texture, the view stays so until it matches the
	// reference well in place again: a chance weak peak on noise does not
	// make it textured for a second (and the camera's status flap).
	if (m.lowTexture && !matched) ||
		((st.Shift*float64(rw) >= 1 || resp < pattern.MinShiftConfidence) && !m.confirmed(p)) {
		st.LowTexture, st.Shift = true, 0
	}
	m.lowTexture = st.LowTexture
	m.smallF.CopyTo(&m.prevF)
	m.hasPrev = true
	// Follow slow changes only while the view is where it was; after a
	// long shift, take the new view as the reference. The reference
	// follows at RefRate per frame, also over the frames not measured.
	if st.Shift*float64(rw) < 1 {
		m.shifted = 0
		rate := 1 - math.Pow(1-m.cfg.RefRate, float64(m.sinceFull))
		gocv.AddWeighted(m.ref, 1-rate, m.smallF, rate, 0, &m.ref)
	} else if m.shifted++; m.shifted >= m.cfg.Rebase {
		m.smallF.CopyTo(&m.ref)
		m.shifted, m.refMatched = 0, false
	}
	st.Valid = true
	return st
}

// measureCells fills st.Cells from the Laplacian of the frame: the
// variance per cell, as the mean of the square less the square of the mean,
// both averaged over each cell by an area resize (exact: OpenCV's area
// interpolation averages the source pixels each target pixel covers).
func (m *Meter) measureCells(st *pattern.FrameStats) {
	m.lap.ConvertTo(&m.lapF, gocv.MatTypeCV32F)
	gocv.Multiply(m.lapF, m.lapF, &m.lapSq)
	grid := image.Pt(pattern.CellCols, pattern.CellRows)
	if m.lapF.Cols() < grid.X || m.lapF.Rows() < grid.Y {
		return
	}
	gocv.Resize(m.lapF, &m.cellMean, grid, 0, 0, gocv.InterpolationArea)
	gocv.Resize(m.lapSq, &m.cellSq, grid, 0, 0, gocv.InterpolationArea)
	for y := range pattern.CellRows {
		for x := range pattern.CellCols {
			mu := float64(m.cellMean.GetFloatAt(y, x))
			st.Cells[y*pattern.CellCols+x] = max(0, float64(m.cellSq.GetFloatAt(y, x))-mu*mu)
		}
	}
}

// refMatch is the phase-correlation response from which a view in place
// matches the reference: a reference that never matched a view that well
// has no structure to measure a displacement against.
const refMatch = 0.3

// confirmed reports whether a displacement p against the reference (or a
// view unlike it) is a moved view: the reference has once matched the view
// in place, and the view has structure of its own that confirms the move:
// against itself a moment ago it correlates strongly, either in place (it
// stays where it went) or by the same displacement (it just went there).
// A flat view (a plain wall, pavement in sensor noise, a covered lens)
// has neither: its noise is new on every frame, and the only peak left is
// a figure walking or standing on it.
func (m *Meter) confirmed(p gocv.Point2f) bool {
	if !m.refMatched || !m.hasPrev {
		return false
	}
	sp, self := gocv.PhaseCorrelate(m.prevF, m.smallF, m.win)
	inPlace := math.Hypot(float64(sp.X), float64(sp.Y)) < 1
	jumped := math.Hypot(float64(sp.X-p.X), float64(sp.Y-p.Y)) < 1
	return self >= pattern.MinShiftConfidence && (inPlace || jumped)
}

// Close releases the images; safe to call twice.
func (m *Meter) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	for _, x := range []*gocv.Mat{&m.mean, &m.std, &m.lap, &m.small, &m.smallF, &m.ref, &m.win, &m.prevF, &m.lapF, &m.lapSq, &m.cellMean, &m.cellSq} {
		err = errors.Join(err, x.Close())
	}
	return err
}
