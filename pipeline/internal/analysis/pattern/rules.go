package pattern

import (
	"math"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// Zone is a named polygon.
type Zone struct {
	Name    string
	Polygon geometry.Polygon
}

func (z Zone) validate(field string, required bool) error {
	if len(z.Polygon) == 0 {
		if required {
			return fieldErr(field+".points", "this rule needs a zone")
		}
		return nil
	}
	if z.Name == "" {
		return fieldErr(field+".name", "a zone needs a name")
	}
	return prefix(field, z.Polygon.Validate())
}

// in reports whether b's foot point is in the zone; no zone is the whole frame.
func (z Zone) in(b track.Box) bool {
	return len(z.Polygon) == 0 || z.Polygon.Contains(foot(b))
}

// Timing is the part of a rule's lifecycle the operator may tune besides
// the rule's own minimum duration: the keys quiet_time and update_interval
// of every type that embeds it.
type Timing struct {
	// QuietTime bridges gaps: the situation ends only after the signal has
	// been absent this long. 0 → the rule's default.
	QuietTime      time.Duration `key:"quiet_time" range:"0s..1h" help:"the situation ends once the condition has been absent this long"`
	UpdateInterval time.Duration `key:"update_interval" default:"10s" range:"0s..1h" help:"least time between updates of a running situation"`
}

func (t Timing) lifecycle(minDur, quiet time.Duration) lifecycle.Config {
	if t.QuietTime > 0 {
		quiet = t.QuietTime
	}
	return lifecycle.Config{MinDuration: minDur, QuietTime: quiet, UpdateInterval: t.UpdateInterval}
}

// ---------------------------------------------------------------- intrusion

// IntrusionMode selects what about a zone is reported.
type IntrusionMode int

const (
	// Present: an object is in the zone (type intrusion).
	Present IntrusionMode = iota
	// Enter: an object entered the zone (type zone_enter).
	Enter
	// Exit: an object left the zone (type zone_exit).
	Exit
)

// IntrusionConfig configures intrusion, zone_enter and zone_exit.
type IntrusionConfig struct {
	Name        string
	Zone        Zone `key:"zone,required"`
	Mode        IntrusionMode
	MinSize     float64       `key:"min_size" default:"0.002" range:"0..0.5" help:"smallest object, as its box area (fraction of the image)"`
	MinDuration time.Duration `key:"min_duration" default:"1s" range:"0s..1h" help:"how long an object must be inside (zone_exit: before it leaves)"`
	Class       Class
	Perspective geometry.Perspective
	Timing
}

type side struct {
	in    bool
	since time.Time
	// crossed: the track was seen on the other side before this one.
	crossed bool
	fired   bool
}

// Intrusion implements intrusion, zone_enter and zone_exit.
type Intrusion struct {
	ident
	cfg   IntrusionConfig
	state map[trackKey]side
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewIntrusion validates cfg.
func NewIntrusion(cfg IntrusionConfig) (*Intrusion, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	if cfg.Mode < Present || cfg.Mode > Exit {
		return nil, fieldErr("mode", "unknown mode %d", cfg.Mode)
	}
	typ := [...]string{Present: TypeIntrusion, Enter: TypeZoneEnter, Exit: TypeZoneExit}[cfg.Mode]
	return &Intrusion{ident: ident{cfg.Name, typ, cfg.Zone.Name}, cfg: cfg, state: map[trackKey]side{}, seen: map[trackKey]bool{}}, nil
}

// intrusion is the constructor of the type that reports mode.
func intrusion(mode IntrusionMode) func(IntrusionConfig) (*Intrusion, error) {
	return func(c IntrusionConfig) (*Intrusion, error) {
		c.Mode = mode
		return NewIntrusion(c)
	}
}

func (r *Intrusion) Lifecycle() lifecycle.Config {
	if r.cfg.Mode == Present {
		return r.cfg.Timing.lifecycle(r.cfg.MinDuration, 3*time.Second)
	}
	// The rule already waited MinDuration per object.
	// Enter and exit are instants: one frame starts the situation, and
	// several objects entering within the quiet time are one situation.
	return r.cfg.Timing.lifecycle(0, 2*time.Second)
}

func (r *Intrusion) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		return Signal{}
	}
	for i := range tracks {
		t := &tracks[i]
		k := keyOf(t)
		r.seen[k] = true
		if t.Box.Area() < r.cfg.MinSize || !r.cfg.Class.match(t, f, r.cfg.Perspective) {
			continue
		}
		in := r.cfg.Zone.in(t.Box)
		st, known := r.state[k]
		if !known {
			st = side{in: in, since: now}
		} else if in != st.in {
			// Exit is judged on the side left (it must have been inside
			// for MinDuration: boundary jitter is not an exit, and a person
			// leaving the frame cannot be waited for); enter on the side
			// reached (inside for MinDuration).
			if r.cfg.Mode == Exit && !in && now.Sub(st.since) >= r.cfg.MinDuration {
				r.boxes = append(r.boxes, t.Box)
			}
			st = side{in: in, since: now, crossed: true}
		}
		switch r.cfg.Mode {
		case Present:
			if in {
				r.boxes = append(r.boxes, t.Box)
			}
		case Enter:
			if in && st.crossed && !st.fired && now.Sub(st.since) >= r.cfg.MinDuration {
				st.fired = true
				r.boxes = append(r.boxes, t.Box)
			}
		}
		r.state[k] = st
	}
	sweep(r.state, r.seen)
	n := len(r.boxes)
	return Signal{On: n > 0, Score: clamp01(float64(n) / 3), Count: n, Boxes: r.boxes}
}

