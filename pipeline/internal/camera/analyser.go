package camera

import (
	"context"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// analyser runs the camera's rules — motion among them — on the newest
// masked frame through pipeline/internal/analysis (the same calls as
// pipeline/tools/eval, so the evaluation measures what runs here), and
// sends every situation's transitions.
type analyser struct {
	cam  *Camera
	slot *latestSlot
	pool *framePool

	an *analysis.Analyser
	// ids is the EventID of each rule's running situation, by the rule's
	// index.
	ids []string
	// suspended is why the rules did not fully judge the last frame,
	// since when, and lastAt when that frame was taken.
	suspended      pattern.Suspension
	suspendedSince time.Time
	lastAt         time.Time
}

// start builds this session's motion detector and rules.
func (a *analyser) start() error {
	var rules []pattern.Rule
	if a.cam.cfg.Rules != nil {
		var err error
		if rules, err = a.cam.cfg.Rules(); err != nil {
			return err
		}
	}
	cfg := a.cam.cfg.analysisConfig()
	cfg.Rules, cfg.Logger = rules, a.cam.log
	an, err := analysis.New(cfg)
	if err != nil {
		return err
	}
	a.an = an
	a.ids = make([]string, len(rules))
	return nil
}

// analysisConfig is a session's analysis, without its rules.
func (c Config) analysisConfig() analysis.Config {
	if c.Analysis != nil {
		return *c.Analysis
	}
	return analysis.Config{Motion: c.Motion, Track: track.DefaultConfig(), PersonHOG: c.PersonHOG, PersonDetector: c.PersonDetector}
}

func (a *analyser) run(ctx context.Context) {
	c := a.cam
	if err := a.start(); err != nil {
		c.log.Error("analysis config", "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			// A camera without a session has no rules running to speak of.
			c.suspended.Store(uint32(pattern.NotSuspended))
			// Leave no situation without its end.
			for _, pe := range a.an.Flush() {
				a.emit(context.WithoutCancel(ctx), pe)
			}
			if f, ok := a.slot.take(); ok {
				a.pool.put(f.mat)
			}
			return
		case <-a.slot.ready:
		}
		f, ok := a.slot.take()
		if !ok {
			continue
		}
		a.analyse(ctx, f)
	}
}

// analyse runs one masked frame through motion, the rules and their
// lifecycles, and gives the frame back to the pool. Apart from emitting a
// transition, it does not allocate in steady state.
func (a *analyser) analyse(ctx context.Context, f analysisFrame) {
	c := a.cam
	if c.inspect != nil {
		c.inspect(*f.mat)
	}
	at := time.Unix(0, f.at)
	fr := a.an.Apply(at, *f.mat)
	a.pool.put(f.mat)
	c.analysed.Add(1)
	a.suspension(at, fr.Info.Suspension())
	c.live.noteBlobs(fr.Motion.Boxes, fr.Info.Width, fr.Info.Height)
	for _, pe := range fr.Events {
		a.emit(ctx, pe)
	}
}

// maxFrameGap is the most analysed time one frame stands for in the
// suspension account: a stream that paused does not count its pause as
// time the rules were suspended.
const maxFrameGap = 2 * time.Second

// suspension accounts the time since the last frame to the reason the
// rules were under, and logs a change of reason (one line each, never per
// frame): a camera whose rules see nothing must not look like a quiet
// scene.
func (a *analyser) suspension(at time.Time, s pattern.Suspension) {
	c := a.cam
	if prev := a.suspended; prev != pattern.NotSuspended && !a.lastAt.IsZero() {
		if dt := at.Sub(a.lastAt); dt > 0 {
			c.suspendedNs[prev].Add(int64(min(dt, maxFrameGap)))
		}
	}
	a.lastAt = at
	if s == a.suspended {
		return
	}
	prev, since := a.suspended, a.suspendedSince
	a.suspended, a.suspendedSince = s, at
	c.suspended.Store(uint32(s))
	// Warm-up follows every session start and every new frame size, which
	// the log already says; it shows in the status and the metrics only.
	switch {
	case s == pattern.NotSuspended && prev != pattern.SuspendedWarmup:
		c.log.Info("rules resumed", "after", prev.String(), "for", at.Sub(since).Round(100*time.Millisecond))
	case s == pattern.SuspendedLowTexture:
		c.log.Warn("rules cannot notice a moved view", "reason", s.String())
	case s == pattern.SuspendedLightChange || s == pattern.SuspendedViewMoved:
		c.log.Warn("rules suspended", "reason", s.String())
	}
}

// emit sends one transition of a rule's situation, under the situation's
// event id, and asks for a snapshot at its start.
func (a *analyser) emit(ctx context.Context, pe pattern.Event) {
	c := a.cam
	id := a.ids[pe.Index]
	if pe.Phase == lifecycle.Start || id == "" {
		id = event.NewID()
		a.ids[pe.Index] = id
	}
	if pe.Phase == lifecycle.End {
		a.ids[pe.Index] = ""
	}
	ev := c.event(id, pe)
	if !c.send(ctx, ev, pe.Rule) {
		return
	}
	if pe.Phase == lifecycle.Start && c.cfg.Snapshots != nil && c.cfg.Snapshots.Wanted() {
		// The decode goroutine takes the next picture; boxes let the
		// anonymiser cover moving persons if the policy asks for it. Only
		// once the start is queued: the outbox queues the image behind
		// it, and the guard refuses an image whose start it has not seen.
		c.snapReq.Store(&snapRequest{eventID: id, boxes: ev.Boxes})
	}
}

// event is the message of one transition of a situation (a rule's, or
// video loss). The zone is the operator's zone or line name; count and
// boxes describe the objects taking part (the egress guard strips what the
// policy does not allow). Nothing about the tracks themselves leaves.
func (c *Camera) event(eventID string, pe pattern.Event) event.Event {
	ev := event.Event{
		Schema:    event.Schema,
		ID:        event.NewID(),
		EventID:   eventID,
		Device:    c.cfg.Device,
		Camera:    c.cfg.ID,
		Type:      pe.Type,
		Phase:     event.Phase(pe.Phase.String()),
		Seq:       c.seq.Add(1),
		At:        event.Time{Time: pe.At},
		StartedAt: event.Time{Time: pe.StartedAt},
		Score:     round3(pe.Score),
		Zone:      pe.Zone,
		Detail:    pe.Detail,
		Class:     pe.Class,
	}
	if pe.Phase == lifecycle.End {
		ev.EndedAt = &event.Time{Time: pe.At}
	} else {
		ev.Count = pe.Count
		if len(pe.Boxes) > 0 {
			ev.Boxes = make([]event.Box, 0, len(pe.Boxes))
			for _, b := range pe.Boxes {
				ev.Boxes = append(ev.Boxes, event.Box{X: round3(b.X), Y: round3(b.Y), W: round3(b.W), H: round3(b.H)})
			}
		}
	}
	return ev
}

// send queues ev and logs it; false if the sink refused it.
func (c *Camera) send(ctx context.Context, ev event.Event, rule string) bool {
	c.events.Add(1)
	if err := c.cfg.Sink.Event(ctx, ev); err != nil {
		c.log.Error("event not queued", "event_id", ev.EventID, "type", ev.Type, "phase", ev.Phase, "err", err)
		return false
	}
	attrs := []any{"rule", rule, "event_id", ev.EventID, "id", ev.ID, "seq", ev.Seq, "score", ev.Score}
	if ev.Zone != "" {
		attrs = append(attrs, "zone", ev.Zone)
	}
	if ev.Detail != "" {
		attrs = append(attrs, "detail", ev.Detail)
	}
	c.log.Info(ev.Type+" "+string(ev.Phase), attrs...)
	return true
}

func (a *analyser) close() {
	if a.an != nil {
		a.an.Close()
		a.an = nil
	}
}

func round3(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }
