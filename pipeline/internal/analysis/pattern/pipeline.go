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
	// changing: the previous frame was a light change (or a moved view).
	changing bool
	// ended are the tracks End asked to end, for the next Frame's rules.
	ended []trackKey
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
	return &Pipeline{needs: NeedsOf(rules), tracker: tr, engine: e, ended: make([]trackKey, 0, maxEnded)}, nil
}

// maxEnded caps the tracks ended per frame that the rules are told of
// (the still hold ends at most one per frame).
const maxEnded = 8

// Needs is what the pipeline's rules need measured on each frame.
func (p *Pipeline) Needs() Needs { return p.needs }

// Frame feeds one analysis frame: the motion blobs in pixels of a w×h frame
// and the frame info (warm-up, light change, statistics). While the motion
// detector is warming up or re-learning after a light change its blobs mean
// nothing, so the tracks are held as they were rather than starved.
// The returned events are reused by the next call.
func (p *Pipeline) Frame(now time.Time, blobs []image.Rectangle, f FrameInfo) []Event {
	if f.Suspension() == SuspendedViewMoved {
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
	if p.needs.Scene && f.LightChange && !p.changing && !f.Warmup {
		// The frame before the change was flagged was already part of it
		// (track.Tracker.Rewind).
		p.tracks = p.tracker.Rewind()
	}
	p.changing = f.LightChange
	if p.needs.Scene && !f.Warmup && !f.LightChange && f.Width > 0 && f.Height > 0 {
		p.tracks = p.tracker.Update(now, p.boxes)
		if f.PersonsValid {
			p.persons.update(p.tracks, f)
		}
	}
	if p.persons.ev != nil {
		f.persons = &p.persons
	}
	f.ended = p.ended
	f.tracker = p.tracker
	ev := p.engine.Observe(now, p.tracks, f)
	p.ended = p.ended[:0]
	return ev
}

// Hold asks the tracker to keep the confirmed track id at b on the next
// Frame if no blob comes for it (track.Tracker.Hold).
func (p *Pipeline) Hold(id int, b track.Box) bool { return p.tracker.Hold(id, b) }

// End asks the tracker to end track id on the next Frame
// (track.Tracker.End). The caller decided that the track no longer stands
// for the object it followed (nobody is where it stood, or someone else
// is): the rules are told (FrameInfo.ended), and loitering hands its
// dwell to nobody.
func (p *Pipeline) End(id int) bool {
	if !p.tracker.End(id) {
		return false
	}
	for i := range p.tracks {
		if p.tracks[i].ID == id && len(p.ended) < cap(p.ended) {
			p.ended = append(p.ended, keyOf(&p.tracks[i]))
		}
	}
	return true
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

// Suspension says why the rules cannot judge the blobs of a frame, or
// judge them with a lesser guarantee. The camera shows the current one in
// its status and counts the time spent in each (docs/patterns.md,
// "Suspended rules"): a camera whose rules see nothing must not look like a
// quiet scene.
type Suspension uint8

const (
	// NotSuspended: the rules judge the frame.
	NotSuspended Suspension = iota
	// SuspendedWarmup: the motion detector is still learning the
	// background (the first seconds after a start or a new frame size).
	SuspendedWarmup
	// SuspendedLightChange: most of the frame changed at once (lights,
	// auto exposure, a cloud) and the background model re-learns.
	SuspendedLightChange
	// SuspendedViewMoved: the view is displaced against its reference;
	// blobs are the whole picture moving, not objects. Tracks are held.
	SuspendedViewMoved
	// SuspendedLowTexture: the view has too little structure to measure a
	// displacement (FrameStats.LowTexture). The rules keep judging the
	// blobs; only a moved camera cannot be noticed.
	SuspendedLowTexture
	// SuspensionReasons is the number of values, NotSuspended included:
	// the size of an array indexed by Suspension.
	SuspensionReasons = iota
)

// Suspensions are every reason, NotSuspended excluded, in order.
var Suspensions = []Suspension{SuspendedWarmup, SuspendedLightChange, SuspendedViewMoved, SuspendedLowTexture}

// String is the reason as status, logs and metrics name it.
func (s Suspension) String() string {
	switch s {
	case SuspendedWarmup:
		return "warmup"
	case SuspendedLightChange:
		return "light_change"
	case SuspendedViewMoved:
		return "view_moved"
	case SuspendedLowTexture:
		return "low_texture"
	}
	return ""
}

// Blind reports whether the rules ignore the blobs while it holds (all
// reasons but low texture, under which they still run).
func (s Suspension) Blind() bool {
	return s != NotSuspended && s != SuspendedLowTexture
}

// Suspension is why the rules cannot fully judge this frame; the first
// that holds of warm-up, light change, a moved view and a view without
// texture. A shift is a moved view only when it was measured: on a view
// without texture it is noise.
func (f FrameInfo) Suspension() Suspension {
	switch {
	case f.Warmup:
		return SuspendedWarmup
	case f.LightChange:
		return SuspendedLightChange
	case f.Stats.Valid && f.Stats.LowTexture:
		return SuspendedLowTexture
	case f.Stats.Valid && f.Stats.Shift > ShiftHold:
		return SuspendedViewMoved
	}
	return NotSuspended
}
