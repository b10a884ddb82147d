package outbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// events records the events it is given; those of type "forbidden" are
// refused by the policy, and while down is set nothing is acknowledged.
type events struct {
	mu   sync.Mutex
	got  []event.Event
	down chan struct{} // nil: up; else waits until closed
}

func (p *events) PublishEvent(ctx context.Context, ev event.Event) error {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down != nil {
		select {
		case <-down:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if ev.Type == "forbidden" {
		return ErrSuppressed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, ev)
	return nil
}

func (p *events) PublishCameraStatus(context.Context, event.CameraStatus) error { return nil }

func (p *events) all() []event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]event.Event(nil), p.got...)
}

var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// msg is one message of situation sit on camera cam.
func msg(cam, sit string, phase event.Phase, seq uint64, at time.Duration, score float64) event.Event {
	ev := event.Event{Schema: event.Schema, ID: fmt.Sprintf("%s-%s-%d", cam, phase, seq), EventID: sit, Device: "box",
		Camera: cam, Type: "motion", Phase: phase, Seq: seq, At: event.Time{Time: t0.Add(at)}, StartedAt: event.Time{Time: t0}, Score: score}
	if sit == "withheld" {
		ev.Type = "forbidden"
	}
	if phase == event.PhaseEnd {
		ev.EndedAt = &ev.At
	}
	return ev
}

