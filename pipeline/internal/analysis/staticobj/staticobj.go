// Package staticobj finds regions of the grey analysis frame that differ
// from a long-term background and have stopped changing: something put
// down and left, or a part of the scene that was taken away.
//
// The motion detector's MOG2 model forgets a bag that was put down within
// its history (tens of seconds) — by design, so that blobs mean "moving".
// This stage keeps a second, long-term background next to it: a running
// average of the frame that is updated only where the frame agrees with it
// and nothing moves. A bag therefore never melts into it, while sensor noise
// (smoothed away), slow light drift (followed where the scene agrees) and
// global exposure changes (compensated by the frame-mean gain, and re-learnt
// on the motion detector's light change) do not create regions.
//
// A pixel is a static candidate when it differs from the long-term
// background and has not changed between consecutive frames for StillTime.
// Candidates are grouped into regions, followed from frame to frame (so a
// region keeps its Since through a short occlusion) and classified along
// their outline: the side, frame or background, whose inside continues the
// scene just outside the region is the empty scene, so a new object is
// Added where the background does and a gap Removed where the frame does;
// every outline pixel votes, and a verdict must hold for StillTime before a
// region is reported. A region that stays longer than AbsorbAfter is learnt
// into the background: the scene has changed for good. A gap where the
// frame never confirmed a freshly learnt background (for ConfirmTime) is a
// ghost — someone who stood still while it was learnt and walked on — when
// its own pixels moved before its surroundings, and is learnt away at once;
// when the motion came to it from around, someone took something.
//
// All images are allocated once per frame size and reused; in steady state
// Apply makes no Go allocations.
package staticobj

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"time"
	"unsafe"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"gocv.io/x/gocv"
)

// Config tunes the stage. Zero fields take DefaultConfig's values.
type Config struct {
	// Threshold is the grey-level difference from the long-term background
	// above which a pixel belongs to a static region. Noise of the smoothed
	// half-resolution frame is about one level.
	Threshold float64
	// MoveThreshold is the change between consecutive frames above which a
	// pixel is moving.
	MoveThreshold float64
	// MinArea is the smallest region, as a fraction of the frame.
	MinArea float64
	// LearnTime is the time constant with which the background follows the
	// frame where both agree and nothing moves (light drift).
	LearnTime time.Duration
	// StillTime is how long a pixel must be unchanged before it counts.
	StillTime time.Duration
	// Grace keeps a region that is briefly not seen (a passer-by occludes
	// it) so that it keeps its Since.
	Grace time.Duration
	// AbsorbAfter is how long a region may stay before it is learnt into
	// the background (the scene changed for good).
	AbsorbAfter time.Duration
	// ConfirmTime is how long the frame must have agreed with a freshly
	// (re-)learnt background at a pixel before a gap there counts as
	// something removed. A gap in a background that was never confirmed is
	// a ghost — someone who stood still while it was learnt and has walked
	// on — and is learnt away instead.
	ConfirmTime time.Duration
	// MaxWidth is the width the frame is reduced to (at most) before the
	// analysis; static objects are large enough for it.
	MaxWidth int
	// Every is the least time between the frames the stage looks at (with
	// a tenth of slack for timestamp jitter); Apply returns the last
	// regions for the frames in between. Things that stay for seconds do
	// not need the camera's analysis rate. Negative: every frame.
	Every  time.Duration
	Logger *slog.Logger
}

