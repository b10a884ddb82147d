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

// The log is split in two halves so that no lock is held across a write or
// an fsync:
//
//   - the layout (wal: which segment a record goes to, at which offset,
//     segment sizes and live counts, rotation and deletion) is pure
//     bookkeeping. The Outbox changes it under its mutex, synchronously, so
//     the size bound (MaxBytes) and Stats are exact at once;
//   - every change of the layout appends the I/O it needs (create, write,
//     truncate, delete a segment) to wal.ops, and one writer goroutine
//     executes those ops in order, outside the mutex (execute). Order on
//     disk is the order of the layout: a done record is planned after its
//     event record, so it is also written after it.
//
// A write the disk refuses is reported back (writeResult) and the layout
// corrected (Outbox.applyWrite): the events concerned are kept in memory,
// and the next event starts a new segment.

// segment is one file of the log, named by a counter (%020d.seg) so that
// name order is write order.
type segment struct {
	id   uint64
	path string
	size int64 // bytes once every planned op ran
	live int   // events in it not yet done
	gone bool  // deleted from the layout

	// Owned by the writer (and by openWAL before it starts).
	f   *os.File
	bad bool // a create or write failed: nothing more is written to it
}

// opKind is one kind of planned I/O.
type opKind uint8

const (
	opCreate   opKind = iota + 1 // create seg, write its header
	opWrite                      // write rec at off
	opTruncate                   // truncate seg to off
	opDelete                     // close and delete seg
	opState                      // replace SituationsFile with rec.payload (see situations.go)
)

// walOp is one planned I/O operation.
type walOp struct {
	kind opKind
	seg  *segment
	off  int64
	rec  record
	it   *item // opWrite of an event record: told when it could not be stored
}

// wal is the append-only segment log. Its layout is changed under the
// Outbox's mutex; its files are touched only by the writer (execute,
// close), or by openWAL before the writer starts.
type wal struct {
	dir     string
	sync    bool
	segMax  int64
	segs    []*segment // oldest first; the last is the one appended to
	nextSeg uint64
	bytes   int64 // sum of segment sizes, as planned
	broken  bool  // the last write failed: start a new segment first
	ops     []walOp
	spare   []walOp // the other op buffer (double buffering, no allocation per batch)
	wake    chan struct{}
	log     *slog.Logger

	// Writer-owned.
	buf      []byte
	dirty    []*segment             // written since their last fsync
	syncFile func(f *os.File) error // (*os.File).Sync; a seam for tests
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
// directory itself fail. It does its I/O itself, before any writer runs.
func openWAL(dir string, sync bool, segMax int64, syncFile func(*os.File) error, log *slog.Logger) (*wal, openResult, error) {
	if syncFile == nil {
		syncFile = (*os.File).Sync
	}
	w := &wal{dir: dir, sync: sync, segMax: segMax, nextSeg: 1, log: log, wake: make(chan struct{}, 1), syncFile: syncFile}
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
		w.rotate()
	}
	w.release()
	// No writer yet: run the planned ops here, so that a directory that
	// cannot take a segment fails New.
	ops := w.take()
	wr := w.execute(ops)
	w.giveBack(ops)
	if len(wr.failed) > 0 {
		w.closeFiles()
		return nil, res, wr.err
	}
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
		if err := w.syncFile(f); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
	}
	return s, recs, nil
}

func (w *wal) active() *segment { return w.segs[len(w.segs)-1] }

