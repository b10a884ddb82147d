package flow

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "dis.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"gocv.io/x/gocv"
)

// DIS (dense inverse search) settings: OpenCV's fastest preset, but down
// to the full flow resolution (finest scale 1 of a pyramid that halves;
// the preset's 2 measures the speed of a 30 px tall figure about 45 %
// low). Five to ten times cheaper than Farnebäck on the same rectangles.
const (
	disPreset      = 0 // cv::DISOpticalFlow::PRESET_ULTRAFAST
	disFinestScale = 1
)

// minDISSide is the smallest rectangle side the flow is computed on; see
// dis.h. Frames smaller than that have no flow (violent_motion stays off).
const minDISSide = C.EG_DIS_MIN_SIDE

// dis is one cv::DISOpticalFlow with its buffers; not safe for concurrent
// use (each Stage has its own).
type dis struct{ p C.EgDIS }

func newDIS() (*dis, error) {
	p := C.eg_dis_new(disPreset, disFinestScale)
	if p == nil {
		return nil, errors.New("flow: cannot create the DIS optical flow")
	}
	return &dis{p: p}, nil
}

// calc writes the flow from prev to cur inside r into the same rectangle
// of flow.
func (d *dis) calc(prev, cur, flow gocv.Mat, r image.Rectangle) error {
	switch C.eg_dis_calc(d.p, unsafe.Pointer(prev.Ptr()), unsafe.Pointer(cur.Ptr()), unsafe.Pointer(flow.Ptr()),
		C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy())) {
	case 0:
		return nil
	case -1:
		return fmt.Errorf("flow: rectangle %v outside the frame, under %d px a side, or frames of the wrong type", r, minDISSide)
	default:
		return errors.New("flow: OpenCV failed computing the optical flow")
	}
}

func (d *dis) close() {
	if d.p != nil {
		C.eg_dis_close(d.p)
		d.p = nil
	}
}
