// Package policy is the privacy policy file: what an edgeguard device may
// see, keep and send. A privacy officer (Datenschutzbeauftragte/r) writes it
// in YAML (docs/policy.md); the device enforces it, and every event names
// the policy (name and SHA-256 of the file's bytes) it was produced under.
//
// Parsing is strict (yamlstrict): unknown keys, wrong types and vague or
// missing accountability data are errors, and so are requests for features
// edgeguard does not have and will not have (face recognition, biometrics,
// demographics, emotion, re-identification): these get an explanation rather
// than "unknown field".
//
// The package is pure Go so that the policy can be checked anywhere
// (`edgeguard policy check`) without OpenCV or FFmpeg.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// APIVersion is the only schema version this package reads.
const APIVersion = "edgeguard/v1"

// Kind is the document kind of a policy file.
const Kind = "Policy"

// EventTypes are the event types a policy can allow, in the order used in
// messages and explanations: the types of the pipeline's rule registry,
// which this package cannot import (TestPolicyEventTypesAreTheRegistry in
// pipeline/internal/analysis/pattern keeps them the same, and
// TestExplainDescribesEveryType that explain.go describes each).
var EventTypes = []string{"motion", "intrusion", "zone_enter", "zone_exit", "line_crossing", "loitering", "crowd", "running", "person_down", "abandoned_object", "object_removed", "violent_motion", "tamper"}

// Fields are the optional event fields a policy can allow: score (0..1),
// zone (name of a zone), count (number of objects), boxes (normalised
// rectangles), detail (the kind of a tamper: covered, defocused, moved,
// lost) and class (what kind of object: person, vehicle, animal, bag,
// object). Everything else in an event is fixed by the schema.
var Fields = []string{"score", "zone", "count", "boxes", "detail", "class"}

// Limits the policy enforces on itself; docs/policy.md explains them.
const (
	// MaxRetentionWithoutJustification is the outbox retention above which
	// retention.justification is required.
	MaxRetentionWithoutJustification = 72 * time.Hour
	// MaxRetention is the longest outbox retention at all: an edge device
	// is not an archive.
	MaxRetention = 30 * 24 * time.Hour
	// MinAuditRetention is the shortest and the default retention.audit:
	// 183 days, the six months the AI Act (Art. 19(1), 26(6)) asks the
	// logs of high-risk systems to be kept at least.
	MinAuditRetention = 183 * 24 * time.Hour
	// MaxPixelateBlocks is the coarsest-allowed pixelation: more blocks
	// across a face would keep it recognisable.
	MaxPixelateBlocks = 8
	// MinBlurSigma is the weakest-allowed blur, relative to the face size.
	MinBlurSigma = 0.25
	// MinMargin is the smallest safety margin around a detected face or
	// person, relative to its size.
	MinMargin = 0.1
)

// Policy is a validated privacy policy. Treat it as read-only: the egress
// guard shares one value between goroutines and swaps it as a whole.
type Policy struct {
	// Name is metadata.name: the policy's identity in events.
	Name string
	// Version is metadata.version.
	Version string
	// SHA256 is the hex SHA-256 of the file's exact bytes, so anyone can
	// check which text was in force (sha256sum policy.yaml).
	SHA256 string
	// LoadedFrom is the absolute path of the file (Load), the filename given
	// to Parse, or "builtin" for Default().
	LoadedFrom string
	// Now is the clock for the schedule; nil means time.Now.
	Now func() time.Time

	APIVersion    string        `yaml:"apiVersion"`
	Kind          string        `yaml:"kind"`
	Metadata      Metadata      `yaml:"metadata"`
	Retention     Retention     `yaml:"retention"`
	Audio         string        `yaml:"audio"`
	Egress        Egress        `yaml:"egress"`
	Anonymisation Anonymisation `yaml:"anonymisation"`
	// UnlistedCameras is what happens to a configured camera the policy
	// does not list: UnlistedRefuse (the service does not start) or
	// UnlistedAllow (it runs without a recorded purpose and without privacy
	// zones). When the file leaves it out it is UnlistedRefuse if any camera
	// is listed, UnlistedAllow if none is: purpose limitation (GDPR Art.
	// 5(1)(b)) is the privacy officer's decision, not the operator's, so a
	// policy that names its cameras names all of them unless it says
	// otherwise, while a policy that lists none (like the built-in one)
	// keeps its rules for every camera.
	UnlistedCameras string            `yaml:"unlisted_cameras"`
	Cameras         map[string]Camera `yaml:"-"` // decoded via document
}

// Values of unlisted_cameras.
const (
	UnlistedRefuse = "refuse"
	UnlistedAllow  = "allow"
)

// Metadata makes the policy accountable (GDPR Art. 5(2), 25, 35; BDSG § 4):
// who is responsible, on which legal basis, after which impact assessment.
type Metadata struct {
	Name       string `yaml:"name"`
	Version    string `yaml:"version"`
	Controller string `yaml:"controller"`
	Contact    string `yaml:"contact"`
	LegalBasis string `yaml:"legal_basis"`
	DPIA       string `yaml:"dpia"`
	Approved   Date   `yaml:"approved"`
}

// Retention bounds what the device keeps. The device keeps no video and no
// images; the only store is the outbox of events waiting for the network.
type Retention struct {
	Outbox        time.Duration `yaml:"outbox"`
	Justification string        `yaml:"justification"`
	// Audit is how long the box keeps its audit trail (docs/audit.md):
	// records of what left and what was withheld, never images. Not set:
	// MinAuditRetention; shorter is refused.
	Audit time.Duration `yaml:"audit"`
}

// Egress is what may leave the device.
type Egress struct {
	Events    []string `yaml:"events"`
	Fields    []string `yaml:"fields"`
	Snapshots bool     `yaml:"snapshots"`
	// LiveView lets the local web console show each camera's current
	// picture, anonymised like a snapshot (docs/console.md); it needs
	// Snapshots, whose anonymiser it uses.
	LiveView           bool      `yaml:"live_view"`
	MaxEventsPerMinute int       `yaml:"max_events_per_minute"`
	Schedule           *Schedule `yaml:"schedule"` // nil: at any time
}

// Anonymisation applies to every image that leaves the device (snapshots).
type Anonymisation struct {
	Faces          string  `yaml:"faces"` // fill | pixelate | blur
	PixelateBlocks int     `yaml:"pixelate_blocks"`
	BlurSigma      float64 `yaml:"blur_sigma"`
	Margin         float64 `yaml:"margin"`
	Persons        bool    `yaml:"persons"`
}

// Camera is what the policy says about one camera.
type Camera struct {
	// Purpose is the specific purpose of the analysis (GDPR Art. 5(1)(b)).
	Purpose string
	// Zones are filled at the decoder's output: no part of edgeguard ever
	// sees those pixels.
	Zones []Zone
}

// Zone is a named privacy zone. Its polygon is valid as
// geometry.Polygon.Validate defines it: the privacy mask draws every zone a
// policy accepts.
type Zone struct {
	Name    string
	Polygon geometry.Polygon
}

// Date is a calendar date (YYYY-MM-DD) without time or zone.
type Date struct{ Year, Month, Day int }

// UnmarshalText parses YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("%s is not a date; write YYYY-MM-DD, e.g. 2026-10-28", yamlstrict.Quote(string(b)))
	}
	*d = Date{t.Year(), int(t.Month()), t.Day()}
	return nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// document is the file's shape: the policy plus its cameras in file form.
type document struct {
	Policy  `yaml:",inline"`
	Cameras map[string]cameraDoc `yaml:"cameras"`
}

type cameraDoc struct {
	Purpose      string    `yaml:"purpose"`
	PrivacyZones []zoneDoc `yaml:"privacy_zones"`
}

type zoneDoc struct {
	Name    string      `yaml:"name"`
	Polygon [][]float64 `yaml:"polygon"`
}

// defaults are the values of optional settings; docs/policy.md lists them.
func defaults() Policy {
	return Policy{
		Egress: Egress{MaxEventsPerMinute: 60},
		Anonymisation: Anonymisation{
			Faces:          "fill",
			PixelateBlocks: 6,
			BlurSigma:      0.5,
			Margin:         0.25,
		},
	}
}

// Load reads and validates the policy file at path. A policy that cannot be
// loaded must stop the service (fail closed): there is no fallback.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		p.LoadedFrom = abs
	}
	return p, nil
}

