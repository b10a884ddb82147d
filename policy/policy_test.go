package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// base is a minimal valid policy; line numbers matter for the error table.
const base = `apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: test
  version: "1"
  controller: "Stadt Musterstadt"
  contact: "datenschutz@example.org"
  legal_basis: "§ 8 Abs. 3 HmbPolDVG"
  dpia: "DPIA-1"
  approved: 2026-10-28
retention:
  outbox: 24h
audio: discard
egress:
  events: [motion]
  fields: [score]
cameras:
  cam1:
    purpose: "Erkennen von am Boden liegenden Personen zur schnellen Hilfe"
    privacy_zones:
      - name: windows
        polygon: [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]
`

// edit applies old→new replacements to base; each old must occur once.
func edit(t testing.TB, pairs ...string) string {
	t.Helper()
	s := base
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(s, pairs[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times in base", pairs[i], n)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func mustParse(t testing.TB, data string) *Policy {
	t.Helper()
	p, err := Parse("p.yaml", []byte(data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

func TestExampleFile(t *testing.T) {
	path := filepath.Join("..", "configs", "policy.yaml")
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	abs, _ := filepath.Abs(path)
	if p.Name != "hansaplatz" || p.Version != "2026-11" || p.SHA256 != hex.EncodeToString(sum[:]) || p.LoadedFrom != abs {
		t.Errorf("identity: %q %q %q %q", p.Name, p.Version, p.SHA256, p.LoadedFrom)
	}
	if name, sha := p.Identity(); name != p.Name || sha != p.SHA256 {
		t.Errorf("Identity() = %q, %q", name, sha)
	}
	if len(p.Zones("cam1")) != 2 || len(p.Zones("cam2")) != 1 {
		t.Errorf("zones: cam1 %v, cam2 %v", p.Zones("cam1"), p.Zones("cam2"))
	}
	if p.Anonymisation != (Anonymisation{Faces: "fill", PixelateBlocks: 6, BlurSigma: 0.5, Margin: 0.25}) {
		t.Errorf("anonymisation (with defaults) = %+v", p.Anonymisation)
	}
}

func TestParseErrors(t *testing.T) {
	const (
		identityFace = "edgeguard has no face recognition: it is always off and cannot be switched on; remove it (GDPR Art. 9: biometric data to identify a person is a special category; EU AI Act Art. 5(1)(h) on real-time remote biometric identification in public spaces). Faces are only ever covered, see anonymisation.faces"
		events       = "motion, intrusion, zone_enter, zone_exit, line_crossing, loitering, crowd, running, person_down, abandoned_object, object_removed, violent_motion, tamper"
	)
	tests := []struct {
		name  string
		edits []string
		want  string
	}{
		// Structure and versioning.
		{"missing apiVersion", []string{"apiVersion: edgeguard/v1\n", ""},
			"p.yaml:1:1: apiVersion: required: write apiVersion: edgeguard/v1 at the top of the file"},
		{"newer apiVersion", []string{"edgeguard/v1", "edgeguard/v2"},
			`p.yaml:1:1: apiVersion: unsupported version "edgeguard/v2"; allowed: edgeguard/v1`},
		{"wrong kind", []string{"kind: Policy", "kind: Config"}, `p.yaml:2:1: kind: "Config" is not a policy; allowed: Policy`},
		{"unknown top-level key", []string{"audio: discard\n", "audio: discard\nvideo: keep\n"},
			"p.yaml:14:1: video: unknown field; allowed: apiVersion, kind, metadata, retention, audio, egress, anonymisation, unlisted_cameras, cameras"},
		{"misspelt key", []string{"privacy_zones:", "privacy_zone:"},
			`p.yaml:20:5: cameras.cam1.privacy_zone: unknown field; did you mean "privacy_zones"? allowed: purpose, privacy_zones`},
		{"duplicate key", []string{"audio: discard\n", "audio: discard\naudio: discard\n"}, "p.yaml:14:1: audio: duplicate key (first at line 13)"},

		// Purpose limitation.
		{"unlisted cameras unknown value", []string{"cameras:\n", "unlisted_cameras: warn\ncameras:\n"},
			`p.yaml:17:1: unlisted_cameras: unknown value "warn"; allowed: refuse (a camera this policy does not list does not run) or allow (it runs without a recorded purpose and without privacy zones)`},
		{"refuse without cameras", []string{"cameras:\n  cam1:\n    purpose: \"Erkennen von am Boden liegenden Personen zur schnellen Hilfe\"\n    privacy_zones:\n      - name: windows\n        polygon: [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]\n", "unlisted_cameras: refuse\n"},
			"p.yaml:17:1: unlisted_cameras: refuse with no camera listed would refuse every camera; list the cameras under cameras: with their purpose, or remove unlisted_cameras"},

		// Accountability.
		{"metadata missing", []string{"metadata:\n  name: test\n  version: \"1\"\n  controller: \"Stadt Musterstadt\"\n  contact: \"datenschutz@example.org\"\n  legal_basis: \"§ 8 Abs. 3 HmbPolDVG\"\n  dpia: \"DPIA-1\"\n  approved: 2026-10-28\n", ""},
			"p.yaml:1:1: metadata: required: name, version, controller, contact, legal_basis, dpia and approved (who is responsible for this policy; GDPR Art. 5(2))"},
		{"contact missing", []string{"  contact: \"datenschutz@example.org\"\n", ""},
			"p.yaml:3:1: metadata.contact: required: how to reach the data protection officer, e.g. datenschutz@example.org"},
		{"blank controller", []string{`"Stadt Musterstadt"`, `"  "`},
			`p.yaml:6:3: metadata.controller: required: the controller (Verantwortlicher, GDPR Art. 4(7)), e.g. "Freie und Hansestadt Hamburg, Polizei"`},
		{"legal basis missing", []string{"  legal_basis: \"§ 8 Abs. 3 HmbPolDVG\"\n", ""},
			`p.yaml:3:1: metadata.legal_basis: required: the legal basis of the processing, e.g. "§ 8 Abs. 3 HmbPolDVG"`},
		{"dpia missing", []string{"  dpia: \"DPIA-1\"\n", ""},
			"p.yaml:3:1: metadata.dpia: required: the reference of the data protection impact assessment (GDPR Art. 35), e.g. DPIA-2026-017"},
		{"approved missing", []string{"  approved: 2026-10-28\n", ""},
			"p.yaml:3:1: metadata.approved: required: the date this policy was approved, YYYY-MM-DD, e.g. 2026-10-28"},
		{"approved not a date", []string{"2026-10-28", "2026-13-01"},
			`p.yaml:10:3: metadata.approved: "2026-13-01" is not a date; write YYYY-MM-DD, e.g. 2026-10-28`},
		{"bad name", []string{"name: test", "name: my policy"},
			`p.yaml:4:3: metadata.name: "my policy" is not a valid name; allowed: 1 to 64 letters, digits, '.', '-' and '_'`},

		// Retention and audio.
		{"retention missing", []string{"retention:\n  outbox: 24h\n", ""},
			"p.yaml:1:1: retention: required: how long events may wait on the device while the network is down, e.g. outbox: 24h"},
		{"outbox missing", []string{"  outbox: 24h\n", "  justification: \"a reason that is long enough\"\n"},
			"p.yaml:11:1: retention.outbox: required: how long events may wait on the device while the network is down, e.g. 24h (0s: not at all)"},
		{"long retention without justification", []string{"outbox: 24h", "outbox: 96h"},
			"p.yaml:12:3: retention.outbox: 4d is longer than 72h; add retention.justification saying why (GDPR Art. 5(1)(e) storage limitation)"},
		{"retention beyond 30 days", []string{"outbox: 24h", "outbox: 31d\n  justification: \"the uplink is down for a month every year\""},
			"p.yaml:12:3: retention.outbox: 31d is too long; allowed: 0s to 30d (the device is not an archive)"},
		{"short justification", []string{"outbox: 24h", "outbox: 4d\n  justification: because"},
			"p.yaml:13:3: retention.justification: too short to explain anything (at least 20 characters)"},
		{"retention not a duration", []string{"outbox: 24h", "outbox: one day"},
			`p.yaml:12:3: retention.outbox: expected a duration such as 30s, 500ms, 5m, 24h or 7d, got "one day"`},
		{"audio missing", []string{"audio: discard\n", ""},
			"p.yaml:1:1: audio: required: write audio: discard (edgeguard never receives audio; the policy says so, so that it is visible)"},
		{"audio kept", []string{"audio: discard", "audio: record"},
			`p.yaml:13:1: audio: unknown value "record"; allowed: discard (edgeguard never receives or records sound; § 201 StGB protects the spoken word)`},

		// Egress.
		{"egress missing", []string{"egress:\n  events: [motion]\n  fields: [score]\n", ""},
			"p.yaml:1:1: egress: required: what may leave the device, at least events: [motion]"},
		{"events missing", []string{"  events: [motion]\n", ""},
			"p.yaml:14:1: egress.events: required: the event types that may leave the device, e.g. [motion]; allowed: " + events},
		{"misspelt event type", []string{"[motion]", "[motoin]"},
			`p.yaml:15:12: egress.events[0]: unknown event type "motoin"; did you mean "motion"? allowed: ` + events},
		{"event type listed twice", []string{"[motion]", "[motion, tamper, motion]"},
			`p.yaml:15:28: egress.events[2]: "motion" is listed twice`},
		{"identity event type", []string{"[motion]", "[motion, face_recognition]"}, "p.yaml:15:20: egress.events[1]: " + identityFace},
		{"unknown field", []string{"[score]", "[score, position]"},
			`p.yaml:16:19: egress.fields[1]: unknown field "position"; allowed: score, zone, count, boxes, detail, class`},
		{"track ids as field", []string{"[score]", "[score, track_id]"},
			"p.yaml:16:19: egress.fields[1]: edgeguard does not re-identify people: track ids exist only in memory for a few seconds, are never stored and never leave the device: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c), Art. 25)"},
		{"rate out of range", []string{"  fields: [score]\n", "  fields: [score]\n  max_events_per_minute: 0\n"},
			"p.yaml:17:3: egress.max_events_per_minute: 0 is out of range; allowed: 1 to 1000"},
		{"empty schedule", []string{"  fields: [score]\n", "  fields: [score]\n  schedule:\n"},
			"p.yaml:17:3: egress.schedule: is empty; leave it out to allow events at any time, or give timezone: and windows:"},
		{"schedule errors", []string{"  fields: [score]\n", "  fields: [score]\n  schedule:\n    timezone: Europe/Hamburg\n    windows:\n      - {days: [monday, sat, sat], from: \"7:00\", to: \"25:00\"}\n      - {days: [sun], from: \"22:00\", to: \"06:00\"}\n      - {from: \"08:00\"}\n"},
			`p.yaml:18:5: egress.schedule.timezone: unknown time zone "Europe/Hamburg"; use a name from the IANA time zone database, e.g. Europe/Berlin` + "\n" +
				`p.yaml:20:17: egress.schedule.windows[0].days[0]: unknown day "monday"; allowed: mon, tue, wed, thu, fri, sat, sun` + "\n" +
				`p.yaml:20:30: egress.schedule.windows[0].days[2]: "sat" is listed twice` + "\n" +
				`p.yaml:20:36: egress.schedule.windows[0].from: "7:00" is not a time of day; write HH:MM, e.g. 07:30` + "\n" +
				`p.yaml:20:50: egress.schedule.windows[0].to: "25:00" is not a time of day; allowed: 00:00 to 24:00` + "\n" +
				`p.yaml:21:38: egress.schedule.windows[1].to: 06:00 is not after 22:00; a window ends on the day it starts: for a night write two windows, e.g. 22:00 to 24:00 and 00:00 to 06:00` + "\n" +
				`p.yaml:22:9: egress.schedule.windows[2].days: required: the days of this window; allowed: mon, tue, wed, thu, fri, sat, sun` + "\n" +
				`p.yaml:22:9: egress.schedule.windows[2].to: required: the end of the window, HH:MM, e.g. "19:00" ("24:00" for the end of the day)`},
		{"schedule without windows", []string{"  fields: [score]\n", "  fields: [score]\n  schedule: {timezone: Europe/Berlin}\n"},
			`p.yaml:17:3: egress.schedule.windows: required: at least one window, e.g. [{days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00"}]; leave out schedule to allow events at any time`},

		// Anonymisation.
		{"unknown face method", []string{"audio: discard\n", "audio: discard\nanonymisation: {faces: mask}\n"},
			`p.yaml:14:17: anonymisation.faces: unknown value "mask"; allowed: fill, pixelate, blur`},
		{"pixelation too weak", []string{"audio: discard\n", "audio: discard\nanonymisation: {faces: pixelate, pixelate_blocks: 12}\n"},
			"p.yaml:14:34: anonymisation.pixelate_blocks: 12 is out of range; allowed: 1 to 8 blocks across a face (fewer blocks hide more; with more a face can stay recognisable)"},
		{"pixelation setting without pixelation", []string{"audio: discard\n", "audio: discard\nanonymisation: {pixelate_blocks: 4}\n"},
			"p.yaml:14:17: anonymisation.pixelate_blocks: only used with faces: pixelate (faces is fill); remove it or set faces: pixelate"},
		{"blur too weak", []string{"audio: discard\n", "audio: discard\nanonymisation: {faces: blur, blur_sigma: 0.1}\n"},
			"p.yaml:14:30: anonymisation.blur_sigma: 0.1 is out of range; allowed: 0.25 to 5 (relative to the face size; weaker blur can leave a face recognisable)"},
		{"margin too small", []string{"audio: discard\n", "audio: discard\nanonymisation: {margin: 0.05}\n"},
			"p.yaml:14:17: anonymisation.margin: 0.05 is out of range; allowed: 0.1 to 1 (extra border around each face or person, relative to its size)"},

		// Identity features, wherever they are asked for.
		{"face recognition at top level", []string{"audio: discard\n", "audio: discard\nface_recognition: true\n"}, "p.yaml:14:1: face_recognition: " + identityFace},
		// Switching it "off" is refused too, with the same words: it is
		// always off, and a key that suggests it could be on misleads.
		{"face recognition switched off", []string{"audio: discard\n", "audio: discard\nface_recognition: false\n"}, "p.yaml:14:1: face_recognition: " + identityFace},
		{"face recognition, other spelling, nested", []string{"  fields: [score]\n", "  fields: [score]\n  FaceRecognition: {enabled: false}\n"},
			"p.yaml:17:3: egress.FaceRecognition: " + identityFace},
		{"biometrics", []string{"audio: discard\n", "audio: discard\nbiometric_identification: on\n"},
			"p.yaml:14:1: biometric_identification: edgeguard processes no biometric data: it is always off and cannot be switched on; remove it (GDPR Art. 9: biometric data to identify a person is a special category)"},
		{"demographics under an unknown key", []string{"audio: discard\n", "audio: discard\nanalytics:\n  demographics: [age, gender]\n"},
			"p.yaml:14:1: analytics: unknown field; allowed: apiVersion, kind, metadata, retention, audio, egress, anonymisation, unlisted_cameras, cameras\n" +
				"p.yaml:15:3: analytics.demographics: edgeguard does not estimate age, gender, ethnicity or other personal attributes: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c) data minimisation; Art. 9 for attributes that reveal special categories)"},
		{"gender and age in a camera", []string{"    privacy_zones:\n", "    gender: false\n    age: false\n    privacy_zones:\n"},
			"p.yaml:20:5: cameras.cam1.gender: edgeguard does not estimate age, gender, ethnicity or other personal attributes: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c) data minimisation; Art. 9 for attributes that reveal special categories)\n" +
				"p.yaml:21:5: cameras.cam1.age: edgeguard does not estimate age, gender, ethnicity or other personal attributes: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c) data minimisation; Art. 9 for attributes that reveal special categories)"},
		{"emotion", []string{"audio: discard\n", "audio: discard\nanonymisation: {emotion: false}\n"},
			"p.yaml:14:17: anonymisation.emotion: edgeguard does not recognise emotions: it is always off and cannot be switched on; remove it (GDPR Art. 9; emotion recognition is a high-risk or prohibited practice under the EU AI Act)"},
		{"re-identification and persistent ids", []string{"audio: discard\n", "audio: discard\nre_identification: true\npersistent_ids: true\n"},
			"p.yaml:14:1: re_identification: edgeguard does not re-identify people: track ids exist only in memory for a few seconds, are never stored and never leave the device: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c), Art. 25)\n" +
				"p.yaml:15:1: persistent_ids: edgeguard does not re-identify people: track ids exist only in memory for a few seconds, are never stored and never leave the device: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c), Art. 25)"},

		// Cameras: purpose and zones.
		{"purpose missing", []string{"    purpose: \"Erkennen von am Boden liegenden Personen zur schnellen Hilfe\"\n", ""},
			`p.yaml:18:3: cameras.cam1.purpose: required: what the analysis of this camera is for, specifically, e.g. "Erkennen von am Boden liegenden Personen zur schnellen Hilfe" (GDPR Art. 5(1)(b) purpose limitation)`},
		{"purpose too short", []string{`"Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`, "Sicherheit"},
			`p.yaml:19:5: cameras.cam1.purpose: "Sicherheit" is too short to be specific (at least 30 characters): say what is detected and why, e.g. "Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`},
		{"purpose vague (de)", []string{`"Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`, `"Für die öffentliche Sicherheit und Ordnung auf dem Platz"`},
			`p.yaml:19:5: cameras.cam1.purpose: "Für die öffentliche Sicherheit und Ordnu…" is too vague: say what is detected and what it is for, e.g. "Erkennen von am Boden liegenden Personen zur schnellen Hilfe" (GDPR Art. 5(1)(b): specified, explicit purposes)`},
		{"purpose vague (en)", []string{`"Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`, `"for public safety and security reasons"`},
			`p.yaml:19:5: cameras.cam1.purpose: "for public safety and security reasons" is too vague: say what is detected and what it is for, e.g. "Erkennen von am Boden liegenden Personen zur schnellen Hilfe" (GDPR Art. 5(1)(b): specified, explicit purposes)`},
		{"bad camera id", []string{"  cam1:", "  cam 1:"},
			`p.yaml:18:3: cameras["cam 1"]: "cam 1" is not a camera id; allowed: 1 to 64 letters, digits, - and _ (as in the operator's config)`},
		{"zone without name", []string{"      - name: windows\n        polygon:", "      - polygon:"},
			"p.yaml:21:9: cameras.cam1.privacy_zones[0].name: required: a name that says what the zone hides, e.g. windows"},
		{"duplicate zone name", []string{"[0, 0.4]]\n", "[0, 0.4]]\n      - name: windows\n        polygon: [[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]]\n"},
			`p.yaml:23:9: cameras.cam1.privacy_zones[1].name: duplicate zone name "windows" (first at line 21)`},
		{"too few corners", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.3, 0]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: needs at least 3 corners [x, y], e.g. [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4]]; got 2"},
		{"corner outside the picture", []string{"[0.3, 0.4], [0, 0.4]]", "[1.3, 0.4], [0, 0.4]]"},
			"p.yaml:22:38: cameras.cam1.privacy_zones[0].polygon[2][0]: 1.3 is outside the picture; allowed: 0 to 1 (0,0 is the top left corner, 1,1 the bottom right)"},
		{"corner with three numbers", []string{"[0.3, 0.4], [0, 0.4]]", "[0.3, 0.4, 1], [0, 0.4]]"},
			"p.yaml:22:37: cameras.cam1.privacy_zones[0].polygon[2]: a corner is [x, y], two numbers; got 3"},
		{"corner not a number", []string{"[0.3, 0.4], [0, 0.4]]", "[0.3, top], [0, 0.4]]"},
			`p.yaml:22:43: cameras.cam1.privacy_zones[0].polygon[2][1]: expected a number, got "top"`},
		{"self-intersecting polygon", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.3, 0.4], [0.3, 0], [0, 0.4]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: edge 1–2 crosses or touches edge 3–4; list the corners in order around the area"},
		{"repeated corner", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.3, 0], [0.3, 0], [0.3, 0.4]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: corner 3 repeats corner 2"},
		{"closed polygon", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: the last corner repeats the first (corner 4); the polygon closes by itself, leave it out"},
		{"polygon without area", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.1, 0.1], [0.2, 0.2]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: the polygon has no area (all corners on one line)"},
		{"polygon too small", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.0005, 0], [0.0005, 0.0005], [0, 0.0005]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: the polygon has no area to speak of (less than a millionth of the picture)"},
		{"polygon folding back", []string{"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0.3, 0], [0.1, 0], [0.2, 0.4]]"},
			"p.yaml:22:9: cameras.cam1.privacy_zones[0].polygon: the edges at corner 2 fold back onto each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(edit(t, tt.edits...)))
			if err == nil {
				t.Fatalf("no error; policy %+v", p)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			var errs yamlstrict.Errors
			if !errors.As(err, &errs) {
				t.Errorf("error is %T, want yamlstrict.Errors", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for name, edits := range map[string][]string{
		"base":                       nil,
		"long retention, justified":  {"outbox: 24h", "outbox: 96h\n  justification: \"the uplink fails for days in winter storms\""},
		"no retention at all":        {"outbox: 24h", "outbox: 0s"},
		"no events":                  {"[motion]", "[]"},
		"all fields":                 {"[score]", "[score, zone, count, boxes]"},
		"camera without zones":       {"    privacy_zones:\n      - name: windows\n        polygon: [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]\n", ""},
		"triangle, clockwise":        {"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [0, 1], [1, 1]]"},
		"concave polygon":            {"[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [1, 0], [1, 1], [0.5, 0.2], [0, 1]]"},
		"night in two windows":       {"  fields: [score]\n", "  fields: [score]\n  schedule:\n    timezone: UTC\n    windows: [{days: [fri], from: \"22:00\", to: \"24:00\"}, {days: [sat], from: \"00:00\", to: \"06:00\"}]\n"},
		"blur":                       {"audio: discard\n", "audio: discard\nanonymisation: {faces: blur, blur_sigma: 1}\n"},
		"purpose in plain English":   {`"Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`, `"Detecting people lying on the ground so that help arrives quickly"`},
		"approved date quoted":       {"2026-10-28", `"2026-10-28"`},
		"version as a number":        {`version: "1"`, "version: 1.10"},
		"flow style":                 {"retention:\n  outbox: 24h\n", "retention: {outbox: 1d}\n"},
		"cameras section left empty": {"cameras:\n  cam1:\n    purpose: \"Erkennen von am Boden liegenden Personen zur schnellen Hilfe\"\n    privacy_zones:\n      - name: windows\n        polygon: [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]\n", "cameras:\n"},
	} {
		t.Run(name, func(t *testing.T) {
			mustParse(t, edit(t, edits...))
		})
	}
	if p := mustParse(t, edit(t, `version: "1"`, "version: 1.10")); p.Version != "1.10" {
		t.Errorf("version 1.10 read as %q: numbers must keep their text", p.Version)
	}
}

func TestDefaultIsMostPrivate(t *testing.T) {
	p := Default()
	if p.Name != DefaultName || p.LoadedFrom != "builtin" {
		t.Errorf("Name %q, LoadedFrom %q", p.Name, p.LoadedFrom)
	}
	for _, e := range EventTypes {
		if got := p.AllowsEvent(e); got != (e == "motion") {
			t.Errorf("AllowsEvent(%q) = %v; only motion is allowed by default", e, got)
		}
	}
	for _, f := range Fields {
		if got := p.AllowsField(f); got != (f == "score") {
			t.Errorf("AllowsField(%q) = %v; only score is allowed by default", f, got)
		}
	}
	if p.Egress.Snapshots || p.Egress.Schedule != nil || len(p.Cameras) != 0 || p.Anonymisation.Faces != "fill" || !p.Anonymisation.Persons {
		t.Errorf("default egress %+v, anonymisation %+v, cameras %v", p.Egress, p.Anonymisation, p.Cameras)
	}
	// No valid policy sends less than the default unless it sends nothing:
	// compared with the example, every egress change widens.
	example, err := Load(filepath.Join("..", "configs", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Diff(Default(), example) {
		if strings.HasPrefix(c.Path, "egress.events") || strings.HasPrefix(c.Path, "egress.fields") || c.Path == "egress.snapshots" {
			if c.Effect != More {
				t.Errorf("default → example: %s; the default should be narrower", c)
			}
		}
	}
	if Default() == Default() || Default().SHA256 != p.SHA256 {
		t.Error("Default() must return a new value with a stable identity")
	}
}

func TestDefaultIdentity(t *testing.T) {
	// The built-in policy's identity is in every event sent under it;
	// change defaultText only on purpose, then update this hash.
	const want = "45d3a022ad85ad58beb3c810d406c543a072bec4571332677e375ebd0c9e2da5"
	sum := sha256.Sum256(DefaultYAML())
	if got := hex.EncodeToString(sum[:]); got != Default().SHA256 || got != want {
		t.Errorf("default sha256 = %s (Default().SHA256 %s), pinned %s", got, Default().SHA256, want)
	}
}

func TestSchedule(t *testing.T) {
	p := mustParse(t, edit(t, "  fields: [score]\n", `  fields: [score]
  schedule:
    timezone: Europe/Berlin
    windows:
      - {days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00"}
      - {days: [sat], from: "22:00", to: "24:00"}
`))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range []struct {
		when string
		want bool
	}{
		{"2026-11-02 06:59", false}, // Monday
		{"2026-11-02 07:00", true},
		{"2026-11-02 18:59", true},
		{"2026-11-02 19:00", false},
		{"2026-11-07 12:00", false}, // Saturday
		{"2026-11-07 23:59", true},
		{"2026-11-08 00:00", false}, // Sunday
		{"2026-03-30 07:30", true},  // Monday after the switch to summer time
	} {
		if got := p.AllowsEventAt("motion", at(tt.when)); got != tt.want {
			t.Errorf("AllowsEventAt(motion, %s) = %v, want %v", tt.when, got, tt.want)
		}
	}
	// The same instant given in UTC: 06:30 UTC is 07:30 in Berlin in summer.
	if !p.AllowsEventAt("motion", time.Date(2026, 3, 30, 5, 30, 0, 0, time.UTC)) {
		t.Error("instant given in UTC not converted to the policy's time zone")
	}
	if p.AllowsEventAt("tamper", at("2026-11-02 12:00")) {
		t.Error("an event type the policy does not allow passes inside the schedule")
	}
	p.Now = func() time.Time { return at("2026-11-02 12:00") }
	if !p.AllowsEvent("motion") {
		t.Error("AllowsEvent ignores the injected clock (inside)")
	}
	p.Now = func() time.Time { return at("2026-11-02 20:00") }
	if p.AllowsEvent("motion") {
		t.Error("AllowsEvent ignores the injected clock (outside)")
	}
}

func TestZones(t *testing.T) {
	p := mustParse(t, base)
	z := p.Zones("cam1")
	want := []geometry.Polygon{{{X: 0, Y: 0}, {X: 0.3, Y: 0}, {X: 0.3, Y: 0.4}, {X: 0, Y: 0.4}}}
	if !reflect.DeepEqual(z, want) {
		t.Errorf("Zones(cam1) = %v, want %v", z, want)
	}
	z[0][0] = geometry.Point{X: 0.9, Y: 0.9}
	if p.Zones("cam1")[0][0] != (geometry.Point{}) {
		t.Error("Zones returns the policy's own slices; a caller could change the policy")
	}
	if p.Zones("cam9") != nil {
		t.Error("Zones of an unknown camera is not nil")
	}
}

func TestSummary(t *testing.T) {
	p := mustParse(t, base)
	b, err := json.Marshal(p.Summary())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"test","version":"1","sha256":"` + p.SHA256 + `","events":["motion"],"fields":["score"],"snapshots":false,"live_view":false,"schedule":false,"retention":"24h","zones":{"cam1":1},"unlisted_cameras":"refuse"}`
	if string(b) != want {
		t.Errorf("summary\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(mustParse(t, edit(t, "[motion]", "[]", "  fields: [score]\n", "")).Summary())
	if !strings.Contains(string(b), `"events":[],"fields":[]`) {
		t.Errorf("empty lists must be [] not null: %s", b)
	}
}

func TestCheckAgainst(t *testing.T) {
	p := mustParse(t, edit(t, "[motion]", "[motion, tamper]", "cameras:\n", "unlisted_cameras: allow\ncameras:\n"))
	warnings, err := p.CheckAgainst([]string{"cam1", "cam3"}, []string{"motion", "tamper"})
	if err != nil {
		t.Errorf("allowed types: %v", err)
	}
	wantW := []string{`camera "cam3" is not in policy "test", which allows unlisted cameras: it runs without a recorded purpose and without privacy zones`}
	if !slices.Equal(warnings, wantW) {
		t.Errorf("warnings %q, want %q", warnings, wantW)
	}
	warnings, err = p.CheckAgainst([]string{"cam2"}, []string{"motion", "person_down", "teleport"})
	wantErr := `policy "test" (p.yaml) does not allow event type "person_down", which the configuration needs; the privacy officer can add it to egress.events, or the configuration must not produce it` + "\n" +
		`event type "teleport" is not one a policy can allow; known: [motion intrusion zone_enter zone_exit line_crossing loitering crowd running person_down abandoned_object object_removed violent_motion tamper]`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error\n%v\nwant\n%s", err, wantErr)
	}
	wantW = []string{
		`camera "cam2" is not in policy "test", which allows unlisted cameras: it runs without a recorded purpose and without privacy zones`,
		`policy "test" has rules for camera "cam1", which is not configured (a typo in a camera id would leave a camera without its privacy zones)`,
	}
	if !slices.Equal(warnings, wantW) {
		t.Errorf("warnings %q, want %q", warnings, wantW)
	}
}

// TestUnlistedCamerasRefused: a policy that lists cameras refuses the
// others (purpose limitation) unless it says unlisted_cameras: allow; the
// built-in policy lists none and keeps its rules for every camera.
func TestUnlistedCamerasRefused(t *testing.T) {
	for _, tt := range []struct {
		name    string
		policy  *Policy
		cameras []string
		want    string // error; "" for none
	}{
		{"listed only", mustParse(t, base), []string{"cam1"}, ""},
		{"one more", mustParse(t, base), []string{"cam1", "cam3"},
			`policy "test" (p.yaml) does not list camera "cam3" and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add it under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove it from the configuration (or set enabled: false)`},
		{"two more", mustParse(t, base), []string{"cam4", "cam1", "cam3"},
			`policy "test" (p.yaml) does not list cameras "cam4" and "cam3" and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add them under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove them from the configuration (or set enabled: false)`},
		{"explicit refuse", mustParse(t, edit(t, "cameras:\n", "unlisted_cameras: refuse\ncameras:\n")), []string{"cam3"},
			`policy "test" (p.yaml) does not list camera "cam3" and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add it under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove it from the configuration (or set enabled: false)`},
		{"allowed", mustParse(t, edit(t, "cameras:\n", "unlisted_cameras: allow\ncameras:\n")), []string{"cam1", "cam3"}, ""},
		{"builtin lists none", Default(), []string{"cam1", "cam3"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.policy.CheckAgainst(tt.cameras, []string{"motion"})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if d := Default(); d.UnlistedCameras != UnlistedAllow || d.RefusesUnlisted() {
		t.Errorf("built-in policy: unlisted_cameras %q, want allow", d.UnlistedCameras)
	}
}

func TestExplain(t *testing.T) {
	explain, err := Load(filepath.Join("testdata", "explain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		p    *Policy
		lang string
		file string
	}{
		{explain, "en", "explain_en.golden"},
		{explain, "de", "explain_de.golden"},
		{Default(), "en", "default_en.golden"},
		{Default(), "de", "default_de.golden"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.p.Explain(tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, got)
		})
	}
	if _, err := explain.Explain("fr"); err == nil || err.Error() != `unsupported language "fr"; allowed: en, de` {
		t.Errorf("Explain(fr) error = %v", err)
	}
}

func TestDiff(t *testing.T) {
	old := mustParse(t, base)
	changed := mustParse(t, edit(t,
		`version: "1"`, `version: "2"`,
		"outbox: 24h", "outbox: 12h",
		"[motion]", "[motion, person_down]",
		"[score]", "[score, boxes]\n  snapshots: true\n  schedule:\n    timezone: Europe/Berlin\n    windows: [{days: [mon], from: \"08:00\", to: \"18:00\"}]",
		"audio: discard\n", "audio: discard\nanonymisation: {faces: pixelate, pixelate_blocks: 8, margin: 0.2}\n",
		"[0.3, 0.4], [0, 0.4]]", "[0.3, 0.5], [0, 0.5]]\n      - name: door\n        polygon: [[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]]\n  cam2:\n    purpose: \"Erkennen von Manipulationen an der Kamera selbst\"",
	))
	got := make([]string, 0)
	for _, c := range Diff(old, changed) {
		got = append(got, c.String())
	}
	want := []string{
		"metadata.version: 1 → 2",
		"retention.outbox: 24h → 12h (less is seen, kept or sent)",
		"egress.events: adds person_down (MORE is seen, kept or sent)",
		"egress.fields: adds boxes (MORE is seen, kept or sent)",
		"egress.snapshots: false → true (MORE is seen, kept or sent)",
		"egress.schedule: at any time → mon 08:00–18:00 (Europe/Berlin) (less is seen, kept or sent)",
		"anonymisation.faces: fill → pixelate (MORE is seen, kept or sent)",
		"anonymisation.pixelate_blocks: 6 → 8 (MORE is seen, kept or sent)",
		"anonymisation.margin: 0.25 → 0.2 (MORE is seen, kept or sent)",
		"cameras.cam1.privacy_zones.windows: [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]] → [[0, 0], [0.3, 0], [0.3, 0.5], [0, 0.5]] (less is seen, kept or sent)",
		"cameras.cam1.privacy_zones: adds door (less is seen, kept or sent)",
		`cameras.cam2: adds camera with 0 privacy zone(s), purpose "Erkennen von Manipulationen an der Kamera selbst"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// And back: every direction flips, removals replace additions.
	var back []string
	for _, c := range Diff(changed, old) {
		back = append(back, c.Effect.String()+" "+c.Path)
	}
	wantBack := []string{"info metadata.version", "more retention.outbox", "less egress.events", "less egress.fields", "less egress.snapshots",
		"more egress.schedule", "less anonymisation.faces", "less anonymisation.pixelate_blocks", "less anonymisation.margin",
		"more cameras.cam1.privacy_zones.windows", "more cameras.cam1.privacy_zones", "info cameras.cam2"}
	if !slices.Equal(back, wantBack) {
		t.Errorf("reverse Diff:\n%s\nwant:\n%s", strings.Join(back, "\n"), strings.Join(wantBack, "\n"))
	}
	if d := Diff(old, mustParse(t, base)); len(d) != 0 {
		t.Errorf("same policy: %v", d)
	}
	// The same times written differently are not a change of reach.
	always := mustParse(t, edit(t, "  fields: [score]\n", "  fields: [score]\n  schedule: {timezone: UTC, windows: [{days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"24:00\"}]}\n"))
	if d := Diff(old, always); len(d) != 1 || d[0].Effect != Info {
		t.Errorf("always → 24/7 schedule: %v, want one Info change", d)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it after review):\n%s", name, got)
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range []string{filepath.Join("..", "configs", "policy.yaml"), filepath.Join("testdata", "explain.yaml")} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(base))
	f.Add(DefaultYAML())
	f.Add([]byte(edit(f, "[motion]", "[motion, face_recognition]", "[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", "[[0, 0], [1, 1], [1, 0], [0, 1]]")))
	f.Add([]byte(edit(f, "  fields: [score]\n", "  fields: [score]\n  schedule: {timezone: Europe/Berlin, windows: [{days: [mon], from: \"08:00\", to: \"24:00\"}]}\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			var errs yamlstrict.Errors
			if !errors.As(err, &errs) || len(errs) == 0 || len(errs) > 21 {
				t.Fatalf("error %T with %d entries: %v", err, len(errs), err)
			}
			return
		}
		// What is accepted keeps every promise the device relies on.
		sum := sha256.Sum256(data)
		if p.SHA256 != hex.EncodeToString(sum[:]) || p.Audio != "discard" || p.APIVersion != APIVersion {
			t.Fatalf("identity or audio: %+v", p)
		}
		for _, e := range p.Egress.Events {
			if !slices.Contains(EventTypes, e) {
				t.Fatalf("accepted event type %q", e)
			}
		}
		for _, fl := range p.Egress.Fields {
			if !slices.Contains(Fields, fl) {
				t.Fatalf("accepted field %q", fl)
			}
		}
		a := p.Anonymisation
		if a.PixelateBlocks > MaxPixelateBlocks || a.BlurSigma < MinBlurSigma || a.Margin < MinMargin || p.Retention.Outbox > MaxRetention {
			t.Fatalf("accepted weak settings: %+v, retention %v", a, p.Retention.Outbox)
		}
		for _, id := range p.CameraIDs() {
			for _, z := range p.Zones(id) {
				if z.Validate() != nil {
					t.Fatalf("accepted zone %v of %s", z, id)
				}
			}
		}
		for _, lang := range Languages {
			if _, err := p.Explain(lang); err != nil {
				t.Fatal(err)
			}
		}
		if d := Diff(p, p); len(d) != 0 {
			t.Fatalf("Diff with itself: %v", d)
		}
		p.AllowsEventAt("motion", time.Unix(int64(len(data))*7919, 0))
	})
}

func TestDiffUnlistedCameras(t *testing.T) {
	refuse := mustParse(t, base)
	allow := mustParse(t, edit(t, "cameras:\n", "unlisted_cameras: allow\ncameras:\n"))
	for _, tt := range []struct {
		old, new *Policy
		want     string
	}{
		{refuse, allow, "unlisted_cameras: refuse → allow (MORE is seen, kept or sent)"},
		{allow, refuse, "unlisted_cameras: allow → refuse (less is seen, kept or sent)"},
	} {
		var got []string
		for _, c := range Diff(tt.old, tt.new) {
			got = append(got, c.String())
		}
		if !slices.Contains(got, tt.want) {
			t.Errorf("diff %q, want it to contain %q", got, tt.want)
		}
	}
}

// TestDiffZoneShape: a zone that only shrinks shows strictly more, one that
// only grows strictly less; a moved zone is for a person to judge.
func TestDiffZoneShape(t *testing.T) {
	old := mustParse(t, base) // windows: x 0..0.3, y 0..0.4
	for _, tt := range []struct {
		polygon string
		want    Effect
	}{
		{"[[0, 0], [0.2, 0], [0.2, 0.4], [0, 0.4]]", More},
		{"[[0, 0], [0.4, 0], [0.4, 0.4], [0, 0.4]]", Less},
		{"[[0.1, 0], [0.4, 0], [0.4, 0.4], [0.1, 0.4]]", Review},
	} {
		changed := mustParse(t, edit(t, "[[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]", tt.polygon))
		cs := Diff(old, changed)
		if len(cs) != 1 || cs[0].Effect != tt.want {
			t.Errorf("%s: %v, want one change with effect %v", tt.polygon, cs, tt.want)
		}
	}
}

// TestNoChangeText: a copy with other line endings has no change in
// meaning but another SHA-256, and the diff says so.
func TestNoChangeText(t *testing.T) {
	old := mustParse(t, base)
	crlf := mustParse(t, strings.ReplaceAll(base, "\n", "\r\n"))
	if d := Diff(old, crlf); len(d) != 0 {
		t.Fatalf("CRLF copy: %v", d)
	}
	for _, tt := range []struct {
		new  *Policy
		lang string
		want string
	}{
		{crlf, "en", "no change in what this device may see, keep or send; but the files' bytes differ (line endings, comments, order): events will name sha256 " + crlf.SHA256 + " instead of " + old.SHA256},
		{crlf, "de", "keine Änderung an dem, was dieses Gerät sehen, speichern oder senden darf; aber die Dateien unterscheiden sich (Zeilenenden, Kommentare, Reihenfolge): Ereignisse nennen künftig sha256 " + crlf.SHA256 + " statt " + old.SHA256},
		{mustParse(t, base), "en", "no change: the files are identical byte for byte (sha256 " + old.SHA256 + ")"},
	} {
		got, err := NoChangeText(old, tt.new, tt.lang)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v\nwant %q", tt.lang, got, err, tt.want)
		}
	}
	if _, err := NoChangeText(old, crlf, "fr"); err == nil {
		t.Error("fr: no error")
	}
}