// ------------------------------------------------------------ line crossing

// LineConfig configures line_crossing.
type LineConfig struct {
	Name string
	// LineName is the operator's name for the line (reported as the zone).
	LineName    string
	Line        geometry.Line
	Class       Class
	Perspective geometry.Perspective
	Timing
}

// LineCrossing reports objects whose foot point crosses a directed line.
type LineCrossing struct {
	ident
	cfg   LineConfig
	last  map[trackKey]geometry.Point
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewLineCrossing validates cfg.
func NewLineCrossing(cfg LineConfig) (*LineCrossing, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &LineCrossing{ident: ident{cfg.Name, TypeLineCrossing, cfg.LineName}, cfg: cfg, last: map[trackKey]geometry.Point{}, seen: map[trackKey]bool{}}, nil
}

func (r *LineCrossing) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(0, 2*time.Second)
}

func (r *LineCrossing) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	for i := range tracks {
		t := &tracks[i]
		if t.Misses > 0 {
			continue // judge crossings on detections, not predictions
		}
		k := keyOf(t)
		r.seen[k] = true
		p := foot(t.Box)
		prev, ok := r.last[k]
		if r.cfg.Line.Side(p) == 0 {
			// Exactly on the line: judge when it leaves it, from the
			// side it came from.
			continue
		}
		r.last[k] = p
		if !ok || f.LightChange || f.Warmup || !r.cfg.Class.match(t, f, r.cfg.Perspective) {
			continue
		}
		if r.cfg.Line.Crossing(prev, p) != 0 {
			r.boxes = append(r.boxes, t.Box)
		}
	}
	// Coasting tracks keep their last detected point.
	for i := range tracks {
		if tracks[i].Misses > 0 {
			r.seen[keyOf(&tracks[i])] = true
		}
	}
	sweep(r.last, r.seen)
	n := len(r.boxes)
	return Signal{On: n > 0, Score: clamp01(float64(n) / 3), Count: n, Boxes: r.boxes}
}

// ---------------------------------------------------------------- loitering

