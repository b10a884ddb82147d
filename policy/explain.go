package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// texts is one language's wording for Explain. Plain words, no YAML keys:
// the reader may be a works council, a citizen or a court.
type texts struct {
	title                                                             string // name, version
	responsible, controller, contact, legalBasis, dpia                string
	approvedOn                                                        string
	date                                                              func(Date) string
	sees                                                              string
	seesVideo, seesZones, seesNoZones, seesNoIdentity                 string
	keeps, keepsNoMedia, keepsOutbox, keepsNone, keepsWhy, keepsAudit string
	leaves, leavesEvents, leavesNoEvents, leavesFields                string
	leavesNoFields, leavesNotFields, leavesNoImages                   string
	leavesSnapshots                                                   string
	leavesLiveView                                                    string
	faces                                                             map[string]string
	persons                                                           string
	whenAlways, whenOnly                                              string
	cameras, purpose, zones, noZones, noPurpose, unlisted             string
	unlistedRefused                                                   string
	noCameras                                                         string
	events, fields                                                    map[string]string
	days                                                              map[string]string
	everyDay                                                          string
	duration                                                          func(time.Duration) string
	and                                                               string
}

var english = texts{
	title:           "Privacy policy %q, version %s",
	responsible:     "Responsible",
	controller:      "Controller",
	contact:         "Contact",
	legalBasis:      "Legal basis",
	dpia:            "Impact assessment",
	approvedOn:      "%s, approved on %s",
	date:            func(d Date) string { return d.String() },
	sees:            "What the device sees",
	seesVideo:       "The video of its cameras. Sound is never received.",
	seesZones:       "Privacy zones (listed under Cameras) are blacked out right after decoding: no part of the device analyses them.",
	seesNoZones:     "There are no privacy zones: the whole picture is analysed.",
	seesNoIdentity:  "Nobody is identified: no face recognition, no biometrics, no estimation of age, gender or emotions. Tracking numbers exist only in memory, for seconds.",
	keeps:           "What the device keeps",
	keepsNoMedia:    "No video and no images.",
	keepsOutbox:     "Events that cannot be sent at once wait at most %s, then they are deleted.",
	keepsNone:       "Events that cannot be sent at once are deleted, not kept.",
	keepsWhy:        "Reason for keeping them longer than 72 hours: %s",
	keepsAudit:      "A signed audit trail of what left the device and what was withheld (ids, kinds, times, reasons; never more than the events), for %s.",
	leaves:          "What leaves the device",
	leavesEvents:    "Events, at most %d per minute per camera and kind, only of these kinds:",
	leavesNoEvents:  "No events.",
	leavesFields:    "Each event may also carry:",
	leavesNoFields:  "Events carry nothing about the scene beyond their kind and time.",
	leavesNotFields: "Not: %s.",
	leavesNoImages:  "No images.",
	leavesSnapshots: "Still images (snapshots), on which %s",
	leavesLiveView:  "On the device's web console (by default reachable only from the device itself; elsewhere only to logged-in users over TLS), each camera's current picture, at most 2 per second, covered like the still images. It is shown only while someone watches and is not stored.",
	faces: map[string]string{
		"fill":     "faces are covered by a solid block",
		"pixelate": "faces are pixelated to at most %d blocks across",
		"blur":     "faces are strongly blurred",
	},
	persons:         "whole persons are covered as well",
	whenAlways:      "When: at any time.",
	whenOnly:        "When: only %s (time zone %s). Events outside these times are discarded.",
	cameras:         "Cameras",
	purpose:         "Purpose",
	zones:           "Privacy zones",
	noZones:         "none",
	noPurpose:       "not recorded",
	unlisted:        "Cameras not listed here: the rules above apply, without privacy zones and without a recorded purpose (unlisted_cameras: allow).",
	unlistedRefused: "Cameras not listed here do not run: the device refuses to start with a camera that has no purpose recorded in this policy.",
	noCameras:       "No camera is listed: the rules above apply to every camera, without privacy zones and without a recorded purpose.",
	events: map[string]string{
		"motion":           "movement in the picture",
		"intrusion":        "someone or something entering an area that should stay empty",
		"zone_enter":       "entering a marked area",
		"zone_exit":        "leaving a marked area",
		"line_crossing":    "crossing a marked line",
		"loitering":        "staying unusually long in one place",
		"crowd":            "many people in one place",
		"running":          "fast movement such as running",
		"person_down":      "a person lying on the ground",
		"abandoned_object": "an object left behind",
		"object_removed":   "an object taken away",
		"violent_motion":   "sudden violent movement",
		"tamper":           "the camera being covered, moved or blinded",
	},
	fields: map[string]string{
		"score":  "how strong the detection is (a number from 0 to 1)",
		"zone":   "the name of the marked area concerned",
		"count":  "how many moving objects there are (not who they are)",
		"boxes":  "rectangles showing where in the picture something moved (position and size only)",
		"detail": "what kind of tampering it was (covered, out of focus, moved, video lost)",
		"class":  "what kind of thing it is about (person, vehicle, animal, bag or other object; never who)",
	},
	everyDay: "every day",
	days:     map[string]string{"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"},
	duration: func(d time.Duration) string {
		return humanDuration(d, [4][2]string{{"day", "days"}, {"hour", "hours"}, {"minute", "minutes"}, {"second", "seconds"}})
	},
	and: "and",
}

