package analysis

import (
	"math"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/framestat"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/person"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// The stages' settings that count analysis frames stand for these times:
// their defaults at the default 5 frames/s. ForCamera turns each into
// frames at the camera's own rate, so that a camera analysed at 2 or 10
// frames/s remembers, coasts and re-examines for as long as one at 5.
const (
	// motionHistory is the background model's time constant
	// (motion.Config.History).
	motionHistory = 20 * time.Second
	// trackCoast is how long a track coasts without a detection
	// (track.Config.MaxMisses).
	trackCoast = time.Second
	// trackStillCoast is how long a track that had stopped survives
	// without one (track.Config.StaticMisses).
	trackStillCoast = 2 * time.Minute
	// personRecheck is the least time between two looks of the person
	// detector at one place (person.Config.Every).
	personRecheck = time.Second
	// viewRebase is how long a shifted view must stay before it becomes
	// the reference (framestat.Config.Rebase).
	viewRebase = 2 * time.Minute
)

// holdStill is Config.HoldStill for every camera (no config knob yet). On
// since 2026-12-06: with the light-change rewind (track.Tracker.Rewind),
// the hold's fixed crop, the end of a held person's pieces and of tracks
// that walk out of the picture (docs/patterns.md, "Still people"), both
// dwells of the real table clip are found and nothing is lost elsewhere.
var holdStill = true

// ForCamera is the analysis of one camera as its configuration says,
// with fresh rules (they keep per-track state: every session builds its
// own). Settings is the same without the rules.
func ForCamera(c config.Camera) (Config, error) {
	rules, err := c.NewAllRules()
	if err != nil {
		return Config{}, err
	}
	cfg := Settings(c)
	cfg.Rules = rules
	return cfg, nil
}

// Settings is the analysis of camera c without its rules: the one place
// that turns a camera section into the analysis step's settings. The
// service's cameras, make eval, make eval-real and policy preview all come
// here, so that what is measured is what runs.
//
// c is a camera of a parsed config.Config (its settings start from the
// file's defaults:, which start from config.Defaults). Track.BirthHits
// stays in frames: it filters one-frame flicker, which is a matter of
// frames, not of time.
func Settings(c config.Camera) Config {
	fps := c.Analysis.FPS
	if fps <= 0 { // a Camera built in code, not parsed
		fps = config.Defaults().Defaults.Analysis.FPS
	}
	m := motion.DefaultConfig()
	m.MinArea = c.Motion.MinArea
	m.VarThreshold = c.Motion.Sensitivity
	m.WarmupFrames = framesAt(c.Motion.Warmup, fps)
	m.History = max(2, framesAt(motionHistory, fps))
	tr := track.DefaultConfig()
	tr.MaxMisses = framesAt(trackCoast, fps)
	tr.StaticMisses = max(tr.MaxMisses, framesAt(trackStillCoast, fps))
	pc := person.DefaultConfig()
	pc.Every = framesAt(personRecheck, fps)
	return Config{
		Motion: m,
		Track:  tr,
		// The config's values are PersonDetector*'s.
		PersonDetector: c.PersonDetector,
		Person:         pc,
		// See holdStill; measured in docs/patterns.md ("person_detector:
		// dnn", "Still people").
		HoldStill: holdStill,
		Stats:     framestat.Config{Rebase: framesAt(viewRebase, fps)},
	}
}

// framesAt is d in analysis frames at fps, at least one.
func framesAt(d time.Duration, fps float64) int {
	return max(1, int(math.Round(d.Seconds()*fps)))
}
