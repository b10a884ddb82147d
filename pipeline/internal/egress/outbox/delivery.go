package outbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// run is the delivery goroutine (see Delivery in the package doc): one
// message in flight, oldest first, until Close.
func (o *Outbox) run() {
	defer o.stopped.Done()
	for {
		it := o.next()
		if it == nil {
			return
		}
		o.deliver(it)
	}
}

// next returns the oldest waiting item, marked in flight, or nil at Close.
func (o *Outbox) next() *item {
	for {
		if o.ctx.Err() != nil {
			return nil
		}
		o.mu.Lock()
		if len(o.q) > 0 {
			it := o.q[0]
			it.inflight = true
			o.mu.Unlock()
			return it
		}
		o.mu.Unlock()
		select {
		case <-o.wake:
		case <-o.ctx.Done():
			return nil
		}
	}
}

// deliver hands it to the publisher until it is acknowledged, suppressed,
// dropped or the outbox closes (then it stays queued, and on disk).
func (o *Outbox) deliver(it *item) {
	defer func() {
		o.mu.Lock()
		it.inflight = false
		if it.done {
			o.remove(it)
		}
		o.mu.Unlock()
	}()
	if it.img != nil {
		o.deliverSnapshot(it)
		return
	}
	if it.batch > 0 {
		// With EndOpenSituations a start waits for the disk (one batch,
		// an fsync with SyncAlways): had it left first, a crash right
		// then would leave a start out there that no record knows of, and
		// its end would never come. Only starts wait; cameras do not.
		o.waitWritten(it.batch)
	}
	ev := it.ev
	if it.st == nil && ev == nil {
		// Replayed from disk: the only events decoded.
		ev = new(event.Event)
		if err := json.Unmarshal(it.payload, ev); err != nil {
			// CRC-checked bytes that are not an event: written by a
			// different version. Never sendable.
			o.log.Error("outbox: stored event does not decode; dropped", "seq", it.seq, "err", err)
			o.mu.Lock()
			o.finish(it, reasonCorrupt)
			o.mu.Unlock()
			return
		}
	}
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		o.mu.Lock()
		done := it.done
		o.mu.Unlock()
		if done {
			return
		}
		ctx, cancel := o.ctx, context.CancelFunc(func() {})
		if maxAge := time.Duration(o.maxAge.Load()); maxAge > 0 && it.st == nil {
			// Retention also ends the attempt: an event is not sent once
			// it is older than the policy allows.
			ctx, cancel = context.WithTimeout(o.ctx, maxAge-o.now().Sub(it.at))
		}
		var err error
		if it.st != nil {
			err = o.cfg.Publisher.PublishCameraStatus(ctx, *it.st)
		} else {
			err = o.cfg.Publisher.PublishEvent(ctx, *ev)
		}
		expired := ctx.Err() != nil && o.ctx.Err() == nil
		cancel()
		why := doneReason(0)
		switch {
		case err == nil:
			why = reasonAcked
		case o.cfg.IsSuppressed(err):
			why = reasonSuppressed
		case o.ctx.Err() != nil:
			return // closing: stays queued
		case expired:
			why = reasonAge
		}
		if why != 0 {
			o.mu.Lock()
			o.finish(it, why)
			o.mu.Unlock()
			if attempt > 0 && why == reasonAcked {
				o.log.Info("outbox delivering again", "after_attempts", attempt+1)
			}
			if why == reasonAge {
				o.log.Warn("outbox: event expired while waiting for the broker; dropped", "seq", it.seq)
			}
			return
		}
		o.mu.Lock()
		o.st.Retries++
		depth := len(o.q)
		o.mu.Unlock()
		if attempt == 0 {
			o.log.Warn("outbox publish failed; retrying", "err", err, "depth", depth)
		}
		select {
		case <-o.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// waitWritten waits until the writer ran batch, or the outbox closes.
func (o *Outbox) waitWritten(batch uint64) {
	for {
		o.mu.Lock()
		done := o.written >= batch
		ch := o.batchDone
		o.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-o.ctx.Done():
			return
		case <-o.writerDone:
			return
		}
	}
}

func (o *Outbox) enqueue(it *item) {
	o.q = append(o.q, it)
	o.st.Queued++
	o.poke()
}

func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// remove takes a done item out of the queue (not the one in flight).
func (o *Outbox) remove(it *item) {
	for i, x := range o.q {
		if x == it {
			o.q = append(o.q[:i], o.q[i+1:]...)
			return
		}
	}
}

// finish marks it done for why, counts it and records it on disk. Items
// not in flight leave the queue now; the delivery goroutine removes the one
// in flight. Called with o.mu held; reports false if it was done already.
func (o *Outbox) finish(it *item, why doneReason) bool {
	if it.done {
		return false
	}
	it.done, it.why = true, why
	if it.img != nil {
		switch why {
		case reasonAcked:
			o.st.SnapshotsSent++
		case reasonSuppressed:
			o.st.SnapshotsSuppressed++
		default:
			o.st.SnapshotsDropped++
		}
		o.imgBytes -= it.size
		o.imgCount--
		it.img.jpeg, it.img.start = nil, nil
		if !it.inflight {
			o.remove(it)
		}
		return true
	}
	switch why {
	case reasonAcked:
		o.st.Published++
	case reasonSuppressed:
		o.st.Suppressed++
	case reasonAge:
		o.st.DroppedAge++
	case reasonSize:
		o.st.DroppedSize++
	case reasonCorrupt:
		o.st.Undecodable++
	}
	if it.sitID != "" && why != reasonAcked && o.sit != nil {
		// The start did not leave: neither may an end after a restart.
		if _, open := o.sit.open[it.sitID]; open {
			delete(o.sit.open, it.sitID)
			o.saveSituations()
		}
	}
	if it.st != nil {
		if o.status[it.st.Camera] == it {
			delete(o.status, it.st.Camera)
		}
	} else if it.seg != nil {
		o.wal.markDone(it.seq, it.seg, why) // a lost done record means one more delivery
	} else {
		o.memBytes -= it.size
	}
	if !it.inflight {
		o.remove(it)
	}
	return true
}
