package policy

import "slices"

// MaxEventsPerMinute is egress.max_events_per_minute. The egress guard
// enforces it per camera and event type (see pipeline/internal/egress).
func (p *Policy) MaxEventsPerMinute() int { return p.Egress.MaxEventsPerMinute }

// AllowsType reports whether events of type t may leave at all, whatever
// the schedule says. The egress guard uses it to tell a suppression by type
// from one by schedule (AllowsEventAt answers both at once).
func (p *Policy) AllowsType(t string) bool { return slices.Contains(p.Egress.Events, t) }
