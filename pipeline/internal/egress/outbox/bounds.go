package outbox

import (
	"time"
)

// SetMaxAge changes the age bound (after a policy reload changed the
// retention); it applies to what is queued already.
func (o *Outbox) SetMaxAge(d time.Duration) {
	o.maxAge.Store(int64(d))
	o.poke()
}

// logBytes is the size of the log (in memory: the pending events).
func (o *Outbox) logBytes() int64 {
	if o.wal != nil {
		return o.wal.bytes + o.memBytes
	}
	return o.memBytes
}

// usage is what MaxBytes bounds: the log and the images waiting.
func (o *Outbox) usage() int64 { return o.logBytes() + o.imgBytes }

// makeRoom makes need more bytes fit: it frees delivered records, then
// drops waiting images, then the oldest events. Called with o.mu held.
func (o *Outbox) makeRoom(need int64) {
	dropped := 0
	for o.usage()+need > o.cfg.MaxBytes {
		if o.wal != nil && o.wal.reclaim() {
			continue
		}
		if o.dropOldestImage() {
			continue
		}
		var oldest *item
		for _, it := range o.q {
			if !it.done && it.seq > 0 {
				oldest = it
				break
			}
		}
		if oldest == nil {
			break
		}
		o.finish(oldest, reasonSize)
		dropped++
	}
	if dropped > 0 {
		o.log.Warn("outbox full: dropped the oldest events", "dropped", dropped, "max_bytes", o.cfg.MaxBytes,
			"dropped_total", o.st.DroppedSize)
	}
}

// expire drops events and images older than MaxAge. Called with o.mu held
// or before the goroutines start.
func (o *Outbox) expire() {
	maxAge := time.Duration(o.maxAge.Load())
	if maxAge <= 0 {
		return
	}
	cutoff := o.now().Add(-maxAge)
	var old []*item
	images := 0
	for _, it := range o.q {
		if (it.seq > 0 || it.img != nil) && !it.done && it.at.Before(cutoff) {
			old = append(old, it)
			if it.img != nil {
				images++
			}
		}
	}
	for _, it := range old {
		o.finish(it, reasonAge)
	}
	if len(old) > 0 {
		o.log.Warn("outbox: dropped messages older than the retention", "events", len(old)-images, "snapshots", images,
			"max_age", maxAge, "dropped_total", o.st.DroppedAge)
	}
}

// sweep applies MaxAge while delivery waits for an absent broker.
func (o *Outbox) sweep() {
	defer o.stopped.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case <-t.C:
			o.mu.Lock()
			o.expire()
			o.mu.Unlock()
		}
	}
}
