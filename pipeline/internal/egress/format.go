package egress

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/onvif"
)

// Format is a set of wire formats events leave in (mqtt.format).
type Format uint8

// The formats. FormatEdgeguard is the edgeguard.event/v1 message on
// <prefix>/<device>/<camera>/events; FormatONVIF is ONVIF's JSON event
// format on <prefix>/<device>/onvif-ej/... (package onvif, docs/onvif.md).
const (
	FormatEdgeguard Format = 1 << iota
	FormatONVIF

	FormatBoth = FormatEdgeguard | FormatONVIF
)

// FormatNames are the values of mqtt.format.
var FormatNames = []string{"edgeguard", "onvif", "both"}

// ParseFormat reads a value of mqtt.format; "" is edgeguard.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "edgeguard":
		return FormatEdgeguard, nil
	case "onvif":
		return FormatONVIF, nil
	case "both":
		return FormatBoth, nil
	}
	return 0, fmt.Errorf("egress: event format %q; allowed: edgeguard, onvif, both", s)
}

func (f Format) String() string {
	switch f {
	case FormatEdgeguard:
		return "edgeguard"
	case FormatONVIF:
		return "onvif"
	case FormatBoth:
		return "both"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Sender is what FormatPublisher passes the edgeguard message, camera
// status and images to: the guard itself, or a tap in front of it that
// hands everything on to this guard's methods (the console's record of
// published events).
type Sender interface {
	PublishEvent(ctx context.Context, ev event.Event) error
	PublishCameraStatus(ctx context.Context, st event.CameraStatus) error
	PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error
}

// EventPublisher returns what the outbox delivers through when events
// leave in the formats f: PublishEvent sends one event in each format, in
// one call, so that one outbox record is one delivery whatever the format
// (see FormatPublisher). The edgeguard message, camera status and images
// go to next, which must hand them on to this guard; nil is the guard.
func (g *Guard) EventPublisher(f Format, next Sender) (*FormatPublisher, error) {
	if f == 0 || f&^FormatBoth != 0 {
		return nil, fmt.Errorf("egress: no such event format %v", f)
	}
	if next == nil {
		next = g
	}
	return &FormatPublisher{next: next, f: f, edgeguard: next.PublishEvent, onvif: g.publishONVIF}, nil
}

// FormatPublisher publishes each event in the guard's formats. It is the
// outbox's Publisher; its PublishEvent returns nil only once the broker
// acknowledged every message of the event, so the outbox keeps the record
// (and retries) until all of them are through.
//
// Order and at-least-once: with "both" the edgeguard message goes first,
// then the ONVIF one, on the same session, from the outbox's single
// delivery goroutine. When the first was acknowledged and the second
// failed, the retry sends only the second: the publisher remembers which
// formats of the event in flight went out (by message id; the outbox has
// one event in flight at a time). After a crash or restart nothing is
// remembered and the record is delivered whole again: both messages may
// come twice, never one without the other being attempted. Consumers
// de-duplicate edgeguard messages on the message id; ONVIF property events
// are states, so a repeat changes nothing.
//
// The policy: the event is admitted once, by the guard's rules and rate
// limit, exactly as PublishEvent does (with "both", by PublishEvent
// itself). The ONVIF message is built from the event after the guard's
// field filter, so fields the policy withholds are missing there too.
type FormatPublisher struct {
	next Sender
	f    Format
	// The two messages: next.PublishEvent and the guard's publishONVIF
	// (tests replace them to fail one).
	edgeguard func(ctx context.Context, ev event.Event) error
	onvif     func(ctx context.Context, ev event.Event, admitted bool) error

	mu     sync.Mutex
	lastID string // the event whose formats in sent went out
	sent   Format
}

// Format is the set of formats the publisher sends.
func (p *FormatPublisher) Format() Format { return p.f }

// PublishEvent publishes ev in every format of the publisher that did not
// go out yet for ev.ID. Errors are PublishEvent's: ErrSuppressed when the
// rules withhold ev (nothing of it was sent), ErrQueued and others when
// the broker has not acknowledged a message (retry).
func (p *FormatPublisher) PublishEvent(ctx context.Context, ev event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.ID == "" || ev.ID != p.lastID {
		p.lastID, p.sent = ev.ID, 0
	}
	if p.f&FormatEdgeguard != 0 && p.sent&FormatEdgeguard == 0 {
		if err := p.edgeguard(ctx, ev); err != nil {
			return err
		}
		p.sent |= FormatEdgeguard
	}
	if p.f&FormatONVIF != 0 && p.sent&FormatONVIF == 0 {
		if err := p.onvif(ctx, ev, p.f&FormatEdgeguard != 0); err != nil {
			return err
		}
		p.sent |= FormatONVIF
	}
	return nil
}

// PublishCameraStatus is the guard's: camera status has one format.
func (p *FormatPublisher) PublishCameraStatus(ctx context.Context, st event.CameraStatus) error {
	return p.next.PublishCameraStatus(ctx, st)
}

// PublishSnapshot is the guard's: images have no ONVIF event form.
func (p *FormatPublisher) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	return p.next.PublishSnapshot(ctx, camera, eventID, jpeg)
}

// publishONVIF sends ev in ONVIF's JSON event format at QoS 1, retained
// for property events, on <prefix>/<device>/onvif-ej/....
//
// admitted: PublishEvent admitted ev just before, for the same delivery
// (format "both"). Then the rules' checks and field filter are applied
// again but the rate limit is not charged twice; a rule change in between
// that now withholds the type withholds the ONVIF message (fail closed)
// and, since the edgeguard message already left, the delivery counts as
// done. Otherwise ev is admitted here, as PublishEvent would.
func (g *Guard) publishONVIF(ctx context.Context, ev event.Event, admitted bool) error {
	r := g.rules.Load().r
	if ev.Device == "" {
		ev.Device = g.cfg.Device
	}
	if ev.Device != g.cfg.Device {
		g.failed.Add(1)
		return fmt.Errorf("egress: event for device %q on guard of device %q", ev.Device, g.cfg.Device)
	}
	var out event.Event
	var stripped int
	var err error
	if admitted {
		if out, _, err = filter(r, ev); errors.Is(err, ErrSuppressed) {
			g.suppressed.Add(1)
			g.log.Warn("egress: ONVIF message withheld after the edgeguard message left (the rules changed)", "type", ev.Type, "err", err)
			return nil
		} else if err != nil {
			g.failed.Add(1)
			return err
		}
	} else if out, stripped, err = g.admit(r, ev); err != nil {
		if errors.Is(err, ErrSuppressed) {
			g.audit(audit.Record{Kind: audit.KindEventWithheld, Camera: ev.Camera, EventID: ev.EventID,
				EventType: ev.Type, Phase: string(ev.Phase), Reason: withheldReason(err), Detail: err.Error()})
		}
		return err
	}
	m, ok, err := onvif.Map(out)
	if err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: %w", err)
	}
	if ok {
		if err := g.publish(ctx, onvifTopic(g.cfg.TopicPrefix, g.cfg.Device, m.Topic), m.Payload, m.Retained); err != nil {
			return err
		}
	}
	g.stripped.Add(uint64(stripped))
	if !admitted {
		// With format onvif alone this is the event's only message; with
		// both, PublishEvent recorded it.
		g.audit(audit.Record{Kind: audit.KindEventPublished, Camera: out.Camera, EventID: out.EventID, EventType: out.Type, Phase: string(out.Phase)})
	}
	return nil
}
