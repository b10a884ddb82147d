package event

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// schemas extracts the JSON Schemas documented in docs/events.md, keyed by $id,
// so the documentation and the code cannot drift apart.
func schemas(t *testing.T) map[string]map[string]any {
	t.Helper()
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(m[1], `"$schema"`) {
			continue
		}
		var s map[string]any
		if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
			t.Fatalf("docs/events.md: schema is not valid JSON: %v", err)
		}
		out[s["$id"].(string)] = s
	}
	return out
}

func checkAgainst(t *testing.T, schema map[string]any, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	props := schema["properties"].(map[string]any)
	for k := range got {
		if _, ok := props[k]; !ok {
			t.Errorf("field %q is not in the documented schema %s", k, schema["$id"])
		}
	}
	for _, r := range schema["required"].([]any) {
		if _, ok := got[r.(string)]; !ok {
			t.Errorf("required field %q missing from %s", r, b)
		}
	}
	for k, p := range props {
		if _, ok := got[k]; !ok && p != nil {
			// Every documented field must exist in the code too.
			full := fullyPopulated(v)
			b, _ := json.Marshal(full)
			if !strings.Contains(string(b), `"`+k+`"`) {
				t.Errorf("documented field %q does not exist in the code", k)
			}
		}
	}
}

func fullyPopulated(v any) any {
	switch v.(type) {
	case Event:
		end := Time{time.Now()}
		return Event{Schema: Schema, EndedAt: &end, Zone: "z", Count: 1, Boxes: []Box{{}}, Detail: "covered", Class: ClassPerson, Policy: &PolicyRef{}}
	case CameraStatus:
		return CameraStatus{Codec: "h264", Width: 1, Height: 1, FPS: 1, Error: "x", Analysis: &AnalysisPause{State: "paused"}}
	}
	return v
}

func TestEventMatchesDocumentedSchema(t *testing.T) {
	s := schemas(t)
	now := Time{time.Date(2026, 11, 23, 14, 3, 7, 412_000_000, time.UTC)}
	ev := Event{Schema: Schema, ID: NewID(), EventID: NewID(), Device: "edge-01", Camera: "cam1",
		Type: "motion", Phase: PhaseStart, Seq: 1, At: now, StartedAt: now, Score: 0.5}
	checkAgainst(t, s["edgeguard.event/v1"], ev)
	phases := s["edgeguard.event/v1"]["properties"].(map[string]any)["phase"].(map[string]any)["enum"].([]any)
	for _, p := range []Phase{PhaseStart, PhaseUpdate, PhaseEnd} {
		if !slices.Contains(phases, any(string(p))) {
			t.Errorf("phase %q not documented", p)
		}
	}
	checkAgainst(t, s["edgeguard.camera-status/v1"], CameraStatus{Device: "edge-01", Camera: "cam1", State: StateStreaming, Since: now})
}

func TestTimeFormat(t *testing.T) {
	tm := Time{time.Date(2026, 11, 23, 15, 3, 7, 400_000_000, time.FixedZone("CET", 3600))}
	b, _ := json.Marshal(tm)
	if string(b) != `"2026-11-23T14:03:07.400Z"` {
		t.Fatalf("got %s", b)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tm.Time) {
		t.Fatalf("round trip: %v %v", back, err)
	}
}

func TestNewIDUniqueAndOrdered(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || len(a) != 36 {
		t.Fatalf("ids %q %q", a, b)
	}
}
