package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// examplePolicy writes configs/policy.yaml with the allowed event types and
// fields replaced, and with unlisted_cameras: allow, so that the test
// cameras (gatecam, …) run under its rules although it lists only cam1
// and cam2.
func examplePolicy(t *testing.T, events, fields string) string {
	t.Helper()
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(example)
	for _, r := range [][2]string{{"events: [motion, person_down]", "events: " + events}, {"fields: [score]", "fields: " + fields},
		{"\ncameras:\n", "\nunlisted_cameras: allow\ncameras:\n"}} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("configs/policy.yaml has no %q", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withRules gives the camera a zone, a line and rules as the operator's
// config would.
func withRules(c *config.Camera, rules ...config.Rule) {
	c.Zones = map[string][][]float64{"platform": {{0.1, 0.4}, {0.9, 0.4}, {0.9, 0.95}, {0.1, 0.95}}}
	// Vertical, drawn upwards: the walker goes from its left to its right.
	c.Lines = map[string]config.LineSpec{"gate": {From: []float64{0.5, 0.95}, To: []float64{0.5, 0.35}, Direction: "left_to_right"}}
	c.Rules = rules
}

// TestRuleTypeThePolicyForbidsStopsTheService (issue 3): a configured rule
// whose event type the policy does not allow refuses to start, naming the
// type; the same rule under a policy that allows it passes the check.
func TestRuleTypeThePolicyForbidsStopsTheService(t *testing.T) {
	cfg := testConfig(t, "tcp://127.0.0.1:1", map[string]string{"cam1": "rtsp://127.0.0.1:1/x"})
	withRules(&cfg.Cameras[0], config.Rule{Type: "loitering", Zone: "platform"}, config.Rule{Type: "person_down"})
	if got := strings.Join(ConfigEventTypes(cfg), ","); got != "motion,loitering,person_down" {
		t.Errorf("event types %s", got)
	}
	cfg.Policy = examplePolicy(t, "[motion, person_down]", "[score]")
	err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), `does not allow event type "loitering"`) {
		t.Fatalf("Run = %v, want an error naming loitering", err)
	}
	// A disabled camera needs nothing.
	cfg.Cameras[0].Enabled = false
	if got := strings.Join(ConfigEventTypes(cfg), ","); got != "" {
		t.Errorf("event types with the camera disabled %s", got)
	}
	cfg.Cameras[0].Enabled = true
	pol, err := LoadPolicy(&config.Config{Policy: examplePolicy(t, "[motion, loitering, person_down]", "[score]")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkPolicy(cfg, pol); err != nil {
		t.Errorf("policy allowing loitering: %v", err)
	}
	// A camera for one purpose: person_down only, motion events off, under
	// a policy that allows nothing else.
	withRules(&cfg.Cameras[0], config.Rule{Type: "person_down"})
	cfg.Cameras[0].Motion.Enabled = false
	if got := strings.Join(ConfigEventTypes(cfg), ","); got != "person_down" {
		t.Errorf("event types with motion off %s", got)
	}
	pol, err = LoadPolicy(&config.Config{Policy: examplePolicy(t, "[person_down]", "[score]")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkPolicy(cfg, pol); err != nil {
		t.Errorf("person_down only: %v", err)
	}
	cams, err := newCameraConfigs(cfg, pol)
	if err != nil || cams[0].Rules == nil {
		t.Fatalf("camera config %+v, %v: want motion events off and the rules", cams, err)
	}
	if rules, err := cams[0].Rules(); err != nil || len(rules) != 1 || rules[0].Type() != "person_down" {
		t.Errorf("camera rules %v, %v: want motion events off and the rules (person_down only)", rules, err)
	}
}

// TestLineCrossingEndToEnd: a person walks across a configured line; the
// control room receives a line_crossing start and end naming the line
// (policy allows line_crossing and the zone field), next to motion, through
// a real Mosquitto.
func TestLineCrossingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	sim := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 12)
	cfg := testConfig(t, mq.URL(), map[string]string{"gatecam": sim.URL()})
	withRules(&cfg.Cameras[0],
		config.Rule{Type: "line_crossing", Line: "gate", Class: "person"},
		// Against the walker's direction: must stay silent.
		config.Rule{Type: "line_crossing", Line: "gate", Name: "gate-out"})
	cfg.Cameras[0].Lines["back"] = config.LineSpec{From: []float64{0.5, 0.35}, To: []float64{0.5, 0.95}, Direction: "left_to_right"}
	cfg.Cameras[0].Rules[1].Line = "back"
	cfg.Policy = examplePolicy(t, "[motion, line_crossing]", "[score, zone, count]")

	stop := runUntilStopped(t, Options{Config: cfg, Logger: testLogger(t)})
	defer stop()

	lineEvents := func(m []mosquittotest.Message) (out []event.Event) {
		for _, ev := range events(m, "gatecam") {
			if ev.Type == "line_crossing" {
				out = append(out, ev)
			}
		}
		return out
	}
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		evs := lineEvents(m)
		return len(evs) > 0 && evs[len(evs)-1].Phase == event.PhaseEnd
	}, 120*time.Second)
	stop()
	evs := lineEvents(msgs)
	start, end := evs[0], evs[len(evs)-1]
	if start.Phase != event.PhaseStart || start.Zone != "gate" || start.Count != 1 || len(start.Boxes) != 0 {
		t.Errorf("start %+v: want zone gate, count 1, no boxes (the policy does not allow them)", start)
	}
	if end.EventID != start.EventID || end.EndedAt == nil || end.Zone != "gate" {
		t.Errorf("end %+v does not close start %+v", end, start)
	}
	if start.Policy == nil || start.Policy.Name != "hansaplatz" {
		t.Errorf("start names policy %+v", start.Policy)
	}
	all := events(sub.Messages(), "gatecam")
	var motion bool
	for i, ev := range all {
		motion = motion || ev.Type == "motion"
		if ev.Type == "line_crossing" && ev.Zone != "gate" {
			t.Errorf("crossing the other way was reported: %+v", ev)
		}
		if i > 0 && ev.Seq <= all[i-1].Seq {
			t.Errorf("seq %d after %d: one counter per camera", ev.Seq, all[i-1].Seq)
		}
	}
	if !motion {
		t.Error("no motion event next to the crossing")
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(sub.Messages()))
	}
}

// runUntilStopped runs the service with opts in the background; stop ends
// it, at most once, and reports an error Run returned.
func runUntilStopped(t *testing.T, opts Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}
