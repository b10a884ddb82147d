package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
)

// Effect is which way a change moves the device's reach.
type Effect int

// Effects of a change.
const (
	// Info changes records only (metadata), not what the device does.
	Info Effect = iota
	// More: the device sees, keeps or sends more.
	More
	// Less: the device sees, keeps or sends less.
	Less
	// Review: the change can go either way (e.g. a zone's shape or a
	// purpose); a person has to look at it.
	Review
)

func (e Effect) String() string {
	switch e {
	case More:
		return "more"
	case Less:
		return "less"
	case Review:
		return "review"
	}
	return "info"
}

// Change is one difference between two policies. Old is empty for
// something added, New for something removed.
type Change struct {
	Path   string // in the file's terms, e.g. "egress.events"
	Old    string
	New    string
	Effect Effect
}

// String is one line for a person: what changes and which way.
func (c Change) String() string { s, _ := c.Text("en"); return s }

// diffWords are the words of a change line in one language.
type diffWords struct {
	adds, removes, more, less, review string
}

var diffTexts = map[string]diffWords{
	"en": {"adds", "removes", " (MORE is seen, kept or sent)", " (less is seen, kept or sent)", " (review: may widen or narrow)"},
	"de": {"fügt hinzu:", "entfernt:", " (MEHR wird gesehen, gespeichert oder gesendet)", " (weniger wird gesehen, gespeichert oder gesendet)", " (prüfen: kann erweitern oder einschränken)"},
}

// Text is String in one of Languages. Paths and values stay in the file's
// terms, since they are what the officer edits.
func (c Change) Text(lang string) (string, error) {
	w, ok := diffTexts[lang]
	if !ok {
		return "", fmt.Errorf("unsupported language %q; allowed: %s", lang, strings.Join(Languages, ", "))
	}
	var s string
	switch {
	case c.Old == "":
		s = fmt.Sprintf("%s: %s %s", c.Path, w.adds, c.New)
	case c.New == "":
		s = fmt.Sprintf("%s: %s %s", c.Path, w.removes, c.Old)
	default:
		s = fmt.Sprintf("%s: %s → %s", c.Path, c.Old, c.New)
	}
	switch c.Effect {
	case More:
		s += w.more
	case Less:
		s += w.less
	case Review:
		s += w.review
	}
	return s, nil
}

// NoChangeText is what `policy diff` says when Diff finds nothing. When the
// files' bytes differ all the same (line endings, comments, key order),
// it says so: every event names the policy's SHA-256, which changes with
// any byte, and an auditor comparing checksums must not be surprised.
func NoChangeText(old, new *Policy, lang string) (string, error) {
	if _, ok := diffTexts[lang]; !ok {
		return "", fmt.Errorf("unsupported language %q; allowed: %s", lang, strings.Join(Languages, ", "))
	}
	same := old.SHA256 == new.SHA256
	switch {
	case lang == "de" && same:
		return "keine Änderung: die Dateien sind Byte für Byte gleich (sha256 " + new.SHA256 + ")", nil
	case lang == "de":
		return "keine Änderung an dem, was dieses Gerät sehen, speichern oder senden darf; aber die Dateien unterscheiden sich " +
			"(Zeilenenden, Kommentare, Reihenfolge): Ereignisse nennen künftig sha256 " + new.SHA256 + " statt " + old.SHA256, nil
	case same:
		return "no change: the files are identical byte for byte (sha256 " + new.SHA256 + ")", nil
	}
	return "no change in what this device may see, keep or send; but the files' bytes differ (line endings, comments, order): " +
		"events will name sha256 " + new.SHA256 + " instead of " + old.SHA256, nil
}

