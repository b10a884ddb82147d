// Package cruntime holds the process-wide settings of the C libraries under
// the pipeline (OpenCV's thread pool, glibc's allocator), chosen for a box
// that runs many cameras on few cores.
//
// OpenCV's own thread pool (TBB on Debian) splits one image operation over
// all cores. With many cameras the cores are busy anyway, each camera's
// goroutine being one unit of parallelism; the pool then only adds
// hand-offs, and its idle worker spins in sched_yield waiting for the next
// split. glibc returns freed heap to the kernel as soon as the top of the
// heap is 2 × the current mmap threshold free, so OpenCV's per-call
// temporaries (pyramids, DFT buffers) are unmapped and page-faulted back in
// on every analysed frame.
package cruntime

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "cruntime.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// Config is the settings; the zero Config keeps each library's defaults.
type Config struct {
	// OpenCVThreads is how many threads one OpenCV call may use (1: the
	// calling thread only); 0 leaves OpenCV's default (all cores).
	OpenCVThreads int
	// KeepHeap makes glibc serve allocations up to 32 MiB from its heap
	// and keep up to 64 MiB of freed heap, so that a per-frame temporary
	// is reused rather than unmapped and faulted in afresh; false leaves
	// glibc's defaults.
	KeepHeap bool
}

// Defaults are the settings the service runs with.
var Defaults = Config{OpenCVThreads: 1, KeepHeap: true}

const (
	// mmapThreshold is glibc's own upper bound for its dynamic threshold
	// (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit): a 1080p frame is below it.
	mmapThreshold = 32 << 20
	// heapKeep: how much free heap top glibc keeps before trimming; about
	// the temporaries of a few cameras' analysis.
	heapKeep = 64 << 20
)

// Apply sets cfg for the whole process. Call it once at start, before the
// cameras run.
func Apply(cfg Config) error {
	var err error
	if cfg.OpenCVThreads < 0 {
		return fmt.Errorf("cruntime: OpenCV threads %d < 0", cfg.OpenCVThreads)
	}
	if cfg.OpenCVThreads > 0 {
		if got := int(C.eg_opencv_set_threads(C.int(cfg.OpenCVThreads))); got != cfg.OpenCVThreads {
			err = errors.Join(err, fmt.Errorf("cruntime: OpenCV runs %d threads, not %d", got, cfg.OpenCVThreads))
		}
	}
	if cfg.KeepHeap && C.eg_malloc_keep(mmapThreshold, heapKeep) != 0 {
		err = errors.Join(err, errors.New("cruntime: the C allocator refused its thresholds"))
	}
	return err
}

// OpenCVThreads is OpenCV's current thread count (cv::getNumThreads).
func OpenCVThreads() int { return int(C.eg_opencv_get_threads()) }
