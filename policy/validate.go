package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	cameraPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

const purposeExample = `e.g. "Erkennen von am Boden liegenden Personen zur schnellen Hilfe"`

// MinPurposeLength is the shortest purpose accepted: a specific purpose
// names what is detected and why, which does not fit in fewer characters.
const MinPurposeLength = 30

// Limits on the size of a policy. The zone limits are geometry's, which
// the privacy mask enforces too.
const (
	maxZonesPerCamera = geometry.MaxZones
	maxTextLength     = 200
)

// validate is the one place where the policy's rules live. Messages are
// for privacy officers: they say what is wrong, what is allowed and, where
// it helps, why.
func validate(d *yamlstrict.Decoder, p *Policy, doc *document) {
	switch {
	case !d.Has("apiVersion"):
		d.Errorf("apiVersion", "required: write apiVersion: %s at the top of the file", APIVersion)
	case p.APIVersion != APIVersion:
		d.Errorf("apiVersion", "unsupported version %s; allowed: %s", yamlstrict.Quote(p.APIVersion), APIVersion)
	}
	switch {
	case !d.Has("kind"):
		d.Errorf("kind", "required: write kind: %s at the top of the file", Kind)
	case p.Kind != Kind:
		d.Errorf("kind", "%s is not a policy; allowed: %s", yamlstrict.Quote(p.Kind), Kind)
	}
	validateMetadata(d, &p.Metadata)
	validateRetention(d, &p.Retention)
	switch {
	case !d.Has("audio"):
		d.Errorf("audio", "required: write audio: discard (edgeguard never receives audio; the policy says so, so that it is visible)")
	case p.Audio != "discard":
		d.Errorf("audio", "unknown value %s; allowed: discard (edgeguard never receives or records sound; § 201 StGB protects the spoken word)", yamlstrict.Quote(p.Audio))
	}
	validateEgress(d, &p.Egress)
	validateAnonymisation(d, &p.Anonymisation)
	for _, id := range sortedKeys(doc.Cameras) {
		validateCamera(d, id, doc.Cameras[id])
	}
	switch {
	case !d.Has("unlisted_cameras"):
	case p.UnlistedCameras != UnlistedRefuse && p.UnlistedCameras != UnlistedAllow:
		d.Errorf("unlisted_cameras", "unknown value %s; allowed: refuse (a camera this policy does not list does not run) or allow (it runs without a recorded purpose and without privacy zones)", yamlstrict.Quote(p.UnlistedCameras))
	case p.UnlistedCameras == UnlistedRefuse && len(doc.Cameras) == 0:
		d.Errorf("unlisted_cameras", "refuse with no camera listed would refuse every camera; list the cameras under cameras: with their purpose, or remove unlisted_cameras")
	}
}

func validateMetadata(d *yamlstrict.Decoder, m *Metadata) {
	if !d.Has("metadata") {
		d.Errorf("metadata", "required: name, version, controller, contact, legal_basis, dpia and approved (who is responsible for this policy; GDPR Art. 5(2))")
		return
	}
	for _, f := range []struct {
		key, value, what string
	}{
		{"name", m.Name, "a short name for this policy, e.g. hansaplatz; it is sent with every event"},
		{"version", m.Version, `the version of this policy, e.g. "2026-11"`},
		{"controller", m.Controller, `the controller (Verantwortlicher, GDPR Art. 4(7)), e.g. "Freie und Hansestadt Hamburg, Polizei"`},
		{"contact", m.Contact, "how to reach the data protection officer, e.g. datenschutz@example.org"},
		{"legal_basis", m.LegalBasis, `the legal basis of the processing, e.g. "§ 8 Abs. 3 HmbPolDVG"`},
		{"dpia", m.DPIA, "the reference of the data protection impact assessment (GDPR Art. 35), e.g. DPIA-2026-017"},
	} {
		path := "metadata." + f.key
		switch {
		case strings.TrimSpace(f.value) == "":
			d.Errorf(path, "required: %s", f.what)
		case len([]rune(f.value)) > maxTextLength || strings.ContainsFunc(f.value, unicode.IsControl):
			d.Errorf(path, "must be one line of at most %d characters", maxTextLength)
		}
	}
	if m.Name != "" && !namePattern.MatchString(m.Name) && !d.HasError("metadata.name") {
		d.Errorf("metadata.name", "%s is not a valid name; allowed: 1 to 64 letters, digits, '.', '-' and '_'", yamlstrict.Quote(m.Name))
	}
	if len(m.Version) > 32 {
		d.Errorf("metadata.version", "must be at most 32 characters")
	}
	if m.Approved.IsZero() {
		d.Errorf("metadata.approved", "required: the date this policy was approved, YYYY-MM-DD, e.g. 2026-10-28")
	}
}

