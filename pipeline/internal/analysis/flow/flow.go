// Package flow measures how the moving regions of the grey analysis frame
// move inside: dense optical flow (OpenCV's DIS, dense inverse search,
// through dis.cpp) between consecutive analysis
// frames, computed only around the motion detector's blobs, summarised per
// region as speed, direction spread and moving fraction.
//
// A track's box says where an object goes; it cannot tell a fight from two
// people standing together, because a fight moves limbs and bodies back and
// forth inside a box that hardly moves. The flow inside the box can: fast,
// and changing direction from one frame to the next at the same spot, where
// a walker, a runner or two people walking up to each other keep theirs.
// The violent_motion rule (pipeline/internal/analysis/pattern) judges these numbers; this
// package only measures them.
//
// Flow runs at a reduced width (320 px by default): a person far away is
// still 25 px tall there, the flow's patches smooth over a walker's swinging
// arms and legs (at full resolution they look erratic too), and the cost
// stays around a millisecond per frame. DIS rather than Farnebäck: the
// same judgements at a fifth of the stage's cost (docs/performance.md,
// "Design choices"); rectangles under minDISSide, on which OpenCV 4.6's DIS
// reads out of bounds, get no flow. Every Mat is allocated once per frame
// size; in steady state Apply makes no Go allocations.
package flow

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"gocv.io/x/gocv"
)

// Config tunes the stage. Zero fields take defaults.
type Config struct {
	// Width of the image the flow is computed on; 0 → 320. Never more than
	// the analysis frame's width.
	Width int
	// Group joins blobs whose gap is at most this many times the smaller
	// blob's height into one region: two people fighting are one blob or
	// two touching ones, and one person's blob may break into parts;
	// 0 → 0.5.
	Group float64
	// Margin widens each region by this fraction of its height on every
	// side, so that what moved out of the box since the last frame is still
	// inside the computed flow; 0 → 0.3.
	Margin float64
	// MinMove is the flow, in pixels of the flow image per frame, from
	// which a pixel counts as moving (below it is sensor noise and the
	// smear of the flow's window); 0 → 0.6.
	MinMove float64
	// Pool is how many consecutive frame pairs speed and spread are pooled
	// over: a walker or a runner keeps going the same way, a fight changes
	// direction from one fifth of a second to the next; 0 → 4.
	Pool int
	// MaxGap: consecutive frames further apart than this are not compared
	// (the stream stalled); 0 → 1 s.
	MaxGap time.Duration
	// Logger gets one line when the frame size changes; nil → slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Width == 0 {
		c.Width = 320
	}
	if c.Group == 0 {
		c.Group = 0.5
	}
	if c.Margin == 0 {
		c.Margin = 0.3
	}
	if c.MinMove == 0 {
		c.MinMove = 0.6
	}
	if c.Pool == 0 {
		c.Pool = 4
	}
	if c.MaxGap == 0 {
		c.MaxGap = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Width < 64 || c.Width > 1920:
		return fmt.Errorf("flow: width %d outside 64..1920", c.Width)
	case !(c.Group >= 0 && c.Group <= 5):
		return fmt.Errorf("flow: group %v outside 0..5", c.Group)
	case !(c.Margin >= 0 && c.Margin <= 2):
		return fmt.Errorf("flow: margin %v outside 0..2", c.Margin)
	case !(c.MinMove > 0 && c.MinMove <= 10):
		return fmt.Errorf("flow: min move %v outside (0,10]", c.MinMove)
	case c.Pool < 1 || c.Pool > maxPool:
		return fmt.Errorf("flow: pool %d outside 1..%d", c.Pool, maxPool)
	case c.MaxGap < 0:
		return errors.New("flow: negative max gap")
	}
	return nil
}

const (
	// minROI is the smallest side of the image the flow is computed on:
	// DIS builds its pyramid only while a level still holds several of its
	// 8 px patches, and without the coarse levels a figure that moves more
	// than a few pixels between frames (5–30 px at 320 px wide and 5
	// frames/s) is lost.
	minROI = 32 << 2
	// maxPool bounds Config.Pool.
	maxPool = 8
	// minSide: regions smaller than this (in flow pixels) are too small to
	// say anything about limbs.
	minSide = 6
)

