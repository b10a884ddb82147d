// Package outbox is the store-and-forward queue between the cameras and
// the egress guard: every event is written to local disk (and synced)
// before Event returns, handed to the guard in order, and removed only when
// the broker acknowledged it (QoS 1 PUBACK). A broker that is away for a
// while, a reconnect, a restart or a kill -9 of the service loses no event
// that Event accepted; delivery is at least once, with the same event id
// each time, so consumers de-duplicate on the id.
//
// # Why an append-only segment log, not an embedded database
//
// The workload is a FIFO: append at the tail, acknowledge at the head, a few
// events per minute, rarely more than some megabytes queued. An append-only
// log of CRC-checked records does exactly that with one write and one fsync
// per event, reclaims space by deleting whole files once every event in
// them is acknowledged, and is a few hundred lines without a dependency.
// Crash safety follows from two rules: a record counts only if its CRC
// matches (a torn or zero-filled tail is cut off on open, never fatal), and
// a record is gone only after a done record for it is written or its whole
// segment is deleted. bbolt would also be crash-safe, but for this workload
// it writes several 4 KiB pages and two fsyncs per transaction, its file
// never shrinks without a compaction pass, and a size bound on disk is then
// hard to state, while the retention policy needs exactly that bound.
//
// On disk: Dir holds segment files %020d.seg (format in record.go). Done
// records (acknowledged, suppressed, dropped) are appended to the same log
// and not synced on their own: losing one to a power cut means one more
// delivery of an event, which at-least-once allows.
//
// # Bounds
//
// MaxBytes bounds the log on disk (and the copy of pending events kept in
// memory); MaxAge is the policy's retention.outbox. What exceeds them is
// dropped oldest first, counted in Stats (DroppedSize, DroppedAge) and
// logged. There are no snapshots yet; when they come they are to be dropped
// before events.
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
// publishing again would only pile up copies.
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

// Errors callers can test with errors.Is.
var (
	// ErrSuppressed is returned by a Publisher for messages the policy does
	// not allow; the outbox drops them instead of retrying.
	ErrSuppressed = errors.New("suppressed by policy")
	// ErrClosed: the outbox was closed.
	ErrClosed = errors.New("outbox: closed")
	// ErrTooLarge: one event is larger than the outbox may hold.
	ErrTooLarge = errors.New("outbox: event too large")
)

// Sync is when appended events are fsynced.
type Sync int

const (
	// SyncAlways fsyncs every event before Event returns: it survives a
	// power cut. The default.
	SyncAlways Sync = iota
	// SyncNever leaves writing back to the OS: it survives a crash or kill
	// of the process, not a power cut or kernel panic.
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
	// IsSuppressed reports whether a publish error means "never send this";
	// defaults to errors.Is(err, ErrSuppressed).
	IsSuppressed func(error) bool
	Logger       *slog.Logger
	// Now is the clock for ages; nil → time.Now.
	Now func() time.Time
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
	Depth       int    // messages waiting (including the one in flight)
	Bytes       int64  // size of the log on disk (in memory: pending events)
	Durable     bool   // Dir is set
}

// item is one queued message: an event (seq > 0) or a camera status.
type item struct {
	seq      uint64
	at       time.Time
	payload  []byte // event JSON
	st       *event.CameraStatus
	seg      *segment // where it is stored; nil in memory
	done     bool
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

	mu       sync.Mutex
	closed   bool
	wal      *wal // nil in memory
	q        []*item
	status   map[string]*item // waiting status per camera
	nextSeq  uint64
	memBytes int64
	writeErr bool // logged the current run of write errors
	st       Stats
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
		wake: make(chan struct{}, 1), status: map[string]*item{}, nextSeq: 1,
	}
	o.maxAge.Store(int64(cfg.MaxAge))
	o.st.Durable = cfg.Dir != ""
	if cfg.Dir != "" {
		w, res, err := openWAL(cfg.Dir, cfg.Sync == SyncAlways, cfg.SegmentBytes, cfg.Logger)
		if err != nil {
			return nil, err
		}
		o.wal = w
		o.nextSeq = res.maxSeq + 1
		for _, p := range res.pending {
			o.q = append(o.q, &item{seq: p.seq, at: time.Unix(0, p.at), payload: p.payload, seg: p.seg})
		}
		o.st.Replayed = uint64(len(res.pending))
		o.st.Truncated = uint64(res.truncated)
		o.log.Info("outbox opened", "dir", cfg.Dir, "pending", len(res.pending), "bytes", w.bytes,
			"sync", cfg.Sync.String(), "max_bytes", cfg.MaxBytes, "max_age", cfg.MaxAge)
		o.expire()
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.stopped.Add(2)
	go o.run()
	go o.sweep()
	return o, nil
}