// DefaultConfig suits a 640x360 analysis frame at 0.5 to 5 frames/s; it
// looks at one frame a second.
func DefaultConfig() Config {
	return Config{
		Threshold:     22,
		MoveThreshold: 10,
		MinArea:       0.0005,
		LearnTime:     30 * time.Second,
		StillTime:     2 * time.Second,
		Grace:         5 * time.Second,
		AbsorbAfter:   15 * time.Minute,
		ConfirmTime:   30 * time.Second,
		MaxWidth:      320,
		Every:         time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Threshold == 0 {
		c.Threshold = d.Threshold
	}
	if c.MoveThreshold == 0 {
		c.MoveThreshold = d.MoveThreshold
	}
	if c.MinArea == 0 {
		c.MinArea = d.MinArea
	}
	if c.LearnTime == 0 {
		c.LearnTime = d.LearnTime
	}
	if c.StillTime == 0 {
		c.StillTime = d.StillTime
	}
	if c.Grace == 0 {
		c.Grace = d.Grace
	}
	if c.AbsorbAfter == 0 {
		c.AbsorbAfter = d.AbsorbAfter
	}
	if c.ConfirmTime == 0 {
		c.ConfirmTime = d.ConfirmTime
	}
	if c.MaxWidth == 0 {
		c.MaxWidth = d.MaxWidth
	}
	if c.Every == 0 {
		c.Every = d.Every
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case !(c.Threshold > 0 && c.Threshold < 255):
		return fmt.Errorf("staticobj: threshold %v not in (0,255)", c.Threshold)
	case !(c.MoveThreshold > 0 && c.MoveThreshold < 255):
		return fmt.Errorf("staticobj: move threshold %v not in (0,255)", c.MoveThreshold)
	case !(c.MinArea > 0 && c.MinArea < 0.5):
		return fmt.Errorf("staticobj: min area %v not in (0,0.5)", c.MinArea)
	case c.LearnTime < time.Second:
		return fmt.Errorf("staticobj: learn time %v below 1s", c.LearnTime)
	case c.StillTime < 0 || c.Grace < 0 || c.ConfirmTime < 0:
		return errors.New("staticobj: negative still time, grace or confirm time")
	case c.AbsorbAfter < time.Second:
		return fmt.Errorf("staticobj: absorb time %v below 1s", c.AbsorbAfter)
	case c.MaxWidth < 32:
		return fmt.Errorf("staticobj: max width %d below 32", c.MaxWidth)
	}
	return nil
}

// bootTime is how long after (re-)learning the background follows the
// frame everywhere nothing moves, and nothing is reported.
const bootTime = 5 * time.Second

// maxRegionArea is the largest region, as a fraction of the frame, that can
// be an object; anything larger is a change of the view.
const maxRegionArea = 0.25

// maxBusy is the fraction of a region's surroundings that may differ from
// the background and move before the region counts as part of something
// moving rather than as an object.
const maxBusy = 0.3

// MaxRegions caps the regions followed at once, so Apply never grows a slice.
const MaxRegions = 32

// region is one static region followed across frames.
type region struct {
	box       image.Rectangle // work-resolution pixels
	kind      pattern.StaticKind
	votes     int  // +1 per frame judged Added, −1 Removed, within ±StillTime's frames
	settled   bool // the votes were unanimous for StillTime once: reported from then on
	since     time.Time
	lastSeen  time.Time
	seenFrame bool
}

// Stage is the long-term background and its static regions. One camera
// owns one Stage; it is not safe for concurrent use.
type Stage struct {
	cfg Config
	log *slog.Logger

	small, cur, curF, mean, std, prev, bg, bgAdj, diff, moved, fg, stable, ring, labels, stats, centroids gocv.Mat
	quiet, sq                                                                                             gocv.Mat // exposure fit: mask, squares
	tm, noMask                                                                                            gocv.Mat // displaced: match scores, no mask
	dilate, open, close                                                                                   gocv.Mat // structuring elements

	size   image.Point // input frame size
	work   image.Point // reduced size
	age    []uint16    // per pixel: consecutive still frames as candidate
	conf   []uint16    // per pixel: frames the frame agreed with the background since it was learnt
	first  []uint16    // per pixel: the frame (count since learning) it first moved in; 0: not yet
	frames int         // frames since (re)learning
	// masked: fg and moved hold the previous frame's masks at the work
	// size (not after a re-learning): the exposure fit uses them.
	masked bool
	last   time.Time
	learnt time.Time // when the background was last re-learnt
	fps    float64   // smoothed analysis rate

	regions [MaxRegions]region
	n       int
	out     []pattern.StaticObject
	result  []pattern.StaticObject // what the last frame looked at returned
	// relearnDue: a frame skipped (see Config.Every) asked for re-learning.
	relearnDue bool
	closed     bool
}

// New validates cfg and allocates the stage. Close releases it.
func New(cfg Config) (*Stage, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Stage{cfg: cfg, log: cfg.Logger, out: make([]pattern.StaticObject, 0, MaxRegions)}
	for _, m := range s.mats() {
		*m = gocv.NewMat()
	}
	s.dilate = gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(5, 5))
	s.open = gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(3, 3))
	s.close = gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(5, 5))
	return s, nil
}

