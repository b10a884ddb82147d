package egress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// PublishEvent applies the active rules to ev and publishes it at QoS 1 on
// <prefix>/<device>/<camera>/events, waiting for the broker's PUBACK.
//
// An event the rules do not let leave returns an error that is ErrSuppressed
// and says why: ErrTypeNotAllowed, ErrOutsideSchedule (judged at ev.At) or
// ErrRateLimited (see limiter; a situation is withheld whole, never an end
// without its start). Optional fields
// the rules do not allow are removed (see filter), and ev.Policy is set to the
// rules' identity, so every event names the policy it passed.
//
// While the broker is unreachable the message is queued and sent after the
// reconnect; if ctx ends first the error wraps ErrQueued. After a reconnect
// paho reports a queued message as done once it is resent, not when the
// broker acknowledges it; it stays in paho's store until the PUBACK.
func (g *Guard) PublishEvent(ctx context.Context, ev event.Event) error {
	r := g.rules.Load().r // one consistent rule set for this message
	if ev.Device == "" {
		ev.Device = g.cfg.Device
	}
	if ev.Device != g.cfg.Device {
		g.failed.Add(1)
		return fmt.Errorf("egress: event for device %q on guard of device %q", ev.Device, g.cfg.Device)
	}
	out, stripped, err := g.admit(r, ev)
	if err != nil {
		if errors.Is(err, ErrSuppressed) {
			g.audit(audit.Record{Kind: audit.KindEventWithheld, Camera: ev.Camera, EventID: ev.EventID,
				EventType: ev.Type, Phase: string(ev.Phase), Reason: withheldReason(err), Detail: err.Error()})
		}
		return err
	}
	payload, err := json.Marshal(out)
	if err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: encode event: %w", err)
	}
	if err := g.publish(ctx, cameraTopic(g.cfg.TopicPrefix, g.cfg.Device, out.Camera, "events"), payload, false); err != nil {
		return err
	}
	g.stripped.Add(uint64(stripped))
	g.audit(audit.Record{Kind: audit.KindEventPublished, Camera: out.Camera, EventID: out.EventID, EventType: out.Type, Phase: string(out.Phase)})
	return nil
}

// withheldReason is the audit trail's short name for why an event was
// withheld.
func withheldReason(err error) string {
	switch {
	case errors.Is(err, ErrTypeNotAllowed):
		return "type_not_allowed"
	case errors.Is(err, ErrOutsideSchedule):
		return "outside_schedule"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	}
	return "suppressed"
}

// audit hands r to Config.Audit, if any.
func (g *Guard) audit(r audit.Record) {
	if g.cfg.Audit != nil {
		g.cfg.Audit.Record(r)
	}
}

// admit applies the rules and the rate limit to ev and returns the copy
// that may leave. Decisions are made under one lock so that the messages of
// a situation are judged in the order they arrive.
func (g *Guard) admit(r Rules, ev event.Event) (event.Event, int, error) {
	g.limMu.Lock()
	defer g.limMu.Unlock()
	why := ReasonNone
	if ev.ID != "" && ev.EventID != "" {
		why = g.lim.follows(&ev)
	}
	if why != ReasonNone {
		g.suppress(why)
		return ev, 0, fmt.Errorf("%w: %s of situation %s", why.err(), ev.Phase, ev.EventID)
	}
	out, stripped, err := filter(r, ev)
	switch {
	case errors.Is(err, ErrTypeNotAllowed):
		why = ReasonType
	case errors.Is(err, ErrOutsideSchedule):
		why = ReasonSchedule
	case err != nil:
		g.failed.Add(1)
		return out, 0, err
	}
	if why == ReasonNone && out.Phase != event.PhaseStart && !g.lim.known(out.EventID) &&
		!out.StartedAt.IsZero() && !r.AllowsEventAt(out.Type, out.StartedAt.Time) {
		// A situation this guard has not seen start (it started before a
		// restart and the outbox kept the rest): its start was withheld by
		// the schedule if it started outside it, so the rest is withheld too.
		why = ReasonSchedule
		err = fmt.Errorf("%w: %s of situation %s, which started outside the schedule", ErrOutsideSchedule, out.Phase, out.EventID)
	}
	if why != ReasonNone {
		g.lim.withhold(&ev, why)
		g.suppress(why)
		return out, 0, err
	}
	if why = g.lim.rate(&out, r.MaxEventsPerMinute()); why != ReasonNone {
		g.suppress(why)
		return out, 0, fmt.Errorf("%w: %s %q on %s", why.err(), out.Phase, out.Type, out.Camera)
	}
	return out, stripped, nil
}

