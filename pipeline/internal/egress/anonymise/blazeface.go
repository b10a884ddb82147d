package anonymise

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "dnn.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"unsafe"

	"gocv.io/x/gocv"
)

// blazeSize is the side of BlazeFace's (back model) square input.
const blazeSize = 256

// Anchor layout of the MediaPipe short-range "back" model: a 16×16 grid
// with 2 anchors per cell (stride 16) then an 8×8 grid with 6 anchors per
// cell (stride 32): 512 + 384 = 896 anchors, all with fixed size 1, boxes
// and keypoints as offsets in input pixels from the cell centre.
const (
	grid16, perCell16 = 16, 2
	grid8, perCell8   = 8, 6
	n16               = grid16 * grid16 * perCell16 // 512
	n8                = grid8 * grid8 * perCell8    // 384
	boxStride         = 16                          // x, y, w, h, 6 keypoints × (x, y)
)

// BlazeFaceConfig configures the DNN face detector.
type BlazeFaceConfig struct {
	// Model is the ONNX file's content, already verified (models.Read).
	Model []byte
	// Threshold on the sigmoid score; 0 → 0.5. Lower finds more faces at
	// the cost of masking some non-faces, the right trade for privacy.
	Threshold float64
	// Levels of the tile pyramid: 1 runs the net on the whole frame only;
	// n adds, for every k in 2..n, k×k overlapping tiles, so a face that
	// is too small in the downscaled whole frame is seen at a larger scale.
	// 0 → chosen by frame size (see autoLevels).
	Levels int
}

// BlazeFace detects faces with MediaPipe's BlazeFace DNN on a tile pyramid.
// Not safe for concurrent use.
type BlazeFace struct {
	cfg   BlazeFaceConfig
	b     *C.eg_blazeface
	input gocv.Mat // 256×256 CV_32FC3 header over the C input blob
	c8    gocv.Mat // 256×256 BGR canvas
	rgb   gocv.Mat
	s16   []float32
	s8    []float32
	b16   []float32
	b8    []float32
	err   []byte

	tilesFor image.Point
	tiles    []image.Rectangle
	cands    []candidate
	out      []image.Rectangle
}

type candidate struct {
	r     rect
	score float64
}

// rect is a float box in frame pixels.
type rect struct{ x0, y0, x1, y1 float64 }

// NewBlazeFace loads the network. The model bytes must already be verified
// (models.Read): this only fails if OpenCV cannot build the network.
func NewBlazeFace(cfg BlazeFaceConfig) (*BlazeFace, error) {
	if len(cfg.Model) == 0 {
		return nil, errors.New("anonymise: BlazeFace: no model data")
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 0.5
	}
	if !(cfg.Threshold > 0 && cfg.Threshold < 1) {
		return nil, fmt.Errorf("anonymise: BlazeFace: threshold %v outside (0,1)", cfg.Threshold)
	}
	if cfg.Levels < 0 || cfg.Levels > 6 {
		return nil, fmt.Errorf("anonymise: BlazeFace: levels %d outside 0..6", cfg.Levels)
	}
	errbuf := make([]byte, 512)
	model := C.CBytes(cfg.Model)
	defer C.free(model)
	b := C.eg_blazeface_new((*C.char)(model), C.size_t(len(cfg.Model)), blazeSize,
		(*C.char)(unsafe.Pointer(&errbuf[0])), C.size_t(len(errbuf)))
	if b == nil {
		return nil, fmt.Errorf("anonymise: BlazeFace: %s", cString(errbuf))
	}
	in := unsafe.Slice((*byte)(unsafe.Pointer(C.eg_blazeface_input(b))), blazeSize*blazeSize*3*4)
	input, err := gocv.NewMatFromBytes(blazeSize, blazeSize, gocv.MatTypeCV32FC3, in)
	if err != nil {
		C.eg_blazeface_free(b)
		return nil, fmt.Errorf("anonymise: BlazeFace: %w", err)
	}
	return &BlazeFace{
		cfg:   cfg,
		b:     b,
		input: input,
		c8:    gocv.NewMatWithSize(blazeSize, blazeSize, gocv.MatTypeCV8UC3),
		rgb:   gocv.NewMatWithSize(blazeSize, blazeSize, gocv.MatTypeCV8UC3),
		s16:   make([]float32, n16),
		s8:    make([]float32, n8),
		b16:   make([]float32, n16*boxStride),
		b8:    make([]float32, n8*boxStride),
		err:   errbuf,
	}, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// autoLevels picks the pyramid depth so that the finest tiles are at most
// about 600 pixels across: there BlazeFace's smallest reliable face (about
// 16 px of its 256 px input) is about 40 px in the frame.
func autoLevels(w, h int) int {
	m := max(w, h)
	n := (m + 599) / 600
	return min(max(n, 1), 4)
}

// layout computes the tile pyramid for a frame size once.
func (d *BlazeFace) layout(w, h int) []image.Rectangle {
	if d.tilesFor == image.Pt(w, h) && d.tiles != nil {
		return d.tiles
	}
	levels := d.cfg.Levels
	if levels == 0 {
		levels = autoLevels(w, h)
	}
	d.tiles = d.tiles[:0]
	d.tiles = append(d.tiles, image.Rect(0, 0, w, h))
	for k := 2; k <= levels; k++ {
		// k tiles per axis, each 1/k of the frame plus 25% overlap so a
		// face cut by one tile's edge is whole in its neighbour.
		tw := min(w, int(math.Ceil(float64(w)/float64(k)*1.25)))
		th := min(h, int(math.Ceil(float64(h)/float64(k)*1.25)))
		for j := 0; j < k; j++ {
			for i := 0; i < k; i++ {
				x := (w - tw) * i / (k - 1)
				y := (h - th) * j / (k - 1)
				d.tiles = append(d.tiles, image.Rect(x, y, x+tw, y+th))
			}
		}
	}
	d.tilesFor = image.Pt(w, h)
	return d.tiles
}

// Detect returns face boxes in frame pixels; the slice is reused by the
// next call.
func (d *BlazeFace) Detect(bgr gocv.Mat) ([]image.Rectangle, error) {
	if bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("anonymise: BlazeFace: need a non-empty BGR frame, got type %v", bgr.Type())
	}
	w, h := bgr.Cols(), bgr.Rows()
	d.cands = d.cands[:0]
	for _, t := range d.layout(w, h) {
		if err := d.runTile(bgr, t); err != nil {
			return nil, err
		}
	}
	d.out = mergeBoxes(d.cands, w, h, d.out[:0])
	return d.out, nil
}

