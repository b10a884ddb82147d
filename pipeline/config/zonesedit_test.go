package config

import (
	"strings"
	"testing"
)

// TestSetCameraZones: the named zones and lines of the one camera are
// replaced or added; comments, the other zones and cameras stay; the
// result parses.
func TestSetCameraZones(t *testing.T) {
	in := valid + `  - id: yard # the yard
    url: rtsp://192.0.2.2/s
    zones:
      # the door
      door: [[0, 0], [0.5, 0], [0.5, 0.5]]
      gate: [[0.5, 0.5], [1, 0.5], [1, 1]]
`
	if _, err := Parse("e.yaml", []byte(in)); err != nil {
		t.Fatalf("the input does not parse: %v", err)
	}
	out, err := SetCameraZones("e.yaml", []byte(in), "yard",
		map[string][][2]float64{"door": {{0.1, 0.1}, {0.2, 0.1}, {0.123456, 0.2}}, "new": {{0, 0}, {1, 0}, {1, 1}}},
		map[string]ZoneLine{"entry": {From: [2]float64{0, 0.5}, To: [2]float64{1, 0.5}, Direction: "left_to_right"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"# the yard", "# the door",
		"door: [[0.1, 0.1], [0.2, 0.1], [0.1235, 0.2]]",
		"gate: [[0.5, 0.5], [1, 0.5], [1, 1]]",
		"new: [[0, 0], [1, 0], [1, 1]]",
		"entry: {from: [0, 0.5], to: [1, 0.5], direction: left_to_right}",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	cfg, err := Parse("e.yaml", out)
	if err != nil {
		t.Fatalf("the result does not parse: %v\n%s", err, s)
	}
	if n := len(cfg.Cameras); n != 2 {
		t.Errorf("%d cameras, want 2", n)
	}

	for _, tt := range []struct{ name, in, cam, want string }{
		{"unknown camera", in, "nope", `e.yaml: cameras: no camera with id "nope"`},
		{"zones not a mapping", valid + "  - id: x\n    url: rtsp://h/s\n    zones: [1]\n", "x", "cameras[id=x].zones: not a mapping of names"},
		{"no cameras", "device: x\n", "x", "e.yaml: cameras: not a list"},
		{"not YAML", "a: [", "x", "e.yaml:"},
	} {
		_, err := SetCameraZones("e.yaml", []byte(tt.in), tt.cam, map[string][][2]float64{"z": {{0, 0}, {1, 0}, {1, 1}}}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}
