// Package analysis is what a camera does with one grey analysis frame:
// motion detection, then what its rules need (frame statistics, static
// objects, optical flow, person detection, tracks), the rules (motion is
// one of them) and their situations. The camera and pipeline/tools/eval both call Apply, so the
// evaluation measures exactly the code the service runs.
package analysis

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/flow"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/framestat"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/person"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/staticobj"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"gocv.io/x/gocv"
)

// Config is one camera's analysis.
type Config struct {
	Motion motion.Config
	Track  track.Config
	// Rules are the camera's rules, the motion rule among them; without
	// rules only the motion detector runs, and no situation is reported.
	Rules []pattern.Rule
	// PersonDetector is the camera's person_detector: PersonDetectorAuto
	// (""), PersonDetectorShape, PersonDetectorHOG or PersonDetectorDNN.
	// The detector runs on the blobs where tracks do, so that rules with
	// class person use its verdict, and always when a rule needs it.
	// Person tunes it.
	PersonDetector string
	// PersonHOG, with PersonDetector empty, means PersonDetectorHOG (for
	// callers that predate the choice).
	PersonHOG bool
	Person    person.Config
	// Static tunes the static-object stage (only built when a rule needs it).
	Static staticobj.Config
	// Stats tunes the frame statistics (only measured when a rule needs
	// the scene).
	Stats framestat.Config
	// HoldStill keeps a tracked person who stopped (their blob faded) at
	// the place the neural detector still finds them (stillHold); only with
	// the neural detector, HOG and shape keep today's behaviour.
	HoldStill bool
	// Logger gets the stages' state changes (one line each, never per
	// frame); nil → slog.Default().
	Logger *slog.Logger
}

// Person detectors (config person_detector).
const (
	// PersonDetectorAuto is NanoDet when its model is installed, else
	// shape (HOG where a rule needs a detector).
	PersonDetectorAuto = ""
	// PersonDetectorShape: the box's shape and the perspective; HOG where
	// a rule needs a detector.
	PersonDetectorShape = "shape"
	// PersonDetectorHOG is OpenCV's HOG people detector.
	PersonDetectorHOG = "hog"
	// PersonDetectorDNN is NanoDet-g (models.NanoDet); the analyser fails
	// to build without its model.
	PersonDetectorDNN = "dnn"
)

// noNanoDet logs once per process that the default person detector fell
// back: every camera session builds an analyser, and the reason is the
// same for all of them.
var noNanoDet sync.Once

// personDetector decides which person detector runs, if any, and loads
// the neural model for it.
func personDetector(cfg *Config, needs pattern.Needs) (run bool, err error) {
	kind := cfg.PersonDetector
	if kind == PersonDetectorAuto && cfg.PersonHOG {
		kind = PersonDetectorHOG
	}
	switch kind {
	case PersonDetectorAuto, PersonDetectorShape, PersonDetectorHOG, PersonDetectorDNN:
	default:
		return false, fmt.Errorf("analysis: person detector %q; allowed: %q (default), %q, %q, %q", kind, PersonDetectorAuto, PersonDetectorShape, PersonDetectorHOG, PersonDetectorDNN)
	}
	run = needs.Persons || (needs.Scene && kind != PersonDetectorShape)
	if !run || kind == PersonDetectorShape || kind == PersonDetectorHOG || cfg.Person.Model != nil {
		return run, nil
	}
	model, _, err := models.Read(models.NanoDet)
	switch {
	case err == nil:
		cfg.Person.Model = model
	case kind == PersonDetectorDNN:
		return false, fmt.Errorf("analysis: person_detector dnn: %w", err)
	default:
		noNanoDet.Do(func() {
			cfg.Logger.Warn("NanoDet person detector not installed; people are told by shape (HOG where a rule needs a detector)", "err", err)
		})
		run = needs.Persons
	}
	return run, nil
}

// Frame is what one analysis frame produced. Slices in it are reused by the
// next Apply.
type Frame struct {
	Motion motion.Result
	Info   pattern.FrameInfo
	// Events are the situation transitions this frame completed.
	Events []pattern.Event
}

// changedArea is the share of the frame in motion blobs from which the frame
// statistics measure sharpness and shift on every frame, not once a second:
// a knocked camera moves every edge in the view at once. A person a quarter
// of the frame tall covers about 0.8 %.
const changedArea = 0.05

// Analyser holds one camera's models. Not safe for concurrent use.
type Analyser struct {
	det   *motion.Detector
	meter *framestat.Meter // nil unless a rule needs the scene (tracks, statistics)
	flow  *flow.Stage      // nil unless a rule needs optical flow
	pipe  *pattern.Pipeline
	needs pattern.Needs
	// person is the HOG or NanoDet person detector; nil unless asked for.
	person *person.Detector
	// static is the long-term background; nil unless a rule needs it.
	static *staticobj.Stage
	// objects is the detector's vehicles and bags in the rules' terms,
	// reused per frame.
	objects []pattern.Detection
	// still holds stopped people on the neural detector; nil unless
	// Config.HoldStill with the neural detector.
	still *stillHold
}

