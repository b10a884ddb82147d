package pattern

import (
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// MotionConfig configures motion: the motion detector's verdict on every
// analysed frame as one situation. The config file sets it in the camera's
// motion: section (enabled: false leaves the rule out), where 0 is a
// setting of its own for min_duration and update_interval.
type MotionConfig struct {
	Name           string
	MinDuration    time.Duration `key:"min_duration" range:"0s..1h" help:"motion must last this long to start a situation"`
	QuietTime      time.Duration `key:"quiet_time" default:"5s" range:"0s..1h" help:"no motion for this long ends the situation"`
	UpdateInterval time.Duration `key:"update_interval" default:"10s" range:"1s..1h" zero:"no updates" help:"least time between update messages while the situation lasts"`
}

// Motion reports that something moves: the motion detector's blobs, with
// its score, whatever they are.
type Motion struct {
	ident
	cfg MotionConfig
}

// NewMotion validates cfg.
func NewMotion(cfg MotionConfig) (*Motion, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &Motion{ident: ident{cfg.Name, TypeMotion, ""}, cfg: cfg}, nil
}

// Needs: neither tracks nor frame statistics; a camera with only this rule
// runs the motion detector alone.
func (r *Motion) Needs() Needs { return Needs{} }

func (r *Motion) Lifecycle() lifecycle.Config {
	return lifecycle.Config{MinDuration: r.cfg.MinDuration, QuietTime: r.cfg.QuietTime, UpdateInterval: r.cfg.UpdateInterval}
}

func (r *Motion) Observe(_ time.Time, _ []track.Track, f FrameInfo) Signal {
	if !f.Moving {
		return Signal{}
	}
	return Signal{On: true, Score: f.MotionScore, Count: len(f.Blobs), Boxes: f.Blobs}
}