func (s *Stage) mats() []*gocv.Mat {
	return []*gocv.Mat{&s.small, &s.cur, &s.curF, &s.mean, &s.std, &s.prev, &s.bg, &s.bgAdj, &s.diff, &s.moved, &s.fg, &s.stable, &s.ring, &s.labels, &s.stats, &s.centroids, &s.quiet, &s.sq, &s.tm, &s.noMask}
}

// Config returns the configuration in use, defaults applied.
func (s *Stage) Config() Config { return s.cfg }

// reset starts learning afresh for a new frame size.
func (s *Stage) reset(size image.Point) {
	s.size = size
	k := (size.X + s.cfg.MaxWidth - 1) / s.cfg.MaxWidth
	s.work = image.Pt(max(1, size.X/k), max(1, size.Y/k))
	if n := s.work.X * s.work.Y; cap(s.age) < n {
		s.age, s.conf, s.first = make([]uint16, n), make([]uint16, n), make([]uint16, n)
	} else {
		s.age, s.conf, s.first = s.age[:n], s.conf[:n], s.first[:n]
	}
	s.stable.Close()
	s.stable = gocv.NewMatWithSize(s.work.Y, s.work.X, gocv.MatTypeCV8UC1)
	s.relearn()
	s.log.Info("static objects: learning background", "width", s.work.X, "height", s.work.Y)
}

// relearn forgets the background and every region.
func (s *Stage) relearn() {
	s.frames = 0
	s.masked = false
	s.n = 0
	clear(s.age)
	clear(s.conf)
	clear(s.first)
}

// Apply feeds one grey (CV_8UC1) frame taken at now and returns the static
// regions (reused: valid until the next Apply). relearn says the frame does
// not show the scene the background knows (the motion detector's warm-up or
// light change): the background is re-learnt from it and nothing is
// reported. An empty frame, another type or a closed stage yields nil.
func (s *Stage) Apply(now time.Time, grey gocv.Mat, relearn bool) []pattern.StaticObject {
	if s.closed || grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
		return nil
	}
	// Frames asking for re-learning are thinned out like the others (so
	// the rate the stage counts its times in stays the same): the next
	// frame looked at re-learns, and nothing is reported until then.
	relearn = relearn || s.relearnDue
	if d := now.Sub(s.last); !s.last.IsZero() && d >= 0 && d < s.cfg.Every*9/10 &&
		image.Pt(grey.Cols(), grey.Rows()) == s.size {
		if relearn {
			s.relearnDue, s.result = true, nil
		}
		return s.result
	}
	s.relearnDue = false
	s.result = s.apply(now, grey, relearn)
	return s.result
}

