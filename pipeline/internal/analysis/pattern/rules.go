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
// the rule's own minimum duration.
type Timing struct {
	// QuietTime bridges gaps: the situation ends only after the signal has
	// been absent this long. 0 → the rule's default.
	QuietTime time.Duration
	// UpdateInterval rate-limits updates of a running situation; 0 → 10 s.
	UpdateInterval time.Duration
}

func (t Timing) validate() error {
	if err := checkDur("quiet_time", t.QuietTime, 0, time.Hour); err != nil {
		return err
	}
	return checkDur("update_interval", t.UpdateInterval, 0, time.Hour)
}

func (t Timing) lifecycle(minDur, quiet time.Duration) lifecycle.Config {
	if t.QuietTime > 0 {
		quiet = t.QuietTime
	}
	up := t.UpdateInterval
	if up == 0 {
		up = 10 * time.Second
	}
	return lifecycle.Config{MinDuration: minDur, QuietTime: quiet, UpdateInterval: up}
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
	Name string
	Zone Zone
	Mode IntrusionMode
	// MinSize is the smallest box area (fraction of the frame) that counts;
	// 0 → 0.002.
	MinSize float64
	// MinDuration an object must be inside before intrusion starts or
	// zone_enter fires; for zone_exit, how long it must have been inside
	// before leaving. 0 → 1 s.
	MinDuration time.Duration
	Class       Class
	Perspective geometry.Perspective
	Timing
}

func (c IntrusionConfig) withDefaults() IntrusionConfig {
	if c.MinSize == 0 {
		c.MinSize = 0.002
	}
	if c.MinDuration == 0 {
		c.MinDuration = time.Second
	}
	return c
}

// Validate reports fields out of range.
func (c IntrusionConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := c.Zone.validate("zone", true); err != nil {
		return err
	}
	if c.Mode < Present || c.Mode > Exit {
		return fieldErr("mode", "unknown mode %d", c.Mode)
	}
	if err := checkRange("min_size", c.MinSize, 0, 0.5); err != nil {
		return err
	}
	if err := checkDur("min_duration", c.MinDuration, 0, time.Hour); err != nil {
		return err
	}
	if err := c.Class.validate("class"); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
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
	cfg   IntrusionConfig
	state map[trackKey]side
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewIntrusion validates cfg.
func NewIntrusion(cfg IntrusionConfig) (*Intrusion, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Intrusion{cfg: cfg.withDefaults(), state: map[trackKey]side{}, seen: map[trackKey]bool{}}, nil
}

func (r *Intrusion) Name() string { return r.cfg.Name }
func (r *Intrusion) Zone() string { return r.cfg.Zone.Name }
func (r *Intrusion) Type() string {
	switch r.cfg.Mode {
	case Enter:
		return TypeZoneEnter
	case Exit:
		return TypeZoneExit
	}
	return TypeIntrusion
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

// Validate reports fields out of range.
func (c LineConfig) Validate() error {
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := prefix("line", c.Line.Validate()); err != nil {
		return err
	}
	if err := c.Class.validate("class"); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
}

// LineCrossing reports objects whose foot point crosses a directed line.
type LineCrossing struct {
	cfg   LineConfig
	last  map[trackKey]geometry.Point
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewLineCrossing validates cfg.
func NewLineCrossing(cfg LineConfig) (*LineCrossing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &LineCrossing{cfg: cfg, last: map[trackKey]geometry.Point{}, seen: map[trackKey]bool{}}, nil
}

func (r *LineCrossing) Name() string { return r.cfg.Name }
func (r *LineCrossing) Type() string { return TypeLineCrossing }
func (r *LineCrossing) Zone() string { return r.cfg.LineName }
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
	Name string
	Zone Zone
	// Dwell is how long an object must stay; 0 → 60 s.
	Dwell time.Duration
	// Radius is how far (in body heights) it may wander from where it
	// settled and still count as staying; 0 → 3.
	Radius      float64
	Class       Class
	Perspective geometry.Perspective
	Timing
}

func (c LoiterConfig) withDefaults() LoiterConfig {
	if c.Dwell == 0 {
		c.Dwell = 60 * time.Second
	}
	if c.Radius == 0 {
		c.Radius = 3
	}
	return c
}

// Validate reports fields out of range.
func (c LoiterConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := c.Zone.validate("zone", false); err != nil {
		return err
	}
	if err := checkDur("dwell", c.Dwell, time.Second, 24*time.Hour); err != nil {
		return err
	}
	if err := checkRange("radius", c.Radius, 0.1, 100); err != nil {
		return err
	}
	if err := c.Class.validate("class"); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
}

type anchor struct {
	p     geometry.Point
	since time.Time
}

// Loitering reports objects that stay within a small area for long.
type Loitering struct {
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Loitering{cfg: cfg.withDefaults(), state: map[trackKey]anchor{}, seen: map[trackKey]bool{}, alive: map[trackKey]bool{}}, nil
}

func (r *Loitering) Name() string { return r.cfg.Name }
func (r *Loitering) Type() string { return TypeLoitering }
func (r *Loitering) Zone() string { return r.cfg.Zone.Name }
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
				r.state[k] = anchor{p, now}
				continue
			}
			r.state[k] = a
		}
		d := r.cfg.Perspective.BodyHeights(p.X-a.p.X, p.Y-a.p.Y, p.Y, f.Aspect(), t.Box.H)
		if d > r.cfg.Radius {
			// Walked away from where it settled: it is passing, not staying.
			r.state[k] = anchor{p, now}
			continue
		}
		dwell := now.Sub(a.since)
		if dwell >= r.cfg.Dwell {
			r.boxes = append(r.boxes, t.Box)
			best = math.Max(best, clamp01(dwell.Seconds()/(2*r.cfg.Dwell.Seconds())))
		}
	}
	r.forget(now, tracks)
	n := len(r.boxes)
	return Signal{On: n > 0, Score: best, Count: n, Boxes: r.boxes}
}

