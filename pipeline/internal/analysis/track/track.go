// Package track follows motion blobs from frame to frame so that rules can
// reason about one object's path, speed and dwell time.
//
// Ids are small integers reused after a track dies; they are anonymous, live
// for seconds to minutes and must never leave the device (invariant 5): rules
// use them to tell objects apart, events carry counts and boxes only.
//
// The tracker is deliberately simple and explainable: constant-velocity
// prediction, greedy nearest-neighbour association inside a gate measured in
// the object's own height, birth after K consecutive hits, coasting through
// short occlusions, death after M misses. Two cases of "no detection" are
// not "gone": an object whose blob merged into another's (people joining a
// group) lives on as part of that group for as long as the group's track
// lives, and an object that stopped, or keeps pacing over the same few
// steps, survives much longer (StaticMisses) where it stood; so does one
// that a rule knows has stopped although its fading pieces seem to move
// (Stop: a person who fell).
package track

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Box is a normalised bounding box: X, Y top-left; W, H size (fractions of
// the frame width and height).
type Box struct{ X, Y, W, H float64 }

// Center returns the box centre.
func (b Box) Center() (x, y float64) { return b.X + b.W/2, b.Y + b.H/2 }

// Foot returns the middle of the bottom edge, where a person touches the
// ground: the point that zones and lines test.
func (b Box) Foot() (x, y float64) { return b.X + b.W/2, b.Y + b.H }

// Area in fractions of the frame.
func (b Box) Area() float64 { return b.W * b.H }

// Within is the share of b's area inside o (0 for an empty b): how much
// of a piece lies within a whole, which IoU, symmetric, does not say.
func (b Box) Within(o Box) float64 {
	x0, y0 := max(b.X, o.X), max(b.Y, o.Y)
	x1, y1 := min(b.X+b.W, o.X+o.W), min(b.Y+b.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 || b.Area() <= 0 {
		return 0
	}
	return (x1 - x0) * (y1 - y0) / b.Area()
}

// IoU is the intersection over union of two boxes.
func (b Box) IoU(o Box) float64 {
	x0, y0 := math.Max(b.X, o.X), math.Max(b.Y, o.Y)
	x1, y1 := math.Min(b.X+b.W, o.X+o.W), math.Min(b.Y+b.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := (x1 - x0) * (y1 - y0)
	return in / (b.Area() + o.Area() - in)
}

// Config tunes the tracker. Zero fields take DefaultConfig's values.
type Config struct {
	// Gate is how far (in the object's heights) a detection may be from the
	// track's predicted position and still belong to it. A runner at 5
	// analysis frames/s moves about one height per frame.
	Gate float64
	// BirthHits is the number of consecutive frames an object must be seen
	// before it becomes a track rules see; it filters one-frame flickers.
	BirthHits int
	// MaxMisses is how many analysis frames a track coasts on its
	// prediction without a detection (occlusion, a pause that the
	// background model briefly absorbs) before it dies.
	MaxMisses int
	// StaticMisses is how many frames a track that had stopped moving
	// survives without a detection: a person standing still fades into the
	// background model, and rules such as loitering and person_down must
	// not forget them at once.
	StaticMisses int
	// History is how many samples each track keeps.
	History int
}

// DefaultConfig suits 5 analysis frames/s.
func DefaultConfig() Config {
	return Config{Gate: 1.5, BirthHits: 3, MaxMisses: 5, StaticMisses: 600, History: 64}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Gate == 0 {
		c.Gate = d.Gate
	}
	if c.BirthHits == 0 {
		c.BirthHits = d.BirthHits
	}
	if c.MaxMisses == 0 {
		c.MaxMisses = d.MaxMisses
	}
	if c.StaticMisses == 0 {
		c.StaticMisses = d.StaticMisses
	}
	if c.History == 0 {
		c.History = d.History
	}
	return c
}

// Validate reports values out of range; field names are those of the
// operator's config.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Gate > 0 && c.Gate <= 10):
		return fmt.Errorf("gate: %g is outside (0,10] object heights", c.Gate)
	case c.BirthHits < 1 || c.BirthHits > 50:
		return fmt.Errorf("birth_hits: %d is outside 1..50", c.BirthHits)
	case c.MaxMisses < 0 || c.MaxMisses > 1000:
		return fmt.Errorf("max_misses: %d is outside 0..1000", c.MaxMisses)
	case c.StaticMisses < c.MaxMisses || c.StaticMisses > 100000:
		return fmt.Errorf("static_misses: %d must be between max_misses and 100000", c.StaticMisses)
	case c.History < 2 || c.History > 10000:
		return fmt.Errorf("history: %d is outside 2..10000", c.History)
	}
	return nil
}

// Sample is one observation of a track.
type Sample struct {
	At  time.Time
	Box Box
	// Seen is false for coasted samples (predicted, no detection).
	Seen bool
}

// Track is one object as rules see it. The History slice is owned by the
// tracker and valid until the next Update.
type Track struct {
	// ID is ephemeral and never published.
	ID int
	// Box is the latest position (the detection, or the prediction while
	// coasting).
	Box Box
	// Born is the time of the first detection.
	Born time.Time
	// LastSeen is the time of the latest detection.
	LastSeen time.Time
	// Misses counts frames since LastSeen.
	Misses int
	// VX, VY is the smoothed velocity of the box centre in frame widths and
	// heights per second.
	VX, VY float64
	// History holds the latest samples, oldest first.
	History []Sample

	hits      int
	confirmed bool
	last      time.Time
	// static is decided when detections stop: had it stopped moving?
	static bool
	dead   bool // decided in this Update
	// prevSeen is the detection before the latest, for the velocity.
	prevSeen   Box
	prevSeenAt time.Time
	// host is the track whose blob this one merged into (people walking
	// into a group, standing shoulder to shoulder): while the host lives
	// the object is hidden in its blob, not gone. offX, offY is where it
	// sits relative to the host's centre.
	host       *Track
	hostID     int
	hostBorn   time.Time
	offX, offY float64
	// hold is where Hold put the object for the next Update (holdPending),
	// held whether its latest sample is a hold, endPending whether End
	// asked for it to end.
	hold                          Box
	holdPending, held, endPending bool
	// stop is where Stop said the object stopped, for the next Update
	// (stopPending).
	stop        Box
	stopPending bool
	// undo is the state before the latest Update's hit (Rewind).
	undo undoHit
}

// undoHit is what a hit changed, for Rewind: the track's state before it,
// and the history sample the push dropped when the history was full.
type undoHit struct {
	ok                         bool
	box, prevSeen              Box
	lastSeen, last, prevSeenAt time.Time
	misses, hits               int
	vx, vy                     float64
	confirmed, held            bool
	dropped                    Sample
	full                       bool
}

// Merged reports whether the object is hidden in another track's blob
// (part of a group): it is coasting with that track.
func (t *Track) Merged() bool { return t.host != nil }

// recentUnion is the union of the detections of the last second; ok is
// false when they span less than half a second. An object that stops tends
// to fragment while the background model absorbs it, so where it stood is
// judged from the union of its pieces, not from their jumping centres.
func (t *Track) recentUnion() (Box, bool) {
	var u Box
	var first, last time.Time
	for i := len(t.History) - 1; i >= 0; i-- {
		s := t.History[i]
		if !s.Seen {
			continue
		}
		if last.IsZero() {
			last, u = s.At, s.Box
		} else if last.Sub(s.At) > time.Second {
			break
		}
		u = union(u, s.Box)
		first = s.At
	}
	return u, !last.IsZero() && last.Sub(first) >= time.Second/2
}

// footStill reports whether the foot point of the detections of the last
// second stayed within a fifth of the object's size.
func (t *Track) footStill() bool {
	var last time.Time
	var fx, fy, size float64
	for i := len(t.History) - 1; i >= 0; i-- {
		s := t.History[i]
		if !s.Seen {
			continue
		}
		x, y := s.Box.Foot()
		size = math.Max(size, math.Max(s.Box.W, s.Box.H))
		if last.IsZero() {
			last, fx, fy = s.At, x, y
			continue
		}
		if last.Sub(s.At) > time.Second {
			break
		}
		if math.Hypot(x-fx, y-fy) > 0.2*size {
			return false
		}
	}
	return true
}

// confinedFor is how long a track must have kept to a small area before
// gaps in its detections are bridged like a standing person's.
const confinedFor = 8 * time.Second

// confined reports whether the foot points of the detections of the last
// confinedFor stayed within a few of the object's widths across and one
// height up or down: someone pacing a doorway, not someone passing (who
// covers several heights in that time).
func (t *Track) confined() bool {
	var last, first time.Time
	var x0, x1, y0, y1, w, h float64
	for i := len(t.History) - 1; i >= 0; i-- {
		s := t.History[i]
		if !s.Seen {
			continue
		}
		x, y := s.Box.Foot()
		if last.IsZero() {
			last, x0, x1, y0, y1 = s.At, x, x, y, y
		} else if last.Sub(s.At) > confinedFor {
			break
		}
		first = s.At
		x0, x1 = math.Min(x0, x), math.Max(x1, x)
		y0, y1 = math.Min(y0, y), math.Max(y1, y)
		w, h = math.Max(w, s.Box.W), math.Max(h, s.Box.H)
	}
	if last.IsZero() || last.Sub(first) < confinedFor*3/4 || last.Sub(t.Born) < confinedFor {
		return false
	}
	return x1-x0 <= 3*w && y1-y0 <= h
}

// edgeBand is how close (fraction of the frame) to a border of the picture
// a box counts as touching it.
const edgeBand = 0.01

// leavingSpeed is the outward speed, in the object's heights per second,
// above which an object at a border is walking out of view: a person
// walks at about one height per second, and one standing at the border,
// swaying, has a velocity of a few hundredths (a margin also over the
// jumps of a box that the border cuts off).
const leavingSpeed = 0.25

// leaving reports whether the object's latest detection touches a border
// of the picture and it was moving out across that border: it walked out
// of view, and it stopped nowhere, whatever its earlier path looked like
// (a visitor who stood at a table for a while and then walks out of the
// picture has a confined path, and would otherwise be kept for minutes
// where they were last seen, for the next visitor to take over).
func (t *Track) leaving() bool {
	b := t.lastSeenBox()
	v := leavingSpeed * b.H
	return (b.X <= edgeBand && t.VX < -v) || (b.X+b.W >= 1-edgeBand && t.VX > v) ||
		(b.Y <= edgeBand && t.VY < -v) || (b.Y+b.H >= 1-edgeBand && t.VY > v)
}

// recentMax is the largest detection area of the last second.
func (t *Track) recentMax() float64 {
	var m float64
	var last time.Time
	for i := len(t.History) - 1; i >= 0; i-- {
		s := t.History[i]
		if !s.Seen {
			continue
		}
		if last.IsZero() {
			last = s.At
		} else if last.Sub(s.At) > time.Second {
			break
		}
		m = math.Max(m, s.Box.Area())
	}
	return m
}

func grow(b Box, f float64) Box {
	return Box{b.X - b.W*f, b.Y - b.H*f, b.W * (1 + 2*f), b.H * (1 + 2*f)}
}

// Tracker associates detections with tracks. Not safe for concurrent use;
// one camera analyser owns one.
type Tracker struct {
	cfg    Config
	tracks []*Track
	free   []*Track
	out    []Track
	used   []bool
	pairs  []pair
	preds  []pred
	nextID int
}

type pred struct{ x, y float64 }

type pair struct {
	t, d int
	cost float64
}

// New returns a tracker; cfg must be valid.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg.withDefaults()}, nil
}

