package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CheckAgainst compares the policy with what the operator's configuration
// will run, at start-up and on reload.
//
// It is an error (the service must not start) when the configuration needs
// an event type the policy does not allow: the operator would otherwise run
// analysis whose results are silently dropped, or expect events that never
// come. Adding the type is the privacy officer's decision, not the
// operator's.
//
// A configured camera the policy does not list is an error too when the
// policy refuses unlisted cameras (RefusesUnlisted): which cameras analyse
// a public space, and for what, is the privacy officer's decision. When
// the policy allows them it is a warning: such a camera runs under the
// policy-wide rules (no purpose recorded, no privacy zones). A policy may
// cover cameras that are switched off or not yet installed; that is a
// warning, since a mistyped id means a camera without its privacy zones.
func (p *Policy) CheckAgainst(cameraIDs, eventTypes []string) (warnings []string, err error) {
	var errs []error
	for _, t := range eventTypes {
		switch {
		case !slices.Contains(EventTypes, t):
			errs = append(errs, fmt.Errorf("event type %q is not one a policy can allow; known: %v", t, EventTypes))
		case !slices.Contains(p.Egress.Events, t):
			errs = append(errs, fmt.Errorf("policy %q (%s) does not allow event type %q, which the configuration needs; the privacy officer can add it to egress.events, or the configuration must not produce it",
				p.Name, p.LoadedFrom, t))
		}
	}
	var unlisted []string
	for _, id := range cameraIDs {
		if _, ok := p.Cameras[id]; !ok {
			unlisted = append(unlisted, id)
		}
	}
	switch {
	case len(unlisted) > 0 && p.RefusesUnlisted():
		errs = append(errs, fmt.Errorf("policy %q (%s) does not list %s %s and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add %s under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove %s from the configuration (or set enabled: false)",
			p.Name, p.LoadedFrom, plural(unlisted, "camera", "cameras"), quotedList(unlisted), plural(unlisted, "it", "them"), plural(unlisted, "it", "them")))
	default:
		for _, id := range unlisted {
			warnings = append(warnings, fmt.Sprintf("camera %q is not in policy %q, which allows unlisted cameras: it runs without a recorded purpose and without privacy zones", id, p.Name))
		}
	}
	for _, id := range p.CameraIDs() {
		if !slices.Contains(cameraIDs, id) {
			warnings = append(warnings, fmt.Sprintf("policy %q has rules for camera %q, which is not configured (a typo in a camera id would leave a camera without its privacy zones)", p.Name, id))
		}
	}
	return warnings, errors.Join(errs...)
}

// quotedList writes "a", "b" and "c".
func quotedList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = strconv.Quote(id)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func plural(ids []string, one, many string) string {
	if len(ids) == 1 {
		return one
	}
	return many
}