// plan queues an I/O operation for the writer.
func (w *wal) plan(op walOp) {
	w.ops = append(w.ops, op)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take hands the planned ops to the writer. Called with the Outbox's
// mutex held.
func (w *wal) take() []walOp {
	ops := w.ops
	w.ops, w.spare = w.spare[:0], nil
	return ops
}

// giveBack returns a executed op buffer for reuse, without the references
// it held (payloads, items). Called with the Outbox's mutex held.
func (w *wal) giveBack(ops []walOp) {
	clear(ops)
	if w.spare == nil {
		w.spare = ops[:0]
	}
}

// rotate starts a new segment in the layout.
func (w *wal) rotate() {
	s := &segment{id: w.nextSeg, path: w.segPath(w.nextSeg), size: int64(len(segmentMagic))}
	w.nextSeg++
	w.segs = append(w.segs, s)
	w.bytes += s.size
	w.broken = false
	w.plan(walOp{kind: opCreate, seg: s})
}

// appendEvent plans the event record of it and returns its segment. The
// record is on disk once the writer ran the op (and, with the sync policy,
// fsynced the batch it belongs to).
func (w *wal) appendEvent(it *item, payload []byte) *segment {
	need := int64(recordSize(len(payload)))
	if w.broken || w.active().size+need > w.segMax && w.active().size > int64(len(segmentMagic)) {
		w.rotate()
	}
	s := w.active()
	w.plan(walOp{kind: opWrite, seg: s, off: s.size, it: it,
		rec: record{kind: kindEvent, seq: it.seq, at: it.at.UnixNano(), payload: payload}})
	s.size += need
	w.bytes += need
	s.live++
	return s
}

// markDone records that the event seq (stored in s) left the outbox. The
// done record is not synced on its own: if a power cut loses it, the event
// is delivered once more (at least once), which costs less than an fsync
// per acknowledgement. The next event's fsync or Close syncs it.
func (w *wal) markDone(seq uint64, s *segment, why doneReason) {
	s.live--
	if !w.broken {
		a := w.active()
		n := int64(recordSize(1))
		w.plan(walOp{kind: opWrite, seg: a, off: a.size, rec: record{kind: kindDone, seq: seq, payload: doneBytes[why]}})
		a.size += n
		w.bytes += n
	}
	w.release()
}

// doneBytes are the payloads of done records, one per reason, so that
// planning one allocates nothing.
var doneBytes = func() (b [reasonCorrupt + 1][]byte) {
	for i := range b {
		b[i] = []byte{byte(i)}
	}
	return b
}()

// release deletes the oldest segments while every event in them is done.
// Only a prefix is deleted: a done record may refer to an event in an
// older segment, and deleting it while that segment stays would bring the
// event back after a restart.
func (w *wal) release() {
	for len(w.segs) > 1 && w.segs[0].live == 0 {
		s := w.segs[0]
		s.gone = true
		w.plan(walOp{kind: opDelete, seg: s})
		w.bytes -= s.size
		w.segs = w.segs[1:]
	}
	// Nothing pending at all: empty the last segment too, so delivered
	// events do not stay on the device. One ftruncate, no fsync: if it
	// is lost, the done records still say everything was delivered.
	if a := w.active(); len(w.segs) == 1 && a.live == 0 && a.size > int64(len(segmentMagic)) {
		w.plan(walOp{kind: opTruncate, seg: a, off: int64(len(segmentMagic))})
		w.bytes -= a.size - int64(len(segmentMagic))
		a.size = int64(len(segmentMagic))
	}
}

// reclaim frees space held by delivered records in the active segment by
// starting a new one when nothing in it is pending. It reports whether
// bytes were freed.
func (w *wal) reclaim() bool {
	before := w.bytes
	w.release()
	if a := w.active(); a.live == 0 && a.size > int64(len(segmentMagic)) {
		w.rotate()
		w.release()
	}
	return w.bytes < before
}

// writeResult is what the writer reports after a batch.
type writeResult struct {
	stored   int        // event records written
	lost     []*item    // events whose record could not be written
	failed   []segFail  // segments that could not be created or written
	unsynced int        // events written, but their fsync failed
	syncBad  []*segment // segments whose fsync failed
	err      error      // the first error
	// stateErr: SituationsFile could not be written (stateOK: it was).
	stateErr error
	stateOK  bool
}

// segFail: writing seg failed at off; it is cut back to off.
type segFail struct {
	seg *segment
	off int64
}

func (r *writeResult) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// execute runs ops in order, then fsyncs (with the sync policy) every
// segment written since its last fsync, if this batch wrote an event:
// group commit, one fsync for every record written since the last.
// Contiguous records of one segment are written with one write. It is
// called by the writer without any lock: it touches only the segments'
// files and the writer-owned fields.
func (w *wal) execute(ops []walOp) writeResult {
	var res writeResult
	var (
		cur     *segment // segment of the write being gathered
		off     int64
		items   []*item
		nEvents int
		state   []byte // the latest SituationsFile planned, not written yet
	)
	writeState := func() {
		if err := w.writeState(state); err != nil {
			res.stateErr = err
		} else {
			res.stateOK = true
		}
		state = nil
	}
	flush := func() {
		if cur == nil {
			return
		}
		s := cur
		cur = nil
		n, err := s.f.WriteAt(w.buf, off)
		if err != nil {
			if n > 0 {
				_ = s.f.Truncate(off)
			}
			s.bad = true
			res.failed = append(res.failed, segFail{s, off})
			res.lost = append(res.lost, items...)
			res.fail(fmt.Errorf("outbox: write: %w", err))
			return
		}
		res.stored += nEvents
		if !slices.Contains(w.dirty, s) {
			w.dirty = append(w.dirty, s)
		}
	}
	for _, op := range ops {
		if op.kind == opState {
			state = op.rec.payload // only the latest one is written
			continue
		}
		if state != nil && (op.kind == opDelete || op.kind == opTruncate || op.kind == opWrite && op.it == nil) {
			// A done record or a deletion may take the last trace of a
			// situation out of the log: the record that still has it
			// (or says it ended) goes first, after the events it reflects.
			flush()
			writeState()
		}
		s := op.seg
		if op.kind == opWrite && !s.bad && cur == s && off+int64(len(w.buf)) == op.off {
			w.buf = appendRecord(w.buf, op.rec)
			if op.it != nil {
				items = append(items, op.it)
				nEvents++
			}
			continue
		}
		flush()
		switch op.kind {
		case opCreate:
			if err := w.create(s); err != nil {
				s.bad = true
				res.failed = append(res.failed, segFail{s, 0})
				res.fail(err)
			}
		case opWrite:
			if s.bad {
				if op.it != nil {
					res.lost = append(res.lost, op.it)
				}
				continue
			}
			cur, off, items, nEvents = s, op.off, items[:0], 0
			w.buf = appendRecord(w.buf[:0], op.rec)
			if op.it != nil {
				items = append(items, op.it)
				nEvents = 1
			}
		case opTruncate:
			if !s.bad {
				_ = s.f.Truncate(op.off) // if lost: the done records still say so
			}
		case opDelete:
			if s.f != nil {
				s.f.Close()
				s.f = nil
			}
			w.dirty = slices.DeleteFunc(w.dirty, func(d *segment) bool { return d == s })
			if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				w.log.Warn("outbox: cannot delete delivered segment", "segment", filepath.Base(s.path), "err", err)
			}
		}
	}
	flush()
	if w.sync && res.stored > 0 {
		for _, s := range w.dirty {
			if err := w.syncFile(s.f); err != nil {
				res.syncBad = append(res.syncBad, s)
				res.fail(fmt.Errorf("%w: %w", errNotSynced, err))
			}
		}
		if len(res.syncBad) > 0 {
			res.unsynced = res.stored
		}
		w.dirty = w.dirty[:0]
	}
	if state != nil {
		writeState()
	}
	return res
}

// create makes the file of s. Its directory entry is synced too, or a
// power cut could lose the whole file although its data was synced.
func (w *wal) create(s *segment) error {
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: new segment: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(s.path)
		return fmt.Errorf("outbox: new segment: %w", err)
	}
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		return fail(err)
	}
	if w.sync {
		if err := w.syncFile(f); err != nil {
			return fail(err)
		}
		if err := syncDir(w.dir); err != nil {
			return fail(err)
		}
	}
	s.f = f
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

// close syncs what was written since the last fsync (done records) and
// closes every file. Called by the writer as it stops.
func (w *wal) close(segs []*segment) error {
	var err error
	for _, s := range w.dirty {
		if s.f != nil {
			if serr := w.syncFile(s.f); err == nil {
				err = serr
			}
		}
	}
	w.dirty = nil
	for _, s := range segs {
		if s.f != nil {
			if cerr := s.f.Close(); err == nil {
				err = cerr
			}
			s.f = nil
		}
	}
	return err
}

// closeFiles closes the files of an openWAL that fails.
func (w *wal) closeFiles() {
	for _, s := range w.segs {
		if s.f != nil {
			s.f.Close()
		}
	}
	w.segs = nil
}