// LoiterConfig configures loitering.
type LoiterConfig struct {
	Name        string
	Zone        Zone          `key:"zone"`
	Dwell       time.Duration `key:"dwell" default:"60s" range:"1s..24h" help:"how long an object must stay"`
	Radius      float64       `key:"radius" default:"3" range:"0.1..100" help:"how far, in body heights, it may wander from where it settled and still count as staying"`
	Class       Class
	Perspective geometry.Perspective
	Timing
}

type anchor struct {
	p     geometry.Point
	since time.Time
	// unseen is when the track's detections stopped (zero while it is
	// detected), unseenBox where it was then: see reacquired.
	unseen    time.Time
	unseenBox track.Box
}

// minSeenSpan is how long a track must have been detected, first to last
// detection, before its dwell can be reported: a person who came to stay
// was seen arriving. A track confirmed from a few frames of debris (an
// exposure step leaves blobs all over the picture) and coasting on ever
// after, never detected again, stays nowhere.
const minSeenSpan = 2 * time.Second

// reacquireGap is how long a track may go undetected and still be the same
// object when its next detection is elsewhere (see reacquired).
const reacquireGap = 2 * time.Second

// reacquired reports whether a detection ends a gap after which the track
// most likely stands for someone else: it went undetected for longer than
// reacquireGap and comes back at another place than it faded at. A person
// who stood still and shifts their weight comes back where they faded;
// the tracker hands a faded track to whoever arrives near it (the next
// visitor of a table), who does not.
func (a anchor) reacquired(now time.Time, t *track.Track) bool {
	return !a.unseen.IsZero() && now.Sub(a.unseen) > reacquireGap && t.Box.IoU(a.unseenBox) < 0.3
}

// Loitering reports objects that stay within a small area for long.
type Loitering struct {
	ident
	cfg   LoiterConfig
	state map[trackKey]anchor
	seen  map[trackKey]bool
	boxes []track.Box
	// alive are the keys of this frame's tracks; lost are the anchors of
	// tracks that ended, for handing over (see handover).
	alive map[trackKey]bool
	lost  []lostAnchor
}

// NewLoitering validates cfg.
func NewLoitering(cfg LoiterConfig) (*Loitering, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &Loitering{ident: ident{cfg.Name, TypeLoitering, cfg.Zone.Name}, cfg: cfg, state: map[trackKey]anchor{}, seen: map[trackKey]bool{}, alive: map[trackKey]bool{}}, nil
}

func (r *Loitering) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(0, 5*time.Second)
}

func (r *Loitering) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	best := 0.0
	for i := range tracks {
		t := &tracks[i]
		if !r.cfg.Zone.in(t.Box) || !r.cfg.Class.match(t, f, r.cfg.Perspective) {
			continue
		}
		k := keyOf(t)
		r.seen[k] = true
		p := foot(t.Box)
		a, ok := r.state[k]
		if !ok {
			if a, ok = r.handover(now, t, f); !ok {
				r.state[k] = anchor{p: p, since: now}
				continue
			}
			r.state[k] = a
		}
		switch {
		case t.Misses > 0 && a.unseen.IsZero():
			a.unseen, a.unseenBox = now, t.Box
			r.state[k] = a
		case t.Misses == 0 && a.reacquired(now, t):
			// Someone else took the faded track over: their own dwell
			// starts now.
			r.state[k] = anchor{p: p, since: now}
			continue
		case t.Misses == 0 && !a.unseen.IsZero():
			a.unseen = time.Time{}
			r.state[k] = a
		}
		d := r.cfg.Perspective.BodyHeights(p.X-a.p.X, p.Y-a.p.Y, p.Y, f.Aspect(), t.Box.H)
		if d > r.cfg.Radius {
			// Walked away from where it settled: it is passing, not staying.
			r.state[k] = anchor{p: p, since: now}
			continue
		}
		dwell := now.Sub(a.since)
		if dwell >= r.cfg.Dwell && t.LastSeen.Sub(t.Born) >= minSeenSpan {
			r.boxes = append(r.boxes, t.Box)
			best = math.Max(best, clamp01(dwell.Seconds()/(2*r.cfg.Dwell.Seconds())))
		}
	}
	r.forget(now, tracks, f)
	n := len(r.boxes)
	return Signal{On: n > 0, Score: best, Count: n, Boxes: r.boxes}
}

