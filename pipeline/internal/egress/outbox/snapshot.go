package outbox

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// snapshotItem is an image waiting for delivery.
type snapshotItem struct {
	camera, eventID string
	jpeg            []byte
	// start is its situation's start if that was still queued when the
	// image came: if the start does not leave, the image does not either.
	start *item
}

// Snapshot queues the anonymised image of the situation eventID behind
// everything queued before it, so behind its start: the guard judges the
// start first and lets the image follow only if it admitted the start (see
// egress.Guard.PublishSnapshot). Images are kept in memory only (an image
// must not rest on the box), sent at most once, and are the first to go
// under pressure: the oldest waiting image is dropped when SnapshotBytes,
// MaxSnapshots or MaxBytes would be exceeded, before any event. It keeps
// jpeg until the image is delivered or dropped.
func (o *Outbox) Snapshot(_ context.Context, camera, eventID string, jpeg []byte) error {
	if _, ok := o.cfg.Publisher.(SnapshotPublisher); !ok {
		return ErrNoSnapshots
	}
	size := int64(len(jpeg))
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if size > min(o.cfg.SnapshotBytes, o.cfg.MaxBytes/2) {
		return fmt.Errorf("%w: snapshot of %d bytes", ErrTooLarge, size)
	}
	dropped := 0
	for o.imgBytes+size > o.cfg.SnapshotBytes || o.imgCount >= o.cfg.MaxSnapshots {
		if !o.dropOldestImage() {
			break // only the one in flight is left
		}
		dropped++
	}
	// MaxBytes: an image never pushes out an event. Free delivered
	// records and older images; if that is not enough, this one goes.
	for o.usage()+size > o.cfg.MaxBytes {
		if o.wal != nil && o.wal.reclaim() {
			continue
		}
		if !o.dropOldestImage() {
			// Not counted here: the caller counts what it could not hand over.
			return fmt.Errorf("outbox: full (max_bytes %d): snapshot dropped", o.cfg.MaxBytes)
		}
		dropped++
	}
	switch {
	case dropped > 0 && !o.imgFull:
		o.imgFull = true
		o.log.Warn("outbox: too many snapshots waiting; dropping the oldest", "max_bytes", o.cfg.SnapshotBytes,
			"max_snapshots", o.cfg.MaxSnapshots, "dropped_total", o.st.SnapshotsDropped)
	case dropped == 0 && o.imgFull:
		o.imgFull = false
		o.log.Info("outbox: snapshots fit again", "dropped_total", o.st.SnapshotsDropped)
	}
	img := &snapshotItem{camera: camera, eventID: eventID, jpeg: jpeg}
	for _, x := range slices.Backward(o.q) {
		if x.ev != nil && x.ev.EventID == eventID && x.ev.Phase == event.PhaseStart {
			img.start = x
			break
		}
	}
	it := &item{at: o.now(), size: size, img: img}
	o.imgBytes += size
	o.imgCount++
	o.st.SnapshotsQueued++
	o.q = append(o.q, it)
	o.poke()
	return nil
}

// dropOldestImage drops the oldest waiting image that is not in flight.
// Called with o.mu held.
func (o *Outbox) dropOldestImage() bool {
	for _, it := range o.q {
		if it.img != nil && !it.done && !it.inflight {
			o.finish(it, reasonSize)
			return true
		}
	}
	return false
}

// deliverSnapshot hands an image to the guard once: images are sent at
// most once, so a failed attempt drops it instead of trying again (the
// guard may have queued it). Like an event, it waits while the broker is
// away, up to MaxAge.
func (o *Outbox) deliverSnapshot(it *item) {
	o.mu.Lock()
	if it.done {
		o.mu.Unlock()
		return
	}
	camera, eventID, jpeg, start := it.img.camera, it.img.eventID, it.img.jpeg, it.img.start
	startWhy := doneReason(0)
	if start != nil {
		startWhy = start.why // start is done: it was delivered (or dropped) before
	}
	o.mu.Unlock()
	if start != nil {
		if startWhy != reasonAcked {
			// Its start did not leave (the policy withheld it, or it was
			// dropped for the bounds): the image does not either.
			why := reasonSuppressed
			if startWhy != reasonSuppressed {
				why = reasonSize
			}
			o.mu.Lock()
			o.finish(it, why)
			o.mu.Unlock()
			return
		}
	}
	ctx, cancel := o.ctx, context.CancelFunc(func() {})
	if maxAge := time.Duration(o.maxAge.Load()); maxAge > 0 {
		ctx, cancel = context.WithTimeout(o.ctx, maxAge-o.now().Sub(it.at))
	}
	err := o.cfg.Publisher.(SnapshotPublisher).PublishSnapshot(ctx, camera, eventID, jpeg)
	expired := ctx.Err() != nil && o.ctx.Err() == nil
	cancel()
	why := reasonAcked
	switch {
	case err == nil:
	case o.cfg.IsSuppressed(err):
		why = reasonSuppressed
	case o.ctx.Err() != nil:
		return // closing: images are not kept
	case expired:
		why = reasonAge
	default:
		why = reasonSize // any other failure: dropped, not retried
		o.log.Warn("outbox: snapshot not published; dropped", "camera", camera, "event_id", eventID, "err", err)
	}
	o.mu.Lock()
	o.finish(it, why)
	o.mu.Unlock()
}
