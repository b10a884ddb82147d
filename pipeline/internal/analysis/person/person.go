// Package person confirms which moving things are people, with a neural
// detector (NanoDet-g through OpenCV's dnn, models.NanoDet: also finds
// vehicles and bags) when its model is installed, or with OpenCV's HOG
// people detector (Dalal and Triggs' histogram-of-gradients pedestrian
// model, built into OpenCV: no model file to install or verify).
//
// The shape heuristic of pipeline/internal/analysis/pattern calls anything tall and narrow a
// person and a person lying down or a group merged into one blob an object.
// Both detectors look at the figure itself instead. They run only where
// the motion detector found a blob that could hold a person, on a crop
// scaled so that the person is large enough for the detector (HOG's
// 64×128 window; NanoDet's smallest stride is 8 px, and a person 60 px
// tall on a 640×360 frame is small for either at full frame),
// and each place is examined at most every Every frames, with at most
// Budget crops per frame: on an edge box it must cost a few milliseconds
// per stream-second, not a core. Between examinations the last result of a
// place is carried along with the blob.
package person

import (
	"errors"
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
	// Threshold is the SVM score a HOG detection needs. OpenCV's own
	// default is 0; real pedestrians in OpenCV's vtest.avi score 0.2–5 at
	// this scale, rendered figures 3–4.5.
	Threshold float64
	// Model is the NanoDet ONNX model (the verified bytes of
	// models.NanoDet, models.Read): with it the detector is neural, without
	// it HOG.
	Model []byte
	// InputWidth and InputHeight are the neural detector's input in
	// pixels, multiples of 32; a crop is scaled to fit. Its cost grows
	// with their product.
	InputWidth, InputHeight int
	// MinScore is the class probability a neural detection needs.
	MinScore float64
}

// DefaultConfig suits a 640×360 grey frame at 5 frames/s: each moving
// person is looked at about once a second.
func DefaultConfig() Config {
	return Config{MinHeight: 24, MaxHeight: 0.8, MaxZoom: 4, Every: 5, Budget: 2, Threshold: 0.3,
		InputWidth: 256, InputHeight: 192, MinScore: 0.4}
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
	if c.InputWidth == 0 {
		c.InputWidth = d.InputWidth
	}
	if c.InputHeight == 0 {
		c.InputHeight = d.InputHeight
	}
	if c.MinScore == 0 {
		c.MinScore = d.MinScore
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
	case c.InputWidth%32 != 0 || c.InputHeight%32 != 0 || c.InputWidth < 64 || c.InputHeight < 64 || c.InputWidth > 1024 || c.InputHeight > 1024:
		return fmt.Errorf("person: neural input %d×%d: width and height must be multiples of 32 in 64..1024", c.InputWidth, c.InputHeight)
	case !(c.MinScore > 0 && c.MinScore < 1):
		return fmt.Errorf("person: min score %g is outside (0,1)", c.MinScore)
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
	// Objects are the vehicles, bags and animals the neural detector found in or
	// carried along with this frame's blobs (HOG finds none).
	Objects []Object
	// Examined is how many crops went through the detector on this frame.
	Examined int
}

// Object is a detection that is not a person.
type Object struct {
	Class Class
	Box   track.Box
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
	classes  [maxHits]Class
	active   bool
	claimed  bool // matched to a blob this frame
}

// Detector runs HOG or NanoDet on the blobs of one camera. Not safe for
// concurrent use; one analyser owns one.
type Detector struct {
	cfg   Config
	hog   *hog     // nil when neural
	net   *nanodet // nil when HOG
	prm   params
	frame int
	size  image.Point

	regions [maxRegions]region
	order   [maxRegions]int // scratch: candidates by staleness
	joined  []image.Rectangle
	hits    []hit
	persons []track.Box
	objects []Object
	checked []track.Box
	failing bool // one log line per failure streak
}

// New builds the detector; Close releases it.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Detector{
		cfg: cfg,
		// Stride 8 is OpenCV's default and what the SVM was tuned for
		// (a finer stride costs 4× for little gain); the pyramid step is
		// fine because crops are small; two overlapping windows make a
		// detection.
		prm:     params{hitThreshold: 0, stride: 8, pyramid: 1.05, group: 2},
		hits:    make([]hit, 0, maxHits),
		persons: make([]track.Box, 0, maxRegions*maxHits),
		objects: make([]Object, 0, maxRegions*maxHits),
		checked: make([]track.Box, 0, maxRegions),
		joined:  make([]image.Rectangle, 0, maxRegions),
	}
	var err error
	if cfg.Model != nil {
		d.net, err = newNanodet(cfg.Model, cfg.InputWidth, cfg.InputHeight)
	} else {
		d.hog, err = newHOG()
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Neural reports whether the detector is NanoDet (else HOG).
func (d *Detector) Neural() bool { return d.net != nil }

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
	d.persons, d.objects, d.checked = d.persons[:0], d.objects[:0], d.checked[:0]
	if (d.hog == nil && d.net == nil) || grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
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
		for k, h := range r.hits[:r.n] {
			b := norm(h.Add(image.Pt(dx, dy)), fw, fh)
			switch {
			case r.classes[k] == ClassPerson && len(d.persons) < cap(d.persons):
				d.persons = append(d.persons, b)
			case r.classes[k] != ClassPerson && len(d.objects) < cap(d.objects):
				d.objects = append(d.objects, Object{Class: r.classes[k], Box: b})
			}
		}
	}
	return Result{Persons: d.persons, Objects: d.objects, Checked: d.checked, Examined: examined}
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