// SetMaxAge changes the age bound (after a policy reload changed the
// retention); it applies to what is queued already.
func (o *Outbox) SetMaxAge(d time.Duration) {
	o.maxAge.Store(int64(d))
	o.poke()
}

// Event writes ev to the log and queues it; with SyncAlways it is on disk
// when Event returns nil. It does not wait for the broker. If the disk
// fails, the event is still queued in memory (and the failure counted and
// logged): it is then lost only if the process dies before it is sent.
func (o *Outbox) Event(_ context.Context, ev event.Event) error {
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
	it := &item{seq: o.nextSeq, at: o.now(), payload: payload}
	o.nextSeq++
	if o.wal != nil {
		seg, err := o.wal.appendEvent(it.seq, it.at.UnixNano(), payload)
		it.seg = seg
		if err != nil {
			o.st.WriteErrors++
			if !o.writeErr {
				o.writeErr = true
				o.log.Error("outbox: event not stored durably; it is kept in memory", "err", err)
			}
		} else if o.writeErr {
			o.writeErr = false
			o.log.Info("outbox: storing events durably again")
		}
	}
	if it.seg == nil {
		o.memBytes += need
	}
	o.enqueue(it)
	return nil
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

// usage is what MaxBytes bounds.
func (o *Outbox) usage() int64 {
	if o.wal != nil {
		return o.wal.bytes + o.memBytes
	}
	return o.memBytes
}

// makeRoom drops the oldest events until need more bytes fit. Called with
// o.mu held.
func (o *Outbox) makeRoom(need int64) {
	dropped := 0
	for o.usage()+need > o.cfg.MaxBytes {
		if o.wal != nil && o.wal.reclaim() {
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

// finish marks it done for why, counts it and records it on disk. Items
// not in flight leave the queue now; the delivery goroutine removes the one
// in flight. Called with o.mu held; reports false if it was done already.
func (o *Outbox) finish(it *item, why doneReason) bool {
	if it.done {
		return false
	}
	it.done = true
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
	if it.st != nil {
		if o.status[it.st.Camera] == it {
			delete(o.status, it.st.Camera)
		}
	} else if it.seg != nil {
		_ = o.wal.markDone(it.seq, it.seg, why) // lost done record: one more delivery
	} else {
		o.memBytes -= int64(recordSize(len(it.payload)))
	}
	if !it.inflight {
		o.remove(it)
	}
	return true
}

// expire drops events older than MaxAge. Called with o.mu held or before
// the goroutines start.
func (o *Outbox) expire() {
	maxAge := time.Duration(o.maxAge.Load())
	if maxAge <= 0 {
		return
	}
	cutoff := o.now().Add(-maxAge)
	var old []*item
	for _, it := range o.q {
		if it.seq > 0 && !it.done && it.at.Before(cutoff) {
			old = append(old, it)
		}
	}
	for _, it := range old {
		o.finish(it, reasonAge)
	}
	if len(old) > 0 {
		o.log.Warn("outbox: dropped events older than the retention", "dropped", len(old), "max_age", maxAge,
			"dropped_total", o.st.DroppedAge)
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

// Stats returns the counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.st
	s.Depth = len(o.q)
	s.Bytes = o.usage()
	return s
}

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
	var ev event.Event
	if it.st == nil {
		if err := json.Unmarshal(it.payload, &ev); err != nil {
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
			err = o.cfg.Publisher.PublishEvent(ctx, ev)
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
			if o.wal == nil {
				o.log.Error("outbox not drained at shutdown; kept in memory only, so lost", "lost", n)
				return fmt.Errorf("outbox: %d messages not delivered and lost: %w", n, ctx.Err())
			}
			o.log.Info("outbox not drained at shutdown; waiting messages stay on disk for the next start", "waiting", n)
			return nil
		case <-t.C:
		}
	}
	return o.Close()
}

// Close stops delivery at once and closes the log (syncing it first);
// what was not delivered stays on disk.
func (o *Outbox) Close() error {
	o.once.Do(func() {
		o.mu.Lock()
		o.closed = true
		o.mu.Unlock()
		o.cancel()
		o.stopped.Wait()
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.wal != nil {
			o.closeErr = o.wal.close()
		}
	})
	return o.closeErr
}
