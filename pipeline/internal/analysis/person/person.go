// Package person confirms which moving things are people, with OpenCV's
// HOG people detector (Dalal and Triggs' histogram-of-gradients pedestrian
// model, built into OpenCV: no model file to install or verify).
//
// The shape heuristic of pipeline/internal/analysis/pattern calls anything tall and narrow a
// person and a person lying down or a group merged into one blob an object.
// HOG looks at the outline of head, shoulders and legs instead. It is run
// only where the motion detector found a blob that could hold a person, on
// a crop scaled so that the person fills the detector's 64×128 window (a
// person 60 px tall on a 640×360 frame is too small for it at full frame),
// and each place is examined at most every Every frames, with at most
// Budget crops per frame: on an edge box it must cost a few milliseconds
// per stream-second, not a core. Between examinations the last result of a
// place is carried along with the blob.
package person

import (
	"fmt"
	"image"
	"log/slog"
	"math"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"gocv.io/x/gocv"
)

// Config tunes the detector. Zero fields take DefaultConfig's values.
type Config struct {
	// Logger; nil → slog.Default().
	Logger *slog.Logger
	// MinHeight is the smallest blob, in pixels of the analysis frame, that
	// is examined: a smaller person would have to be enlarged more than
	// MaxZoom times, and HOG sees nothing in an enlarged blur.
	MinHeight int
	// MaxHeight is the tallest blob, as a fraction of the frame height,
	// that is examined: larger blobs are light changes or something right
	// in front of the lens.
	MaxHeight float64
	// MaxZoom caps the enlargement of a crop.
	MaxZoom float64
	// Every: a place is examined again at most every this many frames.
	Every int
	// Budget is the most crops examined per frame.
	Budget int
	// Threshold is the SVM score a detection needs. OpenCV's own default
	// is 0; real pedestrians in OpenCV's vtest.avi score 0.2–5 at this
	// scale, rendered figures 3–4.5.
	Threshold float64
}

// DefaultConfig suits a 640×360 grey frame at 5 frames/s: each moving
// person is looked at about once a second.
func DefaultConfig() Config {
	return Config{MinHeight: 24, MaxHeight: 0.8, MaxZoom: 4, Every: 5, Budget: 2, Threshold: 0.3}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MinHeight == 0 {
		c.MinHeight = d.MinHeight
	}
	if c.MaxHeight == 0 {
		c.MaxHeight = d.MaxHeight
	}
	if c.MaxZoom == 0 {
		c.MaxZoom = d.MaxZoom
	}
	if c.Every == 0 {
		c.Every = d.Every
	}
	if c.Budget == 0 {
		c.Budget = d.Budget
	}
	if c.Threshold == 0 {
		c.Threshold = d.Threshold
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports values out of range.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MinHeight < 8 || c.MinHeight > 1000:
		return fmt.Errorf("person: min height %d px is outside 8..1000", c.MinHeight)
	case !(c.MaxHeight > 0 && c.MaxHeight <= 1):
		return fmt.Errorf("person: max height %g is outside (0,1]", c.MaxHeight)
	case !(c.MaxZoom >= 1 && c.MaxZoom <= 8):
		return fmt.Errorf("person: max zoom %g is outside 1..8", c.MaxZoom)
	case c.Every < 1 || c.Every > 1000:
		return fmt.Errorf("person: every %d is outside 1..1000 frames", c.Every)
	case c.Budget < 1 || c.Budget > maxRegions:
		return fmt.Errorf("person: budget %d is outside 1..%d crops", c.Budget, maxRegions)
	case !(c.Threshold >= -5 && c.Threshold <= 10):
		return fmt.Errorf("person: threshold %g is outside -5..10", c.Threshold)
	}
	return nil
}

// Result is one frame's verdict. Its slices are reused by the next Detect.
type Result struct {
	// Persons are the people found in or carried along with this frame's
	// blobs, as normalised boxes around the body (not the detector window).
	Persons []track.Box
	// Checked are the blobs examined on this frame (not those carried):
	// a blob here without a person inside was looked at and holds none.
	Checked []track.Box
	// Examined is how many crops went through HOG on this frame.
	Examined int
}

// maxRegions caps the places remembered; blobs beyond it are not examined.
const maxRegions = 32

