// Package onvif maps edgeguard events to ONVIF's JSON event format over
// MQTT, as the Event Broker section of the ONVIF Core specification
// defines it ("onvif-ej" payloads), so that a video management system that
// speaks Profile M can take edgeguard's events without an adapter.
//
// The mapping is pure: Map takes an event the egress guard has already
// filtered by the policy (fields the policy does not allow are empty) and
// returns a topic suffix, the payload and whether the message is retained.
// It reads only the event, never outside input, so nothing here parses
// bytes from the network or a file (and there is no fuzz target).
//
// What does not leave: no track or object ids (ONVIF's ObjectId is left
// out: edgeguard never publishes a persistent track id, and the situation
// id is no ONVIF object), no boxes, no score. The zone or line name and the
// object class appear only when the policy allows the fields "zone" and
// "class", because they are read from the filtered event. docs/onvif.md
// has the table.
package onvif

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// PayloadPrefix is the Event Broker's payload prefix for the JSON event
// format: topics are <TopicPrefix>/onvif-ej/<LocalTopic>...
const PayloadPrefix = "onvif-ej"

// AnalyticsConfiguration is the Source value naming edgeguard's analytics
// on every camera. Edgeguard has one analytics configuration per camera
// (its rules), so the name is fixed.
const AnalyticsConfiguration = "edgeguard"

// VendorAlias is the topic namespace of the patterns ONVIF has no topic
// for: tns:edgeguard/<topic>, as the Event Broker section asks for topics
// outside ONVIF's own namespace.
const VendorAlias = "tns:edgeguard"

// Property operations of ONVIF property events.
const (
	OpInitialized = "Initialized"
	OpChanged     = "Changed"
	OpDeleted     = "Deleted"
)

// kind is how an edgeguard situation becomes ONVIF messages.
type kind int

const (
	// pulse: one message when the situation starts, nothing for its
	// updates and end (ONVIF's LineDetector/Crossed is such an event).
	pulse kind = iota
	// state: a property, true at the start and false at the end,
	// retained so a subscriber that arrives later learns the state.
	state
	// counter: a property that carries the count in every message.
	counter
	// leave: zone_exit. The start says the zone lost an object
	// (IsInside false); its end says nothing new.
	leave
)

// Topic is one mapping of an event type (or, for tamper, of a tamper kind).
type Topic struct {
	// LocalTopic is the ONVIF topic without the "tns1:" prefix, or the
	// vendor topic with VendorAlias.
	LocalTopic string
	// Item is the Data item of a property (IsInside, State, Count).
	Item string
	kind kind
	// video: a VideoSource topic; its Source names only the camera.
	video bool
}

// Retained reports whether messages on the topic are retained (property
// events are).
func (t Topic) Retained() bool { return t.kind != pulse }

// The ONVIF topics edgeguard publishes on.
var (
	lineCrossed  = Topic{LocalTopic: "RuleEngine/LineDetector/Crossed", kind: pulse}
	fieldInside  = Topic{LocalTopic: "RuleEngine/FieldDetector/ObjectsInside", Item: "IsInside", kind: state}
	fieldLeft    = Topic{LocalTopic: "RuleEngine/FieldDetector/ObjectsInside", Item: "IsInside", kind: leave}
	loitering    = Topic{LocalTopic: "RuleEngine/LoiteringDetector/ObjectIsLoitering", Item: "IsLoitering", kind: state}
	countAgg     = Topic{LocalTopic: "RuleEngine/CountAggregation/Counter", Item: "Count", kind: counter}
	abandoned    = Topic{LocalTopic: "RuleEngine/ObjectAbandoned", kind: pulse}
	removed      = Topic{LocalTopic: "RuleEngine/ObjectRemoved", kind: pulse}
	motionAlarm  = Topic{LocalTopic: "VideoSource/MotionAlarm", Item: "State", kind: state, video: true}
	sceneChange  = Topic{LocalTopic: "VideoSource/GlobalSceneChange/ImagingService", Item: "State", kind: state, video: true}
	tooBlurry    = Topic{LocalTopic: "VideoSource/ImageTooBlurry/ImagingService", Item: "State", kind: state, video: true}
	tooDark      = Topic{LocalTopic: "VideoSource/ImageTooDark/ImagingService", Item: "State", kind: state, video: true}
	signalLoss   = Topic{LocalTopic: "VideoSource/SignalLoss", Item: "State", kind: state, video: true}
	running      = Topic{LocalTopic: VendorAlias + "/RuleEngine/Running", Item: "State", kind: state}
	personDown   = Topic{LocalTopic: VendorAlias + "/RuleEngine/PersonDown", Item: "State", kind: state}
	violentMoves = Topic{LocalTopic: VendorAlias + "/RuleEngine/ViolentMotion", Item: "State", kind: state}
)

