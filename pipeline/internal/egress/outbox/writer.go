package outbox

import (
	"context"
	"errors"
	"os"
	"slices"
)

// writer runs the log's planned I/O in batches: it takes every op planned
// since the last batch, runs them and fsyncs once (wal.execute), then
// reports back. The mutex is held only to take the ops and to apply the
// report, never across I/O. At Close it runs what is left, syncs and
// closes the files.
func (o *Outbox) writer() {
	defer close(o.writerDone)
	w := o.wal
	for {
		o.mu.Lock()
		ops := w.take()
		o.writing = len(ops) > 0
		if o.writing {
			o.taken++
		}
		o.mu.Unlock()
		if len(ops) > 0 {
			res := w.execute(ops)
			o.mu.Lock()
			w.giveBack(ops)
			o.applyWrite(res)
			o.written = o.taken
			o.writing = false
			close(o.batchDone)
			o.batchDone = make(chan struct{})
			o.mu.Unlock()
			continue
		}
		select {
		case <-w.wake:
		case <-o.writerStop:
			o.mu.Lock()
			ops := w.take()
			o.mu.Unlock()
			// Planned after the last take: nothing is planned any more
			// (delivery, sweeper and callers are stopped or refused).
			if len(ops) > 0 {
				res := w.execute(ops)
				o.mu.Lock()
				o.applyWrite(res)
				o.mu.Unlock()
			}
			o.mu.Lock()
			segs := slices.Clone(w.segs)
			o.mu.Unlock()
			o.closeErr = w.close(segs)
			return
		}
	}
}

// applyWrite corrects the layout after a batch: events whose record could
// not be written are kept in memory (and counted), a segment that failed
// is not appended to again. Called with o.mu held.
func (o *Outbox) applyWrite(res writeResult) {
	w := o.wal
	for _, f := range res.failed {
		s := f.seg
		if !s.gone && s.size > f.off {
			w.bytes -= s.size - f.off
			s.size = f.off
		}
		if !s.gone && s == w.active() {
			w.broken = true
		}
	}
	for _, s := range res.syncBad {
		if !s.gone && s == w.active() {
			w.broken = true // as after a failed write: the next event starts a new segment
		}
	}
	for _, it := range res.lost {
		if it.seg != nil && !it.done {
			it.seg.live--
			it.seg = nil
			o.memBytes += it.size
		}
	}
	if len(res.lost) > 0 {
		w.release()
	}
	errs := uint64(len(res.lost) + res.unsynced)
	o.st.WriteErrors += errs
	switch {
	case errs > 0 && !o.writeErr:
		o.writeErr = true
		o.writeErrText = diskError(res.err)
		o.log.Error("outbox: events not stored durably; they are kept in memory", "events", errs, "err", res.err)
	case errs == 0 && res.stored > 0 && o.writeErr:
		o.writeErr, o.writeErrText = false, ""
		o.log.Info("outbox: storing events durably again")
	}
	switch {
	case res.stateErr != nil && !o.stateErr:
		o.stateErr = true
		o.log.Error("outbox: record of open situations not written; after a crash their ends may be missing and seq may start again",
			"file", SituationsFile, "err", res.stateErr)
	case res.stateErr == nil && res.stateOK && o.stateErr:
		o.stateErr = false
		o.log.Info("outbox: record of open situations written again", "file", SituationsFile)
	}
}

// diskError is err as an operator reads it in the health report: the
// system's words ("no space left on device") without the Go wrapping, the
// file named only by the log line that reported it in full.
func diskError(err error) string {
	what := "write failed: "
	if errors.Is(err, errNotSynced) {
		what = "fsync failed: "
	}
	var pe *os.PathError
	switch {
	case err == nil:
		return what + "unknown error"
	case errors.As(err, &pe):
		return what + pe.Err.Error()
	}
	return what + err.Error()
}

// flush waits until the writer has run everything planned so far (for
// tests: after it, what Event accepted is on disk and, with SyncAlways,
// synced).
func (o *Outbox) flush(ctx context.Context) error {
	if o.wal == nil {
		return nil
	}
	for {
		o.mu.Lock()
		idle := len(o.wal.ops) == 0 && !o.writing
		ch := o.batchDone
		o.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-o.writerDone:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
