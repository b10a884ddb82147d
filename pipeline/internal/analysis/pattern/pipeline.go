package pattern

import (
	"image"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// Pipeline is the per-camera glue from the motion detector to situations:
// blobs → tracks (when a rule needs them) → rules → lifecycle. The camera analyser and the
// evaluation both call Frame with the motion detector's result, so the
// evaluation measures exactly what the service runs.
type Pipeline struct {
	needs   Needs
	tracker *track.Tracker
	engine  *Engine
	boxes   []track.Box
	tracks  []track.Track
	persons personMemory
}

// NewPipeline builds a pipeline for one camera.
func NewPipeline(tc track.Config, rules ...Rule) (*Pipeline, error) {
	tr, err := track.New(tc)
	if err != nil {
		return nil, prefix("tracker", err)
	}
	e, err := NewEngine(rules...)
	if err != nil {
		return nil, err
	}
	return &Pipeline{needs: NeedsOf(rules), tracker: tr, engine: e}, nil
}

// Needs is what the pipeline's rules need measured on each frame.
func (p *Pipeline) Needs() Needs { return p.needs }

// Frame feeds one analysis frame: the motion blobs in pixels of a w×h frame
// and the frame info (warm-up, light change, statistics). While the motion
// detector is warming up or re-learning after a light change its blobs mean
// nothing, so the tracks are held as they were rather than starved.
// The returned events are reused by the next call.
func (p *Pipeline) Frame(now time.Time, blobs []image.Rectangle, f FrameInfo) []Event {
	if f.Stats.Valid && f.Stats.Shift > ShiftHold {
		// The view moved: every pixel changed, blobs are not objects.
		// Hold the tracks until the view is back or re-learnt; the tamper
		// rule reports the move.
		f.LightChange = true
	}
	p.boxes = p.boxes[:0]
	if f.Width > 0 && f.Height > 0 {
		fw, fh := float64(f.Width), float64(f.Height)
		for _, b := range blobs {
			p.boxes = append(p.boxes, track.Box{
				X: float64(b.Min.X) / fw, Y: float64(b.Min.Y) / fh,
				W: float64(b.Dx()) / fw, H: float64(b.Dy()) / fh,
			})
		}
	}
	f.Blobs = p.boxes
	if p.needs.Scene && !f.Warmup && !f.LightChange && f.Width > 0 && f.Height > 0 {
		p.tracks = p.tracker.Update(now, p.boxes)
		if f.PersonsValid {
			p.persons.update(p.tracks, f)
		}
	}
	if p.persons.ev != nil {
		f.persons = &p.persons
	}
	return p.engine.Observe(now, p.tracks, f)
}

// ShiftHold is the global shift (fraction of the frame width) above which
// blobs are ignored: about two pixels at 160 wide, well above the jitter of a
// fixed camera.
const ShiftHold = 0.012

// Tracks returns the current confirmed tracks (for tests and debugging
// views; never published).
func (p *Pipeline) Tracks() []track.Track { return p.tracks }

// Flush ends every running situation.
func (p *Pipeline) Flush() []Event { return p.engine.Flush() }
