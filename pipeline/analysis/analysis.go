// Package analysis is what a camera does with one grey analysis frame:
// motion detection, frame statistics, the pixel measurements its rules need
// (static objects, optical flow, person detection), then tracks, rules and
// situations. The camera and pipeline/eval both call Apply, so the
// evaluation measures exactly the code the service runs.
package analysis

import (
	"errors"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/framestat"
	"github.com/edgeguard/edgeguard/pipeline/motion"
	"github.com/edgeguard/edgeguard/pipeline/pattern"
	"github.com/edgeguard/edgeguard/pipeline/track"
	"gocv.io/x/gocv"
)

// Config is one camera's analysis.
type Config struct {
	Motion motion.Config
	Track  track.Config
	// Rules are the camera's pattern rules; without rules only motion runs.
	Rules []pattern.Rule
}

// Frame is what one analysis frame produced. Slices in it are reused by the
// next Apply.
type Frame struct {
	Motion motion.Result
	Info   pattern.FrameInfo
	// Events are the situation transitions this frame completed.
	Events []pattern.Event
}

// Analyser holds one camera's models. Not safe for concurrent use.
type Analyser struct {
	det   *motion.Detector
	meter *framestat.Meter // nil without rules
	pipe  *pattern.Pipeline
	needs pattern.Needs
}

// New builds the analyser; Close releases it.
func New(cfg Config) (*Analyser, error) {
	det, err := motion.NewDetector(cfg.Motion)
	if err != nil {
		return nil, err
	}
	a := &Analyser{det: det}
	if len(cfg.Rules) == 0 {
		return a, nil
	}
	if a.pipe, err = pattern.NewPipeline(cfg.Track, cfg.Rules...); err != nil {
		a.Close()
		return nil, err
	}
	a.needs = a.pipe.Needs()
	if a.meter, err = framestat.New(framestat.Config{}); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Apply analyses one grey (CV_8UC1) frame taken at now. It does not keep
// the frame. In steady state it makes no Go allocations apart from the
// events it returns.
func (a *Analyser) Apply(now time.Time, grey gocv.Mat) Frame {
	res := a.det.Apply(grey)
	f := Frame{Motion: res}
	if a.pipe == nil {
		return f
	}
	f.Info = pattern.FrameInfo{
		Width: grey.Cols(), Height: grey.Rows(),
		Warmup: res.Warmup, LightChange: res.LightChange,
		Stats: a.meter.Measure(grey),
	}
	f.Events = a.pipe.Frame(now, res.Boxes, f.Info)
	return f
}

// Tracks are the current confirmed tracks (tests and tuning only; never
// published).
func (a *Analyser) Tracks() []track.Track {
	if a.pipe == nil {
		return nil
	}
	return a.pipe.Tracks()
}

// Flush ends every running situation (stream stopped).
func (a *Analyser) Flush() []pattern.Event {
	if a.pipe == nil {
		return nil
	}
	return a.pipe.Flush()
}

// Close releases every model; safe to call twice.
func (a *Analyser) Close() error {
	var err error
	if a.det != nil {
		err = errors.Join(err, a.det.Close())
		a.det = nil
	}
	if a.meter != nil {
		err = errors.Join(err, a.meter.Close())
		a.meter = nil
	}
	return err
}