func validateRetention(d *yamlstrict.Decoder, r *Retention) {
	switch {
	case !d.Has("retention"):
		d.Errorf("retention", "required: how long events may wait on the device while the network is down, e.g. outbox: 24h")
		return
	case !d.Has("retention.outbox"):
		d.Errorf("retention.outbox", "required: how long events may wait on the device while the network is down, e.g. 24h (0s: not at all)")
		return
	}
	switch {
	case r.Outbox < 0:
		d.Errorf("retention.outbox", "must not be negative")
	case r.Outbox > MaxRetention:
		d.Errorf("retention.outbox", "%s is too long; allowed: 0s to 30d (the device is not an archive)", fmtDuration(r.Outbox))
	case r.Outbox > MaxRetentionWithoutJustification && strings.TrimSpace(r.Justification) == "":
		d.Errorf("retention.outbox", "%s is longer than 72h; add retention.justification saying why (GDPR Art. 5(1)(e) storage limitation)", fmtDuration(r.Outbox))
	}
	switch {
	case !d.Has("retention.audit"):
		r.Audit = MinAuditRetention
	case r.Audit < MinAuditRetention:
		d.Errorf("retention.audit", "%s is too short; allowed: at least 183d (the AI Act asks for six months), or leave it out for 183d", fmtDuration(r.Audit))
	}
	if d.Has("retention.justification") && len([]rune(strings.TrimSpace(r.Justification))) < 20 {
		d.Errorf("retention.justification", "too short to explain anything (at least 20 characters)")
	}
}

func validateEgress(d *yamlstrict.Decoder, e *Egress) {
	if !d.Has("egress") {
		d.Errorf("egress", "required: what may leave the device, at least events: [motion]")
		return
	}
	if !d.Has("egress.events") {
		d.Errorf("egress.events", "required: the event types that may leave the device, e.g. [motion]; allowed: %s", strings.Join(EventTypes, ", "))
	}
	checkList(d, "egress.events", e.Events, EventTypes, "event type")
	checkList(d, "egress.fields", e.Fields, Fields, "field")
	if e.MaxEventsPerMinute < 1 || e.MaxEventsPerMinute > 1000 {
		d.Errorf("egress.max_events_per_minute", "%d is out of range; allowed: 1 to 1000", e.MaxEventsPerMinute)
	}
	if e.LiveView && !e.Snapshots {
		// The live picture goes through the snapshots' anonymiser, which
		// exists only while snapshots are allowed.
		d.Errorf("egress.live_view", "needs egress.snapshots: true: the console's live picture is anonymised like a snapshot; set snapshots: true or live_view: false")
	}
	if d.Has("egress.schedule") && e.Schedule == nil && !d.HasError("egress.schedule") {
		d.Errorf("egress.schedule", "is empty; leave it out to allow events at any time, or give timezone: and windows:")
	}
	if s := e.Schedule; s != nil {
		validateSchedule(d, s)
	}
}

// checkList checks a list of names against the known ones.
func checkList(d *yamlstrict.Decoder, path string, values, known []string, what string) {
	for i, v := range values {
		p := yamlstrict.Index(path, i)
		switch {
		case identityFeature(v) != "":
			d.Errorf(p, "%s", identityFeature(v))
		case !slices.Contains(known, v):
			if s := yamlstrict.Suggest(v, known); s != "" {
				d.Errorf(p, "unknown %s %s; did you mean %q? allowed: %s", what, yamlstrict.Quote(v), s, strings.Join(known, ", "))
			} else {
				d.Errorf(p, "unknown %s %s; allowed: %s", what, yamlstrict.Quote(v), strings.Join(known, ", "))
			}
		case slices.Index(values, v) < i:
			d.Errorf(p, "%s is listed twice", yamlstrict.Quote(v))
		}
	}
}