// -------------------------------------------------------------------- crowd

// CrowdConfig configures crowd.
type CrowdConfig struct {
	Name string
	Zone Zone
	// MinCount objects in the zone make a crowd; 0 → 5.
	MinCount int
	// MinOccupancy is the fraction of the zone's area covered by objects
	// that makes a crowd even when people merge into few blobs; 0 → 0.3,
	// negative disables it.
	MinOccupancy float64
	// Duration the condition must hold; 0 → 5 s.
	Duration    time.Duration
	Class       Class
	Perspective geometry.Perspective
	Timing
}

func (c CrowdConfig) withDefaults() CrowdConfig {
	if c.MinCount == 0 {
		c.MinCount = 5
	}
	if c.MinOccupancy == 0 {
		c.MinOccupancy = 0.3
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	return c
}

// Validate reports fields out of range.
func (c CrowdConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := c.Zone.validate("zone", false); err != nil {
		return err
	}
	if c.MinCount < 2 || c.MinCount > 1000 {
		return fieldErr("min_count", "%d is outside 2..1000", c.MinCount)
	}
	if c.MinOccupancy > 0 {
		if err := checkRange("min_occupancy", c.MinOccupancy, 0.01, 1); err != nil {
			return err
		}
	}
	if err := checkDur("duration", c.Duration, 0, time.Hour); err != nil {
		return err
	}
	if err := c.Class.validate("class"); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
}

// Crowd reports many objects, or a well-filled zone, for a while.
type Crowd struct {
	cfg      CrowdConfig
	zoneArea float64
	boxes    []track.Box
}

// NewCrowd validates cfg.
func NewCrowd(cfg CrowdConfig) (*Crowd, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := 1.0
	if len(cfg.Zone.Polygon) > 0 {
		a = math.Abs(cfg.Zone.Polygon.Area())
	}
	return &Crowd{cfg: cfg, zoneArea: a}, nil
}

func (r *Crowd) Name() string { return r.cfg.Name }
func (r *Crowd) Type() string { return TypeCrowd }
func (r *Crowd) Zone() string { return r.cfg.Zone.Name }
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
	Name string
	Zone Zone // optional; empty → whole frame
	// Speed in body heights per second above which an object runs; 0 → 1.8
	// (walking is about 0.8, running 2–3).
	Speed float64
	// Window over which speed is measured; 0 → 1 s.
	Window time.Duration
	// MinDuration the speed must hold; 0 → 1 s.
	MinDuration time.Duration
	Class       Class
	Perspective geometry.Perspective
	Timing
}

func (c RunningConfig) withDefaults() RunningConfig {
	if c.Speed == 0 {
		c.Speed = 1.8
	}
	if c.Window == 0 {
		c.Window = time.Second
	}
	if c.MinDuration == 0 {
		c.MinDuration = time.Second
	}
	return c
}

