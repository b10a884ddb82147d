package onvif_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/onvif"
	"github.com/edgeguard/edgeguard/policy"
)

var at = time.Date(2026, 12, 4, 18, 0, 0, 123e6, time.UTC)

func ev(typ string, phase event.Phase) event.Event {
	return event.Event{
		Schema: event.Schema, ID: "m1", EventID: "s1", Device: "box", Camera: "cam1",
		Type: typ, Phase: phase, At: event.Time{Time: at}, StartedAt: event.Time{Time: at},
	}
}

// TestEveryEventTypeHasATopic fails when the rule registry (or the
// policy's list, which a test in pattern keeps equal to it) gains a type
// that has no ONVIF mapping, and when a mapping names no registered type.
func TestEveryEventTypeHasATopic(t *testing.T) {
	for _, types := range [][]string{pattern.Types(), policy.EventTypes} {
		for _, typ := range types {
			if _, ok := onvif.Types[typ]; !ok {
				t.Errorf("event type %q has no ONVIF topic in onvif.Types (docs/onvif.md has the table)", typ)
			}
			if _, ok, err := onvif.Map(ev(typ, event.PhaseStart)); err != nil || !ok {
				t.Errorf("Map(%s start) = ok %v, err %v; every type must say something at its start", typ, ok, err)
			}
		}
	}
	registered := map[string]bool{}
	for _, typ := range pattern.Types() {
		registered[typ] = true
	}
	for typ := range onvif.Types {
		if !registered[typ] {
			t.Errorf("onvif.Types maps %q, which is no event type of the registry", typ)
		}
	}
}

