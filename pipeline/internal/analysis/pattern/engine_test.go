package pattern

import (
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

func TestClassOf(t *testing.T) {
	upright := track.Box{X: 0.1, Y: 0.2, W: 0.05, H: 0.3} // a person's shape on a 4:3 frame
	wide := track.Box{X: 0.5, Y: 0.5, W: 0.3, H: 0.1}
	tracks := []track.Track{{ID: 1, Box: upright}, {ID: 2, Box: wide}}
	car := Detection{Box: track.Box{X: 0.49, Y: 0.49, W: 0.32, H: 0.12}, Class: "vehicle"}
	bag := Detection{Box: wide, Class: "bag"}
	for _, tc := range []struct {
		name    string
		typ     string
		boxes   []track.Box
		objects []Detection
		want    string
	}{
		{"motion has no class", TypeMotion, []track.Box{upright}, nil, ""},
		{"tamper has no class", TypeTamper, nil, nil, ""},
		{"upright track", TypeIntrusion, []track.Box{upright}, nil, "person"},
		{"wide track", TypeIntrusion, []track.Box{wide}, nil, "object"},
		{"a vehicle detection on the track", TypeIntrusion, []track.Box{wide}, []Detection{car}, "vehicle"},
		{"mixed objects name none", TypeCrowd, []track.Box{upright, wide}, nil, ""},
		{"two people", TypeCrowd, []track.Box{upright, upright}, nil, "person"},
		{"no track under the box", TypeLoitering, []track.Box{{X: 0.9, Y: 0.9, W: 0.05, H: 0.05}}, nil, ""},
		{"left bag", TypeAbandonedObject, []track.Box{wide}, []Detection{bag}, "bag"},
		{"left object", TypeAbandonedObject, []track.Box{wide}, nil, "object"},
		{"what is gone cannot be seen", TypeObjectRemoved, []track.Box{wide}, []Detection{bag}, "object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := FrameInfo{Width: 640, Height: 480, Objects: tc.objects}
			if got := classOf(tc.typ, tc.boxes, tracks, f); got != tc.want {
				t.Errorf("classOf = %q, want %q", got, tc.want)
			}
		})
	}
}