// Validate reports fields out of range.
func (c RunningConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := c.Zone.validate("zone", false); err != nil {
		return err
	}
	if err := checkRange("speed", c.Speed, 0.2, 20); err != nil {
		return err
	}
	if err := checkDur("window", c.Window, 200*time.Millisecond, 10*time.Second); err != nil {
		return err
	}
	if err := checkDur("min_duration", c.MinDuration, 0, time.Minute); err != nil {
		return err
	}
	if err := c.Class.validate("class"); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
}

// Running reports objects moving faster than a person walks, in body
// heights per second so that near and far mean the same.
type Running struct {
	cfg   RunningConfig
	boxes []track.Box
}

// NewRunning validates cfg.
func NewRunning(cfg RunningConfig) (*Running, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Running{cfg: cfg.withDefaults()}, nil
}

func (r *Running) Name() string { return r.cfg.Name }
func (r *Running) Type() string { return TypeRunning }
func (r *Running) Zone() string { return r.cfg.Zone.Name }
func (r *Running) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.MinDuration, 2*time.Second)
}

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
	Name string
	Zone Zone // optional
	// DownTime a person must stay down; 0 → 10 s.
	DownTime time.Duration
	// Aspect: a box at least this many times wider than tall (on screen)
	// is lying; 0 → 1.2.
	Aspect float64
	// HeightDrop: the box is at most this fraction of the object's own
	// standing height seen before (or of the perspective's person height);
	// 0 → 0.6.
	HeightDrop float64
	// Upright is how long the object must have been seen upright before,
	// so that a car or a bench is not "a person down"; 0 → 2 s.
	Upright     time.Duration
	Perspective geometry.Perspective
	Timing
}

func (c PersonDownConfig) withDefaults() PersonDownConfig {
	if c.DownTime == 0 {
		c.DownTime = 10 * time.Second
	}
	if c.Aspect == 0 {
		c.Aspect = 1.2
	}
	if c.HeightDrop == 0 {
		c.HeightDrop = 0.6
	}
	if c.Upright == 0 {
		c.Upright = 2 * time.Second
	}
	return c
}

// Validate reports fields out of range.
func (c PersonDownConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	if err := c.Zone.validate("zone", false); err != nil {
		return err
	}
	if err := checkDur("down_time", c.DownTime, time.Second, time.Hour); err != nil {
		return err
	}
	if err := checkRange("aspect", c.Aspect, 0.8, 10); err != nil {
		return err
	}
	if err := checkRange("height_drop", c.HeightDrop, 0.1, 0.95); err != nil {
		return err
	}
	if err := checkDur("upright", c.Upright, 0, time.Minute); err != nil {
		return err
	}
	if err := c.Perspective.Validate(); err != nil {
		return prefix("perspective", err)
	}
	return c.Timing.validate()
}

type downState struct {
	uprightH     float64 // tallest upright box height seen
	uprightSince time.Time
	uprightFor   time.Duration
	downSince    time.Time
}

// PersonDown reports a person who was upright and is now lying and stays
// down: the box turns wide and low and stays so.
type PersonDown struct {
	cfg   PersonDownConfig
	state map[trackKey]*downState
	seen  map[trackKey]bool
	boxes []track.Box
}

// NewPersonDown validates cfg.
func NewPersonDown(cfg PersonDownConfig) (*PersonDown, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &PersonDown{cfg: cfg.withDefaults(), state: map[trackKey]*downState{}, seen: map[trackKey]bool{}}, nil
}

func (r *PersonDown) Name() string { return r.cfg.Name }
func (r *PersonDown) Type() string { return TypePersonDown }
func (r *PersonDown) Zone() string { return r.cfg.Zone.Name }
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
		aspect := b.W * f.Aspect() / math.Max(b.H, 1e-6)
		if t.Misses == 0 && Classify(b, f, r.cfg.Perspective) == Person {
			if st.uprightSince.IsZero() {
				st.uprightSince = now
			}
			st.uprightFor = now.Sub(st.uprightSince)
			st.uprightH = math.Max(st.uprightH, b.H)
			st.downSince = time.Time{}
			continue
		}
		st.uprightSince = time.Time{}
		ref := st.uprightH
		if !r.cfg.Perspective.Zero() {
			_, fy := b.Foot()
			ref = r.cfg.Perspective.HeightAt(fy)
		}
		down := st.uprightFor >= r.cfg.Upright && ref > 0 &&
			aspect >= r.cfg.Aspect && b.H <= r.cfg.HeightDrop*ref && r.cfg.Zone.in(b)
		if !down {
			if t.Misses == 0 {
				st.downSince = time.Time{}
			}
			continue
		}
		if st.downSince.IsZero() {
			st.downSince = now
		}
		if d := now.Sub(st.downSince); d >= r.cfg.DownTime {
			r.boxes = append(r.boxes, b)
			best = math.Max(best, clamp01(0.5+d.Seconds()/(4*r.cfg.DownTime.Seconds())))
		}
	}
	sweep(r.state, r.seen)
	return Signal{On: len(r.boxes) > 0, Score: best, Count: len(r.boxes), Boxes: r.boxes}
}

