package pattern

import (
	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// A person detector (pipeline/internal/analysis/person, NanoDet or HOG) looks at a blob now
// and then, not on every frame, and misses people in some poses. What it
// said is therefore remembered per track: one detection makes the track a
// person for the rest of its life (also once they lie down or walk into a
// group, when no detector would confirm them), and examinations that find
// nobody make it an object (one for NanoDet, repeated ones for HOG). Before
// that, the shape heuristic decides.

// rejectAfter is how many examinations must find nobody on a track that
// was never confirmed before it counts as an object: HOG misses real people
// now and then (an odd pose, a bag, partial occlusion), rarely three
// times in a row.
const rejectAfter = 3

// rejectAfterNeural is the same for the neural detector: one. NanoDet
// looked at the figure itself and knows more classes than "person" (a car
// seen from above is as tall and narrow as a person, and HOG's three looks
// left the shape heuristic in charge for the seconds it drove through the
// view); its "nobody here" outweighs the box's shape. A person it missed
// once is a person again at the next look that finds them (about a second
// later): a confirmation always wins.
const rejectAfterNeural = 1

// personEvidence is what the person detector said about one track.
type personEvidence struct {
	confirmed bool // a person was found on it at least once
	empty     int  // examinations of it that found nobody
	count     int  // people found on it on the latest frame
}

// personMemory keeps the evidence per track.
type personMemory struct {
	ev   map[trackKey]*personEvidence
	seen map[trackKey]bool
	pool []*personEvidence
}

// update takes one frame's detections. Each person box goes to the track
// whose box holds most of it and overlaps it best, so that in a group the
// members hidden in the group's blob (track.Track.Merged) get their own.
func (m *personMemory) update(tracks []track.Track, f FrameInfo) {
	if m.ev == nil {
		m.ev, m.seen = map[trackKey]*personEvidence{}, map[trackKey]bool{}
	}
	for i := range tracks {
		k := keyOf(&tracks[i])
		e := m.ev[k]
		if e == nil {
			if n := len(m.pool); n > 0 {
				e, m.pool = m.pool[n-1], m.pool[:n-1]
				*e = personEvidence{}
			} else {
				e = &personEvidence{}
			}
			m.ev[k] = e
		}
		e.count = 0
		m.seen[k] = true
	}
	for _, pb := range f.Persons {
		best, bestIoU := -1, 0.0
		for i := range tracks {
			tb := tracks[i].Box
			if pb.Within(tb) < 0.5 {
				continue
			}
			if v := pb.IoU(tb); v > bestIoU {
				best, bestIoU = i, v
			}
		}
		if best >= 0 {
			e := m.ev[keyOf(&tracks[best])]
			e.count++
			e.confirmed = true
		}
	}
	for _, cb := range f.PersonsChecked {
		for i := range tracks {
			t := &tracks[i]
			if t.Misses > 0 || t.Box.Within(cb) < 0.5 {
				continue
			}
			if e := m.ev[keyOf(t)]; e.count == 0 {
				e.empty++
			}
		}
	}
	for k, e := range m.ev {
		if !m.seen[k] {
			m.pool = append(m.pool, e)
			delete(m.ev, k)
		}
	}
	clear(m.seen)
}

// ClassifyTrack says "person" or "object" for a track: a person detector's
// verdict where the camera runs one (person_detector: dnn or hog) and it has
// decided, the shape heuristic (Classify) otherwise.
func ClassifyTrack(t *track.Track, f FrameInfo, p geometry.Perspective) Class {
	if f.persons != nil {
		if e := f.persons.ev[keyOf(t)]; e != nil {
			switch {
			case e.confirmed:
				return Person
			case e.empty >= rejectAfter, f.PersonsNeural && e.empty >= rejectAfterNeural:
				return Object
			}
		}
	}
	return Classify(t.Box, f, p)
}

// peopleOn is how many people the detector found on the track's blob on
// this frame, at least 1: a group merged into one blob counts as its
// members.
func (f FrameInfo) peopleOn(t *track.Track) int {
	if f.persons != nil {
		if e := f.persons.ev[keyOf(t)]; e != nil && e.count > 1 {
			return e.count
		}
	}
	return 1
}
