// Package event defines the messages edgeguard publishes: events, camera and
// device status. Their JSON form is the control room's contract
// (docs/events.md); change it only together with the schema version.
package event

import (
	"time"

	"github.com/google/uuid"
)

// Schema identifies the event payload version. Consumers switch on it.
const Schema = "edgeguard.event/v1"

// Phase is where a situation is in its life.
type Phase string

// The phases of a situation: one start, zero or more updates, one end.
const (
	PhaseStart  Phase = "start"
	PhaseUpdate Phase = "update"
	PhaseEnd    Phase = "end"
)

// Object classes an event can name (Event.Class). The neural detector's
// COCO labels map onto them (bicycle, car, motorcycle, bus, truck →
// vehicle; birds and mammals → animal; backpack, handbag, suitcase → bag);
// anything else, or an object no detector looked at, is object. The
// vocabulary is ONVIF Profile M's object classes (Human, Vehicle, Animal,
// Other) plus bag, for left luggage.
const (
	ClassPerson  = "person"
	ClassVehicle = "vehicle"
	ClassAnimal  = "animal"
	ClassBag     = "bag"
	ClassObject  = "object"
)

// Classes are the values of Event.Class, in the order docs/events.md
// lists them.
var Classes = []string{ClassPerson, ClassVehicle, ClassAnimal, ClassBag, ClassObject}

// Event is one message about a situation on one camera.
//
// ID is unique per message and assigned once, when the message is created, so
// a retry after a reconnect or restart carries the same ID and consumers can
// de-duplicate. EventID is shared by the start, updates and end of one
// situation.
type Event struct {
	Schema    string  `json:"schema"`
	ID        string  `json:"id"`
	EventID   string  `json:"event_id"`
	Device    string  `json:"device"`
	Camera    string  `json:"camera"`
	Type      string  `json:"type"`
	Phase     Phase   `json:"phase"`
	Seq       uint64  `json:"seq"`
	At        Time    `json:"at"`
	StartedAt Time    `json:"started_at"`
	EndedAt   *Time   `json:"ended_at,omitempty"`
	Score     float64 `json:"score"`
	// Optional fields; the egress guard removes those the policy does not allow.
	Zone  string `json:"zone,omitempty"`
	Count int    `json:"count,omitempty"`
	Boxes []Box  `json:"boxes,omitempty"`
	// Detail says which kind of situation it is where a type has several
	// (tamper: covered, defocused, moved, lost), or "restart" in an end the
	// outbox sent after a restart for a situation the previous run could
	// not end (docs/events.md, Ends after a restart).
	Detail string `json:"detail,omitempty"`
	// Class is what kind of object the situation is about (one of
	// Classes), where the rule's objects were classified: a person
	// detector's verdict, or the shape heuristic's person/object without
	// one. Absent for motion and tamper.
	Class string `json:"class,omitempty"`
	// Policy names the rules the event was produced under (set by the egress guard).
	Policy *PolicyRef `json:"policy,omitempty"`
}

// Box is a rectangle in normalised image coordinates (0..1).
type Box struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// PolicyRef ties a message to the policy that was in force.
type PolicyRef struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// NewID returns a time-ordered unique id (UUIDv7), so ids sort roughly by
// creation time in logs and stores.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Time marshals as RFC 3339 in UTC with millisecond precision, the format
// the schema documents.
type Time struct{ time.Time }

// TimeFormat is the wire format of every timestamp.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return &time.ParseError{Layout: TimeFormat, Value: string(b)}
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// CameraState is the state on a camera's retained status topic.
type CameraState string

// Camera states.
const (
	StateConnecting CameraState = "connecting"
	StateStreaming  CameraState = "streaming"
	StateOffline    CameraState = "offline"
	StateError      CameraState = "error"
)

// CameraStatus is the retained JSON on <prefix>/<device>/<camera>/status.
type CameraStatus struct {
	Device string      `json:"device"`
	Camera string      `json:"camera"`
	State  CameraState `json:"state"`
	Codec  string      `json:"codec,omitempty"`
	Width  int         `json:"width,omitempty"`
	Height int         `json:"height,omitempty"`
	FPS    float64     `json:"fps,omitempty"`
	Since  Time        `json:"since"`
	Error  string      `json:"error,omitempty"`
	// Analysis is set while an operator has paused the camera's analysis
	// (docs/oversight.md): the camera still streams, but no events and no
	// images leave. Absent while the analysis runs.
	Analysis *AnalysisPause `json:"analysis,omitempty"`
}

// AnalysisPause says why a camera's analysis is paused.
type AnalysisPause struct {
	State string `json:"state"` // always "paused"
	// Scope is "camera" (this camera was paused) or "device" (every
	// camera was: the stop button).
	Scope    string `json:"scope"`
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
	Since    Time   `json:"since"`
	// Until is when the pause ends by itself; absent: when resumed.
	Until *Time `json:"until,omitempty"`
}

// Device status values on the retained <prefix>/<device>/status topic.
const (
	DeviceOnline  = "online"
	DeviceOffline = "offline"
)