// -------------------------------------------------------------------- crowd

// CrowdConfig configures crowd.
type CrowdConfig struct {
	Name         string
	Zone         Zone          `key:"zone"`
	MinCount     int           `key:"min_count" default:"5" range:"2..1000" help:"this many objects in the zone make a crowd"`
	MinOccupancy float64       `key:"min_occupancy,negative_off" default:"0.3" range:"0.01..1" help:"this share of the zone covered by objects makes a crowd even when people merge into few blobs; negative: off"`
	Duration     time.Duration `key:"duration" default:"5s" range:"0s..1h" help:"how long the condition must hold"`
	Class        Class
	Perspective  geometry.Perspective
	Timing
}

// Crowd reports many objects, or a well-filled zone, for a while.
type Crowd struct {
	ident
	cfg      CrowdConfig
	zoneArea float64
	boxes    []track.Box
}

// NewCrowd validates cfg.
func NewCrowd(cfg CrowdConfig) (*Crowd, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	a := 1.0
	if len(cfg.Zone.Polygon) > 0 {
		a = math.Abs(cfg.Zone.Polygon.Area())
	}
	return &Crowd{ident: ident{cfg.Name, TypeCrowd, cfg.Zone.Name}, cfg: cfg, zoneArea: a}, nil
}

func (r *Crowd) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.Duration, 5*time.Second)
}

func (r *Crowd) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		return Signal{}
	}
	area := 0.0
	n := 0
	for i := range tracks {
		t := &tracks[i]
		if !r.cfg.Zone.in(t.Box) || !r.cfg.Class.match(t, f, r.cfg.Perspective) {
			continue
		}
		r.boxes = append(r.boxes, t.Box)
		// People hidden in a group's blob are tracks of their own
		// (track.Track.Merged); a person detector may count more.
		n += f.peopleOn(t)
		if !t.Merged() {
			area += t.Box.Area()
		}
	}
	occ := area / r.zoneArea
	on := n >= r.cfg.MinCount || (r.cfg.MinOccupancy > 0 && occ >= r.cfg.MinOccupancy)
	score := float64(n) / float64(2*r.cfg.MinCount)
	if r.cfg.MinOccupancy > 0 {
		score = math.Max(score, occ/(2*r.cfg.MinOccupancy))
	}
	return Signal{On: on, Score: clamp01(score), Count: n, Boxes: r.boxes}
}

// ------------------------------------------------------------------ running

// RunningConfig configures running.
type RunningConfig struct {
	Name        string
	Zone        Zone          `key:"zone"`
	Speed       float64       `key:"speed" default:"1.8" range:"0.2..20" help:"body heights per second above which an object runs (walking is about 0.8 to 1.4, running 2 to 3)"`
	Window      time.Duration `key:"window" default:"1s" range:"200ms..10s" help:"the time over which the speed is measured"`
	MinDuration time.Duration `key:"min_duration" default:"1s" range:"0s..1m" help:"how long the speed must hold"`
	Class       Class
	Perspective geometry.Perspective
	Timing
}

// Running reports objects moving faster than a person walks, in body
// heights per second so that near and far mean the same.
type Running struct {
	ident
	cfg   RunningConfig
	boxes []track.Box
}

// NewRunning validates cfg.
func NewRunning(cfg RunningConfig) (*Running, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	if cfg.Class == Any {
		// Running is what people do: a car, a cyclist or a blob of
		// cloud shadow sweeping the ground is fast by nature. class: any
		// keeps every object.
		cfg.Class = Person
	}
	return &Running{ident: ident{cfg.Name, TypeRunning, cfg.Zone.Name}, cfg: cfg}, nil
}