func validateSchedule(d *yamlstrict.Decoder, s *Schedule) {
	if s.Timezone == "" {
		d.Errorf("egress.schedule.timezone", "required: the time zone of the times below, e.g. Europe/Berlin")
	} else if loc, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
		d.Errorf("egress.schedule.timezone", "unknown time zone %s; use a name from the IANA time zone database, e.g. Europe/Berlin", yamlstrict.Quote(s.Timezone))
	} else {
		s.loc = loc
	}
	if len(s.Windows) == 0 {
		d.Errorf("egress.schedule.windows", "required: at least one window, e.g. [{days: [mon, tue, wed, thu, fri], from: \"07:00\", to: \"19:00\"}]; leave out schedule to allow events at any time")
	}
	for i := range s.Windows {
		w := &s.Windows[i]
		p := yamlstrict.Index("egress.schedule.windows", i)
		if len(w.Days) == 0 {
			d.Errorf(p+".days", "required: the days of this window; allowed: %s", strings.Join(Weekdays, ", "))
		}
		for j, day := range w.Days {
			wd, ok := weekdayOf[day]
			switch {
			case !ok:
				d.Errorf(yamlstrict.Index(p+".days", j), "unknown day %s; allowed: %s", yamlstrict.Quote(day), strings.Join(Weekdays, ", "))
			case w.days[wd]:
				d.Errorf(yamlstrict.Index(p+".days", j), "%s is listed twice", yamlstrict.Quote(day))
			default:
				w.days[wd] = true
			}
		}
		var err1, err2 error
		w.from, err1 = parseClock(w.From)
		w.to, err2 = parseClock(w.To)
		switch {
		case w.From == "":
			d.Errorf(p+".from", "required: the start of the window, HH:MM, e.g. \"07:00\"")
		case err1 != nil:
			d.Errorf(p+".from", "%v", err1)
		}
		switch {
		case w.To == "":
			d.Errorf(p+".to", "required: the end of the window, HH:MM, e.g. \"19:00\" (\"24:00\" for the end of the day)")
		case err2 != nil:
			d.Errorf(p+".to", "%v", err2)
		}
		if err1 == nil && err2 == nil && w.from >= w.to {
			d.Errorf(p+".to", "%s is not after %s; a window ends on the day it starts: for a night write two windows, e.g. 22:00 to 24:00 and 00:00 to 06:00", w.To, w.From)
		}
	}
}

func validateAnonymisation(d *yamlstrict.Decoder, a *Anonymisation) {
	switch a.Faces {
	case "fill", "pixelate", "blur":
	default:
		d.Errorf("anonymisation.faces", "unknown value %s; allowed: fill, pixelate, blur", yamlstrict.Quote(a.Faces))
	}
	if a.PixelateBlocks < 1 || a.PixelateBlocks > MaxPixelateBlocks {
		d.Errorf("anonymisation.pixelate_blocks", "%d is out of range; allowed: 1 to %d blocks across a face (fewer blocks hide more; with more a face can stay recognisable)", a.PixelateBlocks, MaxPixelateBlocks)
	} else if d.Has("anonymisation.pixelate_blocks") && a.Faces != "pixelate" {
		d.Errorf("anonymisation.pixelate_blocks", "only used with faces: pixelate (faces is %s); remove it or set faces: pixelate", a.Faces)
	}
	if a.BlurSigma < MinBlurSigma || a.BlurSigma > 5 {
		d.Errorf("anonymisation.blur_sigma", "%s is out of range; allowed: %s to 5 (relative to the face size; weaker blur can leave a face recognisable)", fmtFloat(a.BlurSigma), fmtFloat(MinBlurSigma))
	} else if d.Has("anonymisation.blur_sigma") && a.Faces != "blur" {
		d.Errorf("anonymisation.blur_sigma", "only used with faces: blur (faces is %s); remove it or set faces: blur", a.Faces)
	}
	if a.Margin < MinMargin || a.Margin > 1 {
		d.Errorf("anonymisation.margin", "%s is out of range; allowed: %s to 1 (extra border around each face or person, relative to its size)", fmtFloat(a.Margin), fmtFloat(MinMargin))
	}
}

func validateCamera(d *yamlstrict.Decoder, id string, c cameraDoc) {
	path := yamlstrict.Key("cameras", id)
	if !cameraPattern.MatchString(id) {
		d.Errorf(path, "%s is not a camera id; allowed: 1 to 64 letters, digits, - and _ (as in the operator's config)", yamlstrict.Quote(id))
	}
	validatePurpose(d, path+".purpose", c.Purpose)
	if len(c.PrivacyZones) > maxZonesPerCamera {
		d.Errorf(path+".privacy_zones", "%d zones; at most %d per camera", len(c.PrivacyZones), maxZonesPerCamera)
	}
	first := map[string]int{}
	for i, z := range c.PrivacyZones {
		zp := yamlstrict.Index(path+".privacy_zones", i)
		switch name := z.Name; {
		case strings.TrimSpace(name) == "":
			d.Errorf(zp+".name", "required: a name that says what the zone hides, e.g. windows")
		case len([]rune(name)) > 64 || strings.ContainsFunc(name, unicode.IsControl):
			d.Errorf(zp+".name", "must be one line of at most 64 characters")
		default:
			if j, dup := first[name]; dup {
				d.Errorf(zp+".name", "duplicate zone name %q (first at line %d)", name, d.Pos(yamlstrict.Index(path+".privacy_zones", j)+".name").Line)
			} else {
				first[name] = i
			}
		}
		validatePolygon(d, zp+".polygon", z.Polygon)
	}
}

