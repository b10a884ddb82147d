package oversight

import "sync"

// Recent remembers the type and camera of the last events published, so
// that a review names the type it is counted under
// (edgeguard_reviews_total{camera,type,verdict}) without the operator
// having to repeat it, and a review of an event the box never sent (or
// long forgot) is refused. Bounded: the oldest is forgotten first.
// Safe for concurrent use.
type Recent struct {
	mu    sync.Mutex
	max   int
	order []string // event ids, oldest first (a ring)
	next  int
	types map[string]Known
}

// Known is what Recent keeps of an event.
type Known struct{ Camera, Type string }

// NewRecent keeps the last max events (at least 1).
func NewRecent(n int) *Recent {
	n = max(n, 1)
	return &Recent{max: n, order: make([]string, 0, n), types: map[string]Known{}}
}

// Add remembers an event (a situation's id; later phases add nothing).
func (r *Recent) Add(eventID string, k Known) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.types[eventID]; ok {
		return
	}
	if len(r.order) < r.max {
		r.order = append(r.order, eventID)
	} else {
		delete(r.types, r.order[r.next])
		r.order[r.next] = eventID
		r.next = (r.next + 1) % r.max
	}
	r.types[eventID] = k
}

// Lookup is what is known of eventID.
func (r *Recent) Lookup(eventID string) (Known, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.types[eventID]
	return k, ok
}