func (r *Running) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.MinDuration, 2*time.Second)
}

// edgeMargin: a box within this fraction of the image's top or bottom
// edge is taken as cut off by it.
const edgeMargin = 0.01

// cutOff reports whether b touches the top or bottom edge of the image.
func cutOff(b track.Box) bool { return b.Y <= edgeMargin || b.Y+b.H >= 1-edgeMargin }

// Speed is a track's foot speed in body heights per second over the last
// window, from detections only; ok is false without enough history.
func Speed(t *track.Track, window time.Duration, f FrameInfo, p geometry.Perspective) (float64, bool) {
	h := t.History
	last := -1
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Seen {
			last = i
			break
		}
	}
	if last < 0 {
		return 0, false
	}
	first := -1
	bh := 0.0 // the tallest box in the window is the body height: blobs shrink when legs or heads are lost, rarely grow
	for i := last; i >= 0; i-- {
		if !h[i].Seen {
			continue
		}
		if h[last].At.Sub(h[i].At) > window {
			break
		}
		first = i
		bh = math.Max(bh, h[i].Box.H)
	}
	if first < 0 || first == last || h[last].At.Sub(h[first].At) < window*3/5 {
		return 0, false
	}
	// Centre, not foot, is steadier when legs come and go; the foot row
	// picks the perspective scale.
	ax, ay := h[first].Box.Center()
	bx, by := h[last].Box.Center()
	_, fy := h[last].Box.Foot()
	d := p.BodyHeights(bx-ax, by-ay, fy, f.Aspect(), bh)
	return d / h[last].At.Sub(h[first].At).Seconds(), true
}

func (r *Running) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		return Signal{}
	}
	best := 0.0
	for i := range tracks {
		t := &tracks[i]
		if t.Misses > 0 || !r.cfg.Zone.in(t.Box) || !r.cfg.Class.match(t, f, r.cfg.Perspective) {
			continue
		}
		if r.cfg.Perspective.Zero() && cutOff(t.Box) {
			// Cut off by the top or bottom of the image, the box is
			// shorter than the body and the speed in body heights too
			// high: someone walking past the bottom edge "runs".
			continue
		}
		v, ok := Speed(t, r.cfg.Window, f, r.cfg.Perspective)
		if !ok || v < r.cfg.Speed {
			continue
		}
		r.boxes = append(r.boxes, t.Box)
		best = math.Max(best, clamp01(v/(2*r.cfg.Speed)))
	}
	return Signal{On: len(r.boxes) > 0, Score: best, Count: len(r.boxes), Boxes: r.boxes}
}

// -------------------------------------------------------------- person down

// PersonDownConfig configures person_down.
type PersonDownConfig struct {
	Name        string
	Zone        Zone          `key:"zone"`
	DownTime    time.Duration `key:"down_time" default:"10s" range:"1s..1h" help:"how long a person must stay down"`
	Aspect      float64       `key:"aspect" default:"1.2" range:"0.8..10" help:"a box at least this many times wider than tall (on screen) is lying"`
	HeightDrop  float64       `key:"height_drop" default:"0.6" range:"0.1..0.95" help:"the box is at most this share of the object's standing height seen before (or of the perspective's person height)"`
	Upright     time.Duration `key:"upright" default:"2s" range:"0s..1m" help:"how long the object must have been seen upright before, so that a car or a bench is not a person down"`
	Perspective geometry.Perspective
	Timing
}

