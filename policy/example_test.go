package policy_test

import (
	"fmt"
	"time"

	"github.com/edgeguard/edgeguard/policy"
)

const example = `apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: hansaplatz
  version: "2026-11"
  controller: "Freie und Hansestadt Hamburg, Polizei"
  contact: "datenschutz@example.org"
  legal_basis: "§ 8 Abs. 3 HmbPolDVG"
  dpia: "DPIA-2026-017"
  approved: 2026-10-28
retention:
  outbox: 24h
audio: discard
egress:
  events: [motion, person_down]
  fields: [score]
  schedule:
    timezone: Europe/Berlin
    windows: [{days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00"}]
cameras:
  cam1:
    purpose: "Erkennen von am Boden liegenden Personen zur schnellen Hilfe"
    privacy_zones:
      - name: windows
        polygon: [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4], [0.0, 0.4]]
`

func ExampleParse() {
	p, err := policy.Parse("policy.yaml", []byte(example))
	if err != nil {
		fmt.Println(err)
		return
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	monday := time.Date(2026, 11, 2, 12, 0, 0, 0, berlin)
	sunday := time.Date(2026, 11, 8, 12, 0, 0, 0, berlin)
	fmt.Println(p.Name, p.Version)
	fmt.Println(p.AllowsEventAt("person_down", monday), p.AllowsEventAt("person_down", sunday), p.AllowsEventAt("crowd", monday))
	fmt.Println(p.AllowsField("score"), p.AllowsField("boxes"))
	fmt.Println(p.Zones("cam1"))
	// Output:
	// hansaplatz 2026-11
	// true false false
	// true false
	// [[{0 0} {0.3 0} {0.3 0.4} {0 0.4}]]
}

// Asking for what edgeguard does not do is explained, not ignored.
func ExampleParse_identityFeatures() {
	_, err := policy.Parse("policy.yaml", []byte(example+"face_recognition: true\n"))
	fmt.Println(err)
	// Output:
	// policy.yaml:26:1: face_recognition: edgeguard has no face recognition: it is always off and cannot be switched on; remove it (GDPR Art. 9: biometric data to identify a person is a special category; EU AI Act Art. 5(1)(h) on real-time remote biometric identification in public spaces). Faces are only ever covered, see anonymisation.faces
}

func ExampleDiff() {
	old, _ := policy.Parse("v1.yaml", []byte(example))
	newer, _ := policy.Parse("v2.yaml", []byte(example+"anonymisation: {persons: true}\n"))
	for _, c := range policy.Diff(old, newer) {
		fmt.Println(c)
	}
	for _, c := range policy.Diff(policy.Default(), old) {
		if c.Effect == policy.More {
			fmt.Println(c)
		}
	}
	// Output:
	// anonymisation.persons: false → true (less is seen, kept or sent)
	// retention.outbox: 1h → 24h (MORE is seen, kept or sent)
	// egress.events: adds person_down (MORE is seen, kept or sent)
	// anonymisation.persons: true → false (MORE is seen, kept or sent)
}

func ExamplePolicy_CheckAgainst() {
	p, _ := policy.Parse("policy.yaml", []byte(example))
	// cam2 is configured, but the policy lists only cam1: purpose
	// limitation refuses it.
	_, err := p.CheckAgainst([]string{"cam1", "cam2"}, []string{"motion"})
	fmt.Println(err)
	// Output:
	// policy "hansaplatz" (policy.yaml) does not list camera "cam2" and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add it under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove it from the configuration (or set enabled: false)
}
