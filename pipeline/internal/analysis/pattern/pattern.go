// Package pattern turns the motion detector's verdict, tracks and a few
// frame statistics into the situations a control room asks about: motion,
// someone in a zone, a line crossed, loitering, a crowd forming, a person
// running, a person down, a camera tampered with. Every type is declared
// once, in the registry (registry.go).
//
// Every rule is pure Go, rule-based and explainable: it produces a per-frame
// on/off signal with a score, and an Engine turns each rule's signal into
// one situation (start, rate-limited updates, end) with pipeline/internal/analysis/lifecycle.
// Rules never see pixels, and nothing a rule emits carries a track id.
package pattern

import (
	"fmt"
	"math"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// Event types, as in the event schema's "type".
const (
	TypeMotion       = "motion"
	TypeIntrusion    = "intrusion"
	TypeZoneEnter    = "zone_enter"
	TypeZoneExit     = "zone_exit"
	TypeLineCrossing = "line_crossing"
	TypeLoitering    = "loitering"
	TypeCrowd        = "crowd"
	TypeRunning      = "running"
	TypePersonDown   = "person_down"
	TypeTamper       = "tamper"
)

// FrameInfo is what a rule knows about the analysis frame besides tracks.
type FrameInfo struct {
	// Width, Height of the analysis frame in pixels (for aspect ratios).
	Width, Height int
	// Moving is the motion detector's verdict on the frame: something
	// moved, outside warm-up and light changes; MotionScore rates how much
	// (motion.Result). Blobs are its boxes, normalised (set by
	// Pipeline.Frame; valid until the next frame).
	Moving      bool
	MotionScore float64
	Blobs       []track.Box
	// Warmup and LightChange come from the motion detector: while either
	// holds, blobs say nothing about objects.
	Warmup, LightChange bool
	// Stats are the frame statistics tamper detection needs; Valid is false
	// when they were not computed.
	Stats FrameStats

	// The pixel measurements below are computed only when a rule asks for
	// them (see Needs); rules never see the pixels themselves.

	// Static are regions that differ from the long-term background and
	// have stopped changing: something put down, or something gone.
	Static []StaticObject
	// Flow are optical-flow measurements of the moving regions.
	Flow []FlowRegion
	// Persons are the boxes a person detector confirmed on this frame;
	// PersonsValid is false when no detector ran on it.
	Persons      []track.Box
	PersonsValid bool
	// PersonsChecked are the blobs the person detector examined on this
	// frame: one of them without a person inside was looked at and holds
	// none (blobs it skipped, too small or not due, are not here).
	PersonsChecked []track.Box
	// PersonsNeural: the detector is the neural one (NanoDet), whose
	// examination that finds nobody is trusted at once (rejectAfterNeural).
	PersonsNeural bool
	// Objects are the vehicles and bags a neural detector found on this
	// frame's blobs; they name an event's class (Event.Class), nothing
	// else.
	Objects []Detection

	// persons is what the detector said about each track so far; set by
	// Pipeline.Frame, nil without a detector.
	persons *personMemory
	// ended are the tracks ended on purpose since the previous frame
	// (Pipeline.End): they stood for nobody any more, and gone from this
	// frame's tracks they hand nothing on.
	ended []trackKey
	// tracker is the pipeline's tracker, for rules that know more about a
	// track than its blobs tell (stopAt); nil outside a Pipeline.
	tracker *track.Tracker
}

// stopAt tells the tracker that track id has stopped at b
// (track.Tracker.Stop); nothing without a tracker.
func (f FrameInfo) stopAt(id int, b track.Box) {
	if f.tracker != nil {
		f.tracker.Stop(id, b)
	}
}

// endedOnPurpose reports whether k is one of f.ended.
func (f FrameInfo) endedOnPurpose(k trackKey) bool {
	for _, e := range f.ended {
		if e == k {
			return true
		}
	}
	return false
}

// Detection is a neural detection that is not a person: its box and its
// class as events name it ("vehicle", "bag").
type Detection struct {
	Box   track.Box
	Class string
}

// StaticKind says whether a static region holds something new or lacks
// something that was part of the scene.
type StaticKind int

const (
	// Added: an object that was not part of the background (a bag put down).
	Added StaticKind = iota + 1
	// Removed: a part of the background is gone (an object taken away).
	Removed
)

// StaticObject is a region of the frame that differs from the long-term
// background and has not changed since Since.
type StaticObject struct {
	Box   track.Box
	Kind  StaticKind
	Since time.Time
}

// FlowRegion is the optical flow inside one moving region.
type FlowRegion struct {
	Box track.Box
	// Speed is the mean flow magnitude of the moving pixels, in frame
	// heights per second.
	Speed float64
	// Spread is how erratic the motion is: the circular variance of the
	// directions each moving pixel took over the last few frame pairs
	// (weighted by speed, averaged over the pixels). 0 when every spot
	// keeps its direction (a walker, a runner, two people walking up to
	// each other), towards 1 when limbs and bodies go back and forth.
	Spread float64
	// Clash is how differently neighbouring spots move at the same moment:
	// the share of the moving pixels' flow that cancels within cells of
	// about 0.4 of the region's height, in the newest frame pair. 0 when
	// each part of the region moves one way (one body, or bodies going
	// their own ways side by side), towards 1 when bodies and limbs push
	// against each other.
	Clash float64
	// Moving is the fraction of the region's foreground pixels that move.
	Moving float64
}

// Needs says which measurements a rule uses beyond the motion detector's
// verdict; the analyser computes only what some rule needs.
type Needs struct {
	// Scene: tracks and the frame statistics (brightness, sharpness, view
	// shift); every rule but motion.
	Scene bool
	// Pixel measurements.
	Static, Flow, Persons bool
}

// PixelRule is implemented by rules that say what they need; a rule
// that does not needs the Scene.
type PixelRule interface {
	Needs() Needs
}

// NeedsOf is the union of the rules' needs.
func NeedsOf(rules []Rule) Needs {
	var n Needs
	for _, r := range rules {
		x := Needs{Scene: true}
		if pr, ok := r.(PixelRule); ok {
			x = pr.Needs()
		}
		n.Scene = n.Scene || x.Scene
		n.Static = n.Static || x.Static
		n.Flow = n.Flow || x.Flow
		n.Persons = n.Persons || x.Persons
	}
	return n
}

// FrameStats are cheap global measurements of the grey frame.
type FrameStats struct {
	Valid bool
	// Mean luma 0..255.
	Mean float64
	// StdDev of luma: a covered lens gives a flat image.
	StdDev float64
	// Sharpness is the variance of the Laplacian: drops when the lens is
	// defocused, smeared or covered.
	Sharpness float64
	// Cells are the sharpness (variance of the Laplacian) of each cell of
	// a CellCols×CellRows grid over the frame, row by row: where the view
	// lost its detail. The whole frame's Sharpness is dominated by its
	// most detailed part, so a cover sliding over the rest of the lens
	// hardly moves it; the cells see it (tamper's cover_share).
	Cells [CellCols * CellRows]float64
	// Shift is the global displacement against the reference view, as a
	// fraction of the frame width: the camera was moved.
	Shift float64
	// ShiftConfidence is the phase-correlation response 0..1; a low value
	// means the view no longer resembles the reference at all.
	ShiftConfidence float64
	// LowTexture: the view has too little structure for the shift to be
	// measured (a plain wall, pavement in sensor noise, a covered lens):
	// the displacement against the reference is not confirmed by the view
	// itself a moment ago (framestat). Shift is then 0: the displacement
	// phase correlation names without a peak is noise, and taking it for
	// a moved view would blind every rule.
	LowTexture bool
}

// CellCols and CellRows are the grid of FrameStats.Cells: cells of about
// 80×90 px on a 640×360 frame, each large enough to hold a piece of
// structure (a window, a wheel) and small enough that a cover's edge
// crosses few of them.
const (
	CellCols = 8
	CellRows = 4
)

// MinShiftConfidence is the phase-correlation response below which a
// correlation found no peak. Real camera views correlate with their
// reference at 0.1 to 0.9 (the lowest seen on recorded clips: 0.11, with
// people and cars in view); a flat view in sensor noise at about 0.005.
const MinShiftConfidence = 0.04

// Aspect is width/height of the frame; 16/9 when unknown.
func (f FrameInfo) Aspect() float64 {
	if f.Width > 0 && f.Height > 0 {
		return float64(f.Width) / float64(f.Height)
	}
	return 16.0 / 9
}

// Signal is one rule's verdict on one frame.
type Signal struct {
	On    bool
	Score float64 // 0..1
	// Count is how many objects take part.
	Count int
	// Boxes are the normalised boxes of the objects taking part (reused by
	// the rule; valid until its next Observe).
	Boxes []track.Box
	// Detail says what kind of situation it is where a type has several
	// (tamper: "covered", "defocused", "moved").
	Detail string
	// Class is what the objects taking part were classified as (an
	// event.Classes value), "" when they differ or the rule has no objects.
	Class string
}

// Rule is one configured detector instance.
type Rule interface {
	// Name is the operator's name for this rule instance.
	Name() string
	// Type is the event type it produces.
	Type() string
	// Zone is the zone's name, "" if the rule is not bound to one.
	Zone() string
	// Lifecycle says how signals become situations.
	Lifecycle() lifecycle.Config
	// Observe judges one analysis frame; calls come in time order.
	Observe(now time.Time, tracks []track.Track, f FrameInfo) Signal
}

// ident is what a rule says about itself, the first three methods of Rule.
type ident struct{ name, typ, zone string }

func (i ident) Name() string { return i.name }
func (i ident) Type() string { return i.typ }
func (i ident) Zone() string { return i.zone }

// FieldError names the config field that is wrong, as a path relative to
// the rule ("zone.points[2]", "min_count"); a config loader prefixes file,
// line and the rule's position.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// prefix puts parent in front of a geometry or pattern field error.
func prefix(parent string, err error) error {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *geometry.FieldError:
		return &FieldError{Field: parent + "." + e.Field, Msg: e.Msg}
	case *FieldError:
		return &FieldError{Field: parent + "." + e.Field, Msg: e.Msg}
	}
	return &FieldError{Field: parent, Msg: err.Error()}
}