func TestMap(t *testing.T) {
	const src = `{"AnalyticsConfiguration":"edgeguard","Rule":%s,"VideoSource":"cam1"}`
	tests := []struct {
		name   string
		ev     event.Event
		topic  string // "" with none
		retain bool
		body   string
	}{
		{
			name: "line crossing start", ev: with(ev("line_crossing", event.PhaseStart), func(e *event.Event) { e.Zone = "door" }),
			topic: "onvif-ej/RuleEngine/LineDetector/Crossed/&cam1/edgeguard/door",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","Source":` + q(src, "door") + `,"Data":{}}`,
		},
		{name: "line crossing end says nothing", ev: ev("line_crossing", event.PhaseEnd)},
		{name: "line crossing update says nothing", ev: ev("line_crossing", event.PhaseUpdate)},
		{
			name: "intrusion start", ev: ev("intrusion", event.PhaseStart), retain: true,
			topic: "onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/intrusion",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "intrusion") + `,"Data":{"IsInside":true}}`,
		},
		{
			name: "intrusion end", ev: ev("intrusion", event.PhaseEnd), retain: true,
			topic: "onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/intrusion",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "intrusion") + `,"Data":{"IsInside":false}}`,
		},
		{name: "intrusion update says nothing", ev: ev("intrusion", event.PhaseUpdate)},
		{
			name: "zone enter with zone and class", retain: true,
			ev:    with(ev("zone_enter", event.PhaseStart), func(e *event.Event) { e.Zone, e.Class = "yard", event.ClassPerson }),
			topic: "onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/yard",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "yard") + `,"Data":{"ClassTypes":"Human","IsInside":true}}`,
		},
		{
			name: "zone exit start: the object left", ev: ev("zone_exit", event.PhaseStart), retain: true,
			topic: "onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/zone_exit",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "zone_exit") + `,"Data":{"IsInside":false}}`,
		},
		{name: "zone exit end says nothing", ev: ev("zone_exit", event.PhaseEnd)},
		{
			name: "loitering start", ev: ev("loitering", event.PhaseStart), retain: true,
			topic: "onvif-ej/RuleEngine/LoiteringDetector/ObjectIsLoitering/&cam1/edgeguard/loitering",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "loitering") + `,"Data":{"IsLoitering":true}}`,
		},
		{
			name: "loitering end", ev: ev("loitering", event.PhaseEnd), retain: true,
			topic: "onvif-ej/RuleEngine/LoiteringDetector/ObjectIsLoitering/&cam1/edgeguard/loitering",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "loitering") + `,"Data":{"IsLoitering":false}}`,
		},
		{
			name: "crowd update with count", ev: with(ev("crowd", event.PhaseUpdate), func(e *event.Event) { e.Count = 12 }), retain: true,
			topic: "onvif-ej/RuleEngine/CountAggregation/Counter/&cam1/edgeguard/crowd",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "crowd") + `,"Data":{"Count":12}}`,
		},
		{
			name: "crowd without count (policy withheld it)", ev: ev("crowd", event.PhaseStart), retain: true,
			topic: "onvif-ej/RuleEngine/CountAggregation/Counter/&cam1/edgeguard/crowd",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "crowd") + `,"Data":{}}`,
		},
		{
			name: "abandoned object", ev: with(ev("abandoned_object", event.PhaseStart), func(e *event.Event) { e.Class = event.ClassBag }),
			topic: "onvif-ej/RuleEngine/ObjectAbandoned/&cam1/edgeguard/abandoned_object",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","Source":` + q(src, "abandoned_object") + `,"Data":{"ClassTypes":"Other"}}`,
		},
		{
			name: "object removed", ev: ev("object_removed", event.PhaseStart),
			topic: "onvif-ej/RuleEngine/ObjectRemoved/&cam1/edgeguard/object_removed",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","Source":` + q(src, "object_removed") + `,"Data":{}}`,
		},
		{
			name: "motion", ev: ev("motion", event.PhaseStart), retain: true,
			topic: "onvif-ej/VideoSource/MotionAlarm/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":true}}`,
		},
		{
			name: "tamper covered", ev: with(ev("tamper", event.PhaseStart), func(e *event.Event) { e.Detail = "covered" }), retain: true,
			topic: "onvif-ej/VideoSource/ImageTooDark/ImagingService/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":true}}`,
		},
		{
			name: "tamper defocused ends", ev: with(ev("tamper", event.PhaseEnd), func(e *event.Event) { e.Detail = "defocused" }), retain: true,
			topic: "onvif-ej/VideoSource/ImageTooBlurry/ImagingService/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":false}}`,
		},
		{
			name: "tamper moved", ev: with(ev("tamper", event.PhaseStart), func(e *event.Event) { e.Detail = "moved" }), retain: true,
			topic: "onvif-ej/VideoSource/GlobalSceneChange/ImagingService/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":true}}`,
		},
		{
			name: "video lost", ev: with(ev("tamper", event.PhaseStart), func(e *event.Event) { e.Detail = "lost" }), retain: true,
			topic: "onvif-ej/VideoSource/SignalLoss/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":true}}`,
		},
		{
			name: "tamper without detail (policy withheld it) tells no kind", ev: ev("tamper", event.PhaseStart), retain: true,
			topic: "onvif-ej/VideoSource/GlobalSceneChange/ImagingService/&cam1",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":{"VideoSource":"cam1"},"Data":{"State":true}}`,
		},
		{
			name: "running (vendor topic)", ev: ev("running", event.PhaseStart), retain: true,
			topic: "onvif-ej/tns:edgeguard/RuleEngine/Running/&cam1/edgeguard/running",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "running") + `,"Data":{"State":true}}`,
		},
		{
			name: "person down (vendor topic)", ev: with(ev("person_down", event.PhaseEnd), func(e *event.Event) { e.Class = event.ClassPerson }), retain: true,
			topic: "onvif-ej/tns:edgeguard/RuleEngine/PersonDown/&cam1/edgeguard/person_down",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "person_down") + `,"Data":{"ClassTypes":"Human","State":false}}`,
		},
		{
			name: "violent motion (vendor topic)", ev: ev("violent_motion", event.PhaseStart), retain: true,
			topic: "onvif-ej/tns:edgeguard/RuleEngine/ViolentMotion/&cam1/edgeguard/violent_motion",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "violent_motion") + `,"Data":{"State":true}}`,
		},
		{
			name: "a zone name cannot add topic levels or wildcards", retain: true,
			ev:    with(ev("intrusion", event.PhaseStart), func(e *event.Event) { e.Zone = "a/+/#" }),
			topic: "onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/a____",
			body:  `{"UtcTime":"2026-12-04T18:00:00.123Z","PropertyOperation":"Changed","Source":` + q(src, "a/+/#") + `,"Data":{"IsInside":true}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok, err := onvif.Map(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if tt.topic == "" {
				if ok {
					t.Fatalf("got a message on %s, want none", m.Topic)
				}
				return
			}
			if !ok {
				t.Fatal("no message")
			}
			if m.Topic != tt.topic || m.Retained != tt.retain {
				t.Errorf("topic %s retained %v, want %s retained %v", m.Topic, m.Retained, tt.topic, tt.retain)
			}
			if string(m.Payload) != tt.body {
				t.Errorf("payload\n%s\nwant\n%s", m.Payload, tt.body)
			}
		})
	}
}

// TestMapLeaksNothingFiltered: what the guard's filter removed does not
// come back, and nothing identifying is ever in the message.
func TestMapLeaksNothingFiltered(t *testing.T) {
	for _, typ := range pattern.Types() {
		for _, ph := range []event.Phase{event.PhaseStart, event.PhaseUpdate, event.PhaseEnd} {
			e := ev(typ, ph)
			e.ID, e.EventID = "message-id-7f3a", "situation-id-91c2"
			e.Score = 0.87
			e.Boxes = []event.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4}}
			m, ok, err := onvif.Map(e)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			all := m.Topic + string(m.Payload)
			for _, secret := range []string{"message-id-7f3a", "situation-id-91c2", "0.87", "ObjectId", "0.3"} {
				if strings.Contains(all, secret) {
					t.Errorf("%s %s: %q in %s %s", typ, ph, secret, m.Topic, m.Payload)
				}
			}
			var p onvif.Payload
			if err := json.Unmarshal(m.Payload, &p); err != nil || p.UtcTime == "" || p.Source["VideoSource"] != "cam1" {
				t.Errorf("%s %s: payload %s (err %v)", typ, ph, m.Payload, err)
			}
			if (p.PropertyOperation != "") != m.Retained {
				t.Errorf("%s %s: property operation %q but retained %v; property events are retained, others not", typ, ph, p.PropertyOperation, m.Retained)
			}
		}
	}
}

func TestMapRefusesAnUnknownType(t *testing.T) {
	if _, _, err := onvif.Map(ev("teleport", event.PhaseStart)); err == nil || !strings.Contains(err.Error(), `"teleport"`) {
		t.Errorf("err = %v, want one naming the type", err)
	}
}

func with(e event.Event, f func(*event.Event)) event.Event {
	f(&e)
	return e
}

func q(format, rule string) string {
	b, _ := json.Marshal(rule)
	return strings.Replace(format, "%s", string(b), 1)
}
