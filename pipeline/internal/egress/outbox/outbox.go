// Package outbox is the store-and-forward queue between the cameras and
// the egress guard: every event is written to local disk (and synced),
// handed to the guard in order, and removed only when the broker
// acknowledged it (QoS 1 PUBACK). A broker that is away for a while, a
// reconnect, a restart or a kill -9 of the service loses no event that is
// on disk (see Durability for the moment an event gets there); delivery is
// at least once, with the same event id each time, so consumers
// de-duplicate on the id.
//
// # Why an append-only segment log, not an embedded database
//
// The workload is a FIFO: append at the tail, acknowledge at the head, a few
// events per minute, rarely more than some megabytes queued. An append-only
// log of CRC-checked records does exactly that with one write and one fsync
// per batch of events, reclaims space by deleting whole files once every
// event in them is acknowledged, and is a few hundred lines without a
// dependency. Crash safety follows from two rules: a record counts only if
// its CRC matches (a torn or zero-filled tail is cut off on open, never
// fatal), and a record is gone only after a done record for it is written
// or its whole segment is deleted. bbolt would also be crash-safe, but for
// this workload it writes several 4 KiB pages and two fsyncs per
// transaction, its file never shrinks without a compaction pass, and a
// size bound on disk is then hard to state, while the retention policy
// needs exactly that bound.
//
// On disk: Dir holds segment files %020d.seg (format in record.go). Done
// records (acknowledged, suppressed, dropped) are appended to the same log
// and not synced on their own: losing one to a power cut means one more
// delivery of an event, which at-least-once allows. Next to them: the lock
// file (lock.go: one process per directory, or two writers would lose each
// other's events) and, with EndOpenSituations, situations.json (the
// situations still open and the last seq per camera, so that a kill -9
// during a situation still gets its end after the restart; situations.go).
//
// # Durability: group commit, off the cameras' goroutines
//
// Event is called on a camera's analyser goroutine, which must not wait on
// the disk, nor on another camera's fsync. So Event encodes the event,
// plans its record in the log's layout and queues it, under a mutex that
// is never held across a write or an fsync, and returns. One writer
// goroutine writes everything planned since its last batch (contiguous
// records in one write) and, with SyncAlways, fsyncs once for all of it:
// group commit. Done records and segment deletions go through the same
// writer in the order they were planned, so a done record never reaches
// the disk before its event.
//
// What a crash loses, at each point:
//   - before Event returns: the event (the camera logs the error, if any);
//   - after Event returned, before the writer's batch with it is written
//     and synced: the event, if the process dies (or, with SyncNever, the
//     power fails) within that window, which is one batch: the write and
//     fsync that were running when it was queued, and its own. Under load
//     that is a few milliseconds; an idle writer starts at once;
//   - once its batch is written: nothing on a crash or kill -9 of the
//     process; once synced (SyncAlways): nothing on a power cut either.
//
// Delivery does not wait for the disk: the guard may get an event before
// it is synced. That is safe because the two outcomes of a crash are both
// covered: an event the broker acknowledged is done whether or not its
// record reached the disk (its done record is planned after its event
// record, so a replay brings back at most an event that was delivered:
// one more delivery, which at-least-once allows), and an event not yet
// acknowledged is lost in that window whether or not it was sent. Waiting
// would only delay delivery by an fsync.
//
// A write the disk refuses keeps the events concerned in memory (counted
// in WriteErrors, logged once per run of failures, and reported by Stats
// as Durable false with the reason until a write succeeds again: the
// health topic and readiness must not claim durability the disk does not
// give); the next event starts a new segment.
//
// # Bounds
//
// MaxBytes bounds the log on disk (and the copy of pending events kept in
// memory) together with the images waiting; MaxAge is the policy's
// retention.outbox. What exceeds them is dropped, images first, then the
// oldest events, counted in Stats (SnapshotsDropped, DroppedSize,
// DroppedAge) and logged.
//
// # Snapshots
//
// Images travel the same ordered path as events: Snapshot queues an
// anonymised JPEG behind everything queued before it, so behind its
// situation's start, and the delivery goroutine hands it to the guard
// after the start was judged. The guard lets an image leave only if it
// admitted the start (see egress.Guard.PublishSnapshot); if the start
// left the outbox another way (withheld, dropped), the image is dropped
// here already. Images are kept in memory only, never written to disk (an
// image must not rest on the box, and a restart loses the waiting ones),
// bounded separately (SnapshotBytes, MaxSnapshots), dropped first under
// pressure, expire with the events' retention, and are sent at most once:
// a failed attempt drops the image instead of trying again.
//
// # Camera status
//
// Camera status messages are not written to disk: they are retained on the
// broker, latest wins, and a restarted camera publishes its state again.
// They travel in the same queue as the events, so a status is delivered
// after every event of its camera that was queued before it; a newer status
// of a camera replaces an older one that is still waiting.
//
// # Delivery
//
// One goroutine hands the oldest pending message to the guard and waits
// for its acknowledgement before the next, which keeps the order (per
// camera and overall) with one message in flight. It waits as long as the
// broker is away rather than giving up after a timeout: the guard keeps an
// unacknowledged message queued and resends it after the reconnect, so
// publishing again would only pile up copies. Live events are kept as
// values and encoded once for the disk; only events replayed from disk are
// decoded.
//
// Known gap, in the guard rather than here: after a reconnect paho reports
// a message it resends from its own queue as done when it is resent, not
// when the PUBACK arrives (see egress.Guard.PublishEvent), so a crash within
// that one round trip can lose that one event. A message dropped for the
// bounds while it is in flight may still arrive, since paho keeps it.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Publisher is the egress guard as the outbox sees it. PublishEvent must
// return nil only once the broker acknowledged the event.
type Publisher interface {
	PublishEvent(ctx context.Context, ev event.Event) error
	PublishCameraStatus(ctx context.Context, st event.CameraStatus) error
}