// Stage computes the flow regions of one camera. Not safe for concurrent
// use.
type Stage struct {
	cfg Config
	// prev and cur are the downscaled frames, prevFG and curFG their
	// foreground masks.
	prev, cur, prevFG, curFG gocv.Mat
	// flows are CV_32FC2 images of the same size holding the flow of
	// foreground pixels of the last Pool frame pairs, zero elsewhere;
	// flows[head] is the newest.
	flows                     [maxPool]gocv.Mat
	head                      int
	data                      [maxPool][]float32
	src, size                 image.Point
	have, prevHasFG, curHasFG bool
	prevAt                    time.Time

	groups [motion.MaxBoxes]image.Rectangle
	rois   [motion.MaxBoxes]image.Rectangle // flow computed on
	whole  [1]image.Rectangle               // or, in a busy scene, this
	stats  [motion.MaxBoxes]image.Rectangle // summarised over
	out    []pattern.FlowRegion
	dis    *dis
	// failures counts failed flow computations; lastFailLog rate-limits
	// their log line.
	failures    uint64
	lastFailLog time.Time
	closed      bool
}

// New validates cfg (zero fields take defaults); Close releases the Mats.
func New(cfg Config) (*Stage, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d, err := newDIS()
	if err != nil {
		return nil, err
	}
	s := &Stage{
		cfg:    cfg,
		dis:    d,
		prev:   gocv.NewMat(),
		cur:    gocv.NewMat(),
		prevFG: gocv.NewMat(),
		curFG:  gocv.NewMat(),
		out:    make([]pattern.FlowRegion, 0, motion.MaxBoxes),
	}
	for i := range s.flows[:cfg.Pool] {
		s.flows[i] = gocv.NewMat()
	}
	return s, nil
}

// resize starts afresh for a new analysis frame size.
func (s *Stage) resize(src image.Point) {
	size := s.SizeFor(src)
	if s.src != (image.Point{}) {
		s.cfg.Logger.Info("flow: frame size changed", "from", s.src, "to", src, "flow_size", size)
	}
	s.src, s.size, s.have, s.prevHasFG = src, size, false, false
	for i := range s.flows[:s.cfg.Pool] {
		s.flows[i].Close()
		s.flows[i] = gocv.NewMatWithSizeFromScalar(gocv.Scalar{}, size.Y, size.X, gocv.MatTypeCV32FC2)
	}
}

// Apply measures the flow inside the moving regions of res between the
// previous call's frame and grey (CV_8UC1), taken at now. fg is the motion
// detector's foreground mask for grey (motion.Detector.Foreground): only
// pixels that were foreground in the previous frame count, so that the
// background the flow smears around a figure, and what a figure uncovers,
// do not. With an empty fg every pixel near a region counts.
//
// Speed and spread pool this frame pair's flow with the previous pairs'
// (Config.Pool).
//
// It returns no regions on the first frame, after a gap or a size change,
// while the motion detector warms up or re-learns after a light change (its
// blobs and mask then mean nothing), and for frames of another type. The
// returned slice is reused by the next Apply.
func (s *Stage) Apply(now time.Time, grey gocv.Mat, res motion.Result, fg gocv.Mat) []pattern.FlowRegion {
	s.out = s.out[:0]
	if s.closed || grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
		return s.out
	}
	if src := image.Pt(grey.Cols(), grey.Rows()); src != s.src {
		s.resize(src)
	}
	gocv.Resize(grey, &s.cur, s.size, 0, 0, gocv.InterpolationArea)
	valid := !res.Warmup && !res.LightChange
	s.curHasFG = valid && !fg.Empty() && fg.Type() == gocv.MatTypeCV8UC1 && fg.Cols() == s.src.X && fg.Rows() == s.src.Y
	if s.curHasFG {
		// Any coverage of a flow pixel makes it foreground: thin limbs
		// survive the downscale.
		gocv.Resize(fg, &s.curFG, s.size, 0, 0, gocv.InterpolationArea)
		gocv.Threshold(s.curFG, &s.curFG, 0, 255, gocv.ThresholdBinary)
	}
	return s.step(now, res, valid, fg.Empty())
}

// SizeFor is the size of the image the flow is computed on for analysis
// frames of size src.
func (s *Stage) SizeFor(src image.Point) image.Point {
	w := min(s.cfg.Width, src.X)
	return image.Pt(w, max(1, int(math.Round(float64(src.Y)*float64(w)/float64(src.X)))))
}

