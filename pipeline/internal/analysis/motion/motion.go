// Package motion finds moving things in the grey analysis frame with MOG2
// background subtraction.
//
// The detector is tuned to say "something person-sized moves" and to stay
// silent otherwise: sensor noise is smoothed away before the model sees it,
// shadows are discarded, tiny blobs are ignored, nothing is reported while
// the model is still learning, and a change that covers a large part of the
// frame at once (lights switched, auto exposure, a cloud) is reported as a
// light change rather than as motion, after which the model re-learns fast.
//
// All per-frame images are allocated once and reused; in steady state Apply
// makes no Go allocations.
package motion

import (
	"errors"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Config tunes the detector. Zero fields take DefaultConfig's value.
type Config struct {
	// History is the number of frames the background model remembers
	// (its time constant); at 5 analysis frames/s, 100 is 20 s.
	History int
	// VarThreshold is MOG2's squared Mahalanobis distance above which a
	// pixel is foreground (16 = 4 standard deviations).
	VarThreshold float64
	// MinArea is the smallest blob, as a fraction of the frame, that counts
	// as motion.
	MinArea float64
	// WarmupFrames are frames during which the model learns and nothing is
	// reported.
	WarmupFrames int
	// MaxGlobalChange is the fraction of the whole frame that changed
	// (foreground or shadow) above which a change is taken to be a light
	// change, not motion.
	MaxGlobalChange float64
	// ShadowThreshold is MOG2's shadow threshold (tau): a pixel darker than
	// the background but at least this fraction of its brightness is a
	// shadow and is not motion. On grey frames shadow detection cannot use
	// colour, so every darker object within the ratio counts as shadow: with
	// OpenCV's default 0.5 a person in mid-grey clothes vanishes. 0.7 keeps
	// soft shadows out and such people in.
	ShadowThreshold float64
	// ModelWidth is the width at which the background model runs: a wider
	// frame is first averaged down (area filter) to it, and blobs are
	// reported in the frame's own pixels. The model's cost grows with its
	// pixels: at 640x360 it is the largest item after decoding, more than
	// twice its cost at 320 (docs/performance.md, "Design choices");
	// a person far enough away to be 12 px wide in a 640-px frame is still
	// 6 px wide at 320, well above the 3 px the clean-up removes. Negative:
	// the model runs at the frame's width, however wide.
	ModelWidth int
}

// DefaultConfig suits a 640x360 (or smaller) grey frame at about 5 frames/s.
func DefaultConfig() Config {
	return Config{
		History:         100,
		VarThreshold:    16,
		MinArea:         0.001,
		WarmupFrames:    15,
		MaxGlobalChange: 0.4,
		ShadowThreshold: 0.7,
		ModelWidth:      320,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.History == 0 {
		c.History = d.History
	}
	if c.VarThreshold == 0 {
		c.VarThreshold = d.VarThreshold
	}
	if c.MinArea == 0 {
		c.MinArea = d.MinArea
	}
	if c.WarmupFrames == 0 {
		c.WarmupFrames = d.WarmupFrames
	}
	if c.MaxGlobalChange == 0 {
		c.MaxGlobalChange = d.MaxGlobalChange
	}
	if c.ShadowThreshold == 0 {
		c.ShadowThreshold = d.ShadowThreshold
	}
	if c.ModelWidth == 0 {
		c.ModelWidth = d.ModelWidth
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.History < 2:
		return fmt.Errorf("motion: history %d < 2", c.History)
	case !(c.VarThreshold > 0) || math.IsInf(c.VarThreshold, 0):
		return fmt.Errorf("motion: invalid var threshold %v", c.VarThreshold)
	case !(c.MinArea > 0 && c.MinArea < 1):
		return fmt.Errorf("motion: min area %v not in (0,1)", c.MinArea)
	case c.WarmupFrames < 0:
		return fmt.Errorf("motion: negative warm-up %d", c.WarmupFrames)
	case !(c.MaxGlobalChange > 0 && c.MaxGlobalChange <= 1):
		return fmt.Errorf("motion: max global change %v not in (0,1]", c.MaxGlobalChange)
	case !(c.ShadowThreshold > 0 && c.ShadowThreshold < 1):
		return fmt.Errorf("motion: shadow threshold %v not in (0,1)", c.ShadowThreshold)
	case c.ModelWidth > 0 && c.ModelWidth < 32:
		return fmt.Errorf("motion: model width %d < 32", c.ModelWidth)
	case c.MinArea >= c.MaxGlobalChange:
		return errors.New("motion: min area must be below max global change")
	}
	return nil
}

// Result is the outcome of one frame.
type Result struct {
	// Motion is true if at least one blob of at least MinArea moved, outside
	// warm-up and light changes.
	Motion bool
	// Score rates how much moves, saturating: 1 − exp(−Area/0.01). A blob
	// covering 1% of the frame scores 0.63 (a person a quarter of the frame
	// tall covers about 0.8%: ~0.55), two such people ~0.86; 0 without motion.
	Score float64
	// Area is the fraction of the frame covered by the blobs that count.
	Area float64
	// Boxes are the bounding boxes of those blobs in frame pixels, at most
	// MaxBoxes of them (in raster order of their first pixel). The slice is
	// reused: it is valid until the next Apply.
	Boxes []image.Rectangle
	// Warmup is true while the model is still learning.
	Warmup bool
	// LightChange is true when too much of the frame changed at once, and
	// for the few frames after it while the model re-learns.
	LightChange bool
}

// MaxBoxes caps Result.Boxes so Apply never grows the slice.
const MaxBoxes = 32

// scoreArea is the blob area (fraction of the frame) at which Score reaches
// 1 − 1/e.
const scoreArea = 0.01

// adaptFrames is how long after a light change the detector keeps reporting
// LightChange while the re-initialised model settles.
//
// The model is re-initialised on the changed frame (learning rate 1) rather
// than merely learning faster: the stale components of the old brightness
// would otherwise stay in the background set for a whole history, and on
// grey frames a figure that is darker than the old background by less than
// ShadowThreshold would be classified as its shadow. After re-initialising,
// OpenCV's own schedule (rate 1/(2·frames)) makes it adapt fast anyway.
//
// Five frames, because while that rate is at least 1 − backgroundRatio (0.1),
// i.e. for the first five frames after initialisation, MOG2's shadow test
// matches every new value against its own freshly created component and
// marks all foreground as shadow: nothing could be detected anyway. (At a
// start the detector reads that "shadow" as new instead, see bootFrames.)
const adaptFrames = 5

// bootFrames is the same span seen the other way round: while OpenCV's
// schedule is at least 1 − backgroundRatio (the first five frames after
// (re)initialising), MOG2's "shadow" (127) means "matches no background
// component", i.e. new, and is taken as foreground. With it the detector
// sees what moves from the second frame after a start on, against a
// background bootstrapped from the frames so far: a camera that restarts
// with people in view, a short clip. What stood still in the first frame is
// learnt as background until it moves; the ghost it leaves when it does
// lasts a frame or two, because the fast early schedule makes the revealed
// background dominant almost at once. (After a light change adaptFrames
// still holds the rules for these frames: shortening it was measured to
// add false alarms on real footage.)
const bootFrames = 5

// Detector is MOG2 with pre- and post-processing. It is not safe for
// concurrent use; one camera owns one Detector.
type Detector struct {
	cfg Config
	bs  *mog2

	grey, small, blur, fg, bin, labels, stats, centroids gocv.Mat
	open, close                                          gocv.Mat // structuring elements
	closeSize                                            int
	// binFull is bin at the input frame's size, made by Foreground when the
	// model runs smaller (binFresh: for the current frame).
	binFull  gocv.Mat
	binFresh bool
	blurSize int
	openSize int

	in     image.Point // input frame size
	size   image.Point // model size
	frames int         // frames seen at this size
	adapt  int         // frames left to report LightChange after re-initialising
	boot   int         // frames since the model was (re)initialised
	boxes  []image.Rectangle
	closed bool
}

// NewDetector validates cfg (zero fields take defaults) and allocates the
// model. Close releases it.
func NewDetector(cfg Config) (*Detector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bs, err := newMOG2(cfg.History, cfg.VarThreshold, cfg.ShadowThreshold)
	if err != nil {
		return nil, err
	}
	return &Detector{
		cfg:       cfg,
		bs:        bs,
		grey:      gocv.NewMat(),
		small:     gocv.NewMat(),
		binFull:   gocv.NewMat(),
		blur:      gocv.NewMat(),
		fg:        gocv.NewMat(),
		bin:       gocv.NewMat(),
		labels:    gocv.NewMat(),
		stats:     gocv.NewMat(),
		centroids: gocv.NewMat(),
		open:      gocv.NewMat(),
		close:     gocv.NewMat(),
		boxes:     make([]image.Rectangle, 0, MaxBoxes),
	}, nil
}

// Config returns the configuration in use, defaults applied.
func (d *Detector) Config() Config { return d.cfg }

// reset starts warm-up afresh for a new frame size. MOG2 itself
// re-initialises when the size changes.
func (d *Detector) reset(in image.Point) {
	d.in = in
	size := in
	if d.cfg.ModelWidth > 0 && in.X > d.cfg.ModelWidth {
		size = image.Pt(d.cfg.ModelWidth, max(1, int(math.Round(float64(in.Y)*float64(d.cfg.ModelWidth)/float64(in.X)))))
	}
	d.size = size
	// The area filter of the downscale already averages noise; a 5x5 blur
	// on top of it would smooth as much as 10x10 at full size.
	openSize := 3
	d.blurSize = 5
	if 2*size.X <= in.X {
		d.blurSize, openSize = 3, 2
	}
	if openSize != d.openSize {
		d.open.Close()
		// 3x3 "ellipse" is a cross; at 2x2 only a square exists.
		shape := gocv.MorphEllipse
		if openSize == 2 {
			shape = gocv.MorphRect
		}
		d.open = gocv.GetStructuringElement(shape, image.Pt(openSize, openSize))
		d.openSize = openSize
	}
	d.frames, d.adapt, d.boot = 0, 0, 0
	// Closing joins the parts of one figure (head, torso, legs); its size
	// follows the frame height: 7 px at 360 lines.
	// At a model smaller than the frame it covers the same part of the
	// figure, rounded up.
	if k := max(3, int(math.Ceil(float64(in.Y/60|1)*float64(size.Y)/float64(in.Y)))|1); k != d.closeSize {
		d.close.Close()
		d.close = gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(k, k))
		d.closeSize = k
	}
}

// Apply feeds one frame, grey (CV_8UC1) or BGR (CV_8UC3), to the model and
// reports what moved. A frame of another type, an empty one, or a closed
// detector yields the zero Result. A change of frame size restarts learning.
func (d *Detector) Apply(frame gocv.Mat) Result {
	d.boxes = d.boxes[:0]
	if d.closed || frame.Empty() {
		return Result{}
	}
	src := frame
	switch frame.Type() {
	case gocv.MatTypeCV8UC1:
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(frame, &d.grey, gocv.ColorBGRToGray)
		src = d.grey
	default:
		return Result{}
	}
	if in := image.Pt(src.Cols(), src.Rows()); in != d.in {
		d.reset(in)
	}
	d.frames++
	d.binFresh = false
	if d.size != d.in {
		gocv.Resize(src, &d.small, d.size, 0, 0, gocv.InterpolationArea)
		src = d.small
	}

	// Sensor noise is mostly above the blur's cut-off; smoothing first
	// lets MOG2 keep tight per-pixel variances without false alarms.
	gocv.GaussianBlur(src, &d.blur, image.Pt(d.blurSize, d.blurSize), 0, 0, gocv.BorderReplicate)
	if err := d.bs.apply(d.blur, &d.fg, -1); err != nil {
		return Result{}
	}
	d.boot++
	// The first frame only initialises the model: there is nothing to
	// compare it with (MOG2 marks all of it "shadow"), whatever
	// WarmupFrames says.
	if d.frames <= max(1, d.cfg.WarmupFrames) {
		return Result{Warmup: true}
	}

	// A light change is judged on foreground and shadow together: a frame
	// that got darker everywhere is mostly "shadow", but still a light change.
	n := d.size.X * d.size.Y
	if frac := float64(gocv.CountNonZero(d.fg)) / float64(n); frac > d.cfg.MaxGlobalChange {
		// Re-initialise the model on this frame; see adaptFrames.
		if err := d.bs.apply(d.blur, &d.fg, 1); err != nil {
			return Result{}
		}
		d.adapt, d.boot = adaptFrames, 1
		return Result{LightChange: true}
	}
	if d.adapt > 0 {
		d.adapt--
		return Result{LightChange: true}
	}
	// 255 = foreground, 127 = shadow: shadows are not motion, except while
	// bootstrapping, when 127 means "new" (see bootFrames).
	var cut float32 = 200
	if d.boot <= bootFrames {
		cut = 100
	}
	gocv.Threshold(d.fg, &d.bin, cut, 255, gocv.ThresholdBinary)
	gocv.MorphologyEx(d.bin, &d.bin, gocv.MorphOpen, d.open)
	gocv.MorphologyEx(d.bin, &d.bin, gocv.MorphClose, d.close)

	labels := gocv.ConnectedComponentsWithStats(d.bin, &d.labels, &d.stats, &d.centroids)
	minPx := int32(math.Ceil(d.cfg.MinArea * float64(n)))
	var area int64
	for i := 1; i < labels; i++ { // label 0 is the background
		a := d.stats.GetIntAt(i, int(gocv.CC_STAT_AREA))
		if a < minPx {
			continue
		}
		area += int64(a)
		if len(d.boxes) < MaxBoxes {
			x := int(d.stats.GetIntAt(i, int(gocv.CC_STAT_LEFT)))
			y := int(d.stats.GetIntAt(i, int(gocv.CC_STAT_TOP)))
			w := int(d.stats.GetIntAt(i, int(gocv.CC_STAT_WIDTH)))
			h := int(d.stats.GetIntAt(i, int(gocv.CC_STAT_HEIGHT)))
			d.boxes = append(d.boxes, d.toInput(image.Rect(x, y, x+w, y+h)))
		}
	}
	if area == 0 {
		return Result{}
	}
	frac := float64(area) / float64(n)
	return Result{
		Motion: true,
		Score:  1 - math.Exp(-frac/scoreArea),
		Area:   frac,
		Boxes:  d.boxes,
	}
}

// Foreground is the cleaned binary foreground mask (255: moving; shadows,
// specks and holes removed, as for the blobs) of the last Apply, at the
// frame's size. It is what a pixel stage (optical flow) looks at to tell an
// object's pixels from the background around it. It is valid only after an
// Apply that reported neither Warmup nor LightChange, is owned by the
// detector and is overwritten by the next Apply: do not close or keep it.
func (d *Detector) Foreground() gocv.Mat {
	if d.size == d.in || d.bin.Empty() {
		return d.bin
	}
	if !d.binFresh {
		gocv.Resize(d.bin, &d.binFull, d.in, 0, 0, gocv.InterpolationNearestNeighbor)
		d.binFresh = true
	}
	return d.binFull
}

// Model is the last Apply's frame at the model's size, before the blur, and
// its cleaned foreground mask at that size; ok is false when the model runs
// at the frame's own size. A pixel stage working at the model's size (the
// optical flow at 320 px) takes them instead of downscaling the frame and
// upscaling the mask again. The mask is valid only after an Apply that
// reported neither Warmup nor LightChange. Owned by the detector and
// overwritten by the next Apply: do not close or keep them.
func (d *Detector) Model() (frame, fg gocv.Mat, ok bool) {
	if d.closed || d.size == d.in || d.small.Empty() {
		return frame, fg, false
	}
	return d.small, d.bin, true
}

// toInput maps a rectangle of model pixels to the input frame's pixels,
// covering every input pixel the model pixels stand for.
func (d *Detector) toInput(r image.Rectangle) image.Rectangle {
	if d.size == d.in {
		return r
	}
	sx := float64(d.in.X) / float64(d.size.X)
	sy := float64(d.in.Y) / float64(d.size.Y)
	return image.Rect(
		int(math.Floor(float64(r.Min.X)*sx)), int(math.Floor(float64(r.Min.Y)*sy)),
		min(d.in.X, int(math.Ceil(float64(r.Max.X)*sx))), min(d.in.Y, int(math.Ceil(float64(r.Max.Y)*sy))),
	).Intersect(image.Rectangle{Max: d.in})
}

// Close releases the model and the images. It is safe to call twice.
func (d *Detector) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	d.bs.close()
	for _, m := range []*gocv.Mat{&d.grey, &d.small, &d.binFull, &d.blur, &d.fg, &d.bin, &d.labels, &d.stats, &d.centroids, &d.open, &d.close} {
		if err := m.Close(); err != nil {
			return err
		}
	}
	return nil
}
