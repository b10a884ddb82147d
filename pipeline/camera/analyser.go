package camera

import (
	"context"
	"image"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/motion"
)

// analyser runs motion detection and the event lifecycle on the newest
// masked frame. It owns the detector, which is rebuilt when the analysis
// size changes.
type analyser struct {
	cam  *Camera
	slot *latestSlot
	pool *framePool

	det      *motion.Detector
	detW     int
	detH     int
	tracker  *lifecycle.Tracker
	eventID  string
	lastRes  motion.Result
	lastSize image.Point
}

func (a *analyser) run(ctx context.Context) {
	c := a.cam
	tr, err := lifecycle.New(c.cfg.Lifecycle)
	if err != nil {
		c.log.Error("lifecycle config", "err", err)
		return
	}
	a.tracker = tr
	for {
		select {
		case <-ctx.Done():
			// Leave no situation without its end.
			if x := a.tracker.Flush(); x.Phase != lifecycle.None {
				a.emit(context.WithoutCancel(ctx), x)
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
		w, h := f.mat.Cols(), f.mat.Rows()
		if a.det == nil || w != a.detW || h != a.detH {
			if a.det != nil {
				a.det.Close()
			}
			a.det, err = motion.NewDetector(c.cfg.Motion)
			if err != nil {
				a.pool.put(f.mat)
				c.log.Error("motion detector", "err", err)
				return
			}
			a.detW, a.detH = w, h
		}
		if c.inspect != nil {
			c.inspect(*f.mat)
		}
		res := a.det.Apply(*f.mat)
		a.pool.put(f.mat)
		c.analysed.Add(1)
		if res.Motion {
			a.lastRes = res
			a.lastSize = image.Pt(w, h)
		}
		if x, ok := a.tracker.Observe(time.Unix(0, f.at), res.Motion, res.Score); ok {
			a.emit(ctx, x)
		}
	}
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
	if x.Phase == lifecycle.Start && c.cfg.Snapshots != nil && c.cfg.Snapshots.Wanted() {
		// The decode goroutine takes the next picture; boxes let the
		// anonymiser cover moving persons if the policy asks for it.
		c.snapReq.Store(&snapRequest{eventID: a.eventID, boxes: ev.Boxes})
	}
	c.events.Add(1)
	if err := c.cfg.Sink.Event(ctx, ev); err != nil {
		c.log.Error("event not queued", "event_id", ev.EventID, "phase", ev.Phase, "err", err)
		return
	}
	c.log.Info("motion "+string(ev.Phase), "event_id", ev.EventID, "id", ev.ID, "seq", ev.Seq, "score", ev.Score)
}

func (a *analyser) close() {
	if a.det != nil {
		a.det.Close()
		a.det = nil
	}
}

func round3(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }
