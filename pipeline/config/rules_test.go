package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/policy"
)

// withRules is valid plus a camera with two zones and a line; cases append
// rules (or more camera keys) to it.
const withRules = valid + `    zones:
      entrance: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]]
      platform: [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]
    lines:
      gate: {from: [0.3, 0.6], to: [0.3, 0.3], direction: left_to_right}
    rules:
`

func TestRules(t *testing.T) {
	in := withRules + `      - {type: intrusion, zone: entrance, class: person, min_duration: 2s}
      - {type: line_crossing, line: gate, name: gate-in}
      - {type: loitering, zone: platform, dwell: 90s, quiet_time: 10s}
      - {type: tamper}
    perspective: {row1: 0.4, height1: 0.15, row2: 0.95, height2: 0.3}
`
	cfg, err := Parse("e.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	if got := strings.Join(c.EventTypes(), ","); got != "intrusion,line_crossing,loitering,tamper" {
		t.Errorf("event types %s", got)
	}
	rules, err := c.NewRules()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Name()+"/"+r.Type()+"/"+r.Zone())
	}
	want := "intrusion-entrance/intrusion/entrance line_crossing-gate/line_crossing/gate loitering-platform/loitering/platform tamper/tamper/"
	want = strings.Replace(want, "line_crossing-gate", "gate-in", 1)
	if strings.Join(got, " ") != want {
		t.Errorf("rules %v, want %s", got, want)
	}
	if !c.Motion.Enabled {
		t.Error("motion events are on unless switched off")
	}
	off, err := Parse("e.yaml", []byte(valid+"    motion: {enabled: false}\n"))
	if err != nil || off.Cameras[0].Motion.Enabled || off.Cameras[0].Motion.QuietTime != Defaults().Defaults.Motion.QuietTime {
		t.Errorf("motion: {enabled: false} gave %+v, %v", off.Cameras[0].Motion, err)
	}
	if lc := rules[2].Lifecycle(); lc.QuietTime != 10*time.Second {
		t.Errorf("loitering quiet time %v, want 10s", lc.QuietTime)
	}
	// Default names are unique within the camera.
	two := Patterns{Zones: c.Zones, Rules: []Rule{{Type: "intrusion", Zone: "entrance"}, {Type: "intrusion", Zone: "entrance", Class: "person"}, {Type: "tamper", Name: "intrusion-entrance-2"}}}
	if got := strings.Join(two.ruleNames(), " "); got != "intrusion-entrance intrusion-entrance-3 intrusion-entrance-2" {
		t.Errorf("names %s", got)
	}
	// Fresh instances every call: a restarted camera starts with no state.
	again, _ := c.NewRules()
	if again[0] == rules[0] {
		t.Error("NewRules returned the same detector twice")
	}
	if _, err := pattern.NewPipeline(trackDefault(), rules...); err != nil {
		t.Fatal(err)
	}
}

func TestRuleErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown zone", withRules + "      - {type: intrusion, zone: door}\n",
			"e.yaml:11:27: cameras[0].rules[0].zone: unknown zone \"door\"; defined: entrance, platform"},
		{"zone missing", withRules + "      - type: zone_enter\n",
			"e.yaml:11:9: cameras[0].rules[0].zone: required: the name of a zone under zones; defined: entrance, platform"},
		{"unknown line", withRules + "      - {type: line_crossing, line: door}\n",
			"e.yaml:11:31: cameras[0].rules[0].line: unknown line \"door\"; defined: gate"},
		{"no zones at all", valid + "    rules: [{type: crowd, zone: hall}]\n",
			"e.yaml:5:27: cameras[0].rules[0].zone: unknown zone \"hall\"; no zones are defined for this camera"},
		{"unknown type", withRules + "      - {type: loitring, zone: entrance}\n",
			"e.yaml:11:10: cameras[0].rules[0].type: unknown rule type \"loitring\"; allowed: intrusion, zone_enter, zone_exit, line_crossing, loitering, crowd, running, person_down, tamper, abandoned_object, object_removed, violent_motion"},
		{"type missing", withRules + "      - {zone: entrance}\n",
			"e.yaml:11:9: cameras[0].rules[0].type: required; one of: intrusion, zone_enter, zone_exit, line_crossing, loitering, crowd, running, person_down, tamper, abandoned_object, object_removed, violent_motion"},
		{"field of another type", withRules + "      - {type: intrusion, zone: entrance, dwell: 60s}\n",
			"e.yaml:11:43: cameras[0].rules[0].dwell: does not apply to type intrusion; its settings: type, name, quiet_time, update_interval, zone, class, min_size, min_duration"},
		{"zone on tamper", withRules + "      - {type: tamper, zone: entrance}\n",
			"e.yaml:11:24: cameras[0].rules[0].zone: does not apply to type tamper; its settings: type, name, quiet_time, update_interval, dark_mean, flat_stddev, blur_ratio, cover_share, shift, duration, learn"},
		{"unknown rule key", withRules + "      - {type: crowd, zone: entrance, people: 5}\n",
			"e.yaml:11:39: cameras[0].rules[0].people: unknown field; allowed: type, name, zone, line, class, min_size, min_duration, dwell, radius, min_count, min_occupancy, duration, speed, window, down_time, aspect, height_drop, upright, dark_mean, flat_stddev, blur_ratio, cover_share, shift, learn, energy, spread, clash, quiet_time, update_interval"},
		{"threshold out of range", withRules + "      - {type: crowd, zone: platform, min_count: 1}\n",
			"e.yaml:11:39: cameras[0].rules[0].min_count: 1 is outside 2..1000"},
		{"speed out of range", withRules + "      - {type: running, speed: 50}\n",
			"e.yaml:11:25: cameras[0].rules[0].speed: 50 is outside 0.2..20"},
		{"duration out of range", withRules + "      - {type: loitering, zone: entrance, dwell: 500ms}\n",
			"e.yaml:11:43: cameras[0].rules[0].dwell: 500ms is outside 1s..24h0m0s"},
		{"explicit zero", withRules + "      - {type: crowd, zone: platform, min_count: 0}\n",
			"e.yaml:11:39: cameras[0].rules[0].min_count: 0 means the default here; remove the line to use the default"},
		{"abandoned duration out of range", withRules + "      - {type: abandoned_object, duration: 500ms}\n",
			"e.yaml:11:34: cameras[0].rules[0].duration: 500ms is outside 1s..24h0m0s"},
		{"abandoned radius out of range", withRules + "      - {type: abandoned_object, zone: platform, radius: 200}\n",
			"e.yaml:11:50: cameras[0].rules[0].radius: 200 is outside 0.1..100"},
		{"removed min_size out of range", withRules + "      - {type: object_removed, min_size: 0.5}\n",
			"e.yaml:11:32: cameras[0].rules[0].min_size: 0.5 is outside 0..0.25"},
		{"radius on object_removed", withRules + "      - {type: object_removed, radius: 2}\n",
			"e.yaml:11:32: cameras[0].rules[0].radius: does not apply to type object_removed; its settings: type, name, quiet_time, update_interval, zone, min_size, duration"},
		{"removed unknown zone", withRules + "      - {type: object_removed, zone: hall}\n",
			"e.yaml:11:32: cameras[0].rules[0].zone: unknown zone \"hall\"; defined: entrance, platform"},
		{"violent energy out of range", withRules + "      - {type: violent_motion, energy: 25}\n",
			"e.yaml:11:32: cameras[0].rules[0].energy: 25 is outside 0.05..20"},
		{"violent spread out of range", withRules + "      - {type: violent_motion, zone: platform, spread: 1}\n",
			"e.yaml:11:48: cameras[0].rules[0].spread: 1 is outside 0.05..0.95"},
		{"violent clash out of range", withRules + "      - {type: violent_motion, clash: 0.01}\n",
			"e.yaml:11:32: cameras[0].rules[0].clash: 0.01 is outside 0.05..0.95"},
		{"violent min_duration out of range", withRules + "      - {type: violent_motion, min_duration: 2m}\n",
			"e.yaml:11:32: cameras[0].rules[0].min_duration: 2m0s is outside 0s..1m0s"},
		{"violent explicit zero", withRules + "      - {type: violent_motion, spread: 0}\n",
			"e.yaml:11:32: cameras[0].rules[0].spread: 0 means the default here; remove the line to use the default"},
		{"class on violent_motion", withRules + "      - {type: violent_motion, class: person}\n",
			"e.yaml:11:32: cameras[0].rules[0].class: does not apply to type violent_motion; its settings: type, name, quiet_time, update_interval, zone, energy, spread, clash, min_duration"},
		{"spread on running", withRules + "      - {type: running, spread: 0.5}\n",
			"e.yaml:11:25: cameras[0].rules[0].spread: does not apply to type running; its settings: type, name, quiet_time, update_interval, zone, class, speed, window, min_duration"},
		{"motion as a rule", withRules + "      - {type: motion}\n",
			"e.yaml:11:10: cameras[0].rules[0].type: motion is set in the camera's motion: section, not as a rule; rule types: intrusion, zone_enter, zone_exit, line_crossing, loitering, crowd, running, person_down, tamper, abandoned_object, object_removed, violent_motion"},
		{"typo in a key", withRules + "      - {type: loitering, dwel: 60s}\n",
			"e.yaml:11:27: cameras[0].rules[0].dwel: unknown field; did you mean \"dwell\"? allowed: type, name, zone, line, class, min_size, min_duration, dwell, radius, min_count, min_occupancy, duration, speed, window, down_time, aspect, height_drop, upright, dark_mean, flat_stddev, blur_ratio, cover_share, shift, learn, energy, spread, clash, quiet_time, update_interval"},
		{"wrong value type", withRules + "      - {type: loitering, dwell: 60}\n",
			"e.yaml:11:27: cameras[0].rules[0].dwell: expected a duration such as 30s, 500ms, 5m, 24h or 7d, got 60 (add a unit, e.g. 60s)"},
		{"bad class", withRules + "      - {type: intrusion, zone: entrance, class: people}\n",
			"e.yaml:11:43: cameras[0].rules[0].class: unknown value \"people\"; allowed: any, person, object"},
		{"self-intersecting zone", valid + "    zones:\n      bowtie: [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]]\n",
			"e.yaml:6:7: cameras[0].zones.bowtie: edge 1–2 crosses or touches edge 3–4; list the corners in order around the area"},
		{"zone point outside the frame", valid + "    zones:\n      hall: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]\n",
			"e.yaml:6:27: cameras[0].zones.hall[1][0]: 1.5 is outside the picture; allowed: 0 to 1 (0,0 is the top left corner, 1,1 the bottom right)"},
		{"zone point not a pair", valid + "    zones:\n      hall: [[0.1, 0.1], [0.9, 0.1, 0], [0.5, 0.5]]\n",
			"e.yaml:6:26: cameras[0].zones.hall[1]: expected a point [x, y], got 3 numbers"},
		{"zone with two points", valid + "    zones:\n      hall: [[0.1, 0.1], [0.9, 0.1]]\n",
			"e.yaml:6:7: cameras[0].zones.hall: needs at least 3 corners [x, y], e.g. [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4]]; got 2"},
		{"bad zone name", valid + "    zones:\n      \"main hall\": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.5]]\n",
			"e.yaml:6:7: cameras[0].zones[\"main hall\"]: \"main hall\" is not a valid zone name; allowed: 1 to 64 letters, digits, - and _ (it is sent as the event's zone)"},
		{"line outside the frame", valid + "    lines:\n      gate: {from: [0.3, 0.6], to: [0.3, 1.2]}\n",
			"e.yaml:6:32: cameras[0].lines.gate.to: (0.3, 1.2) is outside the frame (coordinates are 0..1)"},
		{"line too short", valid + "    lines:\n      gate: {from: [0.3, 0.6], to: [0.3, 0.6]}\n",
			"e.yaml:6:7: cameras[0].lines.gate: line is shorter than 1% of the frame"},
		{"line without end", valid + "    lines:\n      gate: {from: [0.3, 0.6]}\n",
			"e.yaml:6:7: cameras[0].lines.gate.to: required: a point [x, y] (fractions of the image, 0..1)"},
		{"bad direction", valid + "    lines:\n      gate: {from: [0.3, 0.6], to: [0.3, 0.2], direction: inwards}\n",
			"e.yaml:6:48: cameras[0].lines.gate.direction: unknown direction \"inwards\" (want both, left_to_right or right_to_left)"},
		{"line named like a zone", valid + "    zones: {hall: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.5]]}\n    lines: {hall: {from: [0.3, 0.6], to: [0.3, 0.2]}}\n",
			"e.yaml:6:13: cameras[0].lines.hall: \"hall\" is also a zone's name; events name both in the same field, so give the line another name"},
		{"bad perspective", valid + "    perspective: {row1: 0.9, height1: 0.3, row2: 0.4, height2: 0.1}\n",
			"e.yaml:5:44: cameras[0].perspective.row2: must be at least 0.05 below row1"},
		{"duplicate rule name", withRules + "      - {type: tamper, name: t}\n      - {type: running, name: t}\n",
			"e.yaml:12:25: cameras[0].rules[1].name: duplicate rule name \"t\" (first at line 11)"},
		{"unknown person detector", valid + "    person_detector: yolo\n",
			"e.yaml:5:5: cameras[0].person_detector: unknown value \"yolo\"; allowed: dnn (default if its model is installed, else shape), shape, hog"},
		{"person detector under defaults", valid + "defaults: {person_detector: hog}\n",
			"e.yaml:5:12: defaults.person_detector: unknown field; allowed: transport, analysis, motion"},
		{"rules under defaults", valid + "defaults: {rules: []}\n",
			"e.yaml:5:12: defaults.rules: unknown field; allowed: transport, analysis, motion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("e.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != strings.Count(tt.want, "\n")+1 {
				t.Errorf("error is %T with %d entries, want Errors with one per line", err, len(errs))
			}
		})
	}
}

