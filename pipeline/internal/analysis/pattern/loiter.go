package pattern

import (
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// handoverGap is how soon after a staying object's track ended a new track
// starting where it stood takes over its dwell time. The tracker loses a
// person who is hidden for a moment while moving (someone walks past in
// front of them, they step behind a pillar) and starts a new track when
// they show again; without the hand-over the loitering clock would start
// afresh. Short, because two people who take turns at one spot within it
// count as one.
const handoverGap = 3 * time.Second

// lostAnchor is where and since when a track that ended had been staying.
type lostAnchor struct {
	anchor
	at time.Time // when the track ended
}

// maxLost caps the remembered anchors, so the slice never grows.
const maxLost = 16

// handover returns the anchor a new track t inherits: the newest one lost
// within handoverGap whose place is within the rule's radius of t's foot.
func (r *Loitering) handover(now time.Time, t *track.Track, f FrameInfo) (anchor, bool) {
	p := foot(t.Box)
	best := -1
	for i, l := range r.lost {
		if now.Sub(l.at) > handoverGap {
			continue
		}
		d := r.cfg.Perspective.BodyHeights(p.X-l.p.X, p.Y-l.p.Y, p.Y, f.Aspect(), t.Box.H)
		if d <= r.cfg.Radius && (best < 0 || l.at.After(r.lost[best].at)) {
			best = i
		}
	}
	if best < 0 {
		return anchor{}, false
	}
	a := r.lost[best].anchor
	r.lost = append(r.lost[:best], r.lost[best+1:]...)
	return a, true
}

// forget drops the state of tracks not seen in the zone this frame, and
// remembers the anchors of those that ended (not those that merely walked
// out of the zone, nor those ended because nobody was there any more or
// someone else was: FrameInfo.ended) for a hand-over.
func (r *Loitering) forget(now time.Time, tracks []track.Track, f FrameInfo) {
	for i := range tracks {
		r.alive[keyOf(&tracks[i])] = true
	}
	n := 0
	for _, l := range r.lost {
		if now.Sub(l.at) <= handoverGap {
			r.lost[n] = l
			n++
		}
	}
	r.lost = r.lost[:n]
	for k, a := range r.state {
		if r.seen[k] {
			continue
		}
		if !r.alive[k] && len(r.lost) < maxLost && !f.endedOnPurpose(k) {
			r.lost = append(r.lost, lostAnchor{a, now})
		}
		delete(r.state, k)
	}
	clear(r.seen)
	clear(r.alive)
}
