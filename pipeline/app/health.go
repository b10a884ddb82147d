package app

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// deviceHealth is the retained JSON on <prefix>/<device>/health: what the
// box had to drop or withhold, so a control room sees losses it could not
// otherwise notice (events are only ever dropped for the policy's bounds).
type deviceHealth struct {
	At     event.Time   `json:"at"`
	Outbox outboxHealth `json:"outbox"`
	// SnapshotsWithheld counts images that could not be anonymised and so
	// did not leave; SnapshotsDropped, images not sent (anonymiser busy,
	// outbox full or over the retention while the broker is down, a
	// failed publish), the outbox's drops included.
	SnapshotsWithheld uint64 `json:"snapshots_withheld"`
	SnapshotsDropped  uint64 `json:"snapshots_dropped"`
	// FaceDetector is the face detector images are anonymised with,
	// "blazeface", or "none": then no image leaves, and
	// SnapshotsWithheldReason says why (e.g. the face model is missing,
	// and how to install it).
	FaceDetector            string `json:"face_detector"`
	SnapshotsWithheldReason string `json:"snapshots_withheld_reason,omitempty"`
	// ConfigError says why the last reload of the configuration file was
	// rejected (FILE:LINE: what, or which setting needs a restart); the box
	// runs the configuration in force before it. Absent once a reload
	// succeeds.
	ConfigError string `json:"config_error,omitempty"`
}

type outboxHealth struct {
	// Durable: events are stored on disk now. False in memory and while
	// the disk refuses writes (full, failing); DurableReason then says why,
	// e.g. "write failed: no space left on device; events kept in memory".
	Durable       bool   `json:"durable"`
	DurableReason string `json:"durable_reason,omitempty"`
	Depth         int    `json:"depth"`
	Bytes         int64  `json:"bytes"`
	DroppedAge    uint64 `json:"dropped_age"`
	DroppedSize   uint64 `json:"dropped_size"`
	WriteErrors   uint64 `json:"write_errors"`
	// Images queued behind their start (memory only), acknowledged by
	// the broker, refused by the policy (their start withheld), dropped.
	SnapshotsQueued     uint64 `json:"snapshots_queued"`
	SnapshotsSent       uint64 `json:"snapshots_sent"`
	SnapshotsSuppressed uint64 `json:"snapshots_suppressed"`
	SnapshotsDropped    uint64 `json:"snapshots_dropped"`
}

func healthOf(o outbox.Stats, s snapshot.Stats) deviceHealth {
	return deviceHealth{
		Outbox: outboxHealth{Durable: o.Durable, DurableReason: o.DurableReason, Depth: o.Depth, Bytes: o.Bytes,
			DroppedAge: o.DroppedAge, DroppedSize: o.DroppedSize, WriteErrors: o.WriteErrors,
			SnapshotsQueued: o.SnapshotsQueued, SnapshotsSent: o.SnapshotsSent,
			SnapshotsSuppressed: o.SnapshotsSuppressed, SnapshotsDropped: o.SnapshotsDropped},
		SnapshotsWithheld:       s.Withheld,
		SnapshotsDropped:        s.Dropped + s.PublishFailed + o.SnapshotsDropped,
		FaceDetector:            s.Detector,
		SnapshotsWithheldReason: s.WithheldReason,
	}
}

// stateChanged: a face detector lost or loaded is worth a message at
// once, like a loss; so is the outbox losing or regaining its disk.
func (h deviceHealth) stateChanged(last deviceHealth) bool {
	return h.FaceDetector != last.FaceDetector || h.SnapshotsWithheldReason != last.SnapshotsWithheldReason ||
		h.Outbox.Durable != last.Outbox.Durable || h.Outbox.DurableReason != last.Outbox.DurableReason ||
		h.ConfigError != last.ConfigError
}

// losses is the part of the health that, when it changes, is worth a
// message at once.
func (h deviceHealth) losses() [5]uint64 {
	return [5]uint64{h.Outbox.DroppedAge, h.Outbox.DroppedSize, h.Outbox.WriteErrors, h.SnapshotsWithheld, h.SnapshotsDropped}
}

// healthPublisher publishes the device health (retained) at start,
// whenever a loss counter or the state changes (checked every check, and
// at once when the configuration error changes), and at least every every.
type healthPublisher struct {
	pub interface {
		PublishRetained(context.Context, string, any) error
	}
	box          *outbox.Outbox
	snaps        *snapshot.Worker
	check, every time.Duration

	configError atomic.Pointer[string]
	poke        chan struct{}
}

func newHealthPublisher(pub interface {
	PublishRetained(context.Context, string, any) error
}, box *outbox.Outbox, snaps *snapshot.Worker, check, every time.Duration) *healthPublisher {
	return &healthPublisher{pub: pub, box: box, snaps: snaps, check: check, every: every, poke: make(chan struct{}, 1)}
}

// setConfigError is the health's config_error from now on ("" clears it).
func (p *healthPublisher) setConfigError(msg string) {
	p.configError.Store(&msg)
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

func (p *healthPublisher) Run(ctx context.Context) error {
	var last deviceHealth
	var lastSent time.Time
	t := time.NewTicker(p.check)
	defer t.Stop()
	for first := true; ; first = false {
		h := healthOf(p.box.Stats(), p.snaps.Stats())
		if e := p.configError.Load(); e != nil {
			h.ConfigError = *e
		}
		if first || h.losses() != last.losses() || h.stateChanged(last) || time.Since(lastSent) >= p.every {
			h.At = event.Time{Time: time.Now()}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			// Queued counts as sent: the client delivers it after the
			// reconnect; publishing it again would only pile up copies.
			if err := p.pub.PublishRetained(pctx, "health", h); err == nil || errors.Is(err, egress.ErrQueued) {
				last, lastSent = h, time.Now()
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-p.poke:
		}
	}
}