// New builds the analyser; Close releases it.
func New(cfg Config) (*Analyser, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Static.Logger == nil {
		cfg.Static.Logger = cfg.Logger
	}
	if cfg.Person.Logger == nil {
		cfg.Person.Logger = cfg.Logger
	}
	a := &Analyser{}
	var err error
	if len(cfg.Rules) > 0 {
		if a.pipe, err = pattern.NewPipeline(cfg.Track, cfg.Rules...); err != nil {
			return nil, err
		}
		a.needs = a.pipe.Needs()
	}
	// The person detector tells the tracks' people from objects: it runs
	// where tracks do.
	persons, err := personDetector(&cfg, a.needs)
	if err != nil {
		return nil, err
	}
	// The person detector picks its scale from the blob's height, which
	// the background model at half width gets only to within 2 px: with
	// it, the model runs at the frame's width (about 1 ms more per frame).
	if persons && cfg.Motion.ModelWidth == 0 {
		cfg.Motion.ModelWidth = -1
	}
	if a.det, err = motion.NewDetector(cfg.Motion); err != nil {
		return nil, err
	}
	if a.needs.Scene {
		if a.meter, err = framestat.New(cfg.Stats); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.needs.Static {
		if a.static, err = staticobj.New(cfg.Static); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.needs.Flow {
		if a.flow, err = flow.New(flow.Config{Logger: cfg.Logger}); err != nil {
			a.Close()
			return nil, err
		}
	}
	if persons {
		if a.person, err = person.New(cfg.Person); err != nil {
			a.Close()
			return nil, err
		}
		if cfg.HoldStill && a.person.Neural() && a.needs.Scene {
			a.still = &stillHold{every: a.person.Config().Every}
		}
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
		Moving: res.Motion, MotionScore: res.Score,
		Warmup: res.Warmup, LightChange: res.LightChange,
	}
	if a.meter != nil {
		f.Info.Stats = a.meter.Measure(now, grey, res.LightChange || res.Area >= changedArea)
	}
	if a.static != nil {
		// The long-term background is re-learnt whenever the frame stops
		// showing the scene it knows: warm-up, a light change, a moved view.
		relearn := f.Info.Suspension().Blind()
		f.Info.Static = a.static.Apply(now, grey, relearn)
	}
	if a.flow != nil {
		in := image.Pt(grey.Cols(), grey.Rows())
		if small, fg, ok := a.det.Model(); ok && image.Pt(small.Cols(), small.Rows()) == a.flow.SizeFor(in) {
			// The background model runs at the flow's width: its frame
			// and mask are what the flow would make (TestFlowFromModel).
			f.Info.Flow = a.flow.ApplyDownscaled(now, in, small, res, fg)
		} else {
			f.Info.Flow = a.flow.Apply(now, grey, res, a.det.Foreground())
		}
	}
	if a.person != nil && !res.Warmup && !res.LightChange {
		pr := a.person.Detect(grey, res.Boxes)
		f.Info.Persons, f.Info.PersonsChecked, f.Info.PersonsValid = pr.Persons, pr.Checked, true
		f.Info.PersonsNeural = a.person.Neural()
		a.objects = a.objects[:0]
		for _, o := range pr.Objects {
			a.objects = append(a.objects, pattern.Detection{Box: o.Box, Class: o.Class.String()})
		}
		f.Info.Objects = a.objects
		if a.still != nil {
			a.holdStill(now, grey)
		}
	}
	f.Events = a.pipe.Frame(now, res.Boxes, f.Info)
	return f
}

// holdStill looks, within its budget, at one track whose blob faded, and
// holds it or ends it for the coming tracker update (stillHold).
func (a *Analyser) holdStill(now time.Time, grey gocv.Mat) {
	t, x := a.still.due(a.pipe.Tracks())
	if t == nil {
		return
	}
	x.look = a.still.frame
	fw, fh := grey.Cols(), grey.Rows()
	at := toPixels(t.Box, fw, fh)
	if !x.lookAt.Empty() {
		// Once held, the track's box is the detector's box, which is
		// often cut off at an edge of the figure (the table in front of
		// them) and shifts the crop: the person stands where they were
		// found, and the same crop shows the detector the same picture.
		at = x.lookAt
	}
	c, err := a.person.Confirm(grey, at)
	if err != nil {
		x.done = true // a failing detector holds nothing
		return
	}
	switch judge(c.Box, at, x.anchor) {
	case stillMiss:
		if x.fails++; x.fails >= maxFails {
			x.done = true
		}
	case stillOther:
		a.pipe.End(t.ID)
		x.done = true
	case stillHoldAt:
		if x.anchor.Empty() {
			x.anchor, x.lookAt = c.Box, at
		}
		x.fails = 0
		held := toNorm(c.Box, fw, fh)
		if a.pipe.Hold(t.ID, held) {
			x.heldAt = now
		}
		a.endPieces(t, held)
	}
}

// endPieces ends the other tracks that are pieces of the person just held
// at box: a person standing still fades from the motion foreground piece
// by piece, and a piece (their head, a shoulder) that the tracker took
// for an object of its own stays behind as a ghost when they walk away,
// for the next person there to take over with its dwell. The detector
// found one person there: a coasting track lying within their box, and
// smaller, is part of them.
func (a *Analyser) endPieces(t *track.Track, box track.Box) {
	tracks := a.pipe.Tracks()
	for i := range tracks {
		if piece(&tracks[i], t, box) {
			a.pipe.End(tracks[i].ID)
		}
	}
}

// piece reports whether u, another track than t, is a piece of the person
// held at box: coasting (no blob of its own), not in a group, smaller, and
// lying within box (four fifths of it).
func piece(u, t *track.Track, box track.Box) bool {
	return u.ID != t.ID && u.Misses > 0 && !u.Merged() && u.Box.Area() < box.Area() && u.Box.Within(box) >= 0.8
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
	if a.static != nil {
		err = errors.Join(err, a.static.Close())
		a.static = nil
	}
	if a.flow != nil {
		err = errors.Join(err, a.flow.Close())
		a.flow = nil
	}
	if a.person != nil {
		err = errors.Join(err, a.person.Close())
		a.person = nil
	}
	return err
}
