package egress_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// rules is a fake for the pure policy logic; the real one is *policy.Policy.
type rules struct {
	name, sum string
	events    []string
	fields    []string
	// open is the schedule: nil allows any time.
	open func(time.Time) bool
	// perMinute is the rate limit.
	perMinute int
}

func (r rules) Identity() (string, string) { return r.name, r.sum }

func (r rules) AllowsType(t string) bool {
	for _, e := range r.events {
		if e == t {
			return true
		}
	}
	return false
}

func (r rules) AllowsEventAt(t string, at time.Time) bool {
	return r.AllowsType(t) && (r.open == nil || r.open(at))
}

func (r rules) MaxEventsPerMinute() int { return r.perMinute }

func (r rules) AllowsField(f string) bool {
	for _, e := range r.fields {
		if e == f {
			return true
		}
	}
	return false
}

var (
	allowAll = rules{name: "open", sum: "aaaa", events: []string{"motion", "loitering", "tamper"},
		fields: []string{"score", "zone", "count", "boxes", "detail", "class"}, perMinute: 1000}
	bare = rules{name: "bare", sum: "bbbb", events: []string{"motion"}, perMinute: 1000}
)

func sampleEvent() event.Event {
	at := event.Time{Time: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)}
	return event.Event{
		Schema: event.Schema, ID: event.NewID(), EventID: event.NewID(),
		Device: "box1", Camera: "cam1", Type: "motion", Phase: event.PhaseStart,
		At: at, StartedAt: at, Score: 0.75, Zone: "entrance", Count: 2,
		Boxes: []event.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4}},
	}
}

func jsonKeys(t *testing.T, ev event.Event) map[string]any {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name         string
		rules        egress.Rules
		mutate       func(*event.Event)
		wantErr      error // nil: must pass
		wantErrText  string
		wantKeys     []string
		absentKeys   []string
		wantStripped int
		wantScore    float64
	}{
		{name: "all allowed", rules: allowAll,
			wantKeys: []string{"score", "zone", "count", "boxes", "policy"}, wantScore: 0.75},
		{name: "optional fields stripped", rules: bare,
			wantKeys: []string{"score", "policy"}, absentKeys: []string{"zone", "count", "boxes"},
			wantStripped: 4, wantScore: 0},
		{name: "only score allowed", rules: rules{name: "s", events: []string{"motion"}, fields: []string{"score"}},
			absentKeys: []string{"zone", "count", "boxes"}, wantStripped: 3, wantScore: 0.75},
		{name: "tamper detail allowed", rules: allowAll, mutate: func(e *event.Event) { e.Type, e.Detail = "tamper", "covered" },
			wantKeys: []string{"detail", "score", "policy"}, wantScore: 0.75},
		{name: "tamper detail stripped", rules: rules{name: "t", events: []string{"tamper"}, fields: []string{"score"}},
			mutate:     func(e *event.Event) { e.Type, e.Detail, e.Zone, e.Count, e.Boxes = "tamper", "lost", "", 0, nil },
			absentKeys: []string{"detail"}, wantStripped: 1, wantScore: 0.75},
		{name: "class allowed", rules: allowAll, mutate: func(e *event.Event) { e.Type, e.Class = "loitering", event.ClassPerson },
			wantKeys: []string{"class", "score", "policy"}, wantScore: 0.75},
		{name: "class stripped", rules: rules{name: "c", events: []string{"loitering"}, fields: []string{"score", "zone", "count", "boxes"}},
			mutate:     func(e *event.Event) { e.Type, e.Class = "loitering", event.ClassVehicle },
			absentKeys: []string{"class"}, wantStripped: 1, wantScore: 0.75},
		{name: "empty optional fields are not counted", rules: bare,
			mutate:   func(e *event.Event) { e.Score, e.Zone, e.Count, e.Boxes = 0, "", 0, nil },
			wantKeys: []string{"score"}, absentKeys: []string{"zone", "count", "boxes"}},
		{name: "type not allowed", rules: bare, mutate: func(e *event.Event) { e.Type = "loitering" },
			wantErr: egress.ErrTypeNotAllowed},
		{name: "empty type never allowed", rules: allowAll, mutate: func(e *event.Event) { e.Type = "" },
			wantErr: egress.ErrTypeNotAllowed},
		{name: "outside the schedule, judged at the event's time", rules: rules{name: "s", events: []string{"motion"},
			open: func(at time.Time) bool { return at.Hour() >= 7 }}, wantErr: egress.ErrOutsideSchedule},
		{name: "type checked before schedule", rules: rules{name: "s", events: []string{"motion"},
			open: func(time.Time) bool { return false }}, mutate: func(e *event.Event) { e.Type = "loitering" },
			wantErr: egress.ErrTypeNotAllowed},
		{name: "inside the schedule", rules: rules{name: "s", sum: "x", events: []string{"motion"}, fields: []string{"score"},
			open: func(at time.Time) bool { return at.Hour() == 3 }}, wantStripped: 3, wantScore: 0.75},
		{name: "no time", rules: allowAll, mutate: func(e *event.Event) { e.At = event.Time{} }, wantErrText: "no time"},
		{name: "no event_id", rules: allowAll, mutate: func(e *event.Event) { e.EventID = "" }, wantErrText: "no event_id"},
		{name: "schema filled in", rules: allowAll, mutate: func(e *event.Event) { e.Schema = "" },
			wantKeys: []string{"schema"}, wantScore: 0.75},
		{name: "unknown schema", rules: allowAll, mutate: func(e *event.Event) { e.Schema = "other/v9" },
			wantErrText: "schema"},
		{name: "no id", rules: allowAll, mutate: func(e *event.Event) { e.ID = "" }, wantErrText: "no id"},
		{name: "camera with wildcard", rules: allowAll, mutate: func(e *event.Event) { e.Camera = "cam/#" },
			wantErrText: "camera"},
		{name: "rules without name", rules: rules{events: []string{"motion"}}, wantErrText: "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleEvent()
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			orig := in
			origBoxes := append([]event.Box(nil), in.Boxes...)
			out, stripped, err := egress.Filter(tc.rules, in)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case tc.wantErrText != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErrText) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErrText)
				}
				return
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			if stripped != tc.wantStripped {
				t.Errorf("stripped = %d, want %d", stripped, tc.wantStripped)
			}
			if out.Score != tc.wantScore {
				t.Errorf("score = %v, want %v", out.Score, tc.wantScore)
			}
			name, sum := tc.rules.Identity()
			if out.Policy == nil || out.Policy.Name != name || out.Policy.SHA256 != sum {
				t.Errorf("policy = %+v, want %s/%s", out.Policy, name, sum)
			}
			if out.Schema != event.Schema {
				t.Errorf("schema = %q", out.Schema)
			}
			keys := jsonKeys(t, out)
			for _, k := range tc.wantKeys {
				if _, ok := keys[k]; !ok {
					t.Errorf("key %q missing from %v", k, keys)
				}
			}
			for _, k := range tc.absentKeys {
				if _, ok := keys[k]; ok {
					t.Errorf("key %q present in %v", k, keys)
				}
			}
			// The caller's event, including its Boxes backing array, is untouched.
			if !reflect.DeepEqual(in, orig) || !reflect.DeepEqual(in.Boxes, origBoxes) {
				t.Errorf("filter modified its input")
			}
		})
	}
}

// TestFilterCoversEveryField fails when event.Event gains a JSON field the
// guard does not know: it must be classified as mandatory (always published)
// or optional (filtered by policy) before it can leave the device.
func TestFilterCoversEveryField(t *testing.T) {
	mandatory := map[string]bool{"schema": true, "id": true, "event_id": true, "device": true,
		"camera": true, "type": true, "phase": true, "seq": true, "at": true, "started_at": true,
		"ended_at": true, "policy": true}
	optional := map[string]bool{egress.FieldScore: true, egress.FieldZone: true,
		egress.FieldCount: true, egress.FieldBoxes: true, egress.FieldDetail: true, egress.FieldClass: true}
	typ := reflect.TypeOf(event.Event{})
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if !mandatory[name] && !optional[name] {
			t.Errorf("event.Event field %s (json %q) is not handled by the egress filter", typ.Field(i).Name, name)
		}
	}
}
