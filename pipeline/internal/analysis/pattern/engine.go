package pattern

import (
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// Event is a situation transition of one rule.
type Event struct {
	Rule, Type, Zone string
	// Index is the rule's place among the engine's rules: what tells
	// situations of different rules apart.
	Index int
	lifecycle.Transition
	// Count, Boxes and Detail describe the latest active frame (no boxes
	// for an end). Boxes are owned by the engine and valid until the next
	// Observe: copy them to keep them.
	Count  int
	Boxes  []track.Box
	Detail string
	// Class is the objects' class on the latest active frame (Signal.Class).
	Class string
}

type ruleState struct {
	rule   Rule
	lc     *lifecycle.Tracker
	count  int
	boxes  []track.Box
	detail string
	class  string
}

// Engine runs a camera's rules and their lifecycles. Not safe for
// concurrent use; one camera analyser owns one.
type Engine struct {
	rules []ruleState
	out   []Event
}

// NewEngine checks every rule's lifecycle configuration.
func NewEngine(rules ...Rule) (*Engine, error) {
	e := &Engine{}
	for _, r := range rules {
		lc, err := lifecycle.New(r.Lifecycle())
		if err != nil {
			return nil, prefix(r.Name(), err)
		}
		e.rules = append(e.rules, ruleState{rule: r, lc: lc})
	}
	return e, nil
}

// Observe feeds one analysis frame to every rule and returns the
// transitions due (reused by the next call).
func (e *Engine) Observe(now time.Time, tracks []track.Track, f FrameInfo) []Event {
	e.out = e.out[:0]
	for i := range e.rules {
		rs := &e.rules[i]
		s := rs.rule.Observe(now, tracks, f)
		if s.On {
			rs.count = s.Count
			rs.boxes = append(rs.boxes[:0], s.Boxes...)
			rs.detail = s.Detail
			rs.class = s.Class
			if rs.class == "" {
				rs.class = classOf(rs.rule.Type(), s.Boxes, tracks, f)
			}
		}
		if tr, ok := rs.lc.Observe(now, s.On, s.Score); ok {
			e.out = append(e.out, rs.event(i, tr))
		}
	}
	return e.out
}

// Flush ends every running situation (stream stopped, rules reloaded).
func (e *Engine) Flush() []Event {
	e.out = e.out[:0]
	for i := range e.rules {
		if tr := e.rules[i].lc.Flush(); tr.Phase != lifecycle.None {
			e.out = append(e.out, e.rules[i].event(i, tr))
		}
	}
	return e.out
}

func (rs *ruleState) event(i int, tr lifecycle.Transition) Event {
	ev := Event{Rule: rs.rule.Name(), Type: rs.rule.Type(), Zone: rs.rule.Zone(), Index: i, Transition: tr, Detail: rs.detail, Class: rs.class}
	if tr.Phase != lifecycle.End {
		ev.Count, ev.Boxes = rs.count, rs.boxes
	}
	return ev
}

// classOf names the class of the objects a signal's boxes show, where the
// rule did not: a neural detection of a vehicle or bag on the box, else the
// track's class (the person detector's verdict, or its shape). Boxes that
// differ give ""; so do types whose boxes are not objects (motion, tamper).
// Rules with a configured class only report objects of that class, so the
// vote agrees with them; the shape is judged without a perspective here, so
// an object of a person's shape but not size can be named "person".
func classOf(typ string, boxes []track.Box, tracks []track.Track, f FrameInfo) string {
	if typ == TypeMotion || typ == TypeTamper {
		return ""
	}
	class := ""
	for i, b := range boxes {
		c := boxClass(typ, b, tracks, f)
		if i > 0 && c != class {
			return ""
		}
		class = c
	}
	return class
}

func boxClass(typ string, b track.Box, tracks []track.Track, f FrameInfo) string {
	if typ == TypeObjectRemoved {
		// What is gone cannot be seen.
		return string(Object)
	}
	for _, o := range f.Objects {
		if o.Box.Within(b) >= 0.5 || b.Within(o.Box) >= 0.5 {
			return o.Class
		}
	}
	if typ == TypeAbandonedObject {
		// A static region is not a track.
		return string(Object)
	}
	var best *track.Track
	bestCover := 0.5
	for i := range tracks {
		if c := tracks[i].Box.Within(b); c >= bestCover {
			best, bestCover = &tracks[i], c
		}
	}
	if best == nil {
		return ""
	}
	return string(ClassifyTrack(best, f, geometry.Perspective{}))
}