// Types maps every event type of the rule registry (policy.EventTypes) to
// its topic; TestEveryEventTypeHasATopic fails when a type is missing. A
// tamper's topic depends on its detail (see Tamper).
var Types = map[string]Topic{
	"motion":           motionAlarm,
	"intrusion":        fieldInside,
	"zone_enter":       fieldInside,
	"zone_exit":        fieldLeft,
	"line_crossing":    lineCrossed,
	"loitering":        loitering,
	"crowd":            countAgg,
	"running":          running,
	"person_down":      personDown,
	"abandoned_object": abandoned,
	"object_removed":   removed,
	"violent_motion":   violentMoves,
	"tamper":           sceneChange,
}

// Tamper maps a tamper's detail to its VideoSource topic ("covered" is
// also a blinded lens: both are a picture too dark to see anything). Without a detail
// (the policy does not allow "detail", or a kind not listed) a tamper is
// a GlobalSceneChange, which says only that the picture changed: the topic
// never tells what the policy withheld.
var Tamper = map[string]Topic{
	"covered":   tooDark,
	"defocused": tooBlurry,
	"moved":     sceneChange,
	"lost":      signalLoss,
}

// ClassTypes maps edgeguard's object classes to ONVIF's ClassType values.
var ClassTypes = map[string]string{
	event.ClassPerson:  "Human",
	event.ClassVehicle: "Vehicle",
	event.ClassAnimal:  "Animal",
	event.ClassBag:     "Other",
	event.ClassObject:  "Other",
}

// Message is one ONVIF message for the Event Broker.
type Message struct {
	// Topic follows the device's <prefix>/<device>/: onvif-ej/<LocalTopic>/&<first source value>/<the others>.
	Topic    string
	Payload  []byte
	Retained bool
}

// Payload is the JSON body of a message.
type Payload struct {
	UtcTime string `json:"UtcTime"`
	// PropertyOperation is set on property events only.
	PropertyOperation string            `json:"PropertyOperation,omitempty"`
	Source            map[string]string `json:"Source"`
	Data              map[string]any    `json:"Data"`
}

// Map returns the ONVIF message for ev, which the egress guard has
// filtered already, or ok false when the phase has no ONVIF message (the
// update or end of a pulse, the update of a state). An event type without
// a mapping is an error, never a guess.
func Map(ev event.Event) (m Message, ok bool, err error) {
	t, known := Types[ev.Type]
	if !known {
		return Message{}, false, fmt.Errorf("onvif: no ONVIF topic for event type %q", ev.Type)
	}
	if ev.Type == "tamper" {
		if tt, ok := Tamper[ev.Detail]; ok {
			t = tt
		}
	}
	data := map[string]any{}
	op := ""
	switch t.kind {
	case pulse:
		if ev.Phase != event.PhaseStart {
			return Message{}, false, nil
		}
	case state:
		switch ev.Phase {
		case event.PhaseStart:
			data[t.Item] = true
		case event.PhaseEnd:
			data[t.Item] = false
		default:
			return Message{}, false, nil
		}
		op = OpChanged
	case leave:
		if ev.Phase != event.PhaseStart {
			return Message{}, false, nil
		}
		data[t.Item] = false
		op = OpChanged
	case counter:
		if ev.Count != 0 { // 0: the policy withheld count
			data[t.Item] = ev.Count
		}
		op = OpChanged
	}
	if c, ok := ClassTypes[ev.Class]; ok && !t.video {
		data["ClassTypes"] = c
	}
	src := map[string]string{"VideoSource": ev.Camera}
	values := []string{ev.Camera}
	if !t.video {
		rule := Rule(ev)
		src["AnalyticsConfiguration"] = AnalyticsConfiguration
		src["Rule"] = rule
		values = append(values, AnalyticsConfiguration, rule)
	}
	p := Payload{
		UtcTime:           ev.At.UTC().Format(event.TimeFormat),
		PropertyOperation: op,
		Source:            src,
		Data:              data,
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Message{}, false, fmt.Errorf("onvif: encode: %w", err)
	}
	// The source values follow "&" (the first one joined to it) as topic
	// levels: …/Crossed/&cam1/edgeguard/door, the form cameras that speak
	// Profile M publish (Bosch, Hanwha, Axis: …/Counter/&1/Entry Counter).
	topic := PayloadPrefix + "/" + t.LocalTopic
	for i, v := range values {
		if i == 0 {
			topic += "/&" + Segment(v)
		} else {
			topic += "/" + Segment(v)
		}
	}
	return Message{Topic: topic, Payload: b, Retained: t.Retained()}, true, nil
}

// Rule is the ONVIF Rule source value of ev: its zone or line name when
// the policy let it through, else its event type. Events carry no rule
// name, and a name the policy withheld must not reappear in a topic.
func Rule(ev event.Event) string {
	if ev.Zone != "" {
		return ev.Zone
	}
	return ev.Type
}

// Segment makes v one MQTT topic level: '/', '+', '#' and NUL become '_',
// and an empty value "_", so a zone name can neither add levels nor act
// as a wildcard for a subscriber.
func Segment(v string) string {
	if v == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, v)
}