// region is one place where a blob was examined, and what was found.
type region struct {
	blob     image.Rectangle // the blob now (matched this frame) or last
	examined image.Rectangle // the blob when it was examined
	at       int             // frame of the examination; 0: never
	seen     int             // frame the region last matched a blob
	n        int
	hits     [maxHits]image.Rectangle // bodies, in pixels, at examination
	active   bool
	claimed  bool // matched to a blob this frame
}

// Detector runs HOG on the blobs of one camera. Not safe for concurrent
// use; one analyser owns one.
type Detector struct {
	cfg   Config
	hog   *hog
	prm   params
	frame int
	size  image.Point

	regions [maxRegions]region
	order   [maxRegions]int // scratch: candidates by staleness
	joined  []image.Rectangle
	hits    []hit
	persons []track.Box
	checked []track.Box
	failing bool // one log line per failure streak
}

// New builds the detector; Close releases it.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h, err := newHOG()
	if err != nil {
		return nil, err
	}
	return &Detector{
		cfg: cfg,
		hog: h,
		// Stride 8 is OpenCV's default and what the SVM was tuned for
		// (a finer stride costs 4× for little gain); the pyramid step is
		// fine because crops are small; two overlapping windows make a
		// detection.
		prm:     params{hitThreshold: 0, stride: 8, pyramid: 1.05, group: 2},
		hits:    make([]hit, 0, maxHits),
		persons: make([]track.Box, 0, maxRegions*maxHits),
		checked: make([]track.Box, 0, maxRegions),
		joined:  make([]image.Rectangle, 0, maxRegions),
	}, nil
}

// Config returns the configuration in use, defaults applied.
func (d *Detector) Config() Config { return d.cfg }

// targetHeight is how tall, in pixels, a blob is made before HOG looks at
// it: the detector's people are 96 px tall in its 128 px window, and the
// pyramid only shrinks, so the blob is made a little taller than that.
const targetHeight = 110

// Detect examines the blobs (motion boxes in pixels of grey, a CV_8UC1
// frame) that could be people, within the frame's budget, and returns the
// people found or carried along. It makes no Go allocations in steady
// state.
func (d *Detector) Detect(grey gocv.Mat, blobs []image.Rectangle) Result {
	d.persons, d.checked = d.persons[:0], d.checked[:0]
	if d.hog == nil || grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
		return Result{}
	}
	d.frame++
	fw, fh := grey.Cols(), grey.Rows()
	if sz := image.Pt(fw, fh); sz != d.size {
		// Places are in pixels: a new frame size starts afresh.
		d.size = sz
		for i := range d.regions {
			d.regions[i] = region{}
		}
	}
	maxH := int(d.cfg.MaxHeight * float64(fh))
	for i := range d.regions {
		d.regions[i].claimed = false
	}
	// Match blobs to the places examined before.
	for _, b := range d.join(blobs) {
		if h := b.Dy(); h < d.cfg.MinHeight || h > maxH {
			continue
		}
		r := d.match(b)
		if r == nil {
			continue
		}
		r.blob, r.seen, r.claimed = b, d.frame, true
	}
	// Examine the stalest places first: never examined, then oldest.
	n := 0
	for i := range d.regions {
		r := &d.regions[i]
		if r.claimed && (r.at == 0 || d.frame-r.at >= d.cfg.Every) {
			d.order[n] = i
			n++
		}
	}
	for a := 1; a < n; a++ { // insertion sort: n is small, no allocation
		for b := a; b > 0 && d.regions[d.order[b]].at < d.regions[d.order[b-1]].at; b-- {
			d.order[b], d.order[b-1] = d.order[b-1], d.order[b]
		}
	}
	examined := 0
	for _, i := range d.order[:min(n, d.cfg.Budget)] {
		r := &d.regions[i]
		if err := d.examine(grey, r); err != nil {
			if !d.failing {
				d.cfg.Logger.Warn("person detector failing; people are classified by shape", "err", err)
				d.failing = true
			}
			continue
		}
		if d.failing {
			d.cfg.Logger.Info("person detector recovered")
			d.failing = false
		}
		examined++
		d.checked = append(d.checked, norm(r.blob, fw, fh))
	}
	// Report what every matched place holds, moved along with its blob.
	for i := range d.regions {
		r := &d.regions[i]
		if !r.active {
			continue
		}
		if r.seen < d.frame-2*d.cfg.Every {
			r.active = false // gone
			continue
		}
		if !r.claimed || r.at == 0 {
			continue
		}
		dx := (r.blob.Min.X + r.blob.Max.X - r.examined.Min.X - r.examined.Max.X) / 2
		dy := r.blob.Max.Y - r.examined.Max.Y // feet stay on the ground
		for _, h := range r.hits[:r.n] {
			if len(d.persons) < cap(d.persons) {
				d.persons = append(d.persons, norm(h.Add(image.Pt(dx, dy)), fw, fh))
			}
		}
	}
	return Result{Persons: d.persons, Checked: d.checked, Examined: examined}
}

