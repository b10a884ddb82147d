package motion

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "mog2.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"gocv.io/x/gocv"
)

// mog2 wraps cv::BackgroundSubtractorMOG2 directly because gocv v0.31's
// wrapper cannot pass a learning rate, and the detector must re-learn quickly
// after a light change instead of waiting a whole history.
type mog2 struct {
	p C.EgMOG2
}

func newMOG2(history int, varThreshold, shadowThreshold float64) (*mog2, error) {
	p := C.eg_mog2_new(C.int(history), C.double(varThreshold), C.double(shadowThreshold))
	if p == nil {
		return nil, errors.New("motion: cannot create MOG2")
	}
	return &mog2{p: p}, nil
}

// apply updates the model with src and writes the foreground mask (255
// foreground, 127 shadow, 0 background) to dst. A negative learningRate lets
// OpenCV choose (1/min(2·frames, history)).
func (m *mog2) apply(src gocv.Mat, dst *gocv.Mat, learningRate float64) error {
	if C.eg_mog2_apply(m.p, unsafe.Pointer(src.Ptr()), unsafe.Pointer(dst.Ptr()), C.double(learningRate)) != 0 {
		return errors.New("motion: MOG2 apply failed")
	}
	return nil
}

func (m *mog2) close() {
	if m.p != nil {
		C.eg_mog2_close(m.p)
		m.p = nil
	}
}
