package policy

import (
	"errors"
	"fmt"
	"slices"
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
// Camera mismatches are warnings, not errors: a camera without a policy
// entry runs under the policy-wide rules (no purpose recorded, no privacy
// zones), and a policy may cover cameras that are switched off or not yet
// installed. Both are logged so that a typo in a camera id does not go
// unnoticed, since a mistyped id means a camera without its privacy zones.
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
	for _, id := range cameraIDs {
		if _, ok := p.Cameras[id]; !ok {
			warnings = append(warnings, fmt.Sprintf("camera %q is not in policy %q: it runs without a recorded purpose and without privacy zones", id, p.Name))
		}
	}
	for _, id := range p.CameraIDs() {
		if !slices.Contains(cameraIDs, id) {
			warnings = append(warnings, fmt.Sprintf("policy %q has rules for camera %q, which is not configured (a typo in a camera id would leave a camera without its privacy zones)", p.Name, id))
		}
	}
	return warnings, errors.Join(errs...)
}
