package app

import (
	"errors"
	"slices"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/policy"
)

// EventTypes are the event types a camera produces without rules; the
// policy must allow each type the configuration needs (see
// ConfigEventTypes).
var EventTypes = []string{"motion"}

// ConfigEventTypes are the event types cfg can produce: motion (unless no
// enabled camera reports it) and the type of every pattern rule of an
// enabled camera, each once.
func ConfigEventTypes(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Cameras {
		if !c.Enabled {
			continue
		}
		types := c.EventTypes()
		if c.Motion.Enabled {
			types = append(EventTypes[:len(EventTypes):len(EventTypes)], types...)
		}
		for _, t := range types {
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
		fps := c.Analysis.FPS
		m := motion.DefaultConfig()
		m.MinArea = c.Motion.MinArea
		m.VarThreshold = c.Motion.Sensitivity
		m.WarmupFrames = max(1, int(c.Motion.Warmup.Seconds()*fps+0.5))
		out = append(out, camera.Config{
			Device: cfg.Device, ID: c.ID, URL: c.URL, Transport: c.Transport,
			AnalysisFPS: fps, AnalysisWidth: c.Analysis.Width,
			Motion: m,
			Lifecycle: lifecycle.Config{
				MinDuration: c.Motion.MinDuration, QuietTime: c.Motion.QuietTime,
				UpdateInterval: c.Motion.UpdateInterval,
			},
			Zones:          zonesFor(pol, c.ID),
			NoMotionEvents: !c.Motion.Enabled,
			PersonHOG:      c.PersonHOG(),
		})
		if len(c.Rules) > 0 {
			out[len(out)-1].Rules = c.NewRules
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no enabled cameras in the configuration")
	}
	return out, nil
}

func zonesFor(pol *policy.Policy, cam string) [][]privacymask.Point {
	var out [][]privacymask.Point
	for _, z := range pol.Zones(cam) {
		poly := make([]privacymask.Point, len(z))
		for i, p := range z {
			poly[i] = privacymask.Point{X: p.X, Y: p.Y}
		}
		out = append(out, poly)
	}
	return out
}