// ApplyDownscaled is Apply for a caller that already has the analysis frame
// (of size src) downscaled to SizeFor(src) by area averaging, and its
// binary foreground mask (0 or 255) at that size: the motion detector's
// model frame and mask (motion.Detector.Model) when the model runs at the
// flow's width. The result is the same as Apply's with the full-size frame
// and mask, without downscaling the one and upscaling the other again.
func (s *Stage) ApplyDownscaled(now time.Time, src image.Point, small gocv.Mat, res motion.Result, fg gocv.Mat) []pattern.FlowRegion {
	s.out = s.out[:0]
	if s.closed || small.Empty() || small.Type() != gocv.MatTypeCV8UC1 || src.X <= 0 || src.Y <= 0 {
		return s.out
	}
	if src != s.src {
		s.resize(src)
	}
	if small.Cols() != s.size.X || small.Rows() != s.size.Y {
		return s.out
	}
	small.CopyTo(&s.cur)
	valid := !res.Warmup && !res.LightChange
	s.curHasFG = valid && !fg.Empty() && fg.Type() == gocv.MatTypeCV8UC1 && fg.Cols() == s.size.X && fg.Rows() == s.size.Y
	if s.curHasFG {
		fg.CopyTo(&s.curFG)
	}
	return s.step(now, res, valid, fg.Empty())
}

// step measures the flow between the previous frame and s.cur (with
// s.curFG), then makes s.cur the previous one.
func (s *Stage) step(now time.Time, res motion.Result, valid, noFG bool) []pattern.FlowRegion {
	s.head = (s.head + 1) % s.cfg.Pool
	s.flows[s.head].SetTo(gocv.Scalar{})
	dt := now.Sub(s.prevAt)
	switch {
	case !s.have || dt <= 0 || dt > s.cfg.MaxGap || !valid:
		// What was pooled is from another scene or another light.
		for i := range s.flows[:s.cfg.Pool] {
			s.flows[i].SetTo(gocv.Scalar{})
		}
	case len(res.Boxes) > 0 && (s.prevHasFG || noFG):
		s.measure(dt, res.Boxes)
	}
	s.prev, s.cur = s.cur, s.prev
	s.prevFG, s.curFG = s.curFG, s.prevFG
	s.prevHasFG = s.curHasFG
	s.prevAt, s.have = now, true
	return s.out
}

// group joins close blobs; it returns the number of groups in s.groups.
func (s *Stage) group(boxes []image.Rectangle) int {
	n := copy(s.groups[:], boxes)
	for merged := true; merged; {
		merged = false
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if !s.close(s.groups[i], s.groups[j]) {
					continue
				}
				s.groups[i] = s.groups[i].Union(s.groups[j])
				n--
				s.groups[j] = s.groups[n]
				j--
				merged = true
			}
		}
	}
	return n
}

func (s *Stage) close(a, b image.Rectangle) bool {
	gx := max(a.Min.X, b.Min.X) - min(a.Max.X, b.Max.X)
	gy := max(a.Min.Y, b.Min.Y) - min(a.Max.Y, b.Max.Y)
	lim := int(math.Ceil(s.cfg.Group * float64(min(a.Dy(), b.Dy()))))
	return gx <= lim && gy <= lim
}

func (s *Stage) measure(dt time.Duration, boxes []image.Rectangle) {
	n := s.group(boxes)
	fx := float64(s.size.X) / float64(s.src.X)
	fy := float64(s.size.Y) / float64(s.src.Y)
	frame := image.Rect(0, 0, s.size.X, s.size.Y)
	for i := range s.data[:s.cfg.Pool] {
		// The newest first.
		var err error
		if s.data[i], err = s.flows[(s.head-i+s.cfg.Pool)%s.cfg.Pool].DataPtrFloat32(); err != nil {
			return
		}
	}
	cur := s.data[0]
	var mask []byte
	var err error
	if s.prevHasFG {
		if mask, err = s.prevFG.DataPtrUint8(); err != nil {
			return
		}
	}
	k, area := 0, 0
	for _, g := range s.groups[:n] {
		// The group in flow pixels, widened by the margin; the flow itself
		// is computed on at least minROI×minROI around it.
		box := image.Rect(int(float64(g.Min.X)*fx), int(float64(g.Min.Y)*fy),
			int(math.Ceil(float64(g.Max.X)*fx)), int(math.Ceil(float64(g.Max.Y)*fy))).Intersect(frame)
		if box.Dx() < minSide || box.Dy() < minSide {
			continue
		}
		st := box.Inset(-int(math.Ceil(s.cfg.Margin * float64(box.Dy())))).Intersect(frame)
		r := atLeast(st, minROI, frame)
		s.groups[k], s.rois[k], s.stats[k] = g, r, st
		area += r.Dx() * r.Dy()
		k++
	}
	done := s.rois[:k]
	if area >= frame.Dx()*frame.Dy() {
		// Many regions: one pass over the whole image costs less than one
		// per region, and bounds the cost of a busy scene.
		s.whole[0] = frame
		done = s.whole[:]
	}
	for _, r := range done {
		s.flowOn(r)
	}
	// Keep only foreground flow (once all are computed: rectangles may
	// overlap), so that the next frame can pool it.
	if mask != nil {
		for _, r := range done {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					if i := y*s.size.X + x; mask[i] == 0 {
						cur[2*i], cur[2*i+1] = 0, 0
					}
				}
			}
		}
	}
	for i, g := range s.groups[:k] {
		speed, spread, moving, counted := s.summarise(mask, s.stats[i])
		clash := s.clash(s.stats[i])
		s.out = append(s.out, pattern.FlowRegion{
			Box: track.Box{
				X: float64(g.Min.X) / float64(s.src.X), Y: float64(g.Min.Y) / float64(s.src.Y),
				W: float64(g.Dx()) / float64(s.src.X), H: float64(g.Dy()) / float64(s.src.Y),
			},
			// pixels per frame → frame heights per second
			Speed:  speed / float64(s.size.Y) / dt.Seconds(),
			Spread: spread,
			Moving: float64(moving) / float64(max(counted, 1)),
			Clash:  clash,
		})
	}
}

// flowOn computes the flow of r into the newest flow image. A failure
// leaves r's flow as it was (zero, or what an overlapping rectangle
// measured) and is logged at most once a minute.
func (s *Stage) flowOn(r image.Rectangle) {
	if err := s.dis.calc(s.prev, s.cur, s.flows[s.head], r); err != nil {
		s.failures++
		if now := time.Now(); now.Sub(s.lastFailLog) >= time.Minute {
			s.lastFailLog = now
			s.cfg.Logger.Warn("flow: optical flow failed; the region counts as still", "err", err, "failures", s.failures)
		}
	}
}

// atLeast grows r symmetrically to at least side×side, shifted and clipped
// to stay inside frame.
func atLeast(r image.Rectangle, side int, frame image.Rectangle) image.Rectangle {
	if d := side - r.Dx(); d > 0 {
		r.Min.X -= d / 2
		r.Max.X += d - d/2
	}
	if d := side - r.Dy(); d > 0 {
		r.Min.Y -= d / 2
		r.Max.Y += d - d/2
	}
	if r.Min.X < frame.Min.X {
		r = r.Add(image.Pt(frame.Min.X-r.Min.X, 0))
	}
	if r.Max.X > frame.Max.X {
		r = r.Add(image.Pt(frame.Max.X-r.Max.X, 0))
	}
	if r.Min.Y < frame.Min.Y {
		r = r.Add(image.Pt(0, frame.Min.Y-r.Min.Y))
	}
	if r.Max.Y > frame.Max.Y {
		r = r.Add(image.Pt(0, frame.Max.Y-r.Max.Y))
	}
	return r.Intersect(frame)
}

