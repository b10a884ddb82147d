package pattern

import (
	"math"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// Event types of the static-object rules.
const (
	TypeAbandonedObject = "abandoned_object"
	TypeObjectRemoved   = "object_removed"
)

// -------------------------------------------------------- abandoned object

// AbandonedConfig configures abandoned_object.
type AbandonedConfig struct {
	Name string
	// Zone, if set, must contain the object's foot point (bottom centre).
	Zone        Zone          `key:"zone"`
	MinSize     float64       `key:"min_size" default:"0.001" range:"0..0.25" help:"smallest object, as its box area (fraction of the image)"`
	Duration    time.Duration `key:"duration" default:"60s" range:"1s..24h" help:"how long the object must lie unattended"`
	Radius      float64       `key:"radius" default:"3" range:"0.1..100" help:"how close, in body heights (foot to foot), a person must be to attend the object"`
	Perspective geometry.Perspective
	Timing
}

// staticKey identifies a static region across frames: the stage keeps a
// region's Since while it follows it.
type staticKey struct {
	since time.Time
	kind  StaticKind
}

// walker remembers where a track was born, whether it has walked since and
// how large it has been: only a track that moved can have carried or be
// attending an object; a track born on the object and never moving is the
// object itself, and so is a carrier's track that shrank to a fraction of
// its size — the tracker left it on the object put down while the carrier
// walked on as a new track.
type walker struct {
	origin        geometry.Point
	moved         bool
	maxArea, maxH float64
	// uprightW is the smoothed width while the box had most of its
	// largest height.
	uprightW float64
}

// shrunkArea and shrunkHeight are the fractions of its largest area and
// height below which a track, if it is also no wider than it was upright,
// is taken to follow an object left behind rather than its carrier. All
// three must hold: a box briefly merged with another blob is wider, not
// taller, and a person lying down is lower but wider.
const shrunkArea, shrunkHeight = 0.4, 0.5

// walkers follows every track's origin; shared by both static rules.
type walkers struct {
	state map[trackKey]walker
	seen  map[trackKey]bool
}

func newWalkers() walkers {
	return walkers{state: map[trackKey]walker{}, seen: map[trackKey]bool{}}
}

// update records tracks; a track has moved once its foot point went more
// than one own height from where it was born.
func (w walkers) update(tracks []track.Track, f FrameInfo) {
	for i := range tracks {
		t := &tracks[i]
		k := keyOf(t)
		w.seen[k] = true
		p := foot(t.Box)
		st, ok := w.state[k]
		if !ok {
			w.state[k] = walker{origin: p, maxArea: t.Box.Area(), maxH: t.Box.H, uprightW: t.Box.W}
			continue
		}
		if !st.moved && t.Box.H > 0 && math.Hypot((p.X-st.origin.X)*f.Aspect(), p.Y-st.origin.Y) > t.Box.H {
			st.moved = true
		}
		st.maxArea, st.maxH = math.Max(st.maxArea, t.Box.Area()), math.Max(st.maxH, t.Box.H)
		if t.Box.H >= 0.8*st.maxH {
			st.uprightW += 0.2 * (t.Box.W - st.uprightW)
		}
		w.state[k] = st
	}
	sweep(w.state, w.seen)
}

// person reports whether t walked and still has its size: someone who can
// carry or attend an object.
func (w walkers) person(t *track.Track) bool {
	st := w.state[keyOf(t)]
	left := t.Box.Area() < shrunkArea*st.maxArea && t.Box.H < shrunkHeight*st.maxH && t.Box.W < 1.3*st.uprightW
	return st.moved && !left
}

// maxCarriers caps the tracks remembered as an object's possible carriers.
const maxCarriers = 4

// owned is what the rule knows about one static object: who was with it
// when it appeared, and since when none of them has been.
type owned struct {
	carriers [maxCarriers]trackKey
	n        int
	alone    time.Time // zero while a carrier is near
}

// AbandonedObject reports an object that was put down and left: a new static
// region, at least MinSize, whose carriers — the people within Radius in
// the seconds before it was first reported — have all been away for
// Duration. People merely walking past later neither restart nor stop the
// count; anyone who stands within Radius attends it, and so does a person
// standing so still that only the static stage still sees them.
type AbandonedObject struct {
	ident
	cfg     AbandonedConfig
	walkers walkers
	objs    map[staticKey]owned
	seen    map[staticKey]bool
	boxes   []track.Box
}

// NewAbandonedObject validates cfg.
func NewAbandonedObject(cfg AbandonedConfig) (*AbandonedObject, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &AbandonedObject{ident: ident{cfg.Name, TypeAbandonedObject, cfg.Zone.Name}, cfg: cfg, walkers: newWalkers(), objs: map[staticKey]owned{}, seen: map[staticKey]bool{}}, nil
}

func (r *AbandonedObject) Needs() Needs { return Needs{Scene: true, Static: true} }

// Lifecycle: the rule already waited Duration; the quiet time bridges a
// passer-by who briefly stands near the object or hides it.
func (r *AbandonedObject) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(0, 10*time.Second)
}

