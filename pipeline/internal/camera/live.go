package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
)

// The web console's live view asks a camera for its current picture on
// demand, the way a situation's start asks for a snapshot: a request the
// decode goroutine answers with the next decoded picture, scaled to the
// analysis size in BGR and with the privacy zones filled (invariant 2).
// Nothing is produced while nobody asks.

// ErrNoLiveFrame: the camera has no session delivering pictures now, or
// the request ended before one arrived.
var ErrNoLiveFrame = errors.New("camera: no current picture (not streaming)")

// LiveFrame is one current picture for the live view: BGR at the analysis
// size, privacy zones filled. Blobs are the moving areas of the latest
// analysed frame in the frame's pixels (the anonymiser covers them when
// the policy covers persons). The receiver owns Frame and closes it.
type LiveFrame struct {
	Frame gocv.Mat
	Blobs []image.Rectangle
	// BlobsKnown: analysis noted the moving areas within the last second
	// (not right after the first request: then Blobs says nothing).
	BlobsKnown bool
}

// liveState is a camera's side of the live view.
type liveState struct {
	ask sync.Mutex // one request at a time
	req atomic.Pointer[liveRequest]
	// wanted is when a live frame was last asked for (unix ns): while it
	// is recent, analysis keeps the latest blobs for the live view.
	wanted atomic.Int64
	blobs  atomic.Pointer[notedBlobs]
}

// notedBlobs are an analysed frame's moving areas, normalised, and when.
type notedBlobs struct {
	boxes []track.Box
	at    time.Time
}

// liveRequest is answered exactly once by the decode goroutine that took
// it from liveState.req.
type liveRequest struct{ done chan liveAnswer }

type liveAnswer struct {
	f   LiveFrame
	err error
}

// liveBlobsFor is how long after the last request analysis keeps blobs.
const liveBlobsFor = 5 * time.Second

// LiveFrame returns the next decoded picture, zones filled, or an error
// that is ErrNoLiveFrame when none comes before ctx ends. Callers take
// turns.
func (c *Camera) LiveFrame(ctx context.Context) (LiveFrame, error) {
	c.live.ask.Lock()
	defer c.live.ask.Unlock()
	c.live.wanted.Store(time.Now().UnixNano())
	r := &liveRequest{done: make(chan liveAnswer, 1)}
	c.live.req.Store(r)
	select {
	case a := <-r.done:
		return a.f, a.err
	case <-ctx.Done():
		if c.live.req.CompareAndSwap(r, nil) {
			return LiveFrame{}, fmt.Errorf("%w: %w", ErrNoLiveFrame, ctx.Err())
		}
		// The decode goroutine took it: its answer comes at once.
		a := <-r.done
		return a.f, a.err
	}
}

// noteBlobs keeps the analysed frame's moving areas (the motion
// detector's boxes in a w×h frame), normalised, while the live view is
// watched (called by analysis for every frame; no allocation when not).
func (l *liveState) noteBlobs(boxes []image.Rectangle, w, h int) {
	if w <= 0 || h <= 0 || time.Since(time.Unix(0, l.wanted.Load())) > liveBlobsFor {
		return
	}
	cp := make([]track.Box, 0, len(boxes))
	for _, b := range boxes {
		cp = append(cp, track.Box{X: float64(b.Min.X) / float64(w), Y: float64(b.Min.Y) / float64(h),
			W: float64(b.Dx()) / float64(w), H: float64(b.Dy()) / float64(h)})
	}
	l.blobs.Store(&notedBlobs{boxes: cp, at: time.Now()})
}

// answerLive scales the current picture for a waiting live request, fills
// the zones, and hands it over. On the decode goroutine.
func (c *Camera) answerLive(dec *codec.Decoder, r *liveRequest, srcW, srcH int) error {
	w, h := analysisSize(srcW, srcH, c.cfg.AnalysisWidth)
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	buf, err := frame.DataPtrUint8()
	if err == nil {
		err = dec.ScaleBGR(buf, w, h, w*3)
	}
	if err != nil {
		frame.Close()
		err = fmt.Errorf("scale live frame: %w", err)
		r.done <- liveAnswer{err: err}
		return err
	}
	if err := c.zones.Load().Apply(frame, privacymask.BGR); err != nil {
		// Fail closed, as for analysis frames: the session ends.
		frame.Close()
		err = fmt.Errorf("privacy zones: %w", err)
		r.done <- liveAnswer{err: err}
		return err
	}
	var blobs []image.Rectangle
	known := false
	if p := c.live.blobs.Load(); p != nil && time.Since(p.at) < time.Second {
		known = true
		for _, b := range p.boxes {
			blobs = append(blobs, image.Rect(int(b.X*float64(w)), int(b.Y*float64(h)),
				int((b.X+b.W)*float64(w)+0.999), int((b.Y+b.H)*float64(h)+0.999)))
		}
	}
	r.done <- liveAnswer{f: LiveFrame{Frame: frame, Blobs: blobs, BlobsKnown: known}}
	return nil
}