// apply looks at one frame: Apply without the thinning out.
func (s *Stage) apply(now time.Time, grey gocv.Mat, relearn bool) []pattern.StaticObject {
	s.out = s.out[:0]
	if size := image.Pt(grey.Cols(), grey.Rows()); size != s.size {
		s.reset(size)
	}
	dt := 0.0
	if !s.last.IsZero() {
		dt = now.Sub(s.last).Seconds()
	}
	s.last = now
	if dt > 0 && dt < 60 {
		if s.fps == 0 {
			s.fps = 1 / dt
		} else {
			s.fps += 0.1 * (1/dt - s.fps)
		}
	}

	if s.work != s.size {
		gocv.Resize(grey, &s.small, s.work, 0, 0, gocv.InterpolationArea)
		gocv.GaussianBlur(s.small, &s.cur, image.Pt(3, 3), 0, 0, gocv.BorderReplicate)
	} else {
		gocv.GaussianBlur(grey, &s.cur, image.Pt(5, 5), 0, 0, gocv.BorderReplicate)
	}

	if relearn || s.frames == 0 {
		if s.frames > 0 || s.n > 0 {
			s.relearn()
		}
		s.cur.ConvertTo(&s.bg, gocv.MatTypeCV32F)
		s.cur.CopyTo(&s.prev)
		s.frames = 1
		s.learnt = now
		return nil
	}
	s.frames++
	boot := now.Sub(s.learnt) < bootTime

	// Compare against the background mapped to the frame's brightness
	// and contrast (gain and offset from mean and spread): an exposure or
	// light change too small for the motion detector to call it one
	// changes the whole frame, not a region.
	gocv.AbsDiff(s.cur, s.prev, &s.diff)
	gocv.Threshold(s.diff, &s.moved, float32(s.cfg.MoveThreshold), 255, gocv.ThresholdBinary)
	gocv.Dilate(s.moved, &s.moved, s.dilate)
	mc, sc, mb, sb := s.exposureStats()
	g := 1.0
	if sb > 1 {
		g = math.Max(0.5, math.Min(2, sc/sb))
	}
	off := mc - g*mb
	s.bg.ConvertToWithParams(&s.bgAdj, gocv.MatTypeCV8U, float32(g), float32(off))
	gocv.AbsDiff(s.cur, s.bgAdj, &s.diff)
	gocv.Threshold(s.diff, &s.fg, float32(s.cfg.Threshold), 255, gocv.ThresholdBinary)
	s.masked = true
	s.cur.CopyTo(&s.prev)
	s.markFirstMotion()

	// Follow the frame where it agrees with the background and nothing
	// moves: drift is learnt, objects are not.
	// While bootstrapping, follow it wherever nothing moves, fast: the
	// frame the background was re-learnt from may have held a passer-by.
	if boot {
		gocv.BitwiseNot(s.moved, &s.diff)
	} else {
		gocv.BitwiseOr(s.fg, s.moved, &s.diff)
		gocv.BitwiseNot(s.diff, &s.diff)
	}
	if dt > 0 {
		alpha := 1 - math.Exp(-math.Min(dt, 10)/s.cfg.LearnTime.Seconds())
		if boot {
			alpha = math.Max(alpha, 0.5)
		}
		// The background is compared after mapping; learn the frame in
		// the background's own scale.
		s.cur.ConvertToWithParams(&s.curF, gocv.MatTypeCV32F, float32(1/g), float32(-off/g))
		gocv.AccumulatedWeightedWithMask(s.curF, &s.bg, alpha, s.diff)
	}

	if boot {
		return nil
	}
	s.markStable()
	s.findRegions(now)
	s.report(now)
	return s.out
}

// minQuiet is the share of the frame that must have agreed with the
// background, without motion, on the previous frame for the exposure fit
// to use only those pixels; with less, the whole frame is used.
const minQuiet = 0.25

// exposureStats are the mean and spread of the frame (mc, sc) and of the
// background (mb, sb) that map one onto the other. They are measured where
// the previous frame agreed with the background and nothing moves now
// (s.moved is this frame's): an exposure change moves every pixel, but an
// arm reaching in, a bottle lifted out or one put back turned changes the
// spread of the whole frame too, and a gain fitted to that (up to 1.4 on
// the real tabletop clip, whose lighting never changes) makes every
// high-contrast edge of the scene (a cap, a base) differ from the
// background for a frame: a region that was never there.
func (s *Stage) exposureStats() (mc, sc, mb, sb float64) {
	n := 0
	if s.masked && s.fg.Rows() == s.cur.Rows() && s.fg.Cols() == s.cur.Cols() && s.moved.Rows() == s.cur.Rows() && s.moved.Cols() == s.cur.Cols() {
		gocv.BitwiseOr(s.fg, s.moved, &s.quiet)
		gocv.BitwiseNot(s.quiet, &s.quiet)
		n = gocv.CountNonZero(s.quiet)
	}
	if float64(n) < minQuiet*float64(s.work.X*s.work.Y) {
		gocv.MeanStdDev(s.cur, &s.mean, &s.std)
		mc, sc = s.mean.GetDoubleAt(0, 0), s.std.GetDoubleAt(0, 0)
		gocv.MeanStdDev(s.bg, &s.mean, &s.std)
		return mc, sc, s.mean.GetDoubleAt(0, 0), s.std.GetDoubleAt(0, 0)
	}
	s.cur.ConvertTo(&s.curF, gocv.MatTypeCV32F)
	mc, sc = s.maskedStats(s.curF)
	mb, sb = s.maskedStats(s.bg)
	return mc, sc, mb, sb
}

// maskedStats is the mean and standard deviation of the CV_32F image m
// over s.quiet.
func (s *Stage) maskedStats(m gocv.Mat) (mean, std float64) {
	mean = m.MeanWithMask(s.quiet).Val1
	gocv.Multiply(m, m, &s.sq)
	sq := s.sq.MeanWithMask(s.quiet).Val1
	return mean, math.Sqrt(math.Max(0, sq-mean*mean))
}

