package person

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"
)

// Class is what a neural detection is, in the terms the rules use.
type Class uint8

// Classes the neural detector reports. COCO's 80 classes are folded into
// the few a security camera's rules act on; the rest are dropped.
const (
	// ClassPerson is COCO's person.
	ClassPerson Class = iota + 1
	// ClassVehicle is anything on wheels a person rides or drives: COCO's
	// bicycle, car, motorcycle, bus and truck. A cyclist is also reported
	// as a person (NanoDet finds both).
	ClassVehicle
	// ClassBag is something carried that may be left behind (the
	// abandoned_object rule's concern): COCO's backpack, handbag and
	// suitcase.
	ClassBag
	// ClassAnimal is COCO's birds and mammals (bird … giraffe): a dog in a
	// zone is not an intruder.
	ClassAnimal
)

func (c Class) String() string {
	switch c {
	case ClassPerson:
		return "person"
	case ClassVehicle:
		return "vehicle"
	case ClassBag:
		return "bag"
	case ClassAnimal:
		return "animal"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// cocoClass maps NanoDet's COCO class index to ours (0: not reported).
var cocoClass = func() (m [numClasses]Class) {
	m[0] = ClassPerson
	for _, k := range []int{1, 2, 3, 5, 7} { // bicycle, car, motorcycle, bus, truck
		m[k] = ClassVehicle
	}
	for _, k := range []int{24, 26, 28} { // backpack, handbag, suitcase
		m[k] = ClassBag
	}
	for k := 14; k <= 23; k++ { // bird, cat, dog, horse, sheep, cow, elephant, bear, zebra, giraffe
		m[k] = ClassAnimal
	}
	return m
}()

// NanoDet-g's output layout (models.NanoDet; models/fetch converts it):
// per anchor, 80 sigmoid class scores then 4 sides × 11 bins of box
// distance logits; anchors are the cells of the stride 8, 16 and 32 grids,
// row by row, finest first.
const (
	numClasses  = 80
	numBins     = 11
	anchorWidth = numClasses + 4*numBins
)

var strides = [...]int{8, 16, 32}

// NanoDet's training normalisation (BGR order; the analysis frame is grey,
// fed as three equal channels).
var (
	pixelMean = [3]float32{103.53, 116.28, 123.675}
	pixelStd  = [3]float32{57.375, 57.12, 58.395}
)

// maxCandidates caps the anchors that pass the score threshold and go to
// non-maximum suppression; a crop around one blob has a handful.
const maxCandidates = 256

// detection is one decoded box in input pixels.
type detection struct {
	r     rectF
	score float32
	class Class
}

type rectF struct{ x0, y0, x1, y1 float32 }

func (r rectF) area() float32 { return max(0, r.x1-r.x0) * max(0, r.y1-r.y0) }

func (r rectF) iou(o rectF) float32 {
	in := rectF{max(r.x0, o.x0), max(r.y0, o.y0), min(r.x1, o.x1), min(r.y1, o.y1)}
	ia := in.area()
	if ia == 0 {
		return 0
	}
	return ia / (r.area() + o.area() - ia)
}

// anchors returns how many anchors an input of w×h has.
func anchors(w, h int) int {
	n := 0
	for _, s := range strides {
		n += ((w + s - 1) / s) * ((h + s - 1) / s)
	}
	return n
}

// decode turns the network's output for a w×h input into boxes of the
// classes we report that score at least threshold, after per-class
// non-maximum suppression at nmsIoU, appended to dst (whose capacity bounds
// them). out is [anchors × anchorWidth]. It makes no allocations.
func decode(out []float32, w, h int, threshold, nmsIoU float32, cand, dst []detection) ([]detection, []detection) {
	cand = cand[:0]
	a := 0
	for _, s := range strides {
		gw, gh := (w+s-1)/s, (h+s-1)/s
		for gy := range gh {
			for gx := range gw {
				row := out[a*anchorWidth : (a+1)*anchorWidth]
				a++
				// The best score among the classes we report, each of our
				// classes counted once (a car that is also a bit of a truck
				// is one vehicle).
				best, bestClass := threshold, Class(0)
				for k, cl := range cocoClass {
					if cl != 0 && row[k] >= best {
						best, bestClass = row[k], cl
					}
				}
				if bestClass == 0 {
					continue
				}
				cx, cy := (float32(gx)+0.5)*float32(s), (float32(gy)+0.5)*float32(s)
				var d [4]float32
				for side := range d {
					d[side] = expectedBin(row[numClasses+side*numBins:numClasses+(side+1)*numBins]) * float32(s)
				}
				det := detection{r: rectF{cx - d[0], cy - d[1], cx + d[2], cy + d[3]}, score: best, class: bestClass}
				if len(cand) < cap(cand) {
					cand = append(cand, det)
				} else if i := weakest(cand); cand[i].score < best {
					cand[i] = det
				}
			}
		}
	}
	slices.SortFunc(cand, func(p, q detection) int { return cmp.Compare(q.score, p.score) }) // strongest first
	// Greedy NMS within each class, strongest first.
	for i := range cand {
		keep := true
		for _, k := range dst {
			if k.class == cand[i].class && k.r.iou(cand[i].r) > nmsIoU {
				keep = false
				break
			}
		}
		if keep && len(dst) < cap(dst) {
			dst = append(dst, cand[i])
		}
	}
	return cand, dst
}

func weakest(c []detection) int {
	w := 0
	for i := range c {
		if c[i].score < c[w].score {
			w = i
		}
	}
	return w
}

// expectedBin is the mean of the softmax over the bins (distribution focal
// loss: a side's distance, in strides, is the expected bin).
func expectedBin(logits []float32) float32 {
	m := logits[0]
	for _, v := range logits[1:] {
		m = max(m, v)
	}
	var sum, mean float32
	for i, v := range logits {
		e := float32(math.Exp(float64(v - m)))
		sum += e
		mean += e * float32(i)
	}
	return mean / sum
}

// nanodet runs NanoDet-g through OpenCV's dnn on crops of the grey frame,
// with its buffers: a crop scaled onto the input canvas, the input blob.
// The network itself is shared by every camera with the same model and
// input size (sharedNet): its weights and OpenCV's buffers for the layers'
// outputs take tens of MiB, which would otherwise be paid per camera.
type nanodet struct {
	net    *sharedNet
	w, h   int
	canvas gocv.Mat // CV_8UC1 h×w: the scaled crop, the rest mid-grey
	blob   gocv.Mat // CV_32F 1×3×h×w
	cand   []detection
	dets   []detection
}

// newNanodet loads the ONNX model (verified bytes, models.Read) for an
// input of w×h pixels, each a multiple of 32.
func newNanodet(model []byte, w, h int) (*nanodet, error) {
	if w%32 != 0 || h%32 != 0 || w < 64 || h < 64 || w > 1024 || h > 1024 {
		return nil, fmt.Errorf("person: neural detector input %d×%d: width and height must be multiples of 32 in 64..1024", w, h)
	}
	net, err := acquireNet(model, w, h)
	if err != nil {
		return nil, err
	}
	n := &nanodet{
		net: net, w: w, h: h,
		canvas: gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1),
		blob:   gocv.NewMatWithSizes([]int{1, 3, h, w}, gocv.MatTypeCV32F),
		cand:   make([]detection, 0, maxCandidates),
		dets:   make([]detection, 0, maxHits),
	}
	return n, nil
}

// detect scales the crop roi of grey (clipped to the frame) onto the input
// canvas, keeping its aspect ratio, runs the network and appends what it
// found, in grey's pixels, to dst.
func (n *nanodet) detect(grey gocv.Mat, roi image.Rectangle, threshold, nmsIoU float32, dst []hit) ([]hit, error) {
	roi = roi.Intersect(image.Rect(0, 0, grey.Cols(), grey.Rows()))
	if roi.Empty() {
		return dst, nil
	}
	scale := math.Min(float64(n.w)/float64(roi.Dx()), float64(n.h)/float64(roi.Dy()))
	sw := min(n.w, max(1, int(math.Round(float64(roi.Dx())*scale))))
	sh := min(n.h, max(1, int(math.Round(float64(roi.Dy())*scale))))
	n.canvas.SetTo(gocv.NewScalar(float64(pixelMean[1]), 0, 0, 0))
	src := grey.Region(roi)
	dstRegion := n.canvas.Region(image.Rect(0, 0, sw, sh))
	interp := gocv.InterpolationLinear
	if scale < 1 {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(src, &dstRegion, image.Pt(sw, sh), 0, 0, interp)
	src.Close()
	dstRegion.Close()
	if err := n.fillBlob(); err != nil {
		return dst, err
	}
	// Forward's output shares memory with the network, which another
	// camera's detector may run next: hold it until decoded.
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	n.net.net.SetInput(n.blob, "input")
	out := n.net.net.Forward("detections")
	defer out.Close()
	if out.Empty() {
		return dst, errors.New("person: the NanoDet network returned nothing")
	}
	data, err := out.DataPtrFloat32()
	if err != nil {
		return dst, fmt.Errorf("person: NanoDet output: %w", err)
	}
	if len(data) != anchors(n.w, n.h)*anchorWidth {
		return dst, fmt.Errorf("person: NanoDet output has %d values, want %d anchors × %d", len(data), anchors(n.w, n.h), anchorWidth)
	}
	n.cand, n.dets = decode(data, n.w, n.h, threshold, nmsIoU, n.cand, n.dets[:0])
	// Back to frame pixels; boxes are clipped to the crop's visible part.
	sx, sy := float64(roi.Dx())/float64(sw), float64(roi.Dy())/float64(sh)
	for _, d := range n.dets {
		r := image.Rect(
			roi.Min.X+int(math.Round(float64(d.r.x0)*sx)), roi.Min.Y+int(math.Round(float64(d.r.y0)*sy)),
			roi.Min.X+int(math.Round(float64(d.r.x1)*sx)), roi.Min.Y+int(math.Round(float64(d.r.y1)*sy)),
		).Intersect(roi)
		if r.Empty() {
			continue
		}
		dst = append(dst, hit{r: r, score: float64(d.score), class: d.class})
	}
	return dst, nil
}

// fillBlob normalises the grey canvas into the three planes of the blob.
func (n *nanodet) fillBlob() error {
	px, err := n.canvas.DataPtrUint8()
	if err != nil {
		return err
	}
	blob, err := n.blob.DataPtrFloat32()
	if err != nil {
		return err
	}
	plane := n.w * n.h
	if len(px) != plane || len(blob) != 3*plane {
		return errors.New("person: neural detector buffers have the wrong size")
	}
	for c := range 3 {
		m, inv := pixelMean[c], 1/pixelStd[c]
		p := blob[c*plane : (c+1)*plane]
		for i, v := range px {
			p[i] = (float32(v) - m) * inv
		}
	}
	return nil
}

func (n *nanodet) close() {
	n.net.release()
	n.canvas.Close()
	n.blob.Close()
}