// Config returns the configuration in use, defaults applied.
func (tr *Tracker) Config() Config { return tr.cfg }

// Reset forgets every track, e.g. after a light change or a reconnect,
// when blobs say nothing about objects.
func (tr *Tracker) Reset() {
	for _, t := range tr.tracks {
		tr.free = append(tr.free, t)
	}
	tr.tracks = tr.tracks[:0]
}

// Update feeds the detections of one analysis frame (times must increase)
// and returns the confirmed tracks, including those coasting. The returned
// slice is reused by the next Update.
func (tr *Tracker) Update(now time.Time, dets []Box) []Track {
	for _, t := range tr.tracks {
		t.undo.ok = false
	}
	// Predict.
	preds := tr.preds[:0]
	for _, t := range tr.tracks {
		dt := now.Sub(t.last).Seconds()
		cx, cy := t.Box.Center()
		preds = append(preds, pred{cx + t.VX*dt, cy + t.VY*dt})
	}
	tr.preds = preds
	// Score every pair inside the gate, then take pairs greedily by cost.
	tr.pairs = tr.pairs[:0]
	for i, t := range tr.tracks {
		for j, d := range dets {
			dx, dy := d.Center()
			h := math.Max(math.Max(t.Box.H, d.H), 1e-3)
			dist := math.Hypot(dx-preds[i].x, (dy-preds[i].y)) / h
			if dist > tr.cfg.Gate {
				continue
			}
			// A stopped object that faded into the background can only be
			// picked up again where it stands: passers-by must not steal it.
			// A stopped object that faded into the background is picked up
			// again only close to where it stands (when it moves off), and a
			// moving track that predicts the detection wins over it, so
			// passers-by do not take it along.
			penalty := 0.0
			if t.static && t.Misses > 0 {
				if dist > 1 {
					continue
				}
				penalty = 0.5
			}
			// Overlap with the prediction makes a pair cheaper; size
			// change makes it dearer.
			pb := t.Box
			pb.X, pb.Y = preds[i].x-pb.W/2, preds[i].y-pb.H/2
			cost := penalty + dist - pb.IoU(d) + 0.5*math.Abs(math.Log(math.Max(d.Area(), 1e-6)/math.Max(t.Box.Area(), 1e-6)))
			tr.pairs = append(tr.pairs, pair{i, j, cost})
		}
	}
	slices.SortFunc(tr.pairs, func(a, b pair) int {
		switch {
		case a.cost < b.cost:
			return -1
		case a.cost > b.cost:
			return 1
		}
		return 0
	})
	tr.used = slices.Grow(tr.used[:0], len(dets)+len(tr.tracks))[:len(dets)+len(tr.tracks)]
	clear(tr.used)
	dUsed, tUsed := tr.used[:len(dets)], tr.used[len(dets):]
	for _, p := range tr.pairs {
		if dUsed[p.d] || tUsed[p.t] {
			continue
		}
		dUsed[p.d], tUsed[p.t] = true, true
		tr.hit(tr.tracks[p.t], now, dets[p.d])
	}
	// Fragments: an object that stands still fades into the background
	// model piecewise and splits into several blobs; a leftover detection
	// inside a matched track's previous box (grown by a fifth) is part of
	// that object, not a new one.
	for j, d := range dets {
		if dUsed[j] {
			continue
		}
		for i, t := range tr.tracks {
			if !tUsed[i] || len(t.History) < 2 {
				continue
			}
			if grow(t.History[len(t.History)-2].Box, 0.1).IoU(d) > 0 {
				t.Box = union(t.Box, d)
				t.History[len(t.History)-1].Box = t.Box
				dUsed[j] = true
				break
			}
		}
	}
	for i, t := range tr.tracks {
		if tUsed[i] {
			t.velocity()
			t.host = nil
		}
	}
	// Misses: coast or die. Members of a group live as long as the track
	// they merged into, so they are decided after it.
	for i, t := range tr.tracks {
		switch {
		case tUsed[i]:
		case t.holdPending:
			tr.holdAt(t, now)
			tUsed[i] = true
		default:
			tr.miss(t, now)
		}
		t.holdPending, t.stopPending = false, false
	}
	tr.merge(tUsed)
	for _, t := range tr.tracks {
		t.dead = t.endPending || (t.Misses > 0 && t.host == nil && tr.dies(t))
	}
	for _, t := range tr.tracks {
		if t.host == nil {
			continue
		}
		if h := t.host; h.dead || h.host != nil || t.Misses > tr.cfg.StaticMisses {
			t.dead = true
			continue
		}
		t.follow()
	}
	alive := tr.tracks[:0]
	for _, t := range tr.tracks {
		if t.dead {
			tr.free = append(tr.free, t)
			continue
		}
		alive = append(alive, t)
	}
	tr.tracks = alive
	// Births.
	for j, d := range dets {
		if dUsed[j] {
			continue
		}
		tr.tracks = append(tr.tracks, tr.newTrack(now, d))
	}
	return tr.output()
}