// ------------------------------------------------------------------- tamper

// TamperConfig configures tamper.
type TamperConfig struct {
	Name string
	// DarkMean: a mean luma below this is a covered or blinded lens; 0 → 20.
	DarkMean float64
	// FlatStdDev: a luma standard deviation below this is a flat image
	// (covered by a hand, a bag, paint); 0 → 6.
	FlatStdDev float64
	// BlurRatio: sharpness below this fraction of the learnt normal
	// sharpness is a defocused or smeared lens; 0 → 0.25.
	BlurRatio float64
	// Shift: a global displacement above this fraction of the frame width
	// is a moved camera; 0 → 0.03.
	Shift float64
	// Duration the condition must hold; 0 → 5 s.
	Duration time.Duration
	// Learn is how long the normal sharpness is learnt after start; 0 → 10 s.
	Learn time.Duration
	Timing
}

func (c TamperConfig) withDefaults() TamperConfig {
	if c.DarkMean == 0 {
		c.DarkMean = 20
	}
	if c.FlatStdDev == 0 {
		c.FlatStdDev = 6
	}
	if c.BlurRatio == 0 {
		c.BlurRatio = 0.25
	}
	if c.Shift == 0 {
		c.Shift = 0.03
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	if c.Learn == 0 {
		c.Learn = 10 * time.Second
	}
	return c
}

// Validate reports fields out of range.
func (c TamperConfig) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return fieldErr("name", "required")
	}
	for _, x := range []struct {
		f         string
		v, lo, hi float64
	}{
		{"dark_mean", c.DarkMean, 1, 128},
		{"flat_stddev", c.FlatStdDev, 0.5, 64},
		{"blur_ratio", c.BlurRatio, 0.01, 0.9},
		{"shift", c.Shift, 0.005, 0.5},
	} {
		if err := checkRange(x.f, x.v, x.lo, x.hi); err != nil {
			return err
		}
	}
	if err := checkDur("duration", c.Duration, 0, time.Hour); err != nil {
		return err
	}
	if err := checkDur("learn", c.Learn, time.Second, time.Hour); err != nil {
		return err
	}
	return c.Timing.validate()
}

// Tamper reports a covered, blinded, defocused or moved camera from frame
// statistics. Video loss (no pictures at all) is watched by the camera
// actor across sessions and reported as a tamper with detail "lost".
type Tamper struct {
	cfg     TamperConfig
	start   time.Time
	normal  float64 // learnt normal sharpness
	samples int
	// Reason is why the rule is on: "covered", "defocused", "moved".
	reason string
}

// NewTamper validates cfg.
func NewTamper(cfg TamperConfig) (*Tamper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tamper{cfg: cfg.withDefaults()}, nil
}

func (r *Tamper) Name() string { return r.cfg.Name }
func (r *Tamper) Type() string { return TypeTamper }
func (r *Tamper) Zone() string { return "" }
func (r *Tamper) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.Duration, 3*time.Second)
}

// Duration is how long a condition must hold; the camera also uses it for
// video loss (no picture for this long).
func (r *Tamper) Duration() time.Duration { return r.cfg.Duration }

// Reason says what the latest active frame looked like: "covered",
// "defocused" or "moved"; "" when not tampered.
func (r *Tamper) Reason() string { return r.reason }

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
	r.reason = ""
	var score float64
	switch {
	case covered:
		r.reason = "covered"
		score = 1 - clamp01(s.StdDev/(4*r.cfg.FlatStdDev))
		score = math.Max(score, 0.6)
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
		if now.Sub(r.start) < r.cfg.Learn {
			r.normal += (s.Sharpness - r.normal) / float64(r.samples)
		} else {
			r.normal += (s.Sharpness - r.normal) / 3000
		}
		return Signal{}
	}
	return Signal{On: true, Score: clamp01(score), Detail: r.reason}
}