// examine runs the detector on a crop around the region's blob.
func (d *Detector) examine(grey gocv.Mat, r *region) error {
	if d.net != nil {
		return d.examineNeural(grey, r)
	}
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
		r.classes[r.n] = ClassPerson
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
	if d.net != nil {
		d.net.close()
		d.net = nil
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

// examineNeural runs NanoDet on a crop around the region's blob with the
// input's aspect ratio: half the blob's size again around it, for the
// figure's context and a piece the motion detector missed, and at least
// the input's height over MaxZoom (a smaller crop is only enlarged blur).
// It keeps what lies on the blob: a neighbour inside the crop is its own
// blob's business.
func (d *Detector) examineNeural(grey gocv.Mat, r *region) error {
	b := r.blob
	roi := d.neuralCrop(b, grey.Cols(), grey.Rows())
	var err error
	d.hits, err = d.net.detect(grey, roi, float32(d.cfg.MinScore), 0.5, d.hits[:0])
	if err != nil {
		return err
	}
	mx, my := b.Dx()/4, b.Dy()/4
	near := image.Rect(b.Min.X-mx, b.Min.Y-my, b.Max.X+mx, b.Max.Y+my)
	r.examined, r.at, r.n = b, d.frame, 0
	for _, x := range d.hits {
		c := image.Pt((x.r.Min.X+x.r.Max.X)/2, (x.r.Min.Y+x.r.Max.Y)/2)
		if !c.In(near) || r.n == maxHits {
			continue
		}
		r.hits[r.n], r.classes[r.n] = x.r, x.class
		r.n++
	}
	return nil
}

// Confirmation is what the neural detector found where a track's person
// was last seen (Confirm).
type Confirmation struct {
	// Box is the person detection that overlaps the asked box most, in
	// pixels of the frame; empty when none does.
	Box image.Rectangle
	// Score is its class probability (at least MinScore).
	Score float64
	// IoU is its overlap with the asked box.
	IoU float64
}

// ErrNotNeural is Confirm's answer on a HOG detector: only the neural
// detector's verdict on a still figure is trusted to hold a track (HOG
// and the shape heuristic keep a stopped person by the tracker's rules
// alone).
var ErrNotNeural = errors.New("person: confirming a still figure needs the neural detector")

// Confirm runs the neural detector once on a crop around box (pixels of
// grey, a CV_8UC1 frame), the last place a tracked person was seen after
// their motion blob faded, and returns the person detection that overlaps
// box most. It is not rate-limited here: the caller looks at a place at
// most about once a second (pipeline/internal/analysis, stillHold). It
// makes no Go allocations in steady state.
func (d *Detector) Confirm(grey gocv.Mat, box image.Rectangle) (Confirmation, error) {
	if d.net == nil {
		return Confirmation{}, ErrNotNeural
	}
	if grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 || box.Empty() {
		return Confirmation{}, nil
	}
	var err error
	d.hits, err = d.net.detect(grey, d.neuralCrop(box, grey.Cols(), grey.Rows()), float32(d.cfg.MinScore), 0.5, d.hits[:0])
	if err != nil {
		return Confirmation{}, err
	}
	var c Confirmation
	for _, x := range d.hits {
		if x.class != ClassPerson || x.score < d.cfg.MinScore {
			continue
		}
		if v := iou(x.r, box); v > c.IoU {
			c = Confirmation{Box: x.r, Score: x.score, IoU: v}
		}
	}
	return c, nil
}

// neuralCrop is the crop examined around b (pixels of an fw×fh frame),
// with the input's aspect ratio.
func (d *Detector) neuralCrop(b image.Rectangle, fw, fh int) image.Rectangle {
	iw, ih := float64(d.cfg.InputWidth), float64(d.cfg.InputHeight)
	ch := math.Max(1.5*float64(b.Dy()), 1.5*float64(b.Dx())*ih/iw)
	ch = math.Max(ch, ih/d.cfg.MaxZoom)
	cw := ch * iw / ih
	cx, cy := float64(b.Min.X+b.Max.X)/2, float64(b.Min.Y+b.Max.Y)/2
	roi := image.Rect(int(cx-cw/2), int(cy-ch/2), int(cx+cw/2), int(cy+ch/2))
	// Slide the crop into the frame rather than cut it, where it fits.
	shift := image.Pt(0, 0)
	switch {
	case roi.Dx() > fw:
	case roi.Min.X < 0:
		shift.X = -roi.Min.X
	case roi.Max.X > fw:
		shift.X = fw - roi.Max.X
	}
	switch {
	case roi.Dy() > fh:
	case roi.Min.Y < 0:
		shift.Y = -roi.Min.Y
	case roi.Max.Y > fh:
		shift.Y = fh - roi.Max.Y
	}
	return roi.Add(shift)
}
