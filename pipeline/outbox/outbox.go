// Package outbox queues what the cameras want to send and hands it to the
// egress guard in order, retrying until the broker acknowledged it, so a
// slow or absent broker never blocks analysis and never loses an event.
//
// Not yet durable: the queue lives in memory, so a crash loses what was not
// acknowledged. The on-disk store-and-forward outbox is issue 5.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Publisher is the egress guard as the outbox sees it.
type Publisher interface {
	PublishEvent(ctx context.Context, ev event.Event) error
	PublishCameraStatus(ctx context.Context, st event.CameraStatus) error
}

// ErrSuppressed is returned by a Publisher for messages the policy does not
// allow; the outbox drops them instead of retrying.
var ErrSuppressed = errors.New("suppressed by policy")

// Config for an Outbox.
type Config struct {
	Publisher Publisher
	// Size bounds the queue; when it is full, Event waits (analysis drops
	// frames meanwhile) rather than dropping an event.
	Size int
	// IsSuppressed reports whether a publish error means "never send this";
	// defaults to errors.Is(err, ErrSuppressed).
	IsSuppressed func(error) bool
	// IsAccepted reports whether a publish error still means the publisher
	// took the message over (e.g. queued for after a reconnect), so it must
	// not be sent again.
	IsAccepted func(error) bool
	Logger     *slog.Logger
}

// Stats are the outbox's counters.
type Stats struct {
	Queued, Published, Suppressed, Retries uint64
	Depth                                  int
}

type item struct {
	ev *event.Event
	st *event.CameraStatus
}

// Outbox is an ordered queue in front of the egress guard.
type Outbox struct {
	cfg  Config
	log  *slog.Logger
	ch   chan item
	done chan struct{}
	once sync.Once

	queued, published, suppressed, retries atomic.Uint64
	// pending counts items queued and not yet delivered or given up, so
	// Drain also waits for the one being delivered.
	pending atomic.Int64
}

// New returns a running outbox; call Close to drain and stop it.
func New(cfg Config) *Outbox {
	if cfg.Size <= 0 {
		cfg.Size = 1024
	}
	if cfg.IsSuppressed == nil {
		cfg.IsSuppressed = func(err error) bool { return errors.Is(err, ErrSuppressed) }
	}
	if cfg.IsAccepted == nil {
		cfg.IsAccepted = func(error) bool { return false }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	o := &Outbox{cfg: cfg, log: cfg.Logger, ch: make(chan item, cfg.Size), done: make(chan struct{})}
	go o.run()
	return o
}

// Event queues ev.
func (o *Outbox) Event(ctx context.Context, ev event.Event) error {
	return o.put(ctx, item{ev: &ev})
}

// Status queues a camera status.
func (o *Outbox) Status(ctx context.Context, st event.CameraStatus) error {
	return o.put(ctx, item{st: &st})
}

func (o *Outbox) put(ctx context.Context, it item) error {
	select {
	case <-o.done:
		return errors.New("outbox closed")
	default:
	}
	o.pending.Add(1)
	select {
	case o.ch <- it:
		o.queued.Add(1)
		return nil
	case <-o.done:
		o.pending.Add(-1)
		return errors.New("outbox closed")
	case <-ctx.Done():
		o.pending.Add(-1)
		return ctx.Err()
	}
}

// Stats returns the counters.
func (o *Outbox) Stats() Stats {
	return Stats{Queued: o.queued.Load(), Published: o.published.Load(),
		Suppressed: o.suppressed.Load(), Retries: o.retries.Load(), Depth: int(o.pending.Load())}
}

func (o *Outbox) run() {
	for {
		select {
		case it := <-o.ch:
			o.deliver(it)
			o.pending.Add(-1)
		case <-o.done:
			return
		}
	}
}

// deliver retries until the publisher accepted it or the outbox closes.
func (o *Outbox) deliver(it item) {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		if it.ev != nil {
			err = o.cfg.Publisher.PublishEvent(ctx, *it.ev)
		} else {
			err = o.cfg.Publisher.PublishCameraStatus(ctx, *it.st)
		}
		cancel()
		switch {
		case err == nil || o.cfg.IsAccepted(err):
			o.published.Add(1)
			if attempt > 0 {
				o.log.Info("outbox delivering again", "after_attempts", attempt+1)
			}
			return
		case o.cfg.IsSuppressed(err):
			o.suppressed.Add(1)
			return
		}
		o.retries.Add(1)
		if attempt == 0 {
			o.log.Warn("outbox publish failed; retrying", "err", err, "depth", len(o.ch))
		}
		select {
		case <-o.done:
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// Drain waits until the queue is empty or ctx ends, then stops the outbox.
// What is still queued then is reported, since it is lost (until issue 5's
// durable outbox).
func (o *Outbox) Drain(ctx context.Context) error {
	defer o.Close()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for o.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			o.log.Error("outbox not drained at shutdown", "lost", o.pending.Load())
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close stops delivery at once.
func (o *Outbox) Close() { o.once.Do(func() { close(o.done) }) }