// framesOf is d in frames at the current rate, at least two.
func (s *Stage) framesOf(d time.Duration) uint16 {
	n := math.Ceil(d.Seconds() * s.fps)
	return uint16(max(2, min(n, 60000)))
}

// markFirstMotion records, per pixel, the frame since learning in which it
// first moved (boot included): ghost uses it to tell where a gap's motion
// came from.
func (s *Stage) markFirstMotion() {
	mv, err := s.moved.DataPtrUint8()
	if err != nil || len(mv) != len(s.first) {
		return
	}
	f := uint16(min(s.frames, math.MaxUint16))
	for i, m := range mv {
		if m != 0 && s.first[i] == 0 {
			s.first[i] = f
		}
	}
}

// markStable counts, per pixel, the frames it has been a still candidate
// and marks those that reached StillTime.
func (s *Stage) markStable() {
	fg, err1 := s.fg.DataPtrUint8()
	mv, err2 := s.moved.DataPtrUint8()
	st, err3 := s.stable.DataPtrUint8()
	if err1 != nil || err2 != nil || err3 != nil || len(fg) != len(s.age) || len(mv) != len(s.age) || len(st) != len(s.age) {
		return
	}
	need := s.framesOf(s.cfg.StillTime)
	age, conf := s.age, s.conf
	for i := range age {
		if fg[i] == 0 && conf[i] < math.MaxUint16 {
			conf[i]++
		}
		if fg[i] != 0 && mv[i] == 0 {
			if age[i] < math.MaxUint16 {
				age[i]++
			}
		} else {
			age[i] = 0
		}
		if age[i] >= need {
			st[i] = 255
		} else {
			st[i] = 0
		}
	}
}

// findRegions groups the stable pixels and matches them to the followed
// regions.
func (s *Stage) findRegions(now time.Time) {
	gocv.MorphologyEx(s.stable, &s.stable, gocv.MorphClose, s.close)
	gocv.MorphologyEx(s.stable, &s.stable, gocv.MorphOpen, s.open)
	for i := range s.n {
		s.regions[i].seenFrame = false
	}
	if gocv.CountNonZero(s.stable) == 0 {
		s.expire(now)
		return
	}
	gocv.MorphologyEx(s.stable, &s.ring, gocv.MorphGradient, s.close)
	labels := gocv.ConnectedComponentsWithStats(s.stable, &s.labels, &s.stats, &s.centroids)
	// A verdict must hold for StillTime to change a region's kind: the
	// outline of something partly hidden or half inside a larger still
	// shape can briefly look like the other kind.
	sure := int(s.framesOf(s.cfg.StillTime))
	minPx := int32(math.Ceil(s.cfg.MinArea * float64(s.work.X*s.work.Y)))
	maxPx := int32(maxRegionArea * float64(s.work.X*s.work.Y))
	for i := 1; i < labels; i++ {
		if a := s.stats.GetIntAt(i, int(gocv.CC_STAT_AREA)); a < minPx || a > maxPx {
			continue
		}
		x := int(s.stats.GetIntAt(i, int(gocv.CC_STAT_LEFT)))
		y := int(s.stats.GetIntAt(i, int(gocv.CC_STAT_TOP)))
		w := int(s.stats.GetIntAt(i, int(gocv.CC_STAT_WIDTH)))
		h := int(s.stats.GetIntAt(i, int(gocv.CC_STAT_HEIGHT)))
		box := image.Rect(x, y, x+w, y+h)
		kind, ok := s.classify(box, int32(i))
		if !ok {
			continue
		}
		if d, moved := s.displaced(box, kind); moved {
			// The object is still there, a few pixels off its place: the
			// scene changed, nothing was taken or left. Both places are
			// learnt as they are now.
			if j := s.match(box); j >= 0 {
				s.regions[j].lastSeen = time.Time{} // expire drops it
			}
			s.absorb(box.Union(box.Add(d)))
			s.log.Info("static objects: displaced object learnt", "x", box.Min.X, "y", box.Min.Y, "dx", d.X, "dy", d.Y)
			continue
		}
		vote := 1
		if kind == pattern.Removed {
			vote = -1
		}
		j := s.match(box)
		switch {
		case j >= 0:
			r := &s.regions[j]
			r.box, r.lastSeen, r.seenFrame = box, now, true
			r.votes = max(-sure, min(sure, r.votes+vote))
			if k := kindOf(r.votes); k != 0 && k != r.kind {
				// A different verdict, held long enough, is a different
				// situation.
				r.kind, r.since = k, now
			}
		case s.n < MaxRegions:
			j = s.n
			s.regions[j] = region{box: box, kind: kind, votes: vote, since: now, lastSeen: now, seenFrame: true}
			s.n++
		default:
			continue
		}
		r := &s.regions[j]
		if r.votes == -sure && s.ghost(box) {
			s.absorb(box)
			r.lastSeen = time.Time{} // expire drops it
			s.log.Info("static objects: ghost learnt away", "x", box.Min.X, "y", box.Min.Y)
			continue
		}
		r.settled = r.settled || r.votes == sure || r.votes == -sure
	}
	s.expire(now)
}

