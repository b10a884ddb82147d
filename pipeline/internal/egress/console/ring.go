package console

import (
	"sync"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Ring holds the newest events the egress guard published, as it
// published them (egress.Guard.EventAsPublished), for /api/events. It is
// memory only and bounded: the box keeps no event history (the outbox
// deletes what was delivered); the ring forgets the oldest first.
type Ring struct {
	mu   sync.Mutex
	buf  []event.Event
	next int
	full bool
}

// NewRing holds the newest n events (n < 1 → 1000).
func NewRing(n int) *Ring {
	if n < 1 {
		n = 1000
	}
	return &Ring{buf: make([]event.Event, n)}
}

// Add records an event the guard published.
func (r *Ring) Add(ev event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = ev
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Recent returns up to limit events, newest first, of camera and type (""
// for any).
func (r *Ring) Recent(camera, typ string, limit int) []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Event
	r.each(func(ev event.Event) bool {
		if (camera == "" || ev.Camera == camera) && (typ == "" || ev.Type == typ) {
			out = append(out, ev)
		}
		return len(out) < limit
	})
	return out
}

// Last is camera's newest event.
func (r *Ring) Last(camera string) (event.Event, bool) {
	evs := r.Recent(camera, "", 1)
	if len(evs) == 0 {
		return event.Event{}, false
	}
	return evs[0], true
}

// each calls f on the events newest first while it returns true.
func (r *Ring) each(f func(event.Event) bool) {
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	for i := range n {
		j := r.next - 1 - i
		if j < 0 {
			j += len(r.buf)
		}
		if !f(r.buf[j]) {
			return
		}
	}
}