// Upright history. A person who bends to pick something up, or whose blob
// merges with a chair for a moment, is not upright on every frame, and one
// merge makes the box far taller than the person: the evidence that a
// track is a person is the time it was seen upright, interruptions up to
// uprightGap included, and its
// standing height the median of its latest upright boxes (the latest, so
// that walking towards or away from the camera before the fall does not
// matter; the median, so that one inflated box does not).
const (
	uprightKeep = 4                      // latest upright heights kept
	uprightStep = 500 * time.Millisecond // most upright time one frame adds
	uprightGap  = time.Second            // longer without an upright detection: the upright time starts afresh
	// downGrace: a lying person's blob breaks up and changes shape as the
	// background model absorbs them or they move a limb; only this long a
	// run of detections that do not look lying ends "down" (standing up
	// again ends it at once).
	downGrace = time.Second
	// lyingLength: a lying body spans at least this share of its standing
	// height across the image (less than 1: seen obliquely from above, a
	// body lying along the line of sight is foreshortened).
	lyingLength = 0.4
)

type downState struct {
	heights     [uprightKeep]float64 // latest upright box heights, a ring
	nHeights    int                  // how many of heights are filled
	nextHeight  int
	uprightFor  time.Duration // total time seen upright
	lastUpright time.Time
	downSince   time.Time // lying since (zero: not down)
	lyingBox    track.Box // the latest box that looked lying
	notLying    time.Time // start of the current run of detections that do not look lying
}

// addUpright records an upright detection of height h at now.
func (st *downState) addUpright(now time.Time, h float64) {
	switch dt := now.Sub(st.lastUpright); {
	case st.lastUpright.IsZero():
	case dt > uprightGap:
		// Long unclear (merged, crouching, lost): what it was before
		// says little about what stands here now.
		st.uprightFor = 0
	default:
		st.uprightFor += min(max(dt, 0), uprightStep)
	}
	st.lastUpright = now
	st.heights[st.nextHeight] = h
	st.nextHeight = (st.nextHeight + 1) % uprightKeep
	st.nHeights = min(st.nHeights+1, uprightKeep)
}

// standingHeight is the median of the latest upright heights, 0 before
// any.
func (st *downState) standingHeight() float64 {
	var h [uprightKeep]float64
	n := copy(h[:], st.heights[:st.nHeights])
	if n == 0 {
		return 0
	}
	for i := 1; i < n; i++ { // insertion sort: n ≤ uprightKeep, no allocation
		for j := i; j > 0 && h[j] < h[j-1]; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
	return (h[(n-1)/2] + h[n/2]) / 2
}

// PersonDown reports a person who was upright and is now lying and stays
// down: the box turns wide and low and stays so.
type PersonDown struct {
	ident
	cfg   PersonDownConfig
	state map[trackKey]*downState
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewPersonDown validates cfg.
func NewPersonDown(cfg PersonDownConfig) (*PersonDown, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &PersonDown{ident: ident{cfg.Name, TypePersonDown, cfg.Zone.Name}, cfg: cfg, state: map[trackKey]*downState{}, seen: map[trackKey]bool{}}, nil
}

func (r *PersonDown) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(0, 5*time.Second)
}

func (r *PersonDown) Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	best := 0.0
	for i := range tracks {
		t := &tracks[i]
		k := keyOf(t)
		r.seen[k] = true
		st := r.state[k]
		if st == nil {
			st = &downState{}
			r.state[k] = st
		}
		if f.Warmup || f.LightChange {
			continue
		}
		b := t.Box
		ref := st.standingHeight()
		if !r.cfg.Perspective.Zero() {
			_, fy := b.Foot()
			ref = r.cfg.Perspective.HeightAt(fy)
		}
		if t.Misses == 0 && Classify(b, f, r.cfg.Perspective) == Person {
			if ref == 0 || b.H > r.cfg.HeightDrop*ref {
				// Standing (again); a tall, narrow fragment of a lying
				// person is not.
				st.addUpright(now, b.H)
				st.downSince, st.notLying = time.Time{}, time.Time{}
				continue
			}
		}
		if t.Misses == 0 {
			aspect := b.W * f.Aspect() / math.Max(b.H, 1e-6)
			// Lying: wide, low, and about a body long (a fragment of a
			// seated person or a bag is wide and low too).
			lying := st.uprightFor >= r.cfg.Upright && ref > 0 &&
				aspect >= r.cfg.Aspect && b.H <= r.cfg.HeightDrop*ref &&
				b.W*f.Aspect() >= lyingLength*ref && r.cfg.Zone.in(b)
			switch {
			case lying:
				if st.downSince.IsZero() {
					st.downSince = now
				}
				st.lyingBox = b
				st.notLying = time.Time{}
			case st.downSince.IsZero():
			case st.notLying.IsZero():
				st.notLying = now
			case now.Sub(st.notLying) > downGrace:
				st.downSince, st.notLying = time.Time{}, time.Time{}
			}
		}
		// A coasting track (Misses > 0: the still body absorbed by the
		// background model) stays as it was.
		if st.downSince.IsZero() {
			continue
		}
		// Down: the person stopped where they lie. Their blob breaks up
		// and fades piece by piece, and the tracker, which sees pieces
		// jump, would let the track coast away and die; it is kept as a
		// stopped object at the lying box instead (track.Tracker.Stop),
		// and found there again when they get up.
		f.stopAt(t.ID, st.lyingBox)
		if d := now.Sub(st.downSince); d >= r.cfg.DownTime {
			r.boxes = append(r.boxes, b)
			best = math.Max(best, clamp01(0.5+d.Seconds()/(4*r.cfg.DownTime.Seconds())))
		}
	}
	sweep(r.state, r.seen)
	return Signal{On: len(r.boxes) > 0, Score: best, Count: len(r.boxes), Boxes: r.boxes}
}

