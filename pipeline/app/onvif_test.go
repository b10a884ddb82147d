package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/onvif"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestONVIFEndToEnd (issue 17): with mqtt.format both, a person walking
// across a line on the simulated camera reaches a Profile M subscriber on
// <prefix>/<device>/onvif-ej/# as RuleEngine/LineDetector/Crossed, naming
// the line (the policy allows zone) without a class (it does not allow
// class), next to the edgeguard messages; motion arrives as the property
// VideoSource/MotionAlarm, retained, so a subscriber arriving after the
// service stopped still sees its last state, and no crossing (an instant).
func TestONVIFEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/onvif-ej/#")
	native := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/+/events")
	sim := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 12)
	cfg := testConfig(t, mq.URL(), map[string]string{"gatecam": sim.URL()})
	cfg.MQTT.Format = "both"
	withRules(&cfg.Cameras[0], config.Rule{Type: "line_crossing", Line: "gate", Class: "person"})
	cfg.Policy = examplePolicy(t, "[motion, line_crossing]", "[score, zone, count]")

	stop := runUntilStopped(t, Options{Config: cfg, Logger: testLogger(t)})
	defer stop()

	const (
		crossed = "edgeguard/e2e/onvif-ej/RuleEngine/LineDetector/Crossed/&gatecam/edgeguard/gate"
		motion  = "edgeguard/e2e/onvif-ej/VideoSource/MotionAlarm/&gatecam"
	)
	has := func(topic string) func([]mosquittotest.Message) bool {
		return func(ms []mosquittotest.Message) bool {
			for _, m := range ms {
				if m.Topic == topic {
					return true
				}
			}
			return false
		}
	}
	sub.WaitFor(t, has(crossed), 120*time.Second)
	// The same crossing left in edgeguard's format too.
	native.WaitFor(t, func(ms []mosquittotest.Message) bool {
		for _, ev := range events(ms, "gatecam") {
			if ev.Type == "line_crossing" && ev.Phase == event.PhaseStart && ev.Zone == "gate" && ev.Class == "" {
				return true
			}
		}
		return false
	}, 10*time.Second)
	stop()

	var sawMotion bool
	for _, m := range sub.Messages() {
		var p onvif.Payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatalf("%s: payload %s: %v", m.Topic, m.Payload, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, p.UtcTime); err != nil || p.Source["VideoSource"] != "gatecam" {
			t.Errorf("%s: payload %s", m.Topic, m.Payload)
		}
		switch m.Topic {
		case crossed:
			if p.PropertyOperation != "" || p.Source["Rule"] != "gate" || p.Source["AnalyticsConfiguration"] != "edgeguard" || len(p.Data) != 0 {
				t.Errorf("crossing %s: want a pulse naming the line, no class (the policy withholds it), no object id", m.Payload)
			}
		case motion:
			sawMotion = true
			if _, ok := p.Data["State"].(bool); !ok || p.PropertyOperation != onvif.OpChanged {
				t.Errorf("motion %s: want a Changed property with a boolean State", m.Payload)
			}
		default:
			t.Errorf("unexpected ONVIF topic %s %s", m.Topic, m.Payload)
		}
		if strings.Contains(string(m.Payload), "Human") || strings.Contains(string(m.Payload), "ObjectId") {
			t.Errorf("%s carries what the policy or the invariants withhold: %s", m.Topic, m.Payload)
		}
	}
	if !sawMotion {
		t.Error("no MotionAlarm next to the crossing")
	}

	// After the stop: what is retained is the last motion state, never
	// the crossing.
	late := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/onvif-ej/#")
	late.WaitFor(t, has(motion), 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	for _, m := range late.Messages() {
		if m.Topic == crossed || !m.Retained {
			t.Errorf("late subscriber got %s (retained %v): only property events are retained", m.Topic, m.Retained)
		}
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(sub.Messages()))
	}
}