// Displacement test (displaced): the best match of a region's old side a
// little off its place must correlate at least minDisplacedScore with the
// other side, by minDisplacedGain better than in place, and leave at most
// maxDisplacedResidual of the squared difference in place.
const (
	minDisplacedScore = 0.7
	minDisplacedGain  = 0.1
	// maxDisplacedResidual is the largest share of the squared grey-level
	// difference in place that may remain at the displaced match (0.85²
	// in root-mean-square terms: 0.72).
	maxDisplacedResidual = 0.72
)

// displaced reports whether a static region is an object moved a few
// pixels rather than one taken (Removed) or left (Added), and by how much:
// a bottle set back slightly off its place, or turned, leaves a gap where
// its old outline was, and yet nothing is gone. The side that shows the
// object (the background for a gap, the frame for something new), with
// outlineGap pixels around, is looked for in the other side within half
// the region's smaller side (a few pixels, not somewhere else in view):
// found there (normalised correlation at least minDisplacedScore), the
// object moved. Found there only as well as in place, the match is the
// scene around it (a table edge, a plain wall seen through a transparent
// bottle: it matches anywhere along it), not the object, and the region
// stands.
func (s *Stage) displaced(box image.Rectangle, kind pattern.StaticKind) (image.Point, bool) {
	full := image.Rect(0, 0, s.work.X, s.work.Y)
	r := max(2, min(box.Dx(), box.Dy())/2)
	t := box.Inset(-outlineGap).Intersect(full)
	w := t.Inset(-r).Intersect(full)
	if t.Dx() < 3 || t.Dy() < 3 || w.Dx() <= t.Dx() || w.Dy() <= t.Dy() {
		return image.Point{}, false
	}
	obj, other := s.bgAdj, s.cur
	if kind == pattern.Added {
		obj, other = s.cur, s.bgAdj
	}
	tp := obj.Region(t)
	defer tp.Close()
	gocv.MeanStdDev(tp, &s.mean, &s.std)
	if s.std.GetDoubleAt(0, 0) < outlineMargin {
		return image.Point{}, false // nothing to find: no structure
	}
	sr := other.Region(w)
	defer sr.Close()
	gocv.MatchTemplate(sr, tp, &s.tm, gocv.TmCcoeffNormed, s.noMask)
	_, best, _, at := gocv.MinMaxLoc(s.tm)
	zero := t.Min.Sub(w.Min)
	if zero.X >= s.tm.Cols() || zero.Y >= s.tm.Rows() {
		return image.Point{}, false
	}
	inPlace := s.tm.GetFloatAt(zero.Y, zero.X)
	d := at.Sub(zero)
	if d == (image.Point{}) || best < minDisplacedScore || best < inPlace+minDisplacedGain {
		return image.Point{}, false
	}
	// The correlation ignores brightness: a bright box taken from dark
	// paving correlates with a pattern of the paving. The moved object
	// must also match in grey levels, clearly better than in place.
	gocv.MatchTemplate(sr, tp, &s.tm, gocv.TmSqdiff, s.noMask)
	if s.tm.GetFloatAt(at.Y, at.X) > maxDisplacedResidual*s.tm.GetFloatAt(zero.Y, zero.X) {
		return image.Point{}, false
	}
	return d, true
}

// kindOf is the verdict of a region's votes; 0 when undecided.
func kindOf(votes int) pattern.StaticKind {
	switch {
	case votes > 0:
		return pattern.Added
	case votes < 0:
		return pattern.Removed
	}
	return 0
}