// suppress counts an event withheld for why.
func (g *Guard) suppress(why Reason) {
	g.suppressed.Add(1)
	g.suppressedBy[why].Add(1)
}

// PublishCameraStatus publishes st retained at QoS 1 on
// <prefix>/<device>/<camera>/status, so a consumer that subscribes later
// still learns each camera's state. Credentials of any URL in st.Error are
// masked as a last line of defence: error texts from RTSP libraries may quote
// the camera URL.
func (g *Guard) PublishCameraStatus(ctx context.Context, st event.CameraStatus) error {
	if st.Device == "" {
		st.Device = g.cfg.Device
	}
	if st.Device != g.cfg.Device {
		g.failed.Add(1)
		return fmt.Errorf("egress: camera status for device %q on guard of device %q", st.Device, g.cfg.Device)
	}
	if err := validSegment(st.Camera); err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: camera: %w", err)
	}
	st.Error = redact.Text(st.Error)
	payload, err := json.Marshal(st)
	if err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: encode camera status: %w", err)
	}
	if err := g.publish(ctx, cameraTopic(g.cfg.TopicPrefix, g.cfg.Device, st.Camera, "status"), payload, true); err != nil {
		return err
	}
	g.audit(audit.Record{Kind: audit.KindCameraState, Camera: st.Camera, State: string(st.State), Detail: st.Error})
	return nil
}

// PublishRetained publishes v as JSON, retained at QoS 1, on
// <prefix>/<device>/<subtopic>, e.g. "policy" for the audit record of the
// policy in force, or "policy/error". It exists so such device-level records
// also leave through the guard; callers must only pass data that identifies
// no one, since no event rules apply to it. Subtopics that would land on the
// guard's own topics are refused: "status" (device status) and any
// "<x>/events" or "<x>/status", which are camera topics; otherwise this would
// be a way around the policy.
func (g *Guard) PublishRetained(ctx context.Context, subtopic string, v any) error {
	if err := validSubtopic(subtopic); err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: subtopic: %w", err)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: encode %s: %w", subtopic, err)
	}
	return g.publish(ctx, deviceTopic(g.cfg.TopicPrefix, g.cfg.Device, subtopic), payload, true)
}

// publish sends at QoS 1 and waits for completion, ctx or Close.
func (g *Guard) publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	select {
	case <-g.closing:
		g.failed.Add(1)
		return ErrClosed
	default:
	}
	if g.cfg.CleanSession && !g.connected.Load() {
		g.failed.Add(1)
		return ErrNotConnected
	}
	if g.prunePending() >= g.cfg.MaxPending {
		g.dropped.Add(1)
		return ErrBacklog
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	connects := g.connects.Load()
	var tok mqtt.Token
	if retained {
		tok = g.publishRetained(topic, payload) // remembered for the re-publish after a reconnect
	} else {
		tok = g.client.Publish(topic, 1, false, payload)
	}
	select {
	case <-tok.Done():
		if err := g.complete(tok, topic); err != nil {
			return err
		}
		if g.connects.Load() != connects {
			// A reconnect happened while this message was in flight: paho
			// then completes the token when it re-sends the message from
			// its store, not when the broker acknowledges it. Say it is
			// not known to be delivered, so a durable outbox keeps it and
			// sends it again (consumers de-duplicate on the event id)
			// rather than deleting an event the broker may never have got.
			return fmt.Errorf("egress: publish to %s: %w: reconnected while in flight", topic, ErrQueued)
		}
		return nil
	case <-ctx.Done():
		// prunePending accounts for it when paho completes it.
		g.mu.Lock()
		g.abandoned[tok] = struct{}{}
		g.mu.Unlock()
		return fmt.Errorf("egress: publish to %s: %w: %w", topic, ErrQueued, ctx.Err())
	case <-g.closing:
		g.failed.Add(1)
		return ErrClosed
	}
}

func (g *Guard) complete(tok mqtt.Token, topic string) error {
	if err := tok.Error(); err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: publish to %s: %w", topic, err)
	}
	g.published.Add(1)
	return nil
}

// prunePending accounts for completed messages whose publisher stopped
// waiting (ctx ended) and returns how many messages await acknowledgement.
// Polling here instead of a goroutine per message matters because paho never
// completes the tokens of messages still queued when the guard is closed
// during an outage.
func (g *Guard) prunePending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tok := range g.abandoned {
		select {
		case <-tok.Done():
			delete(g.abandoned, tok)
			_ = g.complete(tok, "")
		default:
		}
	}
	return int(g.waiting.Load()) + len(g.abandoned)
}