// near reports whether track t, one that walked, is within radius body
// heights of b (foot to foot) or overlaps it.
func near(b track.Box, t *track.Track, w walkers, f FrameInfo, p geometry.Perspective, radius float64) bool {
	return w.person(t) && within(b, t.Box, f, p, radius)
}

// within reports whether box tb is within radius body heights of b (foot to
// foot) or overlaps it.
func within(b, tb track.Box, f FrameInfo, p geometry.Perspective, radius float64) bool {
	if tb.IoU(b) > 0 {
		return true
	}
	ob, tf := foot(b), foot(tb)
	return p.BodyHeights(tf.X-ob.X, tf.Y-ob.Y, ob.Y, f.Aspect(), tb.H) <= radius
}

// carrierLookback is how far back a track's path is searched for the
// object's carriers when the object is first reported: it is reported only
// once it has lain still for a few seconds, and by then its carrier may have
// walked off.
const carrierLookback = 10 * time.Second

// wasNear reports whether track t, one that walked, came within radius of b
// in the lookback before now.
func wasNear(now time.Time, b track.Box, t *track.Track, w walkers, f FrameInfo, p geometry.Perspective, radius float64) bool {
	if !w.person(t) {
		return false
	}
	for i := len(t.History) - 1; i >= 0; i-- {
		s := t.History[i]
		if now.Sub(s.At) > carrierLookback {
			break
		}
		if within(b, s.Box, f, p, radius) {
			return true
		}
	}
	return within(b, t.Box, f, p, radius)
}

// standingSpeed is the speed, in body heights per second, below which a
// person near an object is staying with it rather than walking past.
const standingSpeed = 0.3

// stays reports whether a person who walked is standing within radius of b.
func stays(b track.Box, tracks []track.Track, w walkers, f FrameInfo, p geometry.Perspective, radius float64) bool {
	for i := range tracks {
		t := &tracks[i]
		if t.Box.H > 0 && math.Hypot(t.VX*f.Aspect(), t.VY)/t.Box.H < standingSpeed && near(b, t, w, f, p, radius) {
			return true
		}
	}
	return false
}

// attended reports whether any track that walked is near b.
func attended(b track.Box, tracks []track.Track, w walkers, f FrameInfo, p geometry.Perspective, radius float64) bool {
	for i := range tracks {
		if near(b, &tracks[i], w, f, p, radius) {
			return true
		}
	}
	return false
}

// carried reports whether one of o's carriers is near b.
func (o *owned) carried(b track.Box, tracks []track.Track, w walkers, f FrameInfo, p geometry.Perspective, radius float64) bool {
	for i := range tracks {
		t := &tracks[i]
		k := keyOf(t)
		for _, c := range o.carriers[:o.n] {
			if c == k && near(b, t, w, f, p, radius) {
				return true
			}
		}
	}
	return false
}

// stillPerson reports whether a static region is shaped like a person
// standing at its row: someone standing still, not an object. Only with a
// perspective: without one, an upright suitcase has a person's shape too.
func (r *AbandonedObject) stillPerson(b track.Box, f FrameInfo) bool {
	return !r.cfg.Perspective.Zero() && Classify(b, f, r.cfg.Perspective) == Person
}