// ------------------------------------------------------------------- tamper

// minCellTexture is the share of the frame's normal sharpness a cell's own
// normal sharpness must reach to count in cover_share: a cell of sky or
// plain wall has no detail to lose, and its ratio to its own normal is
// noise.
const minCellTexture = 0.1

// minTexturedCells is the fewest cells with detail that cover_share is
// judged on; a view with fewer (a plain wall with one sign) is judged by
// its whole-frame sharpness alone.
const minTexturedCells = 8

// TamperConfig configures tamper.
type TamperConfig struct {
	Name       string
	DarkMean   float64       `key:"dark_mean" default:"20" range:"1..128" help:"a mean brightness (grey level) below this is a covered or blinded lens"`
	FlatStdDev float64       `key:"flat_stddev" default:"6" range:"0.5..64" help:"a contrast (standard deviation of grey levels) below this is a covered lens"`
	BlurRatio  float64       `key:"blur_ratio" default:"0.25" range:"0.01..0.9" help:"a sharpness below this share of the normal sharpness is a defocused or smeared lens"`
	CoverShare float64       `key:"cover_share" default:"0.5" range:"0.2..1" help:"a view of which this share lost its sharpness (each part below blur_ratio of its own) is a covered lens, if only partly or by something translucent"`
	Shift      float64       `key:"shift" default:"0.03" range:"0.005..0.5" help:"a view moved by more than this share of the image width is a moved camera"`
	Duration   time.Duration `key:"duration" default:"5s" range:"0s..1h" help:"how long the condition must hold; also how long a camera must deliver no picture for video loss"`
	Learn      time.Duration `key:"learn" default:"10s" range:"1s..1h" help:"how long the normal sharpness is learnt after the start"`
	Timing
}

// Tamper reports a covered, blinded, defocused or moved camera from frame
// statistics. Video loss (no pictures at all) is watched by the camera
// actor across sessions and reported as a tamper with detail "lost".
type Tamper struct {
	ident
	cfg     TamperConfig
	start   time.Time
	normal  float64 // learnt normal sharpness
	samples int
	// cells is the learnt normal sharpness of each cell of the frame
	// statistics' grid (FrameStats.Cells), learnt as normal is.
	cells [CellCols * CellRows]float64
	// mean is the learnt normal brightness the cells were learnt at.
	mean float64
	// Reason is why the rule is on: "covered", "defocused", "moved".
	reason string
}

