package oversight

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)

func TestParseAnalysis(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     AnalysisCommand
		err      string // substring; "" means ok
	}{
		{"pause", `{"state":"paused","reason":"maintenance","operator":"alice"}`,
			AnalysisCommand{State: Paused, Reason: "maintenance", Operator: "alice"}, ""},
		{"pause until", `{"state":"paused","reason":"r","until":"2026-12-05T06:00:00+01:00","operator":"a"}`,
			AnalysisCommand{State: Paused, Reason: "r", Operator: "a", Until: time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)}, ""},
		{"resume", `{"state":"running","operator":"a"}`, AnalysisCommand{State: Running, Operator: "a"}, ""},
		{"resume with reason", `{"state":"running","operator":"a","reason":"done"}`, AnalysisCommand{State: Running, Operator: "a", Reason: "done"}, ""},
		{"no state", `{"operator":"a"}`, AnalysisCommand{}, `field state: required; allowed "paused", "running"`},
		{"bad state", `{"state":"stopped","operator":"a"}`, AnalysisCommand{}, `field state: not allowed; allowed "paused", "running"`},
		{"state number", `{"state":1,"operator":"a"}`, AnalysisCommand{}, "field state: must be a string"},
		{"no operator", `{"state":"running"}`, AnalysisCommand{}, "field operator: required"},
		{"blank operator", `{"state":"running","operator":"  "}`, AnalysisCommand{}, "field operator: required"},
		{"pause without reason", `{"state":"paused","operator":"a"}`, AnalysisCommand{}, "field reason: required with state paused"},
		{"until in the past", `{"state":"paused","reason":"r","operator":"a","until":"2026-12-05T00:59:59Z"}`, AnalysisCommand{}, "field until: 2026-12-05T00:59:59Z is not in the future"},
		{"until now", `{"state":"paused","reason":"r","operator":"a","until":"2026-12-05T01:00:00Z"}`, AnalysisCommand{}, "is not in the future"},
		{"until unparsable", `{"state":"paused","reason":"r","operator":"a","until":"tomorrow"}`, AnalysisCommand{}, "field until: not an RFC 3339 time"},
		{"until with running", `{"state":"running","operator":"a","until":"2026-12-06T00:00:00Z"}`, AnalysisCommand{}, "field until: allowed with state paused only"},
		{"unknown field", `{"state":"running","operator":"a","camera":"x"}`, AnalysisCommand{}, `field "camera": unknown; allowed "state", "reason", "until", "operator"`},
		{"unknown odd field not echoed", `{"state":"running","operator":"a","<script>":"x"}`, AnalysisCommand{}, `field (name not shown): unknown`},
		{"not json", `state=paused`, AnalysisCommand{}, "payload: not JSON (syntax error at byte 1)"},
		{"array", `["paused"]`, AnalysisCommand{}, "payload: not a JSON object"},
		{"trailing", `{"state":"running","operator":"a"} {}`, AnalysisCommand{}, "payload: data after the JSON object"},
		{"empty", ``, AnalysisCommand{}, "payload: not a JSON object"},
		{"oversized", `{"state":"running","operator":"a","reason":"` + strings.Repeat("x", MaxPayload) + `"}`, AnalysisCommand{}, "bytes; allowed at most 4096"},
		{"long reason", `{"state":"paused","operator":"a","reason":"` + strings.Repeat("ä", MaxReason+1) + `"}`, AnalysisCommand{}, "field reason: 501 characters; allowed at most 500"},
		{"long operator", `{"state":"running","operator":"` + strings.Repeat("a", MaxOperator+1) + `"}`, AnalysisCommand{}, "field operator: 129 characters; allowed at most 128"},
		{"control char", `{"state":"paused","operator":"a","reason":"a\nb"}`, AnalysisCommand{}, "field reason: control characters are not allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnalysis([]byte(tt.in), now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.want.State || got.Reason != tt.want.Reason || got.Operator != tt.want.Operator || !got.Until.Equal(tt.want.Until) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseReview(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     ReviewCommand
		err      string
	}{
		{"confirmed", `{"verdict":"confirmed","operator":"bob","note":"person on the track"}`, ReviewCommand{Confirmed, "bob", "person on the track"}, ""},
		{"dismissed no note", `{"verdict":"dismissed","operator":"bob"}`, ReviewCommand{Dismissed, "bob", ""}, ""},
		{"no verdict", `{"operator":"bob"}`, ReviewCommand{}, `field verdict: required; allowed "confirmed", "dismissed"`},
		{"bad verdict", `{"verdict":"maybe","operator":"bob"}`, ReviewCommand{}, `field verdict: not allowed; allowed "confirmed", "dismissed"`},
		{"no operator", `{"verdict":"confirmed"}`, ReviewCommand{}, "field operator: required"},
		{"long note", `{"verdict":"confirmed","operator":"b","note":"` + strings.Repeat("n", MaxNote+1) + `"}`, ReviewCommand{}, "field note: 501 characters; allowed at most 500"},
		{"unknown field", `{"verdict":"confirmed","operator":"b","type":"motion"}`, ReviewCommand{}, `field "type": unknown; allowed "verdict", "operator", "note"`},
		{"note not string", `{"verdict":"confirmed","operator":"b","note":{}}`, ReviewCommand{}, "field note: must be a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReview([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseCommand: whatever the payload, the parsers do not panic, an
// accepted command satisfies the checks, and an error never repeats more
// of the payload than a short field name.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"state":"paused","reason":"r","until":"2026-12-06T00:00:00Z","operator":"a"}`,
		`{"state":"running","operator":"a"}`, `{"verdict":"confirmed","operator":"b","note":"n"}`,
		`{"state":"paused","reason":"\u0000"}`, `{"x":1}`, `[]`, `null`, `{"state":null}`, `{} {}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseAnalysis(data, now); err == nil {
			if (c.State != Paused && c.State != Running) || c.Operator == "" || (c.State == Paused && c.Reason == "") ||
				(!c.Until.IsZero() && (c.State != Paused || !c.Until.After(now))) || len(data) > MaxPayload {
				t.Fatalf("accepted an invalid analysis command %+v from %q", c, data)
			}
		} else if len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes: %v", len(err.Error()), err)
		}
		if c, err := ParseReview(data); err == nil {
			if (c.Verdict != Confirmed && c.Verdict != Dismissed) || c.Operator == "" || len([]rune(c.Note)) > MaxNote {
				t.Fatalf("accepted an invalid review %+v from %q", c, data)
			}
		} else if len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes: %v", len(err.Error()), err)
		}
	})
}

func TestState(t *testing.T) {
	var s State
	if _, ok := s.Paused("cam1", now); ok {
		t.Fatal("zero state pauses")
	}
	hour := now.Add(time.Hour)
	s = s.Apply("cam1", AnalysisCommand{State: Paused, Reason: "r1", Operator: "a", Until: hour}, now)
	if p, ok := s.Paused("cam1", now); !ok || p.Reason != "r1" || !p.Since.Equal(now) || !p.Until.Equal(hour) {
		t.Fatalf("cam1 = %+v, %v", p, ok)
	}
	if _, ok := s.Paused("cam2", now); ok {
		t.Fatal("cam2 paused by cam1's pause")
	}
	// The device's pause covers every camera, even one never named, and
	// wins over the camera's.
	d := s.Apply("", AnalysisCommand{State: Paused, Reason: "stop", Operator: "b"}, now)
	for _, c := range []string{"cam1", "cam2", "added-later"} {
		if p, ok := d.Paused(c, now); !ok || p.Reason != "stop" {
			t.Errorf("%s under the device pause: %+v, %v", c, p, ok)
		}
	}
	if _, ok := s.Paused("cam2", now); ok {
		t.Fatal("Apply changed the state it was called on")
	}
	// Resuming the device leaves the camera's own pause.
	r := d.Apply("", AnalysisCommand{State: Running, Operator: "b"}, now)
	if p, ok := r.Paused("cam1", now); !ok || p.Reason != "r1" {
		t.Errorf("cam1 after the device resumed: %+v, %v", p, ok)
	}
	if !r.NextExpiry().Equal(hour) {
		t.Errorf("next expiry %v, want %v", r.NextExpiry(), hour)
	}
	// Until passes: paused no more, and Expire drops it.
	if _, ok := r.Paused("cam1", hour); ok {
		t.Error("cam1 paused at its until")
	}
	e, gone := r.Expire(hour)
	if len(gone) != 1 || gone[0] != "cam1" || len(e.Cameras) != 0 || !e.NextExpiry().IsZero() {
		t.Errorf("Expire: %+v, gone %q", e, gone)
	}
	if r2 := r.Apply("cam1", AnalysisCommand{State: Running, Operator: "a"}, now); len(r2.Cameras) != 0 {
		t.Errorf("cam1 resumed: %+v", r2)
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "oversight.json")
	if s, err := Load(path); err != nil || s.Device != nil || len(s.Cameras) != 0 {
		t.Fatalf("missing file: %+v, %v; want nothing paused", s, err)
	}
	s := State{}.Apply("cam1", AnalysisCommand{State: Paused, Reason: "r", Operator: "a", Until: now.Add(time.Hour)}, now).
		Apply("", AnalysisCommand{State: Paused, Reason: "stop", Operator: "b"}, now)
	if err := Save(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device == nil || *got.Device != *s.Device || got.Cameras["cam1"] != s.Cameras["cam1"] {
		t.Errorf("loaded %+v, saved %+v", got, s)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want the state file only", len(ents))
	}
	// A damaged file stops the start, naming the file.
	for _, bad := range []string{"{", `{"version":1,"cameras":{"c":{"reason":1}}}`, `{"version":2}`, `{"version":1,"x":1}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%q): %v, want an error naming %s", bad, err, path)
		}
	}
	// Unreadable: a directory where the file should be.
	dir := filepath.Join(t.TempDir(), "oversight.json")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(directory): %v", err)
	}
}

func TestRecent(t *testing.T) {
	r := NewRecent(2)
	r.Add("e1", Known{"cam1", "motion"})
	r.Add("e2", Known{"cam1", "intrusion"})
	r.Add("e1", Known{"cam1", "other"}) // a later phase: nothing changes
	if k, ok := r.Lookup("e1"); !ok || k.Type != "motion" {
		t.Errorf("e1 = %+v, %v", k, ok)
	}
	r.Add("e3", Known{"cam2", "crowd"}) // forgets e1, the oldest
	if _, ok := r.Lookup("e1"); ok {
		t.Error("e1 still known past the bound")
	}
	for _, id := range []string{"e2", "e3"} {
		if _, ok := r.Lookup(id); !ok {
			t.Errorf("%s forgotten", id)
		}
	}
	r.Add("e4", Known{"cam2", "crowd"})
	if _, ok := r.Lookup("e2"); ok {
		t.Error("e2 still known past the bound")
	}
}
