package egress

import (
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Reason says why the guard withheld an event.
type Reason int

// Reasons for withholding an event; Stats counts each.
const (
	ReasonNone     Reason = iota
	ReasonType            // the policy does not allow the event type
	ReasonSchedule        // the event happened outside the policy's schedule
	ReasonRate            // over the policy's max_events_per_minute
)

func (r Reason) String() string {
	switch r {
	case ReasonType:
		return "type"
	case ReasonSchedule:
		return "schedule"
	case ReasonRate:
		return "rate"
	}
	return "none"
}

func (r Reason) err() error {
	switch r {
	case ReasonType:
		return ErrTypeNotAllowed
	case ReasonSchedule:
		return ErrOutsideSchedule
	case ReasonRate:
		return ErrRateLimited
	}
	return nil
}

// Bounds on the limiter's memory. Situations are forgotten when they end;
// these only matter when ends never come (a camera that died mid-situation).
const (
	maxOpenSituations = 4096
	situationStale    = 24 * time.Hour // no message for this long: forgotten
	// maxEndedSituations is how many admitted situations are remembered
	// after their end, for their snapshot (see limiter.imageVerdict). The
	// outbox queues an image right behind its start, so only the
	// situations that end between the two need to be remembered: a few
	// per second at most while an image is being anonymised. 4096 ids are
	// a few hundred KiB.
	maxEndedSituations = 4096
)

// limiter enforces the policy's egress.max_events_per_minute and keeps
// every situation whole: a situation whose start was withheld (by type,
// schedule or rate) has all its later updates and its end withheld too, so
// a consumer never sees an end, or an update, without its start.
//
// Scope: one token bucket per camera and event type, not one per device.
// With one bucket per device a single busy camera (a crowd, a flickering
// light) would use up the budget and silence every other camera, which is
// exactly when the others matter; per camera and type, a busy camera can
// only exhaust its own budget, and a flood of one type cannot hide another
// (tamper during a motion storm). The price: the device as a whole can send
// up to cameras × types × the limit.
//
// The bucket holds max(N, 2) tokens and refills at N per minute, where N is
// the policy's limit, so over any long period at most N messages per minute
// leave per camera and type; bursts are bounded by the bucket size. Every
// message costs one token:
//   - a start takes two, its own and its end's, so an admitted situation
//     can always be closed; without two tokens the whole situation is
//     withheld;
//   - an update is the first to go: it is sent only if afterwards two tokens
//     remain, room for the start and end of a new situation, otherwise it is
//     thinned out (dropped, counted as rate);
//   - an end is prepaid and always sent if its start was.
//
// Time is the event's At, not the wall clock, so events an outbox delivers
// late after an outage get the same decision they would have got live, and
// tests need no sleeps.
//
// A message the guard already admitted once (same ID) is admitted again
// without a charge: the outbox retries a publish that failed for network
// reasons and must not be thinned for it.
//
// Snapshots are judged by their situation (imageVerdict): an image may
// leave only if this guard admitted its situation's start. That is fail
// closed for an image that arrives before its start was judged, or whose
// start this guard never saw (dropped by the outbox, sent before a
// restart): its situation is unknown, and unknown is refused. Because a
// short situation can end before its image is delivered, the ids of the
// last maxEndedSituations admitted situations are kept after their end.
//
// limiter is not safe for concurrent use; the guard holds a lock.
type limiter struct {
	buckets map[bucketKey]*bucket
	open    map[string]*situation // by EventID
	// ended holds the admitted situations that ended, by EventID; ring
	// is the same ids in the order they ended (a fixed ring, so the
	// oldest is forgotten first and memory never grows).
	ended   map[string]struct{}
	ring    []string
	ringPos int
}

type bucketKey struct{ camera, typ string }

type bucket struct {
	tokens float64
	last   time.Time
}

type situation struct {
	withheld Reason // ReasonNone: admitted
	lastID   string // last message admitted (retries are free)
	seen     time.Time
}

func newLimiter() *limiter {
	return &limiter{buckets: map[bucketKey]*bucket{}, open: map[string]*situation{}, ended: map[string]struct{}{}}
}

// end forgets the open situation eventID; if it was admitted, it is
// remembered as ended so that its snapshot may still follow.
func (l *limiter) end(eventID string) {
	s, ok := l.open[eventID]
	if !ok {
		return
	}
	delete(l.open, eventID)
	if s.withheld != ReasonNone {
		return
	}
	if _, dup := l.ended[eventID]; dup {
		return
	}
	if len(l.ring) < maxEndedSituations {
		l.ring = append(l.ring, eventID)
	} else {
		delete(l.ended, l.ring[l.ringPos])
		l.ring[l.ringPos] = eventID
		l.ringPos = (l.ringPos + 1) % maxEndedSituations
	}
	l.ended[eventID] = struct{}{}
}

// verdict is what the limiter knows about a situation, for its snapshot.
type verdict int

const (
	verdictUnknown  verdict = iota // never seen, or forgotten: refuse
	verdictAdmitted                // start admitted (open or recently ended)
	verdictWithheld                // start withheld (the reason is returned too)
)

// imageVerdict says whether a snapshot of the situation eventID may leave:
// only if its start was admitted (see limiter).
func (l *limiter) imageVerdict(eventID string) (verdict, Reason) {
	if s, ok := l.open[eventID]; ok {
		if s.withheld != ReasonNone {
			return verdictWithheld, s.withheld
		}
		return verdictAdmitted, ReasonNone
	}
	if _, ok := l.ended[eventID]; ok {
		return verdictAdmitted, ReasonNone
	}
	return verdictUnknown, ReasonNone
}

// follows decides messages of situations already known: withheld situations
// stay withheld, and a withheld situation's end makes it forgotten. It
// returns ReasonNone if the message may go on to the policy checks.
func (l *limiter) follows(ev *event.Event) Reason {
	s, ok := l.open[ev.EventID]
	if !ok || s.withheld == ReasonNone {
		return ReasonNone
	}
	s.seen = laterOf(s.seen, ev.At.Time)
	if ev.Phase == event.PhaseEnd {
		l.end(ev.EventID)
	}
	return s.withheld
}

// known reports whether the situation's start, or a later message, passed
// through this guard (admitted or withheld) and it has not ended.
func (l *limiter) known(eventID string) bool {
	_, ok := l.open[eventID]
	return ok
}

// withhold records that the policy refused ev (by type or schedule). If ev
// starts a situation, the rest of the situation is withheld for the same
// reason; if it ends one, the situation is forgotten.
func (l *limiter) withhold(ev *event.Event, why Reason) {
	switch ev.Phase {
	case event.PhaseStart:
		l.remember(ev, &situation{withheld: why, seen: ev.At.Time})
	case event.PhaseEnd:
		l.end(ev.EventID)
	}
}

// rate applies the rate limit to a message the policy allows, with
// perMinute the policy's limit (< 1 withholds everything: fail closed).
func (l *limiter) rate(ev *event.Event, perMinute int) Reason {
	at := ev.At.Time
	s, known := l.open[ev.EventID]
	if known && s.lastID == ev.ID && ev.Phase != event.PhaseEnd {
		s.seen = laterOf(s.seen, at)
		return ReasonNone // a retry of a message already admitted
	}
	if perMinute < 1 {
		switch ev.Phase {
		case event.PhaseStart:
			l.remember(ev, &situation{withheld: ReasonRate, seen: at})
		case event.PhaseEnd:
			l.end(ev.EventID)
		}
		return ReasonRate
	}
	if ev.Phase == event.PhaseEnd {
		// Prepaid by its start (or the start predates this guard).
		l.end(ev.EventID)
		return ReasonNone
	}
	b := l.bucket(ev, perMinute)
	switch ev.Phase {
	case event.PhaseStart:
		if b.tokens < 2 {
			l.remember(ev, &situation{withheld: ReasonRate, seen: at})
			return ReasonRate
		}
		b.tokens -= 2
		l.remember(ev, &situation{lastID: ev.ID, seen: at})
	default: // update, and any phase the schema may add later
		if b.tokens < 3 {
			return ReasonRate
		}
		b.tokens--
		if known {
			s.lastID, s.seen = ev.ID, laterOf(s.seen, at)
		} else {
			// A situation that started before this guard did.
			l.remember(ev, &situation{lastID: ev.ID, seen: at})
		}
	}
	return ReasonNone
}

// bucket returns the camera and type's bucket, refilled up to at. A new
// bucket starts full. Time never runs backwards for a bucket: an event
// older than the last one refills nothing.
func (l *limiter) bucket(ev *event.Event, perMinute int) *bucket {
	capacity := float64(max(perMinute, 2))
	k := bucketKey{ev.Camera, ev.Type}
	b, ok := l.buckets[k]
	if !ok {
		b = &bucket{tokens: capacity, last: ev.At.Time}
		l.buckets[k] = b
		return b
	}
	if d := ev.At.Time.Sub(b.last); d > 0 {
		b.tokens += d.Minutes() * float64(perMinute)
		b.last = ev.At.Time
	}
	b.tokens = min(b.tokens, capacity) // also when the policy lowered the limit
	return b
}

// remember records a situation, forgetting stale ones (and, if that is not
// enough, the least recently seen one) so memory stays bounded.
func (l *limiter) remember(ev *event.Event, s *situation) {
	if _, ok := l.open[ev.EventID]; !ok && len(l.open) >= maxOpenSituations {
		var oldestID string
		var oldest time.Time
		for id, o := range l.open {
			if ev.At.Sub(o.seen) > situationStale {
				delete(l.open, id)
				continue
			}
			if oldestID == "" || o.seen.Before(oldest) {
				oldestID, oldest = id, o.seen
			}
		}
		if len(l.open) >= maxOpenSituations {
			delete(l.open, oldestID)
		}
	}
	l.open[ev.EventID] = s
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// imageVerdict is limiter.imageVerdict under the guard's lock.
func (g *Guard) imageVerdict(eventID string) (verdict, Reason) {
	g.limMu.Lock()
	defer g.limMu.Unlock()
	return g.lim.imageVerdict(eventID)
}