func (d *BlazeFace) runTile(bgr gocv.Mat, t image.Rectangle) error {
	// Letterbox: keep the aspect ratio, pad bottom/right with black.
	scale := float64(blazeSize) / float64(max(t.Dx(), t.Dy()))
	rw := min(blazeSize, max(1, int(math.Round(float64(t.Dx())*scale))))
	rh := min(blazeSize, max(1, int(math.Round(float64(t.Dy())*scale))))
	d.c8.SetTo(gocv.Scalar{})
	src := bgr.Region(t)
	dst := d.c8.Region(image.Rect(0, 0, rw, rh))
	interp := gocv.InterpolationArea
	if scale > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(src, &dst, image.Pt(rw, rh), 0, 0, interp)
	src.Close()
	dst.Close()
	gocv.CvtColor(d.c8, &d.rgb, gocv.ColorBGRToRGB)
	d.rgb.ConvertToWithParams(&d.input, gocv.MatTypeCV32FC3, 1/127.5, -1)

	rc := C.eg_blazeface_forward(d.b,
		(*C.float)(unsafe.Pointer(&d.s16[0])), (*C.float)(unsafe.Pointer(&d.s8[0])),
		(*C.float)(unsafe.Pointer(&d.b16[0])), (*C.float)(unsafe.Pointer(&d.b8[0])),
		(*C.char)(unsafe.Pointer(&d.err[0])), C.size_t(len(d.err)))
	if rc != 0 {
		return fmt.Errorf("anonymise: BlazeFace forward: %s", cString(d.err))
	}
	// Scores are logits: compare with the logit of the threshold instead
	// of taking 896 sigmoids.
	logit := math.Log(d.cfg.Threshold / (1 - d.cfg.Threshold))
	d.decode(d.s16, d.b16, grid16, perCell16, logit, t, scale)
	d.decode(d.s8, d.b8, grid8, perCell8, logit, t, scale)
	return nil
}

func (d *BlazeFace) decode(scores, boxes []float32, grid, perCell int, logit float64, t image.Rectangle, scale float64) {
	for i, s := range scores {
		if float64(s) < logit {
			continue
		}
		cell := i / perCell
		ax := (float64(cell%grid) + 0.5) / float64(grid) * blazeSize
		ay := (float64(cell/grid) + 0.5) / float64(grid) * blazeSize
		b := boxes[i*boxStride : i*boxStride+4]
		cx := ax + float64(b[0])
		cy := ay + float64(b[1])
		bw, bh := float64(b[2]), float64(b[3])
		if !(bw > 0 && bh > 0) || math.IsInf(cx, 0) || math.IsInf(cy, 0) {
			continue
		}
		// Input pixels → frame pixels.
		r := rect{
			x0: float64(t.Min.X) + (cx-bw/2)/scale,
			y0: float64(t.Min.Y) + (cy-bh/2)/scale,
			x1: float64(t.Min.X) + (cx+bw/2)/scale,
			y1: float64(t.Min.Y) + (cy+bh/2)/scale,
		}
		d.cands = append(d.cands, candidate{r: r, score: 1 / (1 + math.Exp(-float64(s)))})
	}
}

// Close frees the network and buffers.
func (d *BlazeFace) Close() error {
	if d.b == nil {
		return nil
	}
	d.input.Close()
	d.c8.Close()
	d.rgb.Close()
	C.eg_blazeface_free(d.b)
	d.b = nil
	return nil
}
