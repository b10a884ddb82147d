package app

import (
	"errors"
	"slices"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/policy"
)

// ConfigEventTypes are the event types cfg can produce: those of the rules
// of every enabled camera (config.Camera.AllRules: motion unless its
// motion events are off, then its pattern rules), each once. Every rule
// type is a type of the rule registry (pattern.Lookup), whose name is its
// event type.
func ConfigEventTypes(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Cameras {
		if !c.Enabled {
			continue
		}
		for _, t := range c.AllEventTypes() {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// checkPolicy refuses to start when the configuration needs what the
// policy forbids, so an operator cannot silently run rules whose events
// would never leave. Check and reloadPolicy log the warnings.
func checkPolicy(cfg *config.Config, pol *policy.Policy) (warnings []string, err error) {
	ids := make([]string, 0, len(cfg.Cameras))
	for _, c := range cfg.Cameras {
		if c.Enabled { // a camera that does not run needs no purpose
			ids = append(ids, c.ID)
		}
	}
	return pol.CheckAgainst(ids, ConfigEventTypes(cfg))
}

func newCameraConfigs(cfg *config.Config, pol *policy.Policy) ([]camera.Config, error) {
	var out []camera.Config
	for _, c := range cfg.Cameras {
		if !c.Enabled {
			continue
		}
		// The one builder of a camera's analysis, which make eval,
		// make eval-real and policy preview use too.
		ac := analysis.Settings(c)
		out = append(out, camera.Config{
			Device: cfg.Device, ID: c.ID, URL: c.URL, Transport: c.Transport,
			AnalysisFPS: c.Analysis.FPS, AnalysisWidth: c.Analysis.Width,
			Analysis: &ac,
			Zones:    zonesFor(pol, c.ID),
		})
		// The motion section's min_duration, quiet_time and
		// update_interval are the motion rule's (config.Camera.AllRules).
		if len(c.AllRules()) > 0 {
			out[len(out)-1].Rules = c.NewAllRules
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no enabled cameras in the configuration")
	}
	return out, nil
}

// zonesFor is a camera's privacy zones under pol, for camera.Config.Zones at
// start and camera.SetZones on reload: privacymask.ForCamera, the one
// conversion, which the preview uses too. Zones that cannot be drawn (the
// policy's validation is the mask's, so none should be) make the camera
// fail closed.
func zonesFor(pol *policy.Policy, cam string) *privacymask.Zones {
	return privacymask.ForCamera(pol, cam)
}
