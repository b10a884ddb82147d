package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// segment is one file of the log, named by a counter (%020d.seg) so that
// name order is write order.
type segment struct {
	id   uint64
	path string
	f    *os.File
	size int64
	live int // events in it not yet done
}

// wal is the append-only segment log. It is not safe for concurrent use:
// the Outbox calls it under its mutex.
type wal struct {
	dir     string
	sync    bool
	segMax  int64
	segs    []*segment // oldest first; the last is the one appended to
	nextSeg uint64
	bytes   int64 // sum of segment sizes
	broken  bool  // the last write failed: start a new segment first
	buf     []byte
	log     *slog.Logger
}

// pendingRecord is an event found on disk without a done record.
type pendingRecord struct {
	seq     uint64
	at      int64
	payload []byte
	seg     *segment
}

// openResult is what openWAL found.
type openResult struct {
	pending   []pendingRecord // in seq order
	maxSeq    uint64
	truncated int   // segments whose tail (or all) was cut off as torn/corrupt
	cutBytes  int64 // bytes cut off
}

// openWAL opens or creates the log in dir. Torn or corrupt tails are cut
// off (and counted), never fatal: what precedes them is intact, and what
// follows cannot be framed again without its length. Only I/O errors on the
// directory itself fail.
func openWAL(dir string, sync bool, segMax int64, log *slog.Logger) (*wal, openResult, error) {
	w := &wal{dir: dir, sync: sync, segMax: segMax, nextSeg: 1, log: log}
	var res openResult
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, res, fmt.Errorf("outbox: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, res, fmt.Errorf("outbox: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || len(name) != 20 || !e.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)

	pending := map[uint64]pendingRecord{}
	for _, id := range ids {
		s, recs, err := w.openSegment(id, &res)
		if err != nil {
			w.closeFiles()
			return nil, res, err
		}
		w.segs = append(w.segs, s)
		w.bytes += s.size
		w.nextSeg = id + 1
		for _, r := range recs {
			res.maxSeq = max(res.maxSeq, r.seq)
			switch r.kind {
			case kindEvent:
				// Copy: the payload aliases the file's buffer, which is
				// dropped; pending records are kept until delivered.
				pending[r.seq] = pendingRecord{seq: r.seq, at: r.at, payload: slices.Clone(r.payload), seg: s}
			case kindDone:
				delete(pending, r.seq)
			}
		}
	}
	for _, p := range pending {
		p.seg.live++
		res.pending = append(res.pending, p)
	}
	slices.SortFunc(res.pending, func(a, b pendingRecord) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	if len(w.segs) == 0 || w.active().size >= w.segMax {
		if err := w.rotate(); err != nil {
			w.closeFiles()
			return nil, res, err
		}
	}
	w.release()
	return w, res, nil
}

func (w *wal) segPath(id uint64) string {
	return filepath.Join(w.dir, fmt.Sprintf("%020d.seg", id))
}

// openSegment reads one segment and cuts off anything after its last
// intact record.
func (w *wal) openSegment(id uint64, res *openResult) (*segment, []record, error) {
	path := w.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	recs, valid, serr := scanSegment(data)
	s := &segment{id: id, path: path, f: f, size: int64(valid)}
	if serr != nil {
		res.truncated++
		res.cutBytes += int64(len(data) - valid)
		w.log.Warn("outbox: cut off a torn or corrupt segment tail", "segment", filepath.Base(path),
			"kept_bytes", valid, "cut_bytes", len(data)-valid, "reason", serr)
		if valid == 0 {
			// No intact header: start the file again.
			if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("outbox: rewrite header: %w", err)
			}
			valid = len(segmentMagic)
			s.size = int64(valid)
			recs = nil
		}
		if err := f.Truncate(int64(valid)); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("outbox: truncate: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
	}
	return s, recs, nil
}

func (w *wal) active() *segment { return w.segs[len(w.segs)-1] }

// rotate starts a new segment. Its directory entry is synced too, or a
// power cut could lose the whole file although its data was synced.
func (w *wal) rotate() error {
	id := w.nextSeg
	path := w.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: new segment: %w", err)
	}
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("outbox: new segment: %w", err)
	}
	if w.sync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("outbox: new segment: %w", err)
		}
		if err := syncDir(w.dir); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
	}
	if len(w.segs) > 0 {
		// Flush unsynced done records of the old one: cheap, and keeps
		// replays after a power cut short.
		if w.sync {
			_ = w.active().f.Sync()
		}
	}
	w.nextSeg++
	w.segs = append(w.segs, &segment{id: id, path: path, f: f, size: int64(len(segmentMagic))})
	w.bytes += int64(len(segmentMagic))
	w.broken = false
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("outbox: sync directory: %w", err)
	}
	return nil
}

