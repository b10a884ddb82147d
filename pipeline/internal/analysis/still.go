package analysis

import (
	"image"
	"math"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// stillHold keeps a person who stopped tracked on the neural detector's
// confirmation at the place they stand, not on motion blobs: a person who
// stands still leaves the motion foreground within a second or two, and
// loitering and person_down then depend on the track alone.
//
// When a confirmed track gets no blob (Misses > 0), the detector looks at
// the crop of its box, at most once every `every` frames per track and at
// most one crop per frame in all (cost follows activity: nothing when
// every track has a blob). A person there (Confirm: NanoDet person class,
// score ≥ MinScore) whose box overlaps the track's and is of similar size
// holds the track at that box, standing still; later looks examine the
// crop of that first confirmation again (the held box is the detector's,
// often cut off by what stands in front of the person, and a crop around
// it would show the detector another picture). Other coasting tracks
// inside the held person's box are pieces of them and are ended
// (Analyser.endPieces). `maxFails` looks in a row without such a person
// and the track coasts and ends by the tracker's own rules (today's
// behaviour). Identity guard: the first confirmed box is the anchor; a
// later confirmed person who moved away from it or changed size
// (stillSame) may be someone else, and the track is ended rather than let
// a dwell chain two people. A track ended here hands its dwell to nobody
// (pattern.Pipeline.End). A blob for the track ends the hold (the person
// moves again); a new fade starts a new one with a new anchor.
type stillHold struct {
	every int
	frame int
	slots [maxStill]stillSlot
}

// maxStill caps the tracks held at once; more stopped people than that
// coast as before.
const maxStill = 16

// maxFails is how many looks in a row without the person end a hold.
const maxFails = 2

type stillSlot struct {
	id     int
	born   time.Time
	anchor image.Rectangle // first confirmed box, pixels; empty: none yet
	// lookAt is the track's box at the first confirmation: later looks
	// examine the same crop (see holdStill).
	lookAt image.Rectangle
	heldAt time.Time // the frame a hold was last asked for
	look   int       // frame of the last look; 0: none
	fails  int       // looks in a row without the person
	done   bool      // gave up or ended: no more looks for this track
	used   bool
	seen   bool // scratch: the track is in this frame's list
}

// stillVerdict is what one look at a track's box decides.
type stillVerdict uint8

const (
	stillMiss stillVerdict = iota // no matching person
	stillHoldAt
	stillOther // a person, but not the one anchored: end the track
)

// judge is the pure part of a look: conf is the detector's best person box
// (empty: none), at the track's box, anchor the hold's first confirmation
// (empty: none yet).
func judge(conf, at, anchor image.Rectangle) stillVerdict {
	if conf.Empty() || at.Empty() || pxIoU(conf, at) < 0.3 || !sameSize(conf, at) {
		return stillMiss
	}
	if !anchor.Empty() && !stillSame(conf, anchor) {
		return stillOther
	}
	return stillHoldAt
}

// sameSize: areas within a factor of 2 (sides within about 1.4).
func sameSize(a, b image.Rectangle) bool {
	r := float64(a.Dx()*a.Dy()) / float64(b.Dx()*b.Dy())
	return r >= 0.5 && r <= 2
}

// stillSame reports whether b is where and how large anchor was: centre
// within a quarter of anchor's larger side, each side within 30 %.
func stillSame(b, anchor image.Rectangle) bool {
	size := float64(max(anchor.Dx(), anchor.Dy()))
	dx := float64(b.Min.X+b.Max.X-anchor.Min.X-anchor.Max.X) / 2
	dy := float64(b.Min.Y+b.Max.Y-anchor.Min.Y-anchor.Max.Y) / 2
	if math.Hypot(dx, dy) > 0.25*size {
		return false
	}
	rw, rh := float64(b.Dx())/float64(anchor.Dx()), float64(b.Dy())/float64(anchor.Dy())
	return rw >= 0.7 && rw <= 1/0.7 && rh >= 0.7 && rh <= 1/0.7
}

func pxIoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}

func toPixels(b track.Box, fw, fh int) image.Rectangle {
	return image.Rect(int(b.X*float64(fw)), int(b.Y*float64(fh)),
		int((b.X+b.W)*float64(fw)), int((b.Y+b.H)*float64(fh))).Intersect(image.Rect(0, 0, fw, fh))
}

func toNorm(r image.Rectangle, fw, fh int) track.Box {
	return track.Box{X: float64(r.Min.X) / float64(fw), Y: float64(r.Min.Y) / float64(fh),
		W: float64(r.Dx()) / float64(fw), H: float64(r.Dy()) / float64(fh)}
}

// slot returns t's slot, taking a free one; nil when all are used.
func (s *stillHold) slot(t *track.Track) *stillSlot {
	var free *stillSlot
	for i := range s.slots {
		x := &s.slots[i]
		if x.used && x.id == t.ID && x.born.Equal(t.Born) {
			return x
		}
		if !x.used && free == nil {
			free = x
		}
	}
	if free != nil {
		*free = stillSlot{id: t.ID, born: t.Born, used: true}
	}
	return free
}

// due returns the track to look at on this frame (the one waiting longest),
// and forgets the holds of tracks that are gone or have a blob again.
// tracks are the previous frame's.
func (s *stillHold) due(tracks []track.Track) (*track.Track, *stillSlot) {
	s.frame++
	for i := range s.slots {
		s.slots[i].seen = false
	}
	var best *track.Track
	var bestSlot *stillSlot
	for i := range tracks {
		t := &tracks[i]
		if t.Merged() {
			continue
		}
		if t.Misses == 0 {
			// Detected: by a blob (the person moves again), unless it is
			// the hold asked for on the previous frame.
			if x := s.find(t); x != nil && !x.done && t.LastSeen.Equal(x.heldAt) {
				x.seen = true
			}
			continue
		}
		x := s.slot(t)
		if x == nil {
			continue
		}
		x.seen = true
		if x.done || (x.look != 0 && s.frame-x.look < s.every) {
			continue
		}
		if bestSlot == nil || x.look < bestSlot.look {
			best, bestSlot = t, x
		}
	}
	for i := range s.slots {
		if !s.slots[i].seen {
			s.slots[i] = stillSlot{}
		}
	}
	return best, bestSlot
}

func (s *stillHold) find(t *track.Track) *stillSlot {
	for i := range s.slots {
		x := &s.slots[i]
		if x.used && x.id == t.ID && x.born.Equal(t.Born) {
			return x
		}
	}
	return nil
}