// validatePolygon checks a zone's corners: each a pair of numbers (the
// file's form, checked here), the polygon as geometry.Polygon.Validate
// defines it, the one rule the privacy mask also builds by. Problems are
// reported at the corner or coordinate they concern.
func validatePolygon(d *yamlstrict.Decoder, path string, poly [][]float64) {
	if d.HasError(path) {
		return
	}
	if pr := geometry.CornersProblem(len(poly)); pr != nil {
		d.Errorf(path, "%s", pr.Msg)
		return
	}
	pts := make(geometry.Polygon, 0, len(poly))
	bad := false
	for i, pt := range poly {
		pp := yamlstrict.Index(path, i)
		if d.HasError(pp) || d.HasError(yamlstrict.Index(pp, 0)) || d.HasError(yamlstrict.Index(pp, 1)) {
			bad = true
			continue
		}
		if len(pt) != 2 {
			d.Errorf(pp, "a corner is [x, y], two numbers; got %d", len(pt))
			bad = true
			continue
		}
		pts = append(pts, geometry.Point{X: pt[0], Y: pt[1]})
	}
	if bad {
		return
	}
	for _, pr := range pts.Problems() {
		d.Errorf(path+strings.TrimPrefix(pr.Field, "points"), "%s", pr.Msg)
	}
}

// Words that do not make a purpose specific: filler (stop words) and the
// catch-alls that could justify any camera anywhere.
var (
	stopWords = wordSet("a an the for of to and or in on at by with from as this that is are be our all any its it their " +
		"zur zum der die das den dem des und oder für von vom im in am an auf mit ein eine einer eines einem zu " +
		"bei beim über unter durch sowie als ist sind wird werden soll sollen")
	vagueWords = wordSet("safety security secure securing surveillance monitoring monitor monitored observation observe protection protect protecting " +
		"crime crimes criminal prevention prevent preventing preventive order law enforcement purpose purposes reason reasons general generally " +
		"public place places area areas various other misc ensure ensuring improve improving increase increasing maintain maintaining " +
		"video cctv camera cameras recording " +
		"sicherheit sicherheitsgründen sicherheitsgruenden sicherheitszwecke sicherheitszwecken überwachung ueberwachung überwachen beobachtung " +
		"schutz schützen kriminalität kriminalitaet straftaten verhinderung verhindern prävention praevention gefahrenabwehr ordnung " +
		"zweck zwecke zwecken grund gründen gruenden allgemein allgemeine allgemeinen öffentlich öffentliche öffentlichen öffentlicher " +
		"bereich bereiche platz ort orte gewährleisten gewährleistung erhöhen verbessern sonstige verschiedene videoüberwachung kamera kameras aufzeichnung")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// validatePurpose rejects purposes that could be written for any camera:
// a purpose is specific when it names what is detected and why (GDPR Art.
// 5(1)(b)). A heuristic, so its message tells what is expected.
func validatePurpose(d *yamlstrict.Decoder, path, purpose string) {
	purpose = strings.TrimSpace(purpose)
	switch {
	case purpose == "":
		d.Errorf(path, "required: what the analysis of this camera is for, specifically, %s (GDPR Art. 5(1)(b) purpose limitation)", purposeExample)
		return
	case strings.ContainsFunc(purpose, unicode.IsControl) || len([]rune(purpose)) > 300:
		d.Errorf(path, "must be one line of at most 300 characters")
		return
	case len([]rune(purpose)) < MinPurposeLength:
		d.Errorf(path, "%s is too short to be specific (at least %d characters): say what is detected and why, %s", yamlstrict.Quote(purpose), MinPurposeLength, purposeExample)
		return
	}
	specific := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(purpose), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) > 2 && !stopWords[w] && !vagueWords[w] {
			specific++
		}
	}
	if specific < 2 {
		d.Errorf(path, "%s is too vague: say what is detected and what it is for, %s (GDPR Art. 5(1)(b): specified, explicit purposes)", yamlstrict.Quote(purpose), purposeExample)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func fmtFloat(f float64) string { return fmt.Sprint(f) }

// fmtDuration prints durations the way people write them: 24h, 7d, 90m.
func fmtDuration(v time.Duration) string {
	if v == 0 {
		return "0s"
	}
	if v%(24*time.Hour) == 0 && v >= 48*time.Hour {
		return fmt.Sprintf("%dd", v/(24*time.Hour))
	}
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
