package person

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "hog.h"
*/
import "C"

import (
	"errors"
	"image"
	"unsafe"

	"gocv.io/x/gocv"
)

// maxHits caps the detections one crop can return, so the buffers below
// never grow.
const maxHits = 16

// hog is one cv::HOGDescriptor with the default people detector and its
// buffers: gocv's wrapper allocates a Go slice per call and drops scores.
type hog struct {
	p      C.EgHOG
	rects  [4 * maxHits]C.int
	scores [maxHits]C.double
}

func newHOG() (*hog, error) {
	p := C.eg_hog_new()
	if p == nil {
		return nil, errors.New("person: cannot create the HOG people detector")
	}
	return &hog{p: p}, nil
}

// hit is one detection in frame pixels with its score (HOG: the SVM's;
// NanoDet: the class probability) and class (HOG: always a person).
type hit struct {
	r     image.Rectangle
	score float64
	class Class
}

// detect scales the crop roi of grey by factor and runs the detector; it
// appends the windows it found (in grey's pixels) to dst.
func (h *hog) detect(grey gocv.Mat, roi image.Rectangle, factor float64, p params, dst []hit) ([]hit, error) {
	n := C.eg_hog_detect(h.p, unsafe.Pointer(grey.Ptr()),
		C.int(roi.Min.X), C.int(roi.Min.Y), C.int(roi.Dx()), C.int(roi.Dy()), C.double(factor),
		C.double(p.hitThreshold), C.int(p.stride), C.double(p.pyramid), C.double(p.group),
		&h.rects[0], &h.scores[0], C.int(maxHits))
	if n < 0 {
		return dst, errors.New("person: HOG detection failed")
	}
	for i := 0; i < int(n); i++ {
		x, y := int(h.rects[4*i]), int(h.rects[4*i+1])
		w, hh := int(h.rects[4*i+2]), int(h.rects[4*i+3])
		dst = append(dst, hit{r: image.Rect(x, y, x+w, y+hh), score: float64(h.scores[i]), class: ClassPerson})
	}
	return dst, nil
}

func (h *hog) close() {
	if h.p != nil {
		C.eg_hog_close(h.p)
		h.p = nil
	}
}

// params are the detectMultiScale parameters.
type params struct {
	hitThreshold float64
	stride       int
	pyramid      float64
	group        float64
}