// TestStaticRules: abandoned_object and object_removed build with their
// keys and ask the analyser for the static-object stage.
func TestStaticRules(t *testing.T) {
	in := withRules + `      - {type: abandoned_object, zone: platform, min_size: 0.002, duration: 90s, radius: 2}
      - {type: object_removed, min_size: 0.003, duration: 2m}
`
	cfg, err := Parse("e.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := cfg.Cameras[0].NewRules()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Name()+"/"+r.Type()+"/"+r.Zone())
	}
	if want := "abandoned_object-platform/abandoned_object/platform object_removed/object_removed/"; strings.Join(got, " ") != want {
		t.Errorf("rules %v, want %s", got, want)
	}
	if n := pattern.NeedsOf(rules); !n.Static || n.Flow || n.Persons {
		t.Errorf("needs %+v, want static only", n)
	}
}

func trackDefault() track.Config { return track.DefaultConfig() }

// TestExampleFileRules: the rules in configs/edgeguard.yaml build, and the
// example policy allows every event type they produce.
func TestExampleFileRules(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "configs", "edgeguard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(filepath.Join("..", "..", "configs", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Cameras {
		if _, err := c.NewRules(); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
		if _, err := pol.CheckAgainst(nil, c.EventTypes()); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
	if len(cfg.Cameras[0].Rules) == 0 {
		t.Error("the example shows no rule")
	}
}