// summarise pools the moving pixels of r in the last Pool flows (zero where
// nothing was measured or masked out). It returns their mean flow magnitude
// (flow pixels per frame); how erratic they are: the circular variance of
// the directions each pixel moved in over the pool, weighted by magnitude
// and averaged over the pixels, so that a walker, a runner, or two people
// walking towards each other (each pixel keeps one direction) score low and
// limbs and bodies going back and forth score high; and, for the current
// flow alone, how many pixels move and how many were looked at (the
// foreground ones, or all without a mask).
func (s *Stage) summarise(mask []byte, r image.Rectangle) (speed, spread float64, moving, counted int) {
	minMove2 := float32(s.cfg.MinMove * s.cfg.MinMove)
	var sum, res float64
	pooled := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := y*s.size.X + x
			if mask == nil || mask[i] != 0 {
				counted++
			}
			var ux, uy float64
			for j, f := range s.data[:s.cfg.Pool] {
				dx, dy := f[2*i], f[2*i+1]
				m2 := dx*dx + dy*dy
				if !(m2 >= minMove2) { // also drops NaN
					continue
				}
				if j == 0 {
					moving++
				}
				pooled++
				sum += math.Sqrt(float64(m2))
				ux += float64(dx)
				uy += float64(dy)
			}
			res += math.Hypot(ux, uy)
		}
	}
	if pooled == 0 || sum == 0 {
		return 0, 0, moving, counted
	}
	return sum / float64(pooled), clamp01(1 - res/sum), moving, counted
}

// clashCells is how many cells the height of a region's rectangle is cut
// into for clash: a cell (a quarter of the rectangle, which the margin makes
// about 0.4 of the moving region's height) holds a forearm, a head and
// shoulders or a leg, not a whole body.
const clashCells = 4

// minClashCell is the smallest cell, in flow pixels, on which clash says
// anything: DIS estimates one flow per 8-pixel patch (every 6 pixels, at
// the ultrafast preset) and blends them in between, so a smaller cell holds
// one or two estimates and the blend of their edges, not parts of a body
// moving their own ways. A region under about 40 flow pixels tall (a
// person far away) gets no clash; its spread still counts.
const minClashCell = 16

// clash measures how differently neighbouring spots of r move at the same
// moment, in the newest flow alone: the rectangle is cut into square cells,
// clashCells of them to its height, and clash is the share of the moving
// pixels' flow magnitude that cancels within its cell (1 − Σ|Σv| / Σ|v|:
// the cells' resultants over all magnitudes). The cells are smaller than a
// body, so two bodies going opposite ways side by side, or two cars passing
// each other, do not cancel; two people grappling, a punch thrown past a
// shoulder, a body shoved back while the shoving arm comes forward put
// opposite motions into one cell. It complements summarise's spread, which
// follows one pixel over the pool: at 5 analysis frames per second a limb
// can swing out and back between two frames, and a brawl that keeps pushing
// one way for a second reverses nothing at any one pixel, yet its bodies
// clash in most frames. Measured on real footage (make eval-real): walkers
// 10–80 m away stay below 0.07, a robbery fight in a hallway reaches 0.15–0.6
// in a third of its frames; but a walker close to the camera, whose arms and
// legs are large, or someone getting up, reaches 0.15–0.3 (once 0.47) in
// single frames: clash is evidence for the rule's share of violent frames
// over a second, not a verdict on one frame.
func (s *Stage) clash(r image.Rectangle) float64 {
	minMove2 := float32(s.cfg.MinMove * s.cfg.MinMove)
	f := s.data[0]
	// Square cells, sized by the height: a region of two people side by
	// side is two people wide, and its cells are as tall as one's.
	c := (r.Dy() + clashCells - 1) / clashCells
	if c < minClashCell {
		return 0
	}
	var sum, res float64
	for cy := r.Min.Y; cy < r.Max.Y; cy += c {
		for cx := r.Min.X; cx < r.Max.X; cx += c {
			var ux, uy float64
			for y := cy; y < min(cy+c, r.Max.Y); y++ {
				for x := cx; x < min(cx+c, r.Max.X); x++ {
					i := y*s.size.X + x
					dx, dy := f[2*i], f[2*i+1]
					m2 := dx*dx + dy*dy
					if !(m2 >= minMove2) { // also drops NaN
						continue
					}
					sum += math.Sqrt(float64(m2))
					ux += float64(dx)
					uy += float64(dy)
				}
			}
			res += math.Hypot(ux, uy)
		}
	}
	if sum == 0 {
		return 0
	}
	return clamp01(1 - res/sum)
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// Close releases the Mats; it is safe to call twice.
func (s *Stage) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.dis.close()
	var err error
	for _, m := range []*gocv.Mat{&s.prev, &s.cur, &s.prevFG, &s.curFG} {
		err = errors.Join(err, m.Close())
	}
	for i := range s.flows[:s.cfg.Pool] {
		err = errors.Join(err, s.flows[i].Close())
	}
	return err
}
