package outbox

import (
	"maps"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// LatencyBounds are the upper bounds of the buckets of
// CameraEvents.Latency: one analysis interval (~200 ms at 5 fps) on either
// side, up to a stalled pipeline.
var LatencyBounds = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Kind is an event's type and phase.
type Kind struct {
	Type  string
	Phase event.Phase
}

// CameraEvents are the events of one camera that Event accepted since New
// (the ends New queued for situations the previous run left open
// included), whatever the guard then decides about them.
type CameraEvents struct {
	// Queued counts them by type and phase.
	Queued map[Kind]uint64
	// Latency is how long after the arrival of the frame that caused it
	// (event.At) each start and update was queued. Ends are not in it: an
	// end is reported after the quiet time, so its age says nothing about
	// the pipeline's speed.
	Latency Latency
}

// Latency is a histogram of durations over LatencyBounds.
type Latency struct {
	// Buckets[i] counts the durations above LatencyBounds[i-1] up to
	// LatencyBounds[i] (not cumulative); Count-sum(Buckets) are above the
	// last bound.
	Buckets [len(LatencyBounds)]uint64
	Count   uint64
	Sum     time.Duration
}

func (l *Latency) observe(d time.Duration) {
	l.Count++
	l.Sum += d
	for i, b := range LatencyBounds {
		if d <= b {
			l.Buckets[i]++
			return
		}
	}
}

// cameraCounts is what the outbox counts per camera; Event updates it
// under o.mu (map lookups, no allocation once a kind was seen).
type cameraCounts struct {
	queued  map[Kind]uint64
	latency Latency
}

// countEvent counts ev, queued at queued. Called with o.mu held.
func (o *Outbox) countEvent(ev *event.Event, queued time.Time) {
	c := o.cams[ev.Camera]
	if c == nil {
		c = &cameraCounts{queued: map[Kind]uint64{}}
		o.cams[ev.Camera] = c
	}
	c.queued[Kind{Type: ev.Type, Phase: ev.Phase}]++
	if ev.Phase != event.PhaseEnd && !ev.At.IsZero() {
		c.latency.observe(max(queued.Sub(ev.At.Time), 0))
	}
}

// CameraEvents returns the counts of camera's events (zero before its
// first).
func (o *Outbox) CameraEvents(camera string) CameraEvents {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.cams[camera]
	if c == nil {
		return CameraEvents{}
	}
	return CameraEvents{Queued: maps.Clone(c.queued), Latency: c.latency}
}