// SnapshotPublisher is implemented by a Publisher that can send images
// (the egress guard does). Without it, Snapshot refuses every image.
type SnapshotPublisher interface {
	PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error
}

// Errors callers can test with errors.Is.
var (
	// ErrSuppressed is returned by a Publisher for messages the policy does
	// not allow; the outbox drops them instead of retrying.
	ErrSuppressed = errors.New("suppressed by policy")
	// ErrClosed: the outbox was closed.
	ErrClosed = errors.New("outbox: closed")
	// ErrTooLarge: one event (or image) is larger than the outbox may hold.
	ErrTooLarge = errors.New("outbox: event too large")
	// ErrNoSnapshots: the Publisher cannot send images.
	ErrNoSnapshots = errors.New("outbox: the publisher sends no snapshots")
)

// Sync is whether appended events are fsynced.
type Sync int

const (
	// SyncAlways fsyncs every event, in batches (see the package doc,
	// Durability): once synced it survives a power cut. The default.
	SyncAlways Sync = iota
	// SyncNever leaves writing back to the OS: once written it survives a
	// crash or kill of the process, not a power cut or kernel panic.
	SyncNever
)

// ParseSync parses "always" or "never".
func ParseSync(s string) (Sync, error) {
	switch s {
	case "always", "":
		return SyncAlways, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("outbox: sync %q: want always or never", s)
}

func (s Sync) String() string {
	if s == SyncNever {
		return "never"
	}
	return "always"
}

// DefaultMaxBytes is MaxBytes when it is not set.
const DefaultMaxBytes = 64 << 20

// Defaults of the bounds on waiting images: a snapshot at 1280 px is
// 100–300 KiB, so a few MiB hold the images of a busy minute while the
// broker is away, and never more than the box can spare.
const (
	DefaultSnapshotBytes = 4 << 20
	DefaultMaxSnapshots  = 32
)

// Config for an Outbox.
type Config struct {
	Publisher Publisher
	// Dir is where the log lives; "" keeps it in memory only (tests, the
	// demo): then a crash loses what was not delivered.
	Dir string
	// MaxBytes bounds the log on disk (and the pending events in memory);
	// 0 → DefaultMaxBytes. The oldest events are dropped to make room.
	MaxBytes int64
	// MaxAge is how long an event may wait (the policy's
	// retention.outbox); older ones are dropped instead of sent. 0: no
	// limit.
	MaxAge time.Duration
	Sync   Sync
	// SegmentBytes is the size at which a new segment file is started;
	// 0 → MaxBytes/8, at most 4 MiB.
	SegmentBytes int64
	// SnapshotBytes and MaxSnapshots bound the images waiting (in memory
	// only); 0 → DefaultSnapshotBytes, DefaultMaxSnapshots. The oldest
	// waiting image is dropped to make room for a new one.
	SnapshotBytes int64
	MaxSnapshots  int
	// IsSuppressed reports whether a publish error means "never send this";
	// defaults to errors.Is(err, ErrSuppressed).
	IsSuppressed func(error) bool
	Logger       *slog.Logger
	// Now is the clock for ages; nil → time.Now.
	Now func() time.Time

	// DirLock is Dir's lock taken earlier with LockDir (the service takes
	// it before it connects to the broker, so that a second instance stops
	// before it disturbs the first one's MQTT session); New takes it over
	// and Close releases it. nil: New locks Dir itself.
	DirLock *DirLock
	// EndOpenSituations keeps a small record in Dir (SituationsFile) of
	// the situations whose start was queued and whose end not yet, and of
	// the last seq per camera. New then queues the missing end of each
	// situation the previous run could not end (kill -9, power cut), and
	// LastSeq says where each camera's seq continues. See situations.go.
	// Ignored without Dir.
	EndOpenSituations bool

	// syncFile replaces (*os.File).Sync in tests.
	syncFile func(*os.File) error
}

// Stats are the outbox's counters since New.
type Stats struct {
	Queued      uint64 // events and statuses accepted
	Published   uint64 // acknowledged by the broker
	Suppressed  uint64 // not allowed by the policy
	Retries     uint64 // failed publish attempts
	DroppedAge  uint64 // events older than MaxAge (retention), not sent
	DroppedSize uint64 // events dropped to stay within MaxBytes
	Superseded  uint64 // statuses replaced by a newer one before delivery
	Replayed    uint64 // pending events found on disk at New
	Truncated   uint64 // torn/corrupt segment tails cut off at New
	Undecodable uint64 // stored events that do not decode (dropped)
	WriteErrors uint64 // events that could not be written (or synced) to disk
	// Snapshots (images, in memory only; none of the counters above
	// counts them): queued behind their start, acknowledged by the broker,
	// refused by the policy (also when their start did not leave), and
	// dropped: for the image bounds or MaxBytes (before any event), older
	// than MaxAge, or a failed publish (never retried: at most once).
	SnapshotsQueued     uint64
	SnapshotsSent       uint64
	SnapshotsSuppressed uint64
	SnapshotsDropped    uint64
	Depth               int   // messages waiting, images too (including the one in flight)
	Bytes               int64 // size of the log on disk (in memory: pending events)
	SnapshotBytes       int64 // images waiting
	// Durable: an event accepted now is stored on disk. False in memory
	// (Dir "") and while writes to Dir fail (WriteFailing): then events
	// are kept in memory only, and a crash loses them. DurableReason says
	// why it is false.
	Durable       bool
	DurableReason string
	// WriteFailing: the last write (or fsync) to Dir failed; cleared by
	// the next one that succeeds. Readiness reports it; in memory, where
	// nothing is written, it is false.
	WriteFailing bool
}

// item is one queued message: an event (seq > 0), a camera status (st) or
// an image (img).
type item struct {
	seq uint64
	at  time.Time
	// ev is a live event, kept as the value it is: it is encoded once for
	// the disk and once more by the guard after filtering, never decoded.
	// Events replayed from disk have payload (their JSON) instead, decoded
	// when they are delivered.
	ev      *event.Event
	payload []byte
	size    int64 // events: record size; images: JPEG bytes
	st      *event.CameraStatus
	img     *snapshotItem
	seg     *segment // where it is stored; nil in memory
	// sitID is the situation (event_id) a start belongs to, with
	// EndOpenSituations: if it does not leave, the situation is forgotten.
	sitID string
	// batch is the writer's batch that stores this start (and the record
	// saying it is open); it is handed to the guard only once that batch
	// ran, so that a start that left is never missing from the record.
	batch    uint64
	done     bool
	why      doneReason // set with done
	inflight bool
}

// Outbox is the durable ordered queue in front of the egress guard.
type Outbox struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	maxAge atomic.Int64

	ctx      context.Context // ends at Close: stops delivery and the sweeper
	cancel   context.CancelFunc
	wake     chan struct{}
	stopped  sync.WaitGroup
	once     sync.Once
	closeErr error

	// The writer: executes the log's planned I/O (wal.ops) in batches.
	writerStop chan struct{}
	writerDone chan struct{}
	batchDone  chan struct{} // closed and replaced after each batch (flush)

	mu       sync.Mutex // never held across a write or fsync
	closed   bool
	wal      *wal     // nil in memory
	lock     *DirLock // on Dir; released in Close
	writing  bool     // the writer runs a batch
	q        []*item
	status   map[string]*item // waiting status per camera
	nextSeq  uint64
	memBytes int64
	imgBytes int64 // images waiting
	imgCount int
	imgFull  bool // logged that images are being dropped for room
	writeErr bool // logged the current run of write errors
	// writeErrText is the first error of the current run of write
	// errors, for Stats.DurableReason.
	writeErrText string
	sit          *situations // with EndOpenSituations
	taken        uint64      // batches the writer took
	written      uint64      // batches the writer ran
	stateErr     bool        // logged that SituationsFile cannot be written
	st           Stats
	cams         map[string]*cameraCounts // events by camera (counts.go)
}

