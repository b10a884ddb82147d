package egress

import (
	"errors"
	"fmt"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Optional event fields, as the policy names them. TestFilterCoversEveryField
// fails if event.Event gains a field that is neither here nor in the
// mandatory list, so a new field cannot slip past the policy.
const (
	FieldScore  = "score"
	FieldZone   = "zone"
	FieldCount  = "count"
	FieldBoxes  = "boxes"
	FieldDetail = "detail"
	FieldClass  = "class"
)

// filter returns the copy of ev that may leave under r, and how many
// optional fields it removed.
//
// zone, count, boxes, detail and class are omitempty in the v1 schema, so zeroing them
// removes them from the JSON. score is mandatory in v1, so a disallowed score
// is published as 0 rather than omitted: the message stays valid for every
// v1 consumer and carries no information, and ev.Policy names the policy
// that withheld it. Dropping the key would need a schema change in
// pipeline/event.
func filter(r Rules, ev event.Event) (event.Event, int, error) {
	switch ev.Schema {
	case "":
		ev.Schema = event.Schema
	case event.Schema:
	default:
		// Unknown schema: the guard cannot know which fields it carries.
		return ev, 0, fmt.Errorf("egress: event schema %q, want %q", ev.Schema, event.Schema)
	}
	if ev.ID == "" {
		return ev, 0, errors.New("egress: event has no id")
	}
	if ev.EventID == "" {
		// Situations are kept whole by this id (see limiter).
		return ev, 0, errors.New("egress: event has no event_id")
	}
	if err := validSegment(ev.Camera); err != nil {
		return ev, 0, fmt.Errorf("egress: camera: %w", err)
	}
	if ev.At.IsZero() {
		// The schedule and the rate limit judge events by this time.
		return ev, 0, errors.New("egress: event has no time (at)")
	}
	if !r.AllowsType(ev.Type) {
		return ev, 0, fmt.Errorf("%w: %q", ErrTypeNotAllowed, ev.Type)
	}
	if !r.AllowsEventAt(ev.Type, ev.At.Time) {
		return ev, 0, fmt.Errorf("%w: %q at %s", ErrOutsideSchedule, ev.Type, ev.At.UTC().Format(event.TimeFormat))
	}
	name, sum := r.Identity()
	if name == "" {
		return ev, 0, errors.New("egress: policy rules have no name")
	}

	stripped := 0
	if ev.Score != 0 && !r.AllowsField(FieldScore) {
		ev.Score = 0
		stripped++
	}
	if ev.Zone != "" && !r.AllowsField(FieldZone) {
		ev.Zone = ""
		stripped++
	}
	if ev.Count != 0 && !r.AllowsField(FieldCount) {
		ev.Count = 0
		stripped++
	}
	if ev.Detail != "" && !r.AllowsField(FieldDetail) {
		ev.Detail = ""
		stripped++
	}
	if ev.Class != "" && !r.AllowsField(FieldClass) {
		ev.Class = ""
		stripped++
	}
	if ev.Boxes != nil && !r.AllowsField(FieldBoxes) {
		ev.Boxes = nil // the caller's slice is left alone
		stripped++
	}
	ev.Policy = &event.PolicyRef{Name: name, SHA256: sum}
	return ev, stripped, nil
}
