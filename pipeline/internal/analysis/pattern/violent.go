package pattern

import (
	"math"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// TypeViolentMotion is intense, erratic motion of close objects: a fight, a
// brawl, someone being beaten.
const TypeViolentMotion = "violent_motion"

// ViolentConfig configures violent_motion. People standing and talking
// move at about 0.1 body heights per second, walkers, runners and fighters
// at 0.3–1.5: energy alone does not make a fight. Walkers, runners, groups
// walking and people walking up to each other stay below a spread of 0.1
// nearly all the time; fighters' limbs and bodies going back and forth
// reach 0.12–0.4 (see FlowRegion.Spread). Spread follows one spot over
// four frames and misses a fight that pushes one way for a second, or whose
// limbs swing out and back between two analysis frames; clash sees such a
// fight within each frame, where bodies and limbs next to each other move
// opposite ways (FlowRegion.Clash). Either makes the motion erratic. On
// real footage walkers far away stay below 0.07, two cars passing each
// other in one region mostly below 0.13, a hallway robbery fight reaches
// 0.15–0.6 in a third of its frames, and a walker close to the camera or
// someone getting up 0.15–0.3 in single frames: the share of violent
// frames over a second is what tells them apart.
type ViolentConfig struct {
	Name        string
	Zone        Zone          `key:"zone"`
	Energy      float64       `key:"energy" default:"0.2" range:"0.05..20" help:"optical-flow speed of a moving region, in body heights per second, from which its motion counts as intense"`
	Spread      float64       `key:"spread" default:"0.12" range:"0.05..0.95" help:"how erratic the motion must be: how much each moving spot changed direction over the last four analysis frames (0: one direction, 1: every way)"`
	Clash       float64       `key:"clash" default:"0.15" range:"0.05..0.95" help:"the other sign of erratic motion: how much neighbouring parts of a moving region move against each other within one frame (0: each part one way, 1: every way at once)"`
	MinDuration time.Duration `key:"min_duration" default:"2s" range:"0s..1m" help:"how long the smoothed condition must hold"`
	Perspective geometry.Perspective
	Timing
}

// Smoothing and hysteresis: a fight is erratic by nature, and the frames in
// which the fighters hold still for a moment, or merge with a passer-by,
// must not restart the minimum duration. The rule follows the share of
// recent frames with a violent region (an exponential average over about a
// second): on from half of them, off below a third.
const (
	violentTau   = time.Second
	violentOn    = 0.5
	violentOff   = 0.3
	violentGap   = 2 * time.Second // longer without frames: start afresh
	violentMoved = 0.05            // regions with fewer moving pixels say nothing
)

// Violent reports moving regions whose optical flow is fast and goes in
// every direction at once, for a while: a fight, a brawl, someone being
// beaten. It needs the analyser's flow stage (Needs().Flow) and judges the
// flow regions, not tracks: fighters merge into one blob and their box
// hardly moves.
type Violent struct {
	ident
	cfg   ViolentConfig
	share float64 // smoothed share of violent frames
	last  time.Time
	on    bool
	boxes []track.Box
}

// NewViolent validates cfg.
func NewViolent(cfg ViolentConfig) (*Violent, error) {
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	return &Violent{ident: ident{cfg.Name, TypeViolentMotion, cfg.Zone.Name}, cfg: cfg}, nil
}

func (r *Violent) Needs() Needs { return Needs{Scene: true, Flow: true} }
func (r *Violent) Lifecycle() lifecycle.Config {
	return r.cfg.Timing.lifecycle(r.cfg.MinDuration, 3*time.Second)
}

// Energy is a flow region's speed in body heights per second: with a
// perspective the expected person height at the region's foot row, else
// the region's own height (two people side by side are one person tall).
func Energy(fr FlowRegion, p geometry.Perspective) float64 {
	h := fr.Box.H
	if !p.Zero() {
		_, fy := fr.Box.Foot()
		h = p.HeightAt(fy)
	}
	return fr.Speed / math.Max(h, 0.01)
}

func (r *Violent) violent(fr FlowRegion) bool {
	return fr.Moving >= violentMoved && (fr.Spread >= r.cfg.Spread || fr.Clash >= r.cfg.Clash) &&
		Energy(fr, r.cfg.Perspective) >= r.cfg.Energy && r.cfg.Zone.in(fr.Box)
}

func (r *Violent) Observe(now time.Time, _ []track.Track, f FrameInfo) Signal {
	r.boxes = r.boxes[:0]
	if f.Warmup || f.LightChange {
		// The flow stage measures nothing while blobs mean nothing: hold.
		if !r.last.IsZero() {
			r.last = now
		}
		if !r.on {
			return Signal{}
		}
		return Signal{On: true, Score: r.score()}
	}
	x := 0.0
	for _, fr := range f.Flow {
		if r.violent(fr) {
			r.boxes = append(r.boxes, fr.Box)
			x = 1
		}
	}
	dt := now.Sub(r.last)
	switch {
	case r.last.IsZero() || dt > violentGap || dt < 0:
		// Start afresh: one frame is no evidence yet.
		r.share, r.on = 0, false
	default:
		r.share += (1 - math.Exp(-dt.Seconds()/violentTau.Seconds())) * (x - r.share)
	}
	r.last = now
	if r.on {
		r.on = r.share >= violentOff
	} else {
		r.on = r.share >= violentOn
	}
	if !r.on {
		return Signal{}
	}
	return Signal{On: true, Score: r.score(), Count: len(r.boxes), Boxes: r.boxes}
}

// score grows with the share of violent frames: 0.5 at the threshold, 1
// when every recent frame is.
func (r *Violent) score() float64 { return clamp01(r.share) }