// errNotSynced: the record was written but fsync failed, so it may not
// survive a power cut (it does survive a crash of the process).
var errNotSynced = errors.New("outbox: written but not synced")

// appendEvent writes an event record and, with the sync policy, fsyncs it
// before returning. On a write error the segment is cut back to its last
// record, so a half-written record never hides the ones after it, and nil
// is returned for the segment; on an fsync error the segment is returned
// with errNotSynced.
func (w *wal) appendEvent(seq uint64, at int64, payload []byte) (*segment, error) {
	need := int64(recordSize(len(payload)))
	if w.broken || w.active().size+need > w.segMax && w.active().size > int64(len(segmentMagic)) {
		if err := w.rotate(); err != nil {
			return nil, err
		}
	}
	s := w.active()
	if err := w.write(s, record{kind: kindEvent, seq: seq, at: at, payload: payload}); err != nil {
		return nil, err
	}
	s.live++
	if w.sync {
		if err := s.f.Sync(); err != nil {
			w.broken = true
			return s, fmt.Errorf("%w: %w", errNotSynced, err)
		}
	}
	return s, nil
}

func (w *wal) write(s *segment, r record) error {
	w.buf = appendRecord(w.buf[:0], r)
	n, err := s.f.WriteAt(w.buf, s.size)
	if err != nil {
		if n > 0 {
			_ = s.f.Truncate(s.size)
		}
		w.broken = true
		return fmt.Errorf("outbox: write: %w", err)
	}
	s.size += int64(n)
	w.bytes += int64(n)
	return nil
}

// markDone records that the event seq (stored in s) left the outbox. The
// done record is not synced on its own: if a power cut loses it, the event
// is delivered once more (at least once), which costs less than an fsync
// per acknowledgement. The next event's fsync or Close syncs it.
func (w *wal) markDone(seq uint64, s *segment, why doneReason) error {
	s.live--
	var err error
	if !w.broken {
		err = w.write(w.active(), record{kind: kindDone, seq: seq, at: 0, payload: []byte{byte(why)}})
	}
	w.release()
	return err
}

// release deletes the oldest segments while every event in them is done.
// Only a prefix is deleted: a done record may refer to an event in an
// older segment, and deleting it while that segment stays would bring the
// event back after a restart.
func (w *wal) release() {
	for len(w.segs) > 1 && w.segs[0].live == 0 {
		s := w.segs[0]
		s.f.Close()
		if err := os.Remove(s.path); err != nil {
			w.log.Warn("outbox: cannot delete delivered segment", "segment", filepath.Base(s.path), "err", err)
		}
		w.bytes -= s.size
		w.segs = w.segs[1:]
	}
	// Nothing pending at all: empty the last segment too, so delivered
	// events do not stay on the device. One ftruncate, no fsync: if it
	// is lost, the done records still say everything was delivered.
	if a := w.active(); len(w.segs) == 1 && a.live == 0 && a.size > int64(len(segmentMagic)) {
		if err := a.f.Truncate(int64(len(segmentMagic))); err == nil {
			w.bytes -= a.size - int64(len(segmentMagic))
			a.size = int64(len(segmentMagic))
		}
	}
}

// reclaim frees space held by delivered records in the active segment by
// starting a new one when nothing in it is pending. It reports whether
// bytes were freed.
func (w *wal) reclaim() bool {
	before := w.bytes
	w.release()
	if a := w.active(); a.live == 0 && a.size > int64(len(segmentMagic)) {
		if err := w.rotate(); err == nil {
			w.release()
		}
	}
	return w.bytes < before
}

// close syncs the active segment (done records) and closes every file.
func (w *wal) close() error {
	var err error
	if len(w.segs) > 0 {
		err = w.active().f.Sync()
	}
	if cerr := w.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (w *wal) closeFiles() error {
	var err error
	for _, s := range w.segs {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	w.segs = nil
	return err
}