// Parse decodes and validates a policy; filename is used in messages. On
// failure the error is yamlstrict.Errors, listing every problem found.
func Parse(filename string, data []byte) (*Policy, error) {
	d := yamlstrict.New(filename, data, yamlstrict.Options{
		KeyCheck: identityKey,
		Empty:    "the file is empty; start from configs/policy.yaml (docs/policy.md explains every field)",
	})
	if !d.HasDocument() {
		return nil, d.Err()
	}
	doc := document{Policy: defaults()}
	d.Decode(&doc)
	p := doc.Policy
	if len(doc.Cameras) > 0 {
		p.Cameras = make(map[string]Camera, len(doc.Cameras))
		for id, c := range doc.Cameras {
			cam := Camera{Purpose: c.Purpose}
			for _, z := range c.PrivacyZones {
				zone := Zone{Name: z.Name}
				for _, pt := range z.Polygon {
					if len(pt) == 2 {
						zone.Polygon = append(zone.Polygon, geometry.Point{X: pt[0], Y: pt[1]})
					}
				}
				cam.Zones = append(cam.Zones, zone)
			}
			p.Cameras[id] = cam
		}
	}
	validate(d, &p, &doc)
	if err := d.Err(); err != nil {
		return nil, err
	}
	if p.UnlistedCameras == "" {
		p.UnlistedCameras = UnlistedAllow
		if len(p.Cameras) > 0 {
			p.UnlistedCameras = UnlistedRefuse
		}
	}
	sum := sha256.Sum256(data)
	p.Name = p.Metadata.Name
	p.Version = p.Metadata.Version
	p.SHA256 = hex.EncodeToString(sum[:])
	p.LoadedFrom = filename
	return &p, nil
}

// Identity names the policy in events: metadata.name and the SHA-256 of
// the file.
func (p *Policy) Identity() (name, sha256 string) { return p.Name, p.SHA256 }

// AllowsEvent reports whether an event of type t may leave the device now.
func (p *Policy) AllowsEvent(t string) bool {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return p.AllowsEventAt(t, now())
}

// AllowsEventAt reports whether an event of type t may leave the device at
// the given time: the type is allowed and the time is inside the schedule.
// Events outside the schedule are dropped, not delayed.
func (p *Policy) AllowsEventAt(t string, now time.Time) bool {
	return slices.Contains(p.Egress.Events, t) && p.Egress.Schedule.allows(now)
}

// AllowsField reports whether the optional event field f (score, zone,
// count, boxes) may leave the device.
func (p *Policy) AllowsField(f string) bool { return slices.Contains(p.Egress.Fields, f) }

// Zones returns the privacy zones of a camera (nil if it has none), as a
// fresh copy the caller may keep.
func (p *Policy) Zones(camera string) []geometry.Polygon {
	c, ok := p.Cameras[camera]
	if !ok || len(c.Zones) == 0 {
		return nil
	}
	out := make([]geometry.Polygon, len(c.Zones))
	for i, z := range c.Zones {
		out[i] = slices.Clone(z.Polygon)
	}
	return out
}

// RefusesUnlisted reports whether a camera the policy does not list must
// not run (see UnlistedCameras).
func (p *Policy) RefusesUnlisted() bool { return p.UnlistedCameras == UnlistedRefuse }

// CameraIDs returns the cameras the policy names, sorted.
func (p *Policy) CameraIDs() []string {
	ids := make([]string, 0, len(p.Cameras))
	for id := range p.Cameras {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Summary is the policy in brief, for the retained audit topic: enough for
// a control room or an auditor to see which rules a device runs.
type Summary struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	SHA256    string   `json:"sha256"`
	Events    []string `json:"events"`
	Fields    []string `json:"fields"`
	Snapshots bool     `json:"snapshots"`
	// LiveView is egress.live_view: the web console may show each
	// camera's current anonymised picture.
	LiveView  bool           `json:"live_view"`
	Schedule  bool           `json:"schedule"`  // events only at scheduled times
	Retention string         `json:"retention"` // outbox, e.g. "24h"
	Zones     map[string]int `json:"zones"`     // privacy zones per camera
	// UnlistedCameras is "refuse" or "allow" (see Policy.UnlistedCameras).
	UnlistedCameras string `json:"unlisted_cameras"`
}

// Summary returns the policy in brief.
func (p *Policy) Summary() Summary {
	s := Summary{
		Name:      p.Name,
		Version:   p.Version,
		SHA256:    p.SHA256,
		Events:    orEmpty(slices.Clone(p.Egress.Events)),
		Fields:    orEmpty(slices.Clone(p.Egress.Fields)),
		Snapshots: p.Egress.Snapshots,
		LiveView:  p.Egress.LiveView,
		Schedule:  p.Egress.Schedule != nil,
		Retention: fmtDuration(p.Retention.Outbox),
		Zones:     map[string]int{},

		UnlistedCameras: p.UnlistedCameras,
	}
	for id, c := range p.Cameras {
		s.Zones[id] = len(c.Zones)
	}
	return s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