// TestOpenSituationsEndedAfterRestart: the outbox stops (as after kill -9:
// from the outbox's side nothing ended the situations) with situations
// open; the next New queues exactly one end for each whose start left or
// is still waiting, with the same event_id, the next seq of its camera and
// the time and peak score of its last message, and LastSeq continues each
// camera's seq (issue 18 item 4).
func TestOpenSituationsEndedAfterRestart(t *testing.T) {
	type end struct {
		sit   string
		seq   uint64
		at    time.Duration
		score float64
	}
	tests := []struct {
		name string
		// run1 is queued by the first run; delivered first unless down.
		run1    []event.Event
		down    bool // the broker is away in the first run
		lostRec bool // SituationsFile is lost (only the log says what is open)
		ends    []end
		lastSeq map[string]uint64 // after the restart
	}{
		{name: "start delivered, then the crash",
			run1: []event.Event{msg("cam1", "s1", event.PhaseStart, 1, 0, 0.2)},
			ends: []end{{"s1", 2, 0, 0.2}}, lastSeq: map[string]uint64{"cam1": 2}},
		{name: "updates: the last time, the peak score",
			run1: []event.Event{msg("cam1", "s1", event.PhaseStart, 1, 0, 0.2), msg("cam1", "s1", event.PhaseUpdate, 2, time.Second, 0.9),
				msg("cam1", "s1", event.PhaseUpdate, 3, 2*time.Second, 0.5)},
			ends: []end{{"s1", 4, 2 * time.Second, 0.9}}, lastSeq: map[string]uint64{"cam1": 4}},
		{name: "ended situations stay ended",
			run1:    []event.Event{msg("cam1", "s1", event.PhaseStart, 1, 0, 0.2), msg("cam1", "s1", event.PhaseEnd, 2, time.Second, 0.2)},
			lastSeq: map[string]uint64{"cam1": 2}},
		{name: "a withheld start gets no end",
			run1:    []event.Event{msg("cam1", "withheld", event.PhaseStart, 1, 0, 0.2), msg("cam1", "withheld", event.PhaseUpdate, 2, time.Second, 0.2)},
			lastSeq: map[string]uint64{"cam1": 2}},
		{name: "start still waiting: replayed, then its end",
			run1: []event.Event{msg("cam1", "s1", event.PhaseStart, 7, 0, 0.3)}, down: true,
			ends: []end{{"s1", 8, 0, 0.3}}, lastSeq: map[string]uint64{"cam1": 8}},
		{name: "record lost: the log still says",
			run1: []event.Event{msg("cam1", "s1", event.PhaseStart, 1, 0, 0.3)}, down: true, lostRec: true,
			ends: []end{{"s1", 2, 0, 0.3}}, lastSeq: map[string]uint64{"cam1": 2}},
		{name: "two cameras, each its own seq",
			run1: []event.Event{msg("cam1", "a", event.PhaseStart, 5, 0, 0.1), msg("cam2", "b", event.PhaseStart, 40, time.Second, 0.4),
				msg("cam1", "c", event.PhaseStart, 6, 2*time.Second, 0.6), msg("cam1", "a", event.PhaseEnd, 7, 3*time.Second, 0.1)},
			ends: []end{{"b", 41, time.Second, 0.4}, {"c", 8, 2 * time.Second, 0.6}}, lastSeq: map[string]uint64{"cam1": 8, "cam2": 41}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			pub := &events{}
			if tt.down {
				pub.down = make(chan struct{})
			}
			o := newOutbox(t, Config{Publisher: pub, Dir: dir, EndOpenSituations: true})
			for _, ev := range tt.run1 {
				if err := o.Event(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.down {
				waitFor(t, "the first run's events delivered", func() bool { return o.Stats().Depth == 0 })
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.lostRec {
				if err := os.Remove(filepath.Join(dir, SituationsFile)); err != nil {
					t.Fatal(err)
				}
			}

			pub2 := &events{}
			o2 := newOutbox(t, Config{Publisher: pub2, Dir: dir, EndOpenSituations: true})
			for cam, want := range tt.lastSeq {
				if got := o2.LastSeq(cam); got != want {
					t.Errorf("LastSeq(%s) = %d, want %d", cam, got, want)
				}
			}
			drain(t, o2)
			var got []event.Event
			for _, ev := range pub2.all() {
				if ev.Detail == DetailRestart {
					got = append(got, ev)
				}
			}
			if len(got) != len(tt.ends) {
				t.Fatalf("%d ends after the restart, want %d: %+v", len(got), len(tt.ends), pub2.all())
			}
			for i, w := range tt.ends {
				g := got[i]
				if g.EventID != w.sit || g.Phase != event.PhaseEnd || g.Seq != w.seq || !g.At.Equal(t0.Add(w.at)) ||
					g.EndedAt == nil || !g.EndedAt.Equal(t0.Add(w.at)) || g.Score != w.score || g.ID == "" || g.Device != "box" ||
					!g.StartedAt.Equal(t0) || g.Count != 0 || g.Boxes != nil {
					t.Errorf("end %d: %+v\nwant situation %s, seq %d, at/ended_at t0+%s, score %v", i, g, w.sit, w.seq, w.at, w.score)
				}
			}
			if tt.down && len(pub2.all()) != len(tt.run1)+len(tt.ends) {
				t.Errorf("delivered %d, want the %d replayed and the ends", len(pub2.all()), len(tt.run1))
			}

			// Once: the ends are situations' ends like any other.
			pub3 := &events{}
			o3 := newOutbox(t, Config{Publisher: pub3, Dir: dir, EndOpenSituations: true})
			drain(t, o3)
			if n := len(pub3.all()); n != 0 {
				t.Errorf("a second restart sent %d more: %+v", n, pub3.all())
			}
		})
	}
}

// TestSituationsOff: without EndOpenSituations nothing is recorded, and a
// situation left open stays so (the outbox's own tests, the demo).
func TestSituationsOff(t *testing.T) {
	dir := t.TempDir()
	o := newOutbox(t, Config{Publisher: &events{}, Dir: dir})
	o.Event(context.Background(), msg("cam1", "s1", event.PhaseStart, 1, 0, 0.2))
	drain(t, o)
	if _, err := os.Stat(filepath.Join(dir, SituationsFile)); !os.IsNotExist(err) {
		t.Fatalf("%s written without EndOpenSituations: %v", SituationsFile, err)
	}
	pub := &events{}
	o = newOutbox(t, Config{Publisher: pub, Dir: dir})
	drain(t, o)
	if len(pub.all()) != 0 || o.LastSeq("cam1") != 0 {
		t.Fatalf("sent %+v", pub.all())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guardTimeout) // hang guard
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStartWaitsForTheRecord: with EndOpenSituations a start is handed to
// the guard only once the batch that stores it (and the record saying it
// is open) ran: a crash right after it left must still find it open.
func TestStartWaitsForTheRecord(t *testing.T) {
	disk := newSlowDisk()
	early := make(chan event.Event, 1)
	pub := &checking{check: func(ev event.Event) {
		select {
		case <-disk.release:
		default:
			early <- ev
		}
	}}
	o := newOutbox(t, Config{Publisher: pub, Dir: t.TempDir(), Sync: SyncAlways, syncFile: disk.sync, EndOpenSituations: true})
	disk.armed.Store(true)
	if err := o.Event(context.Background(), msg("cam1", "s1", event.PhaseStart, 1, 0, 0.5)); err != nil {
		t.Fatal(err)
	}
	<-disk.entered                    // the writer is in the batch's fsync
	time.Sleep(50 * time.Millisecond) // room for a delivery that does not wait (not an assertion on time)
	close(disk.release)
	disk.armed.Store(false)
	drain(t, o)
	select {
	case ev := <-early:
		t.Fatalf("start %s handed to the guard before it was stored", ev.EventID)
	default:
	}
	if n := pub.n.Load(); n != 1 {
		t.Fatalf("%d delivered, want 1", n)
	}
}

// checking calls check on every event, then acknowledges it.
type checking struct {
	check func(event.Event)
	n     atomic.Int32
}

func (p *checking) PublishEvent(_ context.Context, ev event.Event) error {
	p.check(ev)
	p.n.Add(1)
	return nil
}

func (p *checking) PublishCameraStatus(context.Context, event.CameraStatus) error { return nil }