// New opens (or creates) the log in cfg.Dir, queues the events found there
// for delivery first, and starts delivering.
func New(cfg Config) (*Outbox, error) {
	if cfg.Publisher == nil {
		return nil, errors.New("outbox: no publisher")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = min(cfg.MaxBytes/8, 4<<20)
	}
	cfg.SegmentBytes = max(cfg.SegmentBytes, 4<<10)
	if cfg.SnapshotBytes <= 0 {
		cfg.SnapshotBytes = DefaultSnapshotBytes
	}
	if cfg.MaxSnapshots <= 0 {
		cfg.MaxSnapshots = DefaultMaxSnapshots
	}
	if cfg.IsSuppressed == nil {
		cfg.IsSuppressed = func(err error) bool { return errors.Is(err, ErrSuppressed) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Outbox{
		cfg: cfg, log: cfg.Logger, now: cfg.Now,
		wake: make(chan struct{}, 1), status: map[string]*item{}, cams: map[string]*cameraCounts{}, nextSeq: 1,
		writerStop: make(chan struct{}), writerDone: make(chan struct{}), batchDone: make(chan struct{}),
	}
	o.maxAge.Store(int64(cfg.MaxAge))
	if cfg.Dir != "" {
		lock := cfg.DirLock
		if lock == nil {
			var err error
			if lock, err = LockDir(cfg.Dir); err != nil {
				return nil, err
			}
		} else if filepath.Dir(lock.path) != filepath.Clean(cfg.Dir) {
			lock.Release()
			return nil, fmt.Errorf("outbox: Config.DirLock locks %s, not Dir %s", filepath.Dir(lock.path), cfg.Dir)
		}
		w, res, err := openWAL(cfg.Dir, cfg.Sync == SyncAlways, cfg.SegmentBytes, cfg.syncFile, cfg.Logger)
		if err != nil {
			lock.Release()
			return nil, err
		}
		o.wal, o.lock = w, lock
		o.nextSeq = res.maxSeq + 1
		for _, p := range res.pending {
			o.q = append(o.q, &item{seq: p.seq, at: time.Unix(0, p.at), payload: p.payload,
				size: int64(recordSize(len(p.payload))), seg: p.seg})
		}
		if cfg.EndOpenSituations {
			o.sit, err = loadSituations(cfg.Dir)
			if err != nil {
				o.log.Warn("outbox: record of open situations unreadable; only the log says which were open", "err", err)
			}
			for _, it := range o.q {
				var ev event.Event
				if json.Unmarshal(it.payload, &ev) == nil {
					o.sit.observe(&ev)
					if ev.Phase == event.PhaseStart {
						it.sitID = ev.EventID
					}
				}
			}
		}
		o.st.Replayed = uint64(len(res.pending))
		o.st.Truncated = uint64(res.truncated)
		o.log.Info("outbox opened", "dir", cfg.Dir, "pending", len(res.pending), "bytes", w.bytes,
			"sync", cfg.Sync.String(), "max_bytes", cfg.MaxBytes, "max_age", cfg.MaxAge)
		o.expire()
		o.endOpenSituations()
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.stopped.Add(2)
	go o.run()
	go o.sweep()
	if o.wal != nil {
		go o.writer()
	} else {
		close(o.writerDone)
	}
	return o, nil
}

// Event queues ev for delivery and plans its record in the log; it returns
// without waiting for the disk or the broker, so a camera never waits on
// another's fsync. The writer writes (and with SyncAlways fsyncs) it in
// its next batch; see Durability in the package doc for what a crash
// loses. If the disk fails, the event stays queued in memory (the failure
// counted and logged): it is then lost only if the process dies before it
// is sent. An event accepted is counted by camera, type and phase, with
// its capture-to-queue latency (CameraEvents, what /metrics exports).
//
// The outbox keeps ev as it is until it is delivered: the caller must not
// change what its Boxes, EndedAt or Policy point to afterwards (the cameras
// build every event afresh).
func (o *Outbox) Event(_ context.Context, ev event.Event) error {
	// Encoded outside the lock, once: for the disk, and for the size that
	// MaxBytes bounds (also in memory).
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("outbox: encode event: %w", err)
	}
	need := int64(recordSize(len(payload)))
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if need > min(o.cfg.MaxBytes/2, maxBody) {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, need)
	}
	o.makeRoom(need)
	it := &item{seq: o.nextSeq, at: o.now(), ev: &ev, size: need}
	o.nextSeq++
	if o.wal != nil {
		it.seg = o.wal.appendEvent(it, payload)
	} else {
		o.memBytes += need
	}
	if o.sit != nil {
		o.sit.observe(&ev)
		if ev.Phase == event.PhaseStart {
			it.sitID, it.batch = ev.EventID, o.taken+1
		}
		o.saveSituations()
	}
	o.enqueue(it)
	o.countEvent(&ev, it.at)
	return nil
}

// saveSituations plans the write of the record of open situations, after
// everything planned so far. Called with o.mu held.
func (o *Outbox) saveSituations() {
	if o.sit != nil {
		o.wal.plan(walOp{kind: opState, rec: record{payload: o.sit.encode()}})
	}
}

// endOpenSituations queues the end of every situation the previous run
// left open (see situations.go), behind the replayed events. Called by
// New before delivery starts.
func (o *Outbox) endOpenSituations() {
	if o.sit == nil {
		return
	}
	ends := o.sit.ends()
	var ids []string
	for _, end := range ends {
		if err := o.Event(context.Background(), end); err != nil {
			o.log.Error("outbox: end of a situation left open by the previous run not queued", "event_id", end.EventID,
				"camera", end.Camera, "type", end.Type, "err", err)
			continue
		}
		ids = append(ids, end.EventID)
	}
	if len(ids) > 0 {
		o.log.Warn("outbox: the previous run stopped without ending situations (kill -9 or power loss?); their ends are queued with detail restart",
			"situations", len(ids), "event_ids", ids)
	}
}

// LastSeq is the last seq the outbox queued or found for camera (with
// EndOpenSituations; else 0), the ends it queued at New included: the
// camera's next message takes LastSeq+1, so seq keeps increasing across
// restarts.
func (o *Outbox) LastSeq(camera string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sit == nil {
		return 0
	}
	return o.sit.seq[camera]
}

// Status queues a camera status (in memory only), replacing a waiting
// older status of the same camera.
func (o *Outbox) Status(_ context.Context, st event.CameraStatus) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if old := o.status[st.Camera]; old != nil && !old.inflight && !old.done {
		old.done = true
		o.st.Superseded++
		o.remove(old)
	}
	it := &item{st: &st, at: o.now()}
	o.status[st.Camera] = it
	o.enqueue(it)
	return nil
}

// Stats returns the counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.st
	s.Depth = len(o.q)
	s.Bytes = o.logBytes()
	s.SnapshotBytes = o.imgBytes
	switch {
	case o.wal == nil:
		s.DurableReason = "outbox in memory only (outbox.memory: true): a crash or restart loses waiting events"
	case o.writeErr:
		s.WriteFailing = true
		s.DurableReason = o.writeErrText + "; events kept in memory"
	default:
		s.Durable = true
	}
	return s
}

// Drain waits until everything queued was delivered or ctx ends, then
// closes the outbox. Events still waiting then stay on disk and are sent
// after the next start; only in memory (Dir "") are they lost, which is
// reported as an error.
func (o *Outbox) Drain(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		o.mu.Lock()
		n := len(o.q)
		o.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			if err := o.Close(); err != nil {
				return err
			}
			o.mu.Lock()
			images := o.imgCount
			o.mu.Unlock()
			if o.wal == nil {
				o.log.Error("outbox not drained at shutdown; kept in memory only, so lost", "lost", n, "snapshots", images)
				return fmt.Errorf("outbox: %d messages not delivered and lost: %w", n, ctx.Err())
			}
			o.log.Info("outbox not drained at shutdown; waiting events stay on disk for the next start, snapshots are lost",
				"waiting", n-images, "snapshots_lost", images)
			return nil
		case <-t.C:
		}
	}
	return o.Close()
}

// Close stops delivery at once, writes what is still planned and closes
// the log (syncing it first); events not delivered stay on disk, images
// waiting are dropped.
func (o *Outbox) Close() error {
	o.once.Do(func() {
		o.mu.Lock()
		o.closed = true
		o.mu.Unlock()
		o.cancel()
		o.stopped.Wait() // delivery and the sweeper: no more done records
		close(o.writerStop)
		<-o.writerDone
		o.lock.Release() // after the last write: the next owner finds the log complete
	})
	return o.closeErr
}