// join puts the pieces of one figure back together: the motion detector
// often splits a person into torso and legs (clothes the colour of the
// ground in between), and HOG cannot tell a pair of legs from anything
// else. Blobs one above the other, overlapping in x and with a gap of less
// than a quarter of their joint height, are one candidate.
func (d *Detector) join(blobs []image.Rectangle) []image.Rectangle {
	out := d.joined[:0]
	for _, b := range blobs {
		if len(out) < cap(out) {
			out = append(out, b)
		}
	}
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(out); i++ {
			for j := i + 1; j < len(out); j++ {
				if stacked(out[i], out[j]) {
					out[i] = out[i].Union(out[j])
					out = append(out[:j], out[j+1:]...)
					merged = true
					j--
				}
			}
		}
	}
	d.joined = out
	return out
}

// stacked reports whether a and b look like two pieces of one figure, one
// above the other. Two blobs that are each tall and narrow like a whole
// person are two people at different depths, not pieces.
func stacked(a, b image.Rectangle) bool {
	if tall(a) && tall(b) {
		return false
	}
	ox := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	if ox*2 < min(a.Dx(), b.Dx()) {
		return false
	}
	gap := max(a.Min.Y, b.Min.Y) - min(a.Max.Y, b.Max.Y)
	return gap*4 < max(a.Max.Y, b.Max.Y)-min(a.Min.Y, b.Min.Y)
}

func tall(r image.Rectangle) bool { return r.Dy()*5 >= r.Dx()*11 }

// match returns the place the blob belongs to: the unclaimed active region
// that overlaps it most, else a free (or the longest unseen) slot.
func (d *Detector) match(b image.Rectangle) *region {
	var best *region
	bestIoU := 0.2
	for i := range d.regions {
		r := &d.regions[i]
		if !r.active || r.claimed {
			continue
		}
		if v := iou(r.blob, b); v > bestIoU {
			best, bestIoU = r, v
		}
	}
	if best != nil {
		return best
	}
	var slot *region
	for i := range d.regions {
		r := &d.regions[i]
		if !r.active {
			slot = r
			break
		}
		if !r.claimed && (slot == nil || r.seen < slot.seen) {
			slot = r
		}
	}
	if slot != nil {
		*slot = region{active: true}
	}
	return slot
}

// examine runs HOG on a crop around the region's blob.
func (d *Detector) examine(grey gocv.Mat, r *region) error {
	b := r.blob
	h := float64(b.Dy())
	zoom := math.Min(d.cfg.MaxZoom, targetHeight/h)
	// Room for the window around the body: the detector's people fill the
	// middle 3/4 of its height and half its width, and a narrow blob (one
	// person seen from the side) is narrower than the window.
	padY := int(0.3 * h)
	padX := int(0.35 * h)
	roi := image.Rect(b.Min.X-padX, b.Min.Y-padY, b.Max.X+padX, b.Max.Y+padY)
	var err error
	d.hits, err = d.hog.detect(grey, roi, zoom, d.prm, d.hits[:0])
	if err != nil {
		return err
	}
	r.examined, r.at, r.n = b, d.frame, 0
	for _, x := range d.hits {
		if x.score < d.cfg.Threshold || r.n == maxHits {
			continue
		}
		// The body inside the 64×128 window: 3/4 of its height, half its
		// width.
		w, hh := x.r.Dx(), x.r.Dy()
		r.hits[r.n] = image.Rect(x.r.Min.X+w/4, x.r.Min.Y+hh/8, x.r.Max.X-w/4, x.r.Max.Y-hh/8)
		r.n++
	}
	return nil
}

// Close releases the detector; safe to call twice.
func (d *Detector) Close() error {
	if d.hog != nil {
		d.hog.close()
		d.hog = nil
	}
	return nil
}

func norm(r image.Rectangle, fw, fh int) track.Box {
	return track.Box{
		X: float64(r.Min.X) / float64(fw), Y: float64(r.Min.Y) / float64(fh),
		W: float64(r.Dx()) / float64(fw), H: float64(r.Dy()) / float64(fh),
	}
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}