// output is the confirmed tracks, in tr.out.
func (tr *Tracker) output() []Track {
	tr.out = tr.out[:0]
	for _, t := range tr.tracks {
		if t.confirmed {
			tr.out = append(tr.out, *t)
		}
	}
	return tr.out
}

// Rewind takes back the detections of the latest Update, which turned out
// to be the first frame of a light change (or of a moved view): the motion
// detector flags a change only once most of the picture differs, and the
// frame before, already part of the ramp of an auto exposure, gives blobs
// that are the picture changing, not objects. A track matched to one of
// them would take its box (often most of the frame), and once the
// re-learnt background hides whoever stands still, that box is all that
// is left of them: the still-person hold would look in the wrong place,
// and the next time they move the loitering rule would take them for
// someone else. Each track matched by that Update gets back its box,
// velocity and last detection, and the frame counts as a miss for it
// (at the time of that Update); a track born from such a blob is not
// confirmed and dies at its next miss. It returns the confirmed tracks,
// like Update.
func (tr *Tracker) Rewind() []Track {
	for _, t := range tr.tracks {
		u := t.undo
		if !u.ok {
			continue
		}
		t.undo.ok = false
		at := t.History[len(t.History)-1].At
		t.History = t.History[:len(t.History)-1]
		if u.full {
			t.History = append(t.History, Sample{})
			copy(t.History[1:], t.History)
			t.History[0] = u.dropped
		}
		t.Box, t.prevSeen = u.box, u.prevSeen
		t.LastSeen, t.last, t.prevSeenAt = u.lastSeen, u.last, u.prevSeenAt
		t.Misses, t.hits = u.misses, u.hits
		t.VX, t.VY = u.vx, u.vy
		t.confirmed, t.held = u.confirmed, u.held
		tr.miss(t, at)
	}
	return tr.output()
}