// Diff lists what a new policy version changes, in file order, with the
// direction of each change, so that an approval can focus on what widens.
// A nil policy stands for Default().
func Diff(old, new *Policy) []Change {
	if old == nil {
		old = Default()
	}
	if new == nil {
		new = Default()
	}
	var cs []Change
	add := func(path, o, n string, e Effect) {
		if o != n {
			cs = append(cs, Change{Path: path, Old: o, New: n, Effect: e})
		}
	}
	om, nm := old.Metadata, new.Metadata
	add("metadata.name", om.Name, nm.Name, Info)
	add("metadata.version", om.Version, nm.Version, Info)
	add("metadata.controller", om.Controller, nm.Controller, Info)
	add("metadata.contact", om.Contact, nm.Contact, Info)
	add("metadata.legal_basis", om.LegalBasis, nm.LegalBasis, Review)
	add("metadata.dpia", om.DPIA, nm.DPIA, Info)
	add("metadata.approved", om.Approved.String(), nm.Approved.String(), Info)

	add("retention.outbox", fmtDuration(old.Retention.Outbox), fmtDuration(new.Retention.Outbox),
		direction(new.Retention.Outbox > old.Retention.Outbox))
	add("retention.justification", old.Retention.Justification, new.Retention.Justification, Info)
	add("retention.audit", fmtDuration(old.Retention.Audit), fmtDuration(new.Retention.Audit),
		direction(new.Retention.Audit > old.Retention.Audit))

	oe, ne := old.Egress, new.Egress
	cs = append(cs, setChanges("egress.events", oe.Events, ne.Events)...)
	cs = append(cs, setChanges("egress.fields", oe.Fields, ne.Fields)...)
	add("egress.snapshots", fmt.Sprint(oe.Snapshots), fmt.Sprint(ne.Snapshots), direction(ne.Snapshots))
	add("egress.live_view", fmt.Sprint(oe.LiveView), fmt.Sprint(ne.LiveView), direction(ne.LiveView))
	add("egress.max_events_per_minute", fmt.Sprint(oe.MaxEventsPerMinute), fmt.Sprint(ne.MaxEventsPerMinute),
		direction(ne.MaxEventsPerMinute > oe.MaxEventsPerMinute))
	add("egress.schedule", oe.Schedule.String(), ne.Schedule.String(), scheduleEffect(oe.Schedule, ne.Schedule))

	oa, na := old.Anonymisation, new.Anonymisation
	facesEffect := Review
	switch {
	case na.Faces == "fill":
		facesEffect = Less
	case oa.Faces == "fill":
		facesEffect = More
	}
	add("anonymisation.faces", oa.Faces, na.Faces, facesEffect)
	if oa.Faces == "pixelate" || na.Faces == "pixelate" {
		add("anonymisation.pixelate_blocks", fmt.Sprint(oa.PixelateBlocks), fmt.Sprint(na.PixelateBlocks), direction(na.PixelateBlocks > oa.PixelateBlocks))
	}
	if oa.Faces == "blur" || na.Faces == "blur" {
		add("anonymisation.blur_sigma", fmtFloat(oa.BlurSigma), fmtFloat(na.BlurSigma), direction(na.BlurSigma < oa.BlurSigma))
	}
	add("anonymisation.margin", fmtFloat(oa.Margin), fmtFloat(na.Margin), direction(na.Margin < oa.Margin))
	add("anonymisation.persons", fmt.Sprint(oa.Persons), fmt.Sprint(na.Persons), direction(!na.Persons))

	add("unlisted_cameras", old.UnlistedCameras, new.UnlistedCameras, direction(new.UnlistedCameras == UnlistedAllow))

	ids := append(old.CameraIDs(), new.CameraIDs()...)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		oc, inOld := old.Cameras[id]
		nc, inNew := new.Cameras[id]
		path := "cameras." + id
		switch {
		case !inOld:
			e := Info // a purpose on record
			if len(nc.Zones) > 0 {
				e = Less
			}
			cs = append(cs, Change{Path: path, New: cameraString(nc), Effect: e})
			continue
		case !inNew:
			e := Info
			if len(oc.Zones) > 0 {
				e = More
			}
			cs = append(cs, Change{Path: path, Old: cameraString(oc), Effect: e})
			continue
		}
		add(path+".purpose", oc.Purpose, nc.Purpose, Review)
		for _, z := range oc.Zones {
			i := slices.IndexFunc(nc.Zones, func(n Zone) bool { return n.Name == z.Name })
			zp := path + ".privacy_zones." + z.Name
			if i < 0 {
				cs = append(cs, Change{Path: path + ".privacy_zones", Old: z.Name, Effect: More})
			} else {
				add(zp, polygonString(z.Polygon), polygonString(nc.Zones[i].Polygon), zoneEffect(z.Polygon, nc.Zones[i].Polygon))
			}
		}
		for _, z := range nc.Zones {
			if !slices.ContainsFunc(oc.Zones, func(o Zone) bool { return o.Name == z.Name }) {
				cs = append(cs, Change{Path: path + ".privacy_zones", New: z.Name, Effect: Less})
			}
		}
	}
	return cs
}