// Class selects which objects a rule considers.
type Class string

const (
	// Any object.
	Any Class = ""
	// Person: upright shape, roughly person-sized where a perspective is set.
	Person Class = "person"
	// Object: everything that is not classed as a person.
	Object Class = "object"
)

func (c Class) validate(field string) error {
	switch c {
	case Any, Person, Object, "any":
		return nil
	}
	return fieldErr(field, "unknown class %q (want any, person or object)", string(c))
}

// Classify says "person" or "object" from shape alone: a person's box is
// clearly taller than wide on screen and, when a perspective is configured,
// about as tall as a person would be at that row. It is a heuristic; a
// person lying down or a group merged into one blob is an "object". Rules
// use ClassifyTrack, which prefers a person detector's verdict.
func Classify(b track.Box, f FrameInfo, p geometry.Perspective) Class {
	wPx, hPx := b.W*f.Aspect(), b.H // in frame heights
	if hPx < 1.3*wPx || hPx > 5*wPx {
		return Object
	}
	if !p.Zero() {
		_, fy := b.Foot()
		r := b.H / p.HeightAt(fy)
		if r < 0.5 || r > 2 {
			return Object
		}
	}
	return Person
}

func (c Class) match(t *track.Track, f FrameInfo, p geometry.Perspective) bool {
	switch c {
	case Person:
		return ClassifyTrack(t, f, p) == Person
	case Object:
		return ClassifyTrack(t, f, p) == Object
	}
	return true
}

func foot(b track.Box) geometry.Point {
	x, y := b.Foot()
	return geometry.Point{X: x, Y: y}
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// trackKey identifies a track across frames despite id reuse.
type trackKey struct {
	id   int
	born time.Time
}

func keyOf(t *track.Track) trackKey { return trackKey{t.ID, t.Born} }

// sweep deletes per-track state of tracks that are gone.
func sweep[V any](m map[trackKey]V, seen map[trackKey]bool) {
	for k := range m {
		if !seen[k] {
			delete(m, k)
		}
	}
	clear(seen)
}