// NewTamper validates cfg.
func NewTamper(cfg TamperConfig) (*Tamper, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &Tamper{ident: ident{cfg.Name, TypeTamper, ""}, cfg: cfg}, nil
}

func (r *Tamper) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.Duration, 3*time.Second)
}

// Duration is how long a condition must hold; the camera also uses it for
// video loss (no picture for this long).
func (r *Tamper) Duration() time.Duration { return r.cfg.Duration }

// Reason says what the latest active frame looked like: "covered",
// "defocused" or "moved"; "" when not tampered.
func (r *Tamper) Reason() string { return r.reason }

// lostShare is the share of the view's detailed cells (minCellTexture)
// whose sharpness fell below blur_ratio of their own normal: how much of
// the lens no longer sees the scene. Counted by cells, not by their
// sharpness, so that it measures area: the whole frame's sharpness is
// the sharpest part's, and a cover that leaves that part clear for last
// (bubble wrap sliding in from one side) hardly lowers it until the lens
// is nearly covered.
func (r *Tamper) lostShare(s FrameStats) float64 {
	floor := minCellTexture * r.normal
	// Auto exposure and gain scale every grey level, and the Laplacian's
	// variance with their square: a frame darkened by the exposure while a
	// bright car passes has lost contrast, not detail. The cells are
	// compared at the brightness they were learnt at (the whole frame's,
	// not the cell's own: a cover changes that).
	gain := 1.0
	if s.Mean >= 1 && r.mean >= 1 {
		gain = (r.mean / s.Mean) * (r.mean / s.Mean)
	}
	textured, lost := 0, 0
	for i, n := range r.cells {
		if n <= 0 || n < floor {
			continue
		}
		textured++
		if s.Cells[i]*gain < r.cfg.BlurRatio*n {
			lost++
		}
	}
	if textured < minTexturedCells {
		return 0
	}
	return float64(lost) / float64(textured)
}

func (r *Tamper) Observe(now time.Time, _ []track.Track, f FrameInfo) Signal {
	s := f.Stats
	if !s.Valid {
		return Signal{}
	}
	if r.start.IsZero() {
		r.start = now
	}
	covered := s.Mean < r.cfg.DarkMean || s.StdDev < r.cfg.FlatStdDev
	blurred := r.samples > 0 && s.Sharpness < r.cfg.BlurRatio*r.normal
	moved := s.Shift > r.cfg.Shift
	lost := 0.0
	if r.samples > 0 {
		lost = r.lostShare(s)
	}
	r.reason = ""
	var score float64
	switch {
	case covered:
		r.reason = "covered"
		score = 1 - clamp01(s.StdDev/(4*r.cfg.FlatStdDev))
		score = math.Max(score, 0.6)
	case lost >= r.cfg.CoverShare && !blurred:
		// Most of the view lost its detail, but not the whole frame's
		// sharpness: a cover over part of the lens, or a translucent one
		// still sliding in while the most detailed part is clear.
		r.reason = "covered"
		score = math.Max(lost, 0.6)
	case blurred:
		r.reason = "defocused"
		score = 1 - clamp01(s.Sharpness/math.Max(r.normal, 1e-9))
	case moved:
		r.reason = "moved"
		score = clamp01(s.Shift / (4 * r.cfg.Shift))
		score = math.Max(score, 0.5)
	}
	if r.reason == "" {
		// Learn normal sharpness: a running mean during the learning
		// period, then a slow follow so day and night both count as normal.
		r.samples++
		k := 3000.0
		if now.Sub(r.start) < r.cfg.Learn {
			k = float64(r.samples)
		}
		r.normal += (s.Sharpness - r.normal) / k
		r.mean += (s.Mean - r.mean) / k
		for i, v := range s.Cells {
			r.cells[i] += (v - r.cells[i]) / k
		}
		return Signal{}
	}
	return Signal{On: true, Score: clamp01(score), Detail: r.reason}
}