// match returns the followed region box belongs to, or −1. Of several,
// the oldest: a region split in two by someone standing in front of it
// keeps its age when the parts join again.
func (s *Stage) match(box image.Rectangle) int {
	bi := -1
	for j := range s.n {
		r := &s.regions[j]
		if r.seenFrame {
			continue
		}
		in := box.Intersect(r.box)
		if in.Empty() {
			continue
		}
		a := float64(in.Dx() * in.Dy())
		u := float64(box.Dx()*box.Dy()+r.box.Dx()*r.box.Dy()) - a
		// Overlap relative to the smaller box: a region that grows or
		// shrinks as a passer-by occludes part of it is still the same.
		sm := float64(min(box.Dx()*box.Dy(), r.box.Dx()*r.box.Dy()))
		if (a/u >= 0.3 || a >= 0.7*sm) && (bi < 0 || r.since.Before(s.regions[bi].since)) {
			bi = j
		}
	}
	return bi
}

// expire drops regions not seen for Grace and learns those older than
// AbsorbAfter into the background.
func (s *Stage) expire(now time.Time) {
	k := 0
	for j := range s.n {
		r := s.regions[j]
		switch {
		case now.Sub(r.lastSeen) > s.cfg.Grace:
			continue
		case now.Sub(r.since) >= s.cfg.AbsorbAfter:
			s.absorb(r.box)
			s.log.Info("static objects: region learnt into the background", "stayed", now.Sub(r.since).Round(time.Second))
			continue
		}
		s.regions[k] = r
		k++
	}
	s.n = k
}

// ghost reports whether a gap is someone who stood still while the
// background was learnt and has walked on, rather than something taken away.
// Both leave a gap whose background the frame never confirmed for
// ConfirmTime, when the background is young (after start-up or a light
// change); they differ in where the motion came from. A person standing
// there starts moving where they stand: the gap's pixels move no later than
// its surroundings. Whoever takes something comes to it: its surroundings
// (a band one region size wide around it) move at least a frame before the
// gap itself. A gap with a confirmed background is never a ghost.
func (s *Stage) ghost(box image.Rectangle) bool {
	st, err := s.stable.DataPtrUint8()
	if err != nil {
		return false
	}
	need := s.framesOf(s.cfg.ConfirmTime)
	w := s.work.X
	var n, young int
	inside := uint16(math.MaxUint16)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if i := y*w + x; st[i] != 0 {
				n++
				if s.conf[i] < need {
					young++
				}
				if f := s.first[i]; f != 0 {
					inside = min(inside, f)
				}
			}
		}
	}
	if young*2 <= n {
		return false
	}
	// The band starts past the 5x5 dilation of the motion mask, which
	// would spread the gap's own motion into it.
	m := max(box.Dx(), box.Dy())
	band := box.Inset(-m).Intersect(image.Rect(0, 0, s.work.X, s.work.Y))
	near := box.Inset(-3)
	around := uint16(math.MaxUint16)
	for y := band.Min.Y; y < band.Max.Y; y++ {
		for x := band.Min.X; x < band.Max.X; x++ {
			if image.Pt(x, y).In(near) {
				continue
			}
			if f := s.first[y*w+x]; f != 0 {
				around = min(around, f)
			}
		}
	}
	// At one frame a second a hand reaches its object within a frame:
	// only a gap that moved strictly first is a ghost (or one that never
	// moved at all: it faded, nobody took it).
	return inside == math.MaxUint16 || inside < around
}

// absorb copies the frame into the background inside box.
func (s *Stage) absorb(box image.Rectangle) {
	box = box.Inset(-2).Intersect(image.Rect(0, 0, s.work.X, s.work.Y))
	if box.Empty() {
		return
	}
	src := s.cur.Region(box)
	dst := s.bg.Region(box)
	src.ConvertTo(&dst, gocv.MatTypeCV32F)
	src.Close()
	dst.Close()
	for y := box.Min.Y; y < box.Max.Y; y++ {
		clear(s.age[y*s.work.X+box.Min.X : y*s.work.X+box.Max.X])
	}
}

