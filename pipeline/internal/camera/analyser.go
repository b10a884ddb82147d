package camera

import (
	"context"
	"image"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// analyser runs motion detection and the event lifecycle on the newest
// masked frame, and the behaviour-pattern rules after motion, through
// pipeline/internal/analysis (the same calls as pipeline/tools/eval, so the evaluation
// measures what runs here).
type analyser struct {
	cam  *Camera
	slot *latestSlot
	pool *framePool

	an       *analysis.Analyser
	tracker  *lifecycle.Tracker
	eventID  string
	lastRes  motion.Result
	lastSize image.Point

	// patIDs is the EventID of each rule's running situation, by rule name
	// (unique per camera).
	patIDs map[string]string
}

// start builds this session's motion detector and rule pipeline.
func (a *analyser) start() error {
	var rules []pattern.Rule
	if a.cam.cfg.Rules != nil {
		var err error
		if rules, err = a.cam.cfg.Rules(); err != nil {
			return err
		}
	}
	an, err := analysis.New(analysis.Config{Motion: a.cam.cfg.Motion, Track: track.DefaultConfig(), Rules: rules, PersonHOG: a.cam.cfg.PersonHOG, Logger: a.cam.log})
	if err != nil {
		return err
	}
	a.an = an
	a.patIDs = make(map[string]string, len(rules))
	return nil
}

func (a *analyser) run(ctx context.Context) {
	c := a.cam
	tr, err := lifecycle.New(c.cfg.Lifecycle)
	if err != nil {
		c.log.Error("lifecycle config", "err", err)
		return
	}
	a.tracker = tr
	if err := a.start(); err != nil {
		c.log.Error("analysis config", "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			// Leave no situation without its end.
			if x := a.tracker.Flush(); x.Phase != lifecycle.None && !c.cfg.NoMotionEvents {
				a.emit(context.WithoutCancel(ctx), x)
			}
			for _, pe := range a.an.Flush() {
				a.emitPattern(context.WithoutCancel(ctx), pe)
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

// analyse runs one masked frame through motion, the rules and the
// lifecycles, and gives the frame back to the pool. Apart from emitting a
// transition, it does not allocate in steady state.
func (a *analyser) analyse(ctx context.Context, f analysisFrame) {
	c := a.cam
	w, h := f.mat.Cols(), f.mat.Rows()
	if c.inspect != nil {
		c.inspect(*f.mat)
	}
	at := time.Unix(0, f.at)
	fr := a.an.Apply(at, *f.mat)
	a.pool.put(f.mat)
	c.analysed.Add(1)
	res := fr.Motion
	if res.Motion {
		a.lastRes = res
		a.lastSize = image.Pt(w, h)
	}
	if x, ok := a.tracker.Observe(at, res.Motion, res.Score); ok && !c.cfg.NoMotionEvents {
		a.emit(ctx, x)
	}
	for _, pe := range fr.Events {
		a.emitPattern(ctx, pe)
	}
}

// emitPattern sends one transition of a rule's situation. The zone is the
// operator's zone or line name; count and boxes describe the objects taking
// part (the egress guard strips what the policy does not allow). Nothing
// about the tracks themselves leaves.
func (a *analyser) emitPattern(ctx context.Context, pe pattern.Event) {
	c := a.cam
	id := a.patIDs[pe.Rule]
	if pe.Phase == lifecycle.Start || id == "" {
		id = event.NewID()
		a.patIDs[pe.Rule] = id
	}
	if pe.Phase == lifecycle.End {
		delete(a.patIDs, pe.Rule)
	}
	ev := event.Event{
		Schema:    event.Schema,
		ID:        event.NewID(),
		EventID:   id,
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
	c.events.Add(1)
	if err := c.cfg.Sink.Event(ctx, ev); err != nil {
		c.log.Error("event not queued", "event_id", ev.EventID, "type", ev.Type, "phase", ev.Phase, "err", err)
		return
	}
	if pe.Phase == lifecycle.Start && c.cfg.Snapshots != nil && c.cfg.Snapshots.Wanted() {
		// Only once the start is queued: see emit.
		c.snapReq.Store(&snapRequest{eventID: id, boxes: ev.Boxes})
	}
	c.log.Info(ev.Type+" "+string(ev.Phase), "rule", pe.Rule, "zone", ev.Zone, "event_id", ev.EventID, "id", ev.ID, "seq", ev.Seq, "score", ev.Score)
}

func (a *analyser) emit(ctx context.Context, x lifecycle.Transition) {
	c := a.cam
	if x.Phase == lifecycle.Start {
		a.eventID = event.NewID()
	}
	ev := event.Event{
		Schema:    event.Schema,
		ID:        event.NewID(),
		EventID:   a.eventID,
		Device:    c.cfg.Device,
		Camera:    c.cfg.ID,
		Type:      "motion",
		Phase:     event.Phase(x.Phase.String()),
		Seq:       c.seq.Add(1),
		At:        event.Time{Time: x.At},
		StartedAt: event.Time{Time: x.StartedAt},
		Score:     float64(int(x.Score*1000+0.5)) / 1000,
	}
	if x.Phase == lifecycle.End {
		ev.EndedAt = &event.Time{Time: x.At}
	} else if len(a.lastRes.Boxes) > 0 && a.lastSize.X > 0 {
		// Normalised boxes; the egress guard removes them unless the policy
		// allows boxes.
		ev.Count = len(a.lastRes.Boxes)
		ev.Boxes = make([]event.Box, 0, len(a.lastRes.Boxes))
		fw, fh := float64(a.lastSize.X), float64(a.lastSize.Y)
		for _, b := range a.lastRes.Boxes {
			ev.Boxes = append(ev.Boxes, event.Box{
				X: round3(float64(b.Min.X) / fw), Y: round3(float64(b.Min.Y) / fh),
				W: round3(float64(b.Dx()) / fw), H: round3(float64(b.Dy()) / fh),
			})
		}
	}
	c.events.Add(1)
	if err := c.cfg.Sink.Event(ctx, ev); err != nil {
		c.log.Error("event not queued", "event_id", ev.EventID, "phase", ev.Phase, "err", err)
		return
	}
	if x.Phase == lifecycle.Start && c.cfg.Snapshots != nil && c.cfg.Snapshots.Wanted() {
		// The decode goroutine takes the next picture; boxes let the
		// anonymiser cover moving persons if the policy asks for it. Only
		// once the start is queued: the outbox queues the image behind
		// it, and the guard refuses an image whose start it has not seen.
		c.snapReq.Store(&snapRequest{eventID: a.eventID, boxes: ev.Boxes})
	}
	c.log.Info("motion "+string(ev.Phase), "event_id", ev.EventID, "id", ev.ID, "seq", ev.Seq, "score", ev.Score)
}

func (a *analyser) close() {
	if a.an != nil {
		a.an.Close()
		a.an = nil
	}
}

func round3(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }
