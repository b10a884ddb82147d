package analysis

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/person"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

const settingsConfig = `device: d
cameras:
  - id: c
    url: rtsp://h/s
    person_detector: hog
    motion: {min_area: 0.004, sensitivity: 20, warmup: 3s}
    rules: [{type: tamper}]
`

// TestSettingsFromConfig: a camera's section becomes the analysis the
// service runs: the motion section's detector settings, warm-up in frames
// at the camera's rate, the person detector, and (ForCamera) the motion
// rule and the pattern rules.
func TestSettingsFromConfig(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte(settingsConfig))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cameras[0]
	s := Settings(c)
	if s.Motion.MinArea != 0.004 || s.Motion.VarThreshold != 20 || s.Motion.WarmupFrames != 15 {
		t.Errorf("motion %+v: want min_area 0.004, sensitivity 20, 3 s warm-up = 15 frames at 5 fps", s.Motion)
	}
	if s.PersonDetector != PersonDetectorHOG || s.Rules != nil {
		t.Errorf("person detector %q, rules %v: want hog and no rules", s.PersonDetector, s.Rules)
	}
	full, err := ForCamera(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Rules) != 2 || full.Rules[0].Type() != "motion" || full.Rules[1].Type() != "tamper" {
		t.Errorf("rules %v: want motion, tamper", full.Rules)
	}
}

// TestSettingsFrameCounts: at the default 5 frames/s the frame-count
// settings are the stages' own defaults; at other rates they stand for
// the same times.
func TestSettingsFrameCounts(t *testing.T) {
	md, td, pd := motion.DefaultConfig(), track.DefaultConfig(), person.DefaultConfig()
	for _, tt := range []struct {
		fps                                           float64
		history, warmup, misses, still, every, rebase int
	}{
		{5, md.History, 25, td.MaxMisses, td.StaticMisses, pd.Every, 600},
		{10, 200, 50, 10, 1200, 10, 1200},
		{0.5, 10, 3, 1, 60, 1, 60}, // 2.5 frames of warm-up round to 3
	} {
		c := config.Camera{CameraSettings: config.Defaults().Defaults}
		c.Analysis.FPS = tt.fps
		s := Settings(c)
		got := [6]int{s.Motion.History, s.Motion.WarmupFrames, s.Track.MaxMisses, s.Track.StaticMisses, s.Person.Every, s.Stats.Rebase}
		want := [6]int{tt.history, tt.warmup, tt.misses, tt.still, tt.every, tt.rebase}
		if got != want {
			t.Errorf("%g fps: history, warm-up, max misses, static misses, every, rebase = %v, want %v", tt.fps, got, want)
		}
		if s.Motion.MinArea != 0.002 || s.Track.BirthHits != td.BirthHits {
			t.Errorf("%g fps: min_area %g, birth hits %d: want the shipped 0.002 and %d", tt.fps, s.Motion.MinArea, s.Track.BirthHits, td.BirthHits)
		}
	}
	if framesAt(5*time.Second, 5) != 25 || framesAt(0, 5) != 1 {
		t.Error("framesAt")
	}
}