// dies reports whether an unmatched track that is not part of a group has
// coasted too long.
func (tr *Tracker) dies(t *Track) bool {
	limit := tr.cfg.MaxMisses
	if t.confirmed && t.static {
		limit = tr.cfg.StaticMisses
	}
	return !t.confirmed || t.Misses > limit
}

// merge finds, for every confirmed track that got no detection, a matched
// track whose detection covers most of it: two people who walk into each
// other, or join a group, become one blob, and the one that lost its blob
// is inside the other's, not gone. Counting rules (crowd) still count it.
// A track that merges hands its own members on to its new host.
func (tr *Tracker) merge(matched []bool) {
	for i, t := range tr.tracks {
		if matched[i] || !t.confirmed || (t.static && t.host == nil) {
			// A stopped object that faded stays where it stood when
			// someone walks past in front of it.
			continue
		}
		if t.host != nil && t.host.ID == t.hostID && t.host.Born.Equal(t.hostBorn) {
			continue // still with the same host
		}
		t.host = nil
		best, bestCover := -1, 0.5
		for j, h := range tr.tracks {
			if !matched[j] || j == i || !h.confirmed {
				continue
			}
			if c := cover(t.Box, h.Box); c > bestCover {
				best, bestCover = j, c
			}
		}
		if best < 0 {
			continue
		}
		h := tr.tracks[best]
		t.host, t.hostID, t.hostBorn = h, h.ID, h.Born
		tx, ty := t.Box.Center()
		hx, hy := h.Box.Center()
		t.offX, t.offY = tx-hx, ty-hy
		for _, m := range tr.tracks {
			if m.host == t {
				m.host, m.hostID, m.hostBorn = h, h.ID, h.Born
				m.offX += t.offX
				m.offY += t.offY
			}
		}
	}
}

// follow keeps a group member where it sits in its host's blob.
func (t *Track) follow() {
	h := t.host
	hx, hy := h.Box.Center()
	// Stay inside the host's box: the group's blob shrinks as it fades.
	cx := math.Max(h.Box.X, math.Min(h.Box.X+h.Box.W, hx+t.offX))
	cy := math.Max(h.Box.Y, math.Min(h.Box.Y+h.Box.H, hy+t.offY))
	t.Box.X, t.Box.Y = cx-t.Box.W/2, cy-t.Box.H/2
	t.VX, t.VY = h.VX, h.VY
	t.static = h.static
	t.History[len(t.History)-1].Box = t.Box
}

// cover is the fraction of a's area inside b.
func cover(a, b Box) float64 {
	x0, y0 := math.Max(a.X, b.X), math.Max(a.Y, b.Y)
	x1, y1 := math.Min(a.X+a.W, b.X+b.W), math.Min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 || a.Area() <= 0 {
		return 0
	}
	return (x1 - x0) * (y1 - y0) / a.Area()
}

func (tr *Tracker) newTrack(now time.Time, d Box) *Track {
	var t *Track
	if n := len(tr.free); n > 0 {
		t, tr.free = tr.free[n-1], tr.free[:n-1]
		hist := t.History[:0]
		*t = Track{History: hist}
	} else {
		t = &Track{History: make([]Sample, 0, tr.cfg.History)}
	}
	tr.nextID = tr.nextID%9999 + 1
	t.ID = tr.nextID
	t.Box, t.Born, t.LastSeen, t.last = d, now, now, now
	t.hits = 1
	t.confirmed = tr.cfg.BirthHits <= 1
	t.push(Sample{At: now, Box: d, Seen: true}, tr.cfg.History)
	return t
}

// velocity updates the smoothed velocity from the previous detection (not
// the coasted position) to the current box, fragments included.
func (t *Track) velocity() {
	span := t.LastSeen.Sub(t.prevSeenAt).Seconds()
	if span <= 0 {
		return
	}
	ox, oy := t.prevSeen.Center()
	nx, ny := t.Box.Center()
	vx, vy := (nx-ox)/span, (ny-oy)/span
	const a = 0.5
	if t.hits == 2 {
		t.VX, t.VY = vx, vy
	} else {
		t.VX, t.VY = a*vx+(1-a)*t.VX, a*vy+(1-a)*t.VY
	}
}

// Hold says that the confirmed track id is, on the next Update, seen at b
// although no detection may come for it: a person who stopped and faded
// into the background model, whom a detector looking at the picture
// itself (not at motion) still finds there. If a detection comes for the
// track it wins; otherwise the track is seen at b, standing still (no
// velocity, no drift), its misses reset. False when no confirmed track has
// that id.
func (tr *Tracker) Hold(id int, b Box) bool {
	for _, t := range tr.tracks {
		if t.ID == id && t.confirmed {
			t.hold, t.holdPending = b, true
			return true
		}
	}
	return false
}

// Stop says that the confirmed track id has stopped at b, which the
// tracker cannot tell from its blobs: a person who fell (person_down saw
// them upright, then lying) breaks up into pieces that jump and shrink
// while the background model absorbs the still body, so the union of the
// last pieces is wider than the body and their centres seem to move (a
// crawl towards where the last piece was), and the track would coast on
// that velocity and die after MaxMisses, or drift out of the picture,
// although the person lies where they fell. If the next Update brings no
// detection for the track, it becomes a stopped object at b (no
// velocity, kept for StaticMisses like anyone who stands still, picked up
// again only where it lies), unless it was walking out of the picture
// (a walker whose box the border cuts off looks wide and low too). A
// detection for the track wins: the Stop is forgotten. The caller says it
// again on every frame while it holds. False when no confirmed track has
// that id.
func (tr *Tracker) Stop(id int, b Box) bool {
	for _, t := range tr.tracks {
		if t.ID == id && t.confirmed {
			t.stop, t.stopPending = b, true
			return true
		}
	}
	return false
}

// End makes the next Update end the track id (and its group members'
// membership): the caller decided it may now stand for someone else.
// False when there is no such track.
func (tr *Tracker) End(id int) bool {
	for _, t := range tr.tracks {
		if t.ID == id {
			t.endPending = true
			return true
		}
	}
	return false
}

