package pattern

import (
	"time"

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
}

type ruleState struct {
	rule   Rule
	lc     *lifecycle.Tracker
	count  int
	boxes  []track.Box
	detail string
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
	ev := Event{Rule: rs.rule.Name(), Type: rs.rule.Type(), Zone: rs.rule.Zone(), Index: i, Transition: tr, Detail: rs.detail}
	if tr.Phase != lifecycle.End {
		ev.Count, ev.Boxes = rs.count, rs.boxes
	}
	return ev
}
