package camera

import (
	"sync"

	"gocv.io/x/gocv"
)

// framePool recycles analysis-size grey Mats between the decode and the
// analysis goroutine, so the per-frame path allocates no C memory. It owns
// every Mat it ever made and closes them in Close.
type framePool struct {
	mu     sync.Mutex
	w, h   int
	free   []*gocv.Mat
	all    []*gocv.Mat
	closed bool
}

// get returns a w×h CV_8UC1 Mat, reusing a free one of that size.
func (p *framePool) get(w, h int) *gocv.Mat {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w != p.w || h != p.h {
		// Size changed (resolution change mid-stream): drop the free Mats of
		// the old size; ones still in use are closed when they come back.
		for _, m := range p.free {
			p.forget(m)
			m.Close()
		}
		p.free = p.free[:0]
		p.w, p.h = w, h
	}
	if n := len(p.free); n > 0 {
		m := p.free[n-1]
		p.free = p.free[:n-1]
		return m
	}
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8U)
	p.all = append(p.all, &m)
	return &m
}

// put gives a Mat back.
func (p *framePool) put(m *gocv.Mat) {
	if m == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || m.Cols() != p.w || m.Rows() != p.h {
		p.forget(m)
		m.Close()
		return
	}
	p.free = append(p.free, m)
}

func (p *framePool) forget(m *gocv.Mat) {
	for i, x := range p.all {
		if x == m {
			p.all = append(p.all[:i], p.all[i+1:]...)
			return
		}
	}
}

// Close closes every Mat the pool made.
func (p *framePool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.all {
		m.Close()
	}
	p.all, p.free, p.closed = nil, nil, true
}

// analysisFrame is one masked grey frame waiting for analysis.
type analysisFrame struct {
	mat *gocv.Mat
	at  int64 // wall-clock capture time, Unix nanoseconds
}

// latestSlot hands frames from the decode goroutine to the analysis
// goroutine keeping only the newest: when analysis falls behind, older
// frames are dropped (and counted), never queued without bound.
type latestSlot struct {
	mu      sync.Mutex
	frame   analysisFrame
	full    bool
	ready   chan struct{}
	dropped func(*gocv.Mat)
}

func newLatestSlot(dropped func(*gocv.Mat)) *latestSlot {
	return &latestSlot{ready: make(chan struct{}, 1), dropped: dropped}
}

// offer stores f, dropping a frame that was not taken yet.
func (s *latestSlot) offer(f analysisFrame) {
	s.mu.Lock()
	old, hadOld := s.frame, s.full
	s.frame, s.full = f, true
	s.mu.Unlock()
	if hadOld {
		s.dropped(old.mat)
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// take returns the newest frame, if any.
func (s *latestSlot) take() (analysisFrame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.full {
		return analysisFrame{}, false
	}
	f := s.frame
	s.frame, s.full = analysisFrame{}, false
	return f, true
}