// personBeside reports whether a person standing still (a person-shaped
// static region) is within Radius of b: the owner waiting next to their
// luggage after the tracker has let them go.
func (r *AbandonedObject) personBeside(b track.Box, f FrameInfo) bool {
	ob := foot(b)
	for _, s := range f.Static {
		if s.Kind != Added || s.Box == b || !r.stillPerson(s.Box, f) {
			continue
		}
		pf := foot(s.Box)
		if r.cfg.Perspective.BodyHeights(pf.X-ob.X, pf.Y-ob.Y, ob.Y, f.Aspect(), s.Box.H) <= r.cfg.Radius {
			return true
		}
	}
	return false
}

func (r *AbandonedObject) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		return Signal{}
	}
	r.walkers.update(tracks, f)
	best := 0.0
	for _, s := range f.Static {
		if s.Kind != Added || s.Box.Area() < r.cfg.MinSize || !r.cfg.Zone.in(s.Box) || r.stillPerson(s.Box, f) {
			continue
		}
		k := staticKey{s.Since, s.Kind}
		r.seen[k] = true
		o, known := r.objs[k]
		if !known {
			for i := range tracks {
				if t := &tracks[i]; o.n < maxCarriers && wasNear(now, s.Box, t, r.walkers, f, r.cfg.Perspective, r.cfg.Radius) {
					o.carriers[o.n] = keyOf(t)
					o.n++
				}
			}
		}
		switch {
		case o.carried(s.Box, tracks, r.walkers, f, r.cfg.Perspective, r.cfg.Radius),
			stays(s.Box, tracks, r.walkers, f, r.cfg.Perspective, r.cfg.Radius),
			r.personBeside(s.Box, f):
			o.alone = time.Time{}
		case o.alone.IsZero():
			o.alone = now
		}
		r.objs[k] = o
		if o.alone.IsZero() {
			continue
		}
		if d := now.Sub(o.alone); d >= r.cfg.Duration && now.Sub(s.Since) >= r.cfg.Duration {
			r.boxes = append(r.boxes, s.Box)
			best = math.Max(best, clamp01(d.Seconds()/(2*r.cfg.Duration.Seconds())))
		}
	}
	for k := range r.objs {
		if !r.seen[k] {
			delete(r.objs, k)
		}
	}
	clear(r.seen)
	n := len(r.boxes)
	return Signal{On: n > 0, Score: best, Count: n, Boxes: r.boxes}
}

// ----------------------------------------------------------- object removed

// RemovedConfig configures object_removed.
type RemovedConfig struct {
	Name string
	// Zone, if set, must contain the region's foot point (bottom centre).
	Zone     Zone          `key:"zone"`
	MinSize  float64       `key:"min_size" default:"0.001" range:"0..0.25" help:"smallest gap, as its box area (fraction of the image)"`
	Duration time.Duration `key:"duration" default:"60s" range:"1s..24h" help:"how long the part of the scene must stay gone"`
	Timing
}

// ObjectRemoved reports a part of the scene that is gone: a static region whose
// outline the background has and the frame lacks, at least MinSize, for
// Duration, with nobody standing on it.
type ObjectRemoved struct {
	ident
	cfg     RemovedConfig
	walkers walkers
	boxes   []track.Box
}

// NewObjectRemoved validates cfg.
func NewObjectRemoved(cfg RemovedConfig) (*ObjectRemoved, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &ObjectRemoved{ident: ident{cfg.Name, TypeObjectRemoved, cfg.Zone.Name}, cfg: cfg, walkers: newWalkers()}, nil
}

func (r *ObjectRemoved) Needs() Needs { return Needs{Scene: true, Static: true} }

func (r *ObjectRemoved) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(0, 10*time.Second)
}

func (r *ObjectRemoved) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		return Signal{}
	}
	r.walkers.update(tracks, f)
	best := 0.0
	for _, s := range f.Static {
		if s.Kind != Removed || s.Box.Area() < r.cfg.MinSize || !r.cfg.Zone.in(s.Box) {
			continue
		}
		d := now.Sub(s.Since)
		// Someone standing on the spot hides it; it is not gone.
		if d < r.cfg.Duration || attended(s.Box, tracks, r.walkers, f, geometry.Perspective{}, 0) {
			continue
		}
		r.boxes = append(r.boxes, s.Box)
		best = math.Max(best, clamp01(d.Seconds()/(2*r.cfg.Duration.Seconds())))
	}
	n := len(r.boxes)
	return Signal{On: n > 0, Score: best, Count: n, Boxes: r.boxes}
}
