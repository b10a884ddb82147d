package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
)

// guardTimeout only stops a hung test; it is not a speed assertion.
const guardTimeout = 30 * time.Second

// recorder fails the first `failures` publishes, optionally blocks until
// gate is closed, then records in order.
type recorder struct {
	mu       sync.Mutex
	failures int
	gate     chan struct{}
	imgErr   error
	got      []string
}

// pass waits at the gate, if there is one: delivery held as while the
// broker is away.
func (p *recorder) pass(ctx context.Context) error {
	if p.gate == nil {
		return nil
	}
	select {
	case <-p.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *recorder) PublishEvent(ctx context.Context, ev event.Event) error {
	if err := p.pass(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Type == "forbidden" {
		return fmt.Errorf("type %q: %w", ev.Type, ErrSuppressed)
	}
	if p.failures > 0 {
		p.failures--
		return errors.New("broker down")
	}
	p.got = append(p.got, ev.ID)
	return nil
}

func (p *recorder) PublishCameraStatus(ctx context.Context, st event.CameraStatus) error {
	if err := p.pass(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, "status:"+st.Camera+":"+string(st.State))
	return nil
}

// PublishSnapshot records "img:<event id>", or fails with imgErr.
func (p *recorder) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	if err := p.pass(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.imgErr != nil {
		return p.imgErr
	}
	p.got = append(p.got, "img:"+eventID)
	return nil
}

func (p *recorder) delivered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

func newOutbox(t *testing.T, cfg Config) *Outbox {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testlog.Discard()
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func drain(t *testing.T, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	if err := o.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if d := o.Stats().Depth; d != 0 {
		t.Fatalf("not drained: depth %d", d)
	}
}

// flush waits until the writer ran everything planned.
func flush(t *testing.T, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	if err := o.flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func ev(id string) event.Event {
	return event.Event{Schema: event.Schema, ID: id, Camera: "cam1", Type: "motion", Phase: event.PhaseStart}
}

func TestOrderedDeliveryWithRetries(t *testing.T) {
	for _, dir := range []string{"", "disk"} {
		t.Run("dir="+dir, func(t *testing.T) {
			if dir != "" {
				dir = t.TempDir()
			}
			pub := &recorder{failures: 3}
			o := newOutbox(t, Config{Publisher: pub, Dir: dir})
			ctx := context.Background()
			var want []string
			for i := range 10 {
				id := fmt.Sprint("e", i)
				if err := o.Event(ctx, ev(id)); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
				if i == 4 {
					o.Event(ctx, event.Event{ID: "x", Type: "forbidden"})
					o.Status(ctx, event.CameraStatus{Camera: "cam1", State: event.StateStreaming})
					want = append(want, "status:cam1:streaming")
				}
			}
			drain(t, o)
			if got := pub.delivered(); !slices.Equal(got, want) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
			st := o.Stats()
			if st.Suppressed != 1 || st.Retries != 3 || st.Published != 11 || st.Depth != 0 || st.Durable != (dir != "") {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestEventAfterCloseFails(t *testing.T) {
	o := newOutbox(t, Config{Publisher: &recorder{}, Dir: t.TempDir()})
	o.Close()
	if err := o.Event(context.Background(), ev("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Event after Close: %v, want ErrClosed", err)
	}
}

// TestReplayAfterRestart: what was not acknowledged when the outbox closed
// is delivered, in order and first, by the next one on the same directory;
// what was acknowledged is not delivered again.
func TestReplayAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	pub := &recorder{}
	o := newOutbox(t, Config{Publisher: pub, Dir: dir})
	for i := range 3 {
		o.Event(ctx, ev(fmt.Sprint("acked", i)))
	}
	drain(t, o)

	down := &recorder{gate: make(chan struct{})} // broker away: never acknowledges
	o = newOutbox(t, Config{Publisher: down, Dir: dir})
	var want []string
	for i := range 5 {
		id := fmt.Sprint("waiting", i)
		if err := o.Event(ctx, ev(id)); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	o.Status(ctx, event.CameraStatus{Camera: "cam1", State: event.StateStreaming}) // not durable
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	pub = &recorder{}
	o = newOutbox(t, Config{Publisher: pub, Dir: dir})
	if st := o.Stats(); st.Replayed != 5 {
		t.Errorf("replayed %d, want 5", st.Replayed)
	}
	o.Event(ctx, ev("new"))
	drain(t, o)
	want = append(want, "new")
	if got := pub.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	// Everything acknowledged: the log shrinks to one (empty) segment.
	o = newOutbox(t, Config{Publisher: pub, Dir: dir})
	if st := o.Stats(); st.Replayed != 0 || st.Bytes != int64(len(segmentMagic)) {
		t.Fatalf("after full delivery: %+v", st)
	}
}

// TestStatusLatestWins: a waiting status is replaced by a newer one of the
// same camera, and still comes after the events queued before it.
func TestStatusLatestWins(t *testing.T) {
	pub := &recorder{gate: make(chan struct{})}
	o := newOutbox(t, Config{Publisher: pub})
	ctx := context.Background()
	o.Event(ctx, ev("e0")) // in flight, blocked at the gate
	o.Status(ctx, event.CameraStatus{Camera: "cam1", State: event.StateConnecting})
	o.Status(ctx, event.CameraStatus{Camera: "cam2", State: event.StateConnecting})
	o.Event(ctx, ev("e1"))
	o.Status(ctx, event.CameraStatus{Camera: "cam1", State: event.StateStreaming})
	o.Event(ctx, ev("e2"))
	close(pub.gate)
	drain(t, o)
	want := []string{"e0", "status:cam2:connecting", "e1", "status:cam1:streaming", "e2"}
	if got := pub.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if st := o.Stats(); st.Superseded != 1 {
		t.Fatalf("superseded %d, want 1", st.Superseded)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestBounds: events beyond MaxBytes or MaxAge are dropped oldest first and
// counted; the newest survive, in order, also across a restart.
func TestBounds(t *testing.T) {
	payload := len(mustJSON(t, ev("e000")))
	rec := int64(recordSize(payload))
	tests := []struct {
		name        string
		maxBytes    int64
		maxAge      time.Duration
		events      int
		step        time.Duration // clock advance after each event
		reopenAfter time.Duration // clock advance before reopening
		minKept     int           // the newest events kept, at least
		dropAge     uint64
	}{
		{name: "no bounds", events: 5, minKept: 5},
		// Space is freed a segment (4 KiB here) at a time, so up to two
		// segments' worth less than MaxBytes is kept.
		{name: "size", maxBytes: 40 << 10, events: 400, minKept: int((40<<10 - 2*4096) / rec)},
		{name: "age", maxAge: 10 * time.Minute, events: 10, step: 2 * time.Minute, minKept: 5, dropAge: 5},
		{name: "age at reopen", maxAge: time.Hour, events: 4, reopenAfter: 2 * time.Hour, dropAge: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
			cfg := Config{Dir: dir, MaxBytes: tt.maxBytes, MaxAge: tt.maxAge, Now: clk.now, Logger: testlog.Discard(), SegmentBytes: 4096}
			cfg.Publisher = &recorder{gate: make(chan struct{})} // broker away
			o, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.events {
				if err := o.Event(context.Background(), ev(fmt.Sprintf("e%03d", i))); err != nil {
					t.Fatal(err)
				}
				clk.add(tt.step)
				if st := o.Stats(); tt.maxBytes > 0 && st.Bytes > tt.maxBytes {
					t.Fatalf("log holds %d bytes, bound %d", st.Bytes, tt.maxBytes)
				}
			}
			o.mu.Lock()
			o.expire()
			o.mu.Unlock()
			st := o.Stats()
			o.Close()

			clk.add(tt.reopenAfter)
			pub := &recorder{}
			cfg.Publisher = pub
			o2 := newOutbox(t, cfg)
			drain(t, o2)
			got := pub.delivered()
			kept := len(got)
			if want := ids(tt.events-kept, tt.events); !slices.Equal(got, want) || kept < tt.minKept {
				t.Errorf("delivered %v; want the newest %d or more, in order", got, tt.minKept)
			}
			st2 := o2.Stats()
			dropped := st.DroppedSize + st2.DroppedSize + st.DroppedAge + st2.DroppedAge
			if dropped != uint64(tt.events-kept) || st.DroppedAge+st2.DroppedAge != tt.dropAge {
				t.Errorf("dropped size %d+%d age %d+%d; want %d in all, %d for age", st.DroppedSize, st2.DroppedSize,
					st.DroppedAge, st2.DroppedAge, tt.events-kept, tt.dropAge)
			}
		})
	}
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("e%03d", i))
	}
	return out
}

// TestSegmentRotation: a log spread over many segments delivers in order
// and deletes every segment once it is fully acknowledged.
func TestSegmentRotation(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	pub := &recorder{gate: gate}
	o := newOutbox(t, Config{Publisher: pub, Dir: dir, SegmentBytes: 4096})
	for i := range 100 {
		o.Event(context.Background(), ev(fmt.Sprintf("e%03d", i)))
	}
	flush(t, o)
	if n := countSegments(t, dir); n < 5 {
		t.Fatalf("%d segments, want several", n)
	}
	close(gate)
	drain(t, o)
	if got := pub.delivered(); !slices.Equal(got, ids(0, 100)) {
		t.Fatalf("delivered %v", got)
	}
	if n := countSegments(t, dir); n != 1 {
		t.Fatalf("%d segments left after delivery, want 1", n)
	}
}

func countSegments(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestCorruptionRecovery: damaged segment files never stop the outbox; the
// intact records before the damage are delivered, the damage is counted,
// and appending works afterwards.
func TestCorruptionRecovery(t *testing.T) {
	tests := []struct {
		name   string
		damage func(data []byte) []byte
		want   []string
	}{
		{"torn tail: half a record", func(b []byte) []byte { return b[:len(b)-7] }, ids(0, 4)},
		{"torn tail: frame only", func(b []byte) []byte { return b[:len(b)-recordLen(b)+frameLen] }, ids(0, 4)},
		{"zero-filled tail", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, ids(0, 5)},
		{"bit flip in the last record", func(b []byte) []byte { b[len(b)-3] ^= 0x40; return b }, ids(0, 4)},
		{"bit flip in the middle", func(b []byte) []byte { b[len(segmentMagic)+frameLen+2] ^= 1; return b }, nil},
		{"garbage length", func(b []byte) []byte { b[len(segmentMagic)] = 0xff; b[len(segmentMagic)+3] = 0x7f; return b }, nil},
		{"bad header", func(b []byte) []byte { b[0] = 'X'; return b }, nil},
		{"empty file", func([]byte) []byte { return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := newOutbox(t, Config{Publisher: &recorder{gate: make(chan struct{})}, Dir: dir})
			for i := range 5 {
				o.Event(context.Background(), ev(fmt.Sprintf("e%03d", i)))
			}
			o.Close()
			seg := onlySegment(t, dir)
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}

			pub := &recorder{}
			o2 := newOutbox(t, Config{Publisher: pub, Dir: dir})
			o2.Event(context.Background(), ev("after"))
			drain(t, o2)
			want := append(slices.Clone(tt.want), "after")
			if got := pub.delivered(); !slices.Equal(got, want) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
			if o2.Stats().Truncated == 0 && tt.name != "zero-filled tail" {
				t.Errorf("damage not counted: %+v", o2.Stats())
			}
			// The repaired log opens cleanly.
			o3 := newOutbox(t, Config{Publisher: pub, Dir: dir})
			if st := o3.Stats(); st.Truncated != 0 || st.Replayed != 0 {
				t.Errorf("second open after repair: %+v", st)
			}
		})
	}
}

// recordLen is the length of the last record of a segment whose records
// all have the same length.
func recordLen(b []byte) int {
	_, n, _ := decodeRecord(b[len(segmentMagic):])
	return n
}

func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(m) != 1 {
		t.Fatalf("segments %v, want one", m)
	}
	return m[0]
}

func TestParseSync(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Sync
		err  bool
	}{{"always", SyncAlways, false}, {"", SyncAlways, false}, {"never", SyncNever, false}, {"sometimes", 0, true}} {
		got, err := ParseSync(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSync(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// TestWriteErrorKeepsEventInMemory: when the disk refuses a write, the
// event is still delivered (from memory) and counted, and the next event
// goes to a fresh segment, durable again.
func TestWriteErrorKeepsEventInMemory(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	pub := &recorder{gate: gate}
	o := newOutbox(t, Config{Publisher: pub, Dir: dir})
	ctx := context.Background()
	o.Event(ctx, ev("e000"))
	flush(t, o) // the writer is idle: its file may be closed under it
	o.mu.Lock()
	o.wal.active().f.Close() // the next write fails
	o.mu.Unlock()
	if err := o.Event(ctx, ev("e001")); err != nil {
		t.Fatal(err)
	}
	flush(t, o) // the failure is known before the next event
	if err := o.Event(ctx, ev("e002")); err != nil {
		t.Fatal(err)
	}
	flush(t, o)
	if st := o.Stats(); st.WriteErrors != 1 {
		t.Fatalf("write errors %d, want 1", st.WriteErrors)
	}
	if n := countSegments(t, dir); n != 2 {
		t.Fatalf("%d segments, want 2 (a new one after the failed write)", n)
	}
	close(gate)
	drain(t, o)
	if got := pub.delivered(); !slices.Equal(got, ids(0, 3)) {
		t.Fatalf("delivered %v", got)
	}
}

// blackhole never acknowledges: it waits until the attempt's ctx ends, like
// the guard while the broker is away.
type blackhole struct{}

func (blackhole) PublishEvent(ctx context.Context, _ event.Event) error {
	<-ctx.Done()
	return ctx.Err()
}

func (blackhole) PublishCameraStatus(ctx context.Context, _ event.CameraStatus) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestRetentionEndsAttempt: the event in flight while the broker is away is
// dropped when it becomes older than MaxAge, and removed from disk.
func TestRetentionEndsAttempt(t *testing.T) {
	dir := t.TempDir()
	o := newOutbox(t, Config{Publisher: blackhole{}, Dir: dir, MaxAge: 50 * time.Millisecond})
	o.Event(context.Background(), ev("e000"))
	deadline := time.Now().Add(guardTimeout)
	for o.Stats().Depth > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("event not dropped: %+v", o.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := o.Stats(); st.DroppedAge != 1 || st.Bytes != int64(len(segmentMagic)) {
		t.Fatalf("stats %+v; want one age drop and an empty log", st)
	}
}