// holdAt is a hit at the held box that keeps the object where it stands.
func (tr *Tracker) holdAt(t *Track, now time.Time) {
	t.Box, t.LastSeen, t.last = t.hold, now, now
	t.Misses = 0
	t.VX, t.VY = 0, 0
	t.static, t.held = true, true
	t.host = nil
	t.hits++
	t.push(Sample{At: now, Box: t.hold, Seen: true}, tr.cfg.History)
}

func (tr *Tracker) hit(t *Track, now time.Time, d Box) {
	t.undo = undoHit{ok: true, box: t.Box, prevSeen: t.prevSeen, lastSeen: t.LastSeen, last: t.last,
		prevSeenAt: t.prevSeenAt, misses: t.Misses, hits: t.hits, vx: t.VX, vy: t.VY,
		confirmed: t.confirmed, held: t.held}
	if n := len(t.History); n == tr.cfg.History && n > 0 {
		t.undo.full, t.undo.dropped = true, t.History[0]
	}
	t.prevSeen, t.prevSeenAt = t.lastSeenBox(), t.LastSeen
	if t.held {
		// The latest sample is a hold: the detector's box of the whole
		// figure, not a motion blob, which covers only what moves. The
		// velocity starts afresh from this blob (it stays zero, as the
		// hold left it, until the next one), rather than from the
		// difference between two kinds of box.
		t.prevSeen, t.prevSeenAt = d, now
	}
	t.held = false
	t.Box, t.LastSeen, t.last = d, now, now
	t.Misses = 0
	if !t.confirmed {
		t.hits++
		if t.hits >= tr.cfg.BirthHits {
			t.confirmed = true
		}
	} else {
		t.hits++
	}
	t.push(Sample{At: now, Box: d, Seen: true}, tr.cfg.History)
}

func (tr *Tracker) miss(t *Track, now time.Time) {
	t.Misses++
	if !t.confirmed {
		return
	}
	if t.Misses == 1 && !t.held {
		// Judged on the last second of detections; too few (a stopped
		// object glimpsed once) leave the previous verdict.
		if u, ok := t.recentUnion(); ok {
			// Stopped: its pieces stayed within one object's box, or its
			// foot stayed put (a person who fell changes shape, not place).
			compact := u.Area() <= 1.6*t.recentMax()
			t.static = compact || t.footStill()
			if compact {
				// It stood still while it faded: keep the whole object,
				// not the last fragment the background model still saw.
				t.Box = u
			}
		}
		// Pacing over the same few steps for many seconds is staying too:
		// the background model learns a path walked again and again, and
		// such a person is then seen only now and then.
		t.static = (t.static || t.confined()) && !t.leaving()
	}
	if t.stopPending && !t.static && t.host == nil && !t.leaving() {
		// Stopped, as the caller knows (Stop): stay where it lies.
		t.static = true
		t.Box = t.stop
	}
	dt := now.Sub(t.last).Seconds()
	if t.static {
		// A stopped object stays where it was; do not let a residual
		// velocity carry it away while it is invisible.
		t.VX, t.VY = 0, 0
	}
	t.Box.X += t.VX * dt
	t.Box.Y += t.VY * dt
	t.last = now
	t.push(Sample{At: now, Box: t.Box}, tr.cfg.History)
}

func union(a, b Box) Box {
	x0, y0 := math.Min(a.X, b.X), math.Min(a.Y, b.Y)
	x1, y1 := math.Max(a.X+a.W, b.X+b.W), math.Max(a.Y+a.H, b.Y+b.H)
	return Box{x0, y0, x1 - x0, y1 - y0}
}

func (t *Track) lastSeenBox() Box {
	for i := len(t.History) - 1; i >= 0; i-- {
		if t.History[i].Seen {
			return t.History[i].Box
		}
	}
	return t.Box
}

func (t *Track) push(s Sample, n int) {
	if len(t.History) == n {
		copy(t.History, t.History[1:])
		t.History = t.History[:n-1]
	}
	t.History = append(t.History, s)
}