// zoneEffect is which way a reshaped privacy zone moves the device's
// reach: a zone that now lies within the old one hides less (More is
// seen), one that contains the old one hides more (Less), anything else is
// for a person to judge.
func zoneEffect(old, new geometry.Polygon) Effect {
	switch {
	case new.Within(old):
		return More
	case old.Within(new):
		return Less
	}
	return Review
}

// direction is More if wider, else Less.
func direction(wider bool) Effect {
	if wider {
		return More
	}
	return Less
}

// setChanges lists additions (More) and removals (Less) in a list of names.
func setChanges(path string, old, new []string) []Change {
	var cs []Change
	for _, v := range new {
		if !slices.Contains(old, v) {
			cs = append(cs, Change{Path: path, New: v, Effect: More})
		}
	}
	for _, v := range old {
		if !slices.Contains(new, v) {
			cs = append(cs, Change{Path: path, Old: v, Effect: Less})
		}
	}
	return cs
}

// String describes the schedule in the file's terms.
func (s *Schedule) String() string {
	if s == nil {
		return "at any time"
	}
	var ws []string
	for _, w := range s.Windows {
		ws = append(ws, fmt.Sprintf("%s %s–%s", strings.Join(orderedAs(w.Days, Weekdays), ","), w.From, w.To))
	}
	return strings.Join(ws, "; ") + " (" + s.Timezone + ")"
}

// scheduleEffect compares the weekly minutes two schedules allow. Only a
// time zone change between two partial schedules is for review.
func scheduleEffect(old, new *Schedule) Effect {
	if old != nil && new != nil && old.Timezone != new.Timezone && !(old.full() && new.full()) {
		return Review
	}
	o, n := old.week(), new.week()
	wider, narrower := false, false
	for i := range o {
		wider = wider || (n[i] && !o[i])
		narrower = narrower || (o[i] && !n[i])
	}
	switch {
	case wider && !narrower:
		return More
	case narrower && !wider:
		return Less
	case !wider && !narrower:
		return Info // same times, written differently
	}
	return Review
}

func (s *Schedule) full() bool {
	w := s.week()
	return !slices.Contains(w[:], false)
}

// week marks every allowed minute of a week, indexed from Sunday 00:00; a
// nil schedule allows all.
func (s *Schedule) week() *[7 * 24 * 60]bool {
	var m [7 * 24 * 60]bool
	if s == nil {
		for i := range m {
			m[i] = true
		}
		return &m
	}
	for _, w := range s.Windows {
		for d := time.Sunday; d <= time.Saturday; d++ {
			if w.days[d] {
				for t := w.from; t < w.to; t++ {
					m[int(d)*24*60+t] = true
				}
			}
		}
	}
	return &m
}

func cameraString(c Camera) string {
	return fmt.Sprintf("camera with %d privacy zone(s), purpose %q", len(c.Zones), c.Purpose)
}

func polygonString(pts geometry.Polygon) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("[%s, %s]", fmtFloat(p.X), fmtFloat(p.Y))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