// classify decides which side of a region, the frame or the background,
// holds the object. Along the region's outline it compares the inside with
// the scene just outside (outlineGap pixels out, where frame and background
// agree): where the frame's inside matches its surroundings, the frame shows
// the empty scene and the object was taken away (Removed); where the
// background's inside does, the object is new (Added). Each outline pixel
// votes, so a smooth bag on textured ground or an outline partly hidden by
// its owner is still judged by the majority of its outline, not by which
// side has more texture. ok is false when the region is the still part of
// something moving (the torso of a person shifting their weight): most of
// its surroundings differ from the background and move, or no outline pixel
// has quiet surroundings.
func (s *Stage) classify(box image.Rectangle, label int32) (kind pattern.StaticKind, ok bool) {
	cur, err1 := s.cur.DataPtrUint8()
	bg, err2 := s.bgAdj.DataPtrUint8()
	ring, err3 := s.ring.DataPtrUint8()
	st, err4 := s.stable.DataPtrUint8()
	fg, err5 := s.fg.DataPtrUint8()
	mv, err6 := s.moved.DataPtrUint8()
	lb, err7 := int32s(s.labels)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || err6 != nil || err7 != nil {
		return 0, false
	}
	w, h := s.work.X, s.work.Y
	r := box.Inset(-3).Intersect(image.Rect(1, 1, w-1, h-1))
	var outer, busy int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := y*w + x
			if ring[i] == 0 || st[i] != 0 {
				continue
			}
			outer++
			if fg[i] != 0 && mv[i] != 0 {
				busy++
			}
		}
	}
	if outer == 0 || float64(busy) > maxBusy*float64(outer) {
		return 0, false
	}
	// Outline pixels: inside the region with a neighbour outside it; the
	// inside is sampled one pixel in (the blurred edge itself is neither),
	// the surroundings outlineGap pixels out.
	var added, removed int
	dirs := [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if lb[y*w+x] != label {
				continue
			}
			for _, d := range dirs {
				nx, ny := x+d[0], y+d[1]
				ox, oy := x+outlineGap*d[0], y+outlineGap*d[1]
				ix, iy := x-d[0], y-d[1]
				if ox < 0 || oy < 0 || ox >= w || oy >= h || ix < 0 || iy < 0 || ix >= w || iy >= h ||
					st[ny*w+nx] != 0 {
					continue
				}
				o, in := oy*w+ox, iy*w+ix
				if st[o] != 0 || fg[o] != 0 || mv[o] != 0 {
					continue // the surroundings there are not the known scene
				}
				dc := absDiff(cur[in], bg[o])
				db := absDiff(bg[in], bg[o])
				switch {
				case dc > db+outlineMargin:
					added++ // the background's inside continues its surroundings
				case db > dc+outlineMargin:
					removed++ // the frame's inside does
				}
			}
		}
	}
	if added+removed == 0 {
		return 0, false
	}
	if removed > added {
		return pattern.Removed, true
	}
	return pattern.Added, true
}

// outlineGap is how far outside a region's outline, in work pixels, its
// surroundings are sampled: past the blur of the frame (3x3 after the area
// reduction) and the 5x5 closing of the mask.
const outlineGap = 3

// outlineMargin is the grey-level difference by which one side must match
// the surroundings better for an outline pixel to vote: a few times the
// smoothed frame's noise.
const outlineMargin = 4

// int32s views a continuous CV_32S Mat (the component labels) as int32s;
// gocv v0.31 has no typed accessor for it.
func int32s(m gocv.Mat) ([]int32, error) {
	b, err := m.DataPtrUint8()
	if err != nil || len(b) < 4 || m.Type() != gocv.MatTypeCV32S {
		return nil, errors.New("staticobj: labels not a continuous CV_32S image")
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// report lists the settled regions seen on this frame or within Grace, in
// normalised coordinates.
func (s *Stage) report(now time.Time) {
	fw, fh := float64(s.work.X), float64(s.work.Y)
	for j := range s.n {
		r := &s.regions[j]
		if !r.settled {
			continue
		}
		s.out = append(s.out, pattern.StaticObject{
			Box: track.Box{
				X: float64(r.box.Min.X) / fw, Y: float64(r.box.Min.Y) / fh,
				W: float64(r.box.Dx()) / fw, H: float64(r.box.Dy()) / fh,
			},
			Kind:  r.kind,
			Since: r.since,
		})
	}
}

// Close releases the images. It is safe to call twice.
func (s *Stage) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	for _, m := range append(s.mats(), &s.dilate, &s.open, &s.close) {
		err = errors.Join(err, m.Close())
	}
	return err
}