// TestPersonDetector: person_detector is per camera, shape by default.
func TestPersonDetector(t *testing.T) {
	for _, tt := range []struct {
		in  string
		hog bool
	}{{"", false}, {"    person_detector: shape\n", false}, {"    person_detector: hog\n", true}, {"    person_detector: dnn\n", false}} {
		cfg, err := Parse("e.yaml", []byte(valid+tt.in))
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := cfg.Cameras[0].PersonHOG(); got != tt.hog {
			t.Errorf("%q: PersonHOG() = %v, want %v", tt.in, got, tt.hog)
		}
	}
}

// TestViolentRule: a violent_motion rule builds with its keys and asks the
// analyser for optical flow.
func TestViolentRule(t *testing.T) {
	in := withRules + `      - {type: violent_motion, zone: platform, energy: 0.5, spread: 0.25, min_duration: 3s, quiet_time: 5s}
      - {type: violent_motion}
    perspective: {row1: 0.4, height1: 0.15, row2: 0.95, height2: 0.3}
`
	cfg, err := Parse("e.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	rules, err := c.NewRules()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Name()+"/"+r.Type()+"/"+r.Zone())
	}
	if want := "violent_motion-platform/violent_motion/platform violent_motion/violent_motion/"; strings.Join(got, " ") != want {
		t.Errorf("rules %v, want %s", got, want)
	}
	if lc := rules[0].Lifecycle(); lc.MinDuration != 3*time.Second || lc.QuietTime != 5*time.Second {
		t.Errorf("lifecycle %+v", lc)
	}
	if lc := rules[1].Lifecycle(); lc.MinDuration != 2*time.Second {
		t.Errorf("default min_duration %v, want 2s", lc.MinDuration)
	}
	if n := pattern.NeedsOf(rules); !n.Flow {
		t.Errorf("needs %+v, want flow", n)
	}
}

// TestMotionIsARule: the motion section is the registry's rule of type
// motion, first among the camera's rules, with the section's timing; off,
// it is not there.
func TestMotionIsARule(t *testing.T) {
	cfg, err := Parse("e.yaml", []byte(withRules+"      - {type: tamper}\n    motion: {min_duration: 2s, quiet_time: 7s, update_interval: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	rules, err := c.NewAllRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Type() != pattern.TypeMotion || rules[1].Type() != pattern.TypeTamper {
		t.Fatalf("rules %v: want motion, then tamper", rules)
	}
	if lc := rules[0].Lifecycle(); lc != (lifecycle.Config{MinDuration: 2 * time.Second, QuietTime: 7 * time.Second}) {
		t.Errorf("motion lifecycle %+v: want the section's, without updates", lc)
	}
	if got := strings.Join(c.AllEventTypes(), ","); got != "motion,tamper" {
		t.Errorf("event types %s", got)
	}
	c.Motion.Enabled = false
	if rules, err := c.NewAllRules(); err != nil || len(rules) != 1 || strings.Join(c.AllEventTypes(), ",") != "tamper" {
		t.Errorf("motion off: rules %v, %v, types %v", rules, err, c.AllEventTypes())
	}
	// The section's defaults are the registry's.
	spec, _ := pattern.Lookup(pattern.TypeMotion)
	m := Defaults().Defaults.Motion
	for k, v := range m.settings() {
		if key, ok := spec.Key(k); !ok || time.Duration(key.Default) != v.(time.Duration) {
			t.Errorf("motion.%s default %v, registry %+v", k, v, key)
		}
	}
	if len(m.settings()) != len(spec.Keys) {
		t.Errorf("the motion section sets %v, the registry's motion has %d keys", m.settings(), len(spec.Keys))
	}
}