var german = texts{
	title:           "Datenschutzrichtlinie „%s“, Version %s",
	responsible:     "Verantwortlich",
	controller:      "Verantwortlicher",
	contact:         "Kontakt",
	legalBasis:      "Rechtsgrundlage",
	dpia:            "Datenschutz-Folgenabschätzung",
	approvedOn:      "%s, genehmigt am %s",
	date:            func(d Date) string { return fmt.Sprintf("%02d.%02d.%04d", d.Day, d.Month, d.Year) },
	sees:            "Was das Gerät sieht",
	seesVideo:       "Das Videobild seiner Kameras. Ton wird nie empfangen.",
	seesZones:       "Schutzbereiche (unter Kameras aufgeführt) werden direkt nach dem Dekodieren geschwärzt: kein Teil des Geräts wertet sie aus.",
	seesNoZones:     "Es gibt keine Schutzbereiche: das ganze Bild wird ausgewertet.",
	seesNoIdentity:  "Niemand wird identifiziert: keine Gesichtserkennung, keine Biometrie, keine Schätzung von Alter, Geschlecht oder Emotionen. Verfolgungsnummern existieren nur im Arbeitsspeicher, für Sekunden.",
	keeps:           "Was das Gerät speichert",
	keepsNoMedia:    "Kein Video und keine Bilder.",
	keepsOutbox:     "Ereignisse, die nicht sofort gesendet werden können, warten höchstens %s und werden dann gelöscht.",
	keepsNone:       "Ereignisse, die nicht sofort gesendet werden können, werden gelöscht, nicht gespeichert.",
	keepsWhy:        "Begründung für eine Speicherung über 72 Stunden: %s",
	keepsAudit:      "Ein signiertes Prüfprotokoll dessen, was das Gerät verlassen hat und was zurückgehalten wurde (Kennungen, Arten, Zeiten, Gründe; nie mehr als die Ereignisse), %s lang.",
	leaves:          "Was das Gerät verlässt",
	leavesEvents:    "Ereignisse, höchstens %d pro Minute je Kamera und Art, nur diese Arten:",
	leavesNoEvents:  "Keine Ereignisse.",
	leavesFields:    "Jedes Ereignis darf außerdem enthalten:",
	leavesNoFields:  "Ereignisse enthalten über ihre Art und Zeit hinaus nichts über die Szene.",
	leavesNotFields: "Nicht: %s.",
	leavesNoImages:  "Keine Bilder.",
	leavesSnapshots: "Standbilder (Snapshots), auf denen %s",
	leavesLiveView:  "Auf der Web-Konsole des Geräts (standardmäßig nur vom Gerät selbst aus erreichbar; sonst nur für angemeldete Nutzer über TLS) das aktuelle Bild jeder Kamera, höchstens 2 pro Sekunde, abgedeckt wie die Standbilder. Es wird nur gezeigt, solange jemand zusieht, und nicht gespeichert.",
	faces: map[string]string{
		"fill":     "Gesichter vollständig mit einer Fläche abgedeckt werden",
		"pixelate": "Gesichter auf höchstens %d Blöcke in der Breite verpixelt werden",
		"blur":     "Gesichter stark weichgezeichnet werden",
	},
	persons:         "ganze Personen ebenfalls abgedeckt werden",
	whenAlways:      "Wann: jederzeit.",
	whenOnly:        "Wann: nur %s (Zeitzone %s). Ereignisse außerhalb dieser Zeiten werden verworfen.",
	cameras:         "Kameras",
	purpose:         "Zweck",
	zones:           "Schutzbereiche",
	noZones:         "keine",
	noPurpose:       "nicht festgelegt",
	unlisted:        "Nicht aufgeführte Kameras: Es gelten die Regeln oben, ohne Schutzbereiche und ohne festgelegten Zweck (unlisted_cameras: allow).",
	unlistedRefused: "Nicht aufgeführte Kameras laufen nicht: Das Gerät startet nicht mit einer Kamera, für die diese Richtlinie keinen Zweck festlegt.",
	noCameras:       "Keine Kamera ist aufgeführt: Für jede Kamera gelten die Regeln oben, ohne Schutzbereiche und ohne festgelegten Zweck.",
	events: map[string]string{
		"motion":           "Bewegung im Bild",
		"intrusion":        "Betreten eines Bereichs, der leer bleiben soll",
		"zone_enter":       "Betreten eines markierten Bereichs",
		"zone_exit":        "Verlassen eines markierten Bereichs",
		"line_crossing":    "Überschreiten einer markierten Linie",
		"loitering":        "ungewöhnlich langes Verweilen an einer Stelle",
		"crowd":            "Ansammlung vieler Personen",
		"running":          "schnelle Bewegung, z. B. Rennen",
		"person_down":      "eine am Boden liegende Person",
		"abandoned_object": "ein zurückgelassener Gegenstand",
		"object_removed":   "ein entfernter Gegenstand",
		"violent_motion":   "plötzliche heftige Bewegung",
		"tamper":           "die Kamera wird verdeckt, verstellt oder geblendet",
	},
	fields: map[string]string{
		"score":  "wie deutlich die Erkennung ist (Zahl von 0 bis 1)",
		"zone":   "Name des betroffenen markierten Bereichs",
		"count":  "Anzahl der bewegten Objekte (nicht, wer sie sind)",
		"boxes":  "Rechtecke, die zeigen, wo im Bild sich etwas bewegt hat (nur Lage und Größe)",
		"detail": "welche Art von Manipulation (verdeckt, unscharf, verstellt, Bild weg)",
		"class":  "um welche Art von Objekt es geht (Person, Fahrzeug, Tier, Tasche oder sonstiger Gegenstand; nie, wer)",
	},
	everyDay: "täglich",
	days:     map[string]string{"mon": "Mo", "tue": "Di", "wed": "Mi", "thu": "Do", "fri": "Fr", "sat": "Sa", "sun": "So"},
	duration: func(d time.Duration) string {
		return humanDuration(d, [4][2]string{{"Tag", "Tage"}, {"Stunde", "Stunden"}, {"Minute", "Minuten"}, {"Sekunde", "Sekunden"}})
	},
	and: "und",
}

