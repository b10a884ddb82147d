package camera

import (
	"context"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
)

// videoLoss reports the fourth kind of tamper, video lost: a camera that has
// delivered pictures delivers none for the tamper rule's duration (cable
// cut, camera switched off, stream hijacked). The frame-based tamper rule
// cannot see this, since it only runs on pictures, and a lost stream ends
// the session the rule lives in; so the watch runs next to the supervisor,
// across sessions, on the time of the last decoded picture.
type videoLoss struct {
	rule  string        // the tamper rule's name, for logs
	after time.Duration // no picture for this long = lost
}

// videoLossRule finds the camera's tamper rule, if any.
func videoLossRule(rules func() ([]pattern.Rule, error)) (videoLoss, bool) {
	if rules == nil {
		return videoLoss{}, false
	}
	rs, err := rules()
	if err != nil {
		return videoLoss{}, false
	}
	for _, r := range rs {
		if t, ok := r.(*pattern.Tamper); ok {
			// Below a second, a network hiccup would be "lost".
			return videoLoss{rule: t.Name(), after: max(t.Duration(), time.Second)}, true
		}
	}
	return videoLoss{}, false
}

// watchVideoLoss runs until ctx ends, then ends a running situation.
func (c *Camera) watchVideoLoss(ctx context.Context, vl videoLoss) {
	tick := time.NewTicker(min(vl.after/4, time.Second))
	defer tick.Stop()
	var (
		eventID   string
		startedAt time.Time
		peak      float64
	)
	send := func(ctx context.Context, phase lifecycle.Phase, at time.Time) {
		// The same message as a rule's tamper, with detail lost.
		c.send(ctx, c.event(eventID, pattern.Event{Rule: vl.rule, Type: pattern.TypeTamper, Detail: "lost",
			Transition: lifecycle.Transition{Phase: phase, StartedAt: startedAt, At: at, Score: peak}}), vl.rule)
	}
	for {
		select {
		case <-ctx.Done():
			if eventID != "" {
				send(context.WithoutCancel(ctx), lifecycle.End, time.Now())
			}
			return
		case now := <-tick.C:
			last := c.lastPicture.Load()
			if last == 0 {
				continue // never streamed: that is the camera status' business
			}
			lastAt := time.Unix(0, last)
			gone := now.Sub(lastAt)
			switch {
			case eventID == "" && gone >= vl.after:
				eventID, startedAt, peak = event.NewID(), lastAt, 1
				send(ctx, lifecycle.Start, now)
			case eventID != "" && gone < vl.after:
				send(ctx, lifecycle.End, lastAt)
				eventID = ""
			}
		}
	}
}