// Languages are the languages Explain supports.
var Languages = []string{"en", "de"}

// Explain describes in plain language what the device may see, keep and
// send under this policy, and per camera what for and with which privacy
// zones: for signage, the public register of processing activities, a works
// council or the officer's own check. lang is "en" or "de".
func (p *Policy) Explain(lang string) (string, error) {
	var t texts
	switch lang {
	case "en":
		t = english
	case "de":
		t = german
	default:
		return "", fmt.Errorf("unsupported language %q; allowed: %s", lang, strings.Join(Languages, ", "))
	}
	var b strings.Builder
	line := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	item := func(format string, args ...any) { line(1, "- "+format, args...) }

	line(0, t.title, p.Name, p.Version)
	line(0, "SHA-256: %s", p.SHA256)
	line(0, "")
	m := p.Metadata
	line(0, "%s", t.responsible)
	line(1, "%s: %s", t.controller, m.Controller)
	line(1, "%s: %s", t.contact, m.Contact)
	line(1, "%s: %s", t.legalBasis, m.LegalBasis)
	line(1, "%s: "+t.approvedOn, t.dpia, m.DPIA, t.date(m.Approved))
	line(0, "")

	line(0, "%s", t.sees)
	item("%s", t.seesVideo)
	if slices.ContainsFunc(p.CameraIDs(), func(id string) bool { return len(p.Cameras[id].Zones) > 0 }) {
		item("%s", t.seesZones)
	} else {
		item("%s", t.seesNoZones)
	}
	item("%s", t.seesNoIdentity)
	line(0, "")

	line(0, "%s", t.keeps)
	item("%s", t.keepsNoMedia)
	if p.Retention.Outbox > 0 {
		item(t.keepsOutbox, t.duration(p.Retention.Outbox))
	} else {
		item("%s", t.keepsNone)
	}
	if j := strings.TrimSpace(p.Retention.Justification); j != "" && p.Retention.Outbox > MaxRetentionWithoutJustification {
		item(t.keepsWhy, j)
	}
	item(t.keepsAudit, t.duration(p.Retention.Audit))
	line(0, "")

	e := p.Egress
	line(0, "%s", t.leaves)
	if len(e.Events) == 0 {
		item("%s", t.leavesNoEvents)
	} else {
		item(t.leavesEvents, e.MaxEventsPerMinute)
		for _, ev := range orderedAs(e.Events, EventTypes) {
			line(3, "%s: %s", ev, t.events[ev])
		}
		if len(e.Fields) == 0 {
			item("%s", t.leavesNoFields)
		} else {
			item("%s", t.leavesFields)
			for _, f := range orderedAs(e.Fields, Fields) {
				line(3, "%s: %s", f, t.fields[f])
			}
			var not []string
			for _, f := range Fields {
				if !slices.Contains(e.Fields, f) {
					not = append(not, f)
				}
			}
			if len(not) > 0 {
				line(2, t.leavesNotFields, strings.Join(not, ", "))
			}
		}
	}
	if e.Snapshots {
		a := p.Anonymisation
		how := t.faces[a.Faces]
		if a.Faces == "pixelate" {
			how = fmt.Sprintf(how, a.PixelateBlocks)
		}
		if a.Persons {
			how += " " + t.and + " " + t.persons
		}
		item(t.leavesSnapshots+".", how)
		if e.LiveView {
			item("%s", t.leavesLiveView)
		}
	} else {
		item("%s", t.leavesNoImages)
	}
	if s := e.Schedule; s == nil {
		item("%s", t.whenAlways)
	} else {
		var ws []string
		for _, w := range s.Windows {
			days := make([]string, 0, len(w.Days))
			for _, d := range orderedAs(w.Days, Weekdays) {
				days = append(days, t.days[d])
			}
			when := strings.Join(days, ", ")
			if len(days) == 7 {
				when = t.everyDay
			}
			ws = append(ws, fmt.Sprintf("%s %s–%s", when, w.From, w.To))
		}
		item(t.whenOnly, strings.Join(ws, "; "), s.Timezone)
	}
	line(0, "")

	line(0, "%s", t.cameras)
	for _, id := range p.CameraIDs() {
		c := p.Cameras[id]
		line(1, "%s", id)
		purpose := c.Purpose
		if purpose == "" {
			purpose = t.noPurpose
		}
		line(2, "%s: %s", t.purpose, purpose)
		zones := t.noZones
		if len(c.Zones) > 0 {
			names := make([]string, len(c.Zones))
			for i, z := range c.Zones {
				names[i] = z.Name
			}
			zones = fmt.Sprintf("%d (%s)", len(c.Zones), strings.Join(names, ", "))
		}
		line(2, "%s: %s", t.zones, zones)
	}
	switch {
	case len(p.Cameras) == 0:
		line(1, "%s", t.noCameras)
	case p.RefusesUnlisted():
		line(1, "%s", t.unlistedRefused)
	default:
		line(1, "%s", t.unlisted)
	}
	return b.String(), nil
}

// orderedAs returns values in the order of known (values are validated to
// be in known).
func orderedAs(values, known []string) []string {
	out := make([]string, 0, len(values))
	for _, k := range known {
		if slices.Contains(values, k) {
			out = append(out, k)
		}
	}
	return out
}

// humanDuration writes d in the largest whole unit: "24 hours", "7 days".
func humanDuration(d time.Duration, units [4][2]string) string {
	for i, u := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if d >= u && d%u == 0 && (i != 0 || d >= 48*time.Hour) {
			n := int64(d / u)
			if n == 1 {
				return "1 " + units[i][0]
			}
			return fmt.Sprintf("%d %s", n, units[i][1])
		}
	}
	return d.String()
}
