package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

// gated holds publishes back until gate is closed, so the test can make
// sure its subscriber is back before the replay starts (mosquittotest's
// subscriber uses a clean session and would miss messages otherwise).
type gated struct {
	Publisher
	gate chan struct{}
}

func (g gated) PublishEvent(ctx context.Context, ev event.Event) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Publisher.PublishEvent(ctx, ev)
}

// TestMosquittoOutageAndRestart: with a real broker and the real egress
// guard, events written while the broker is down survive a restart of the
// service (outbox and guard closed and opened again) and arrive after the
// broker is back: each exactly once after de-duplication by id, in order.
func TestMosquittoOutageAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mosquitto")
	}
	b := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/+/events")
	pol := policy.Default()
	dir := t.TempDir()
	ctx := context.Background()
	isSuppressed := func(err error) bool { return errors.Is(err, egress.ErrSuppressed) }
	newGuard := func() *egress.Guard {
		g, err := egress.New(egress.Config{Broker: b.URL(), TopicPrefix: "eg", Device: "dev1",
			ConnectTimeout: 2 * time.Second, ReconnectMax: 500 * time.Millisecond, Logger: testlog.Discard()}, pol)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	var want []string
	emit := func(o *Outbox, n int) {
		for range n {
			id := event.NewID()
			now := event.Time{Time: time.Now()}
			e := event.Event{Schema: event.Schema, ID: id, EventID: id, Device: "dev1", Camera: "cam1",
				Type: "motion", Phase: event.PhaseStart, At: now, StartedAt: now, Score: 0.5}
			if err := o.Event(ctx, e); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
	}
	received := func(ms []mosquittotest.Message) []string {
		var ids []string
		seen := map[string]bool{}
		for _, m := range ms {
			var e event.Event
			if err := json.Unmarshal(m.Payload, &e); err != nil {
				t.Fatalf("payload %q: %v", m.Payload, err)
			}
			if e.Camera == "cam1" && !seen[e.ID] {
				seen[e.ID] = true
				ids = append(ids, e.ID)
			}
		}
		return ids
	}

	g1 := newGuard()
	cctx, cancel := context.WithTimeout(ctx, guardTimeout)
	if err := g1.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	o1 := newOutbox(t, Config{Publisher: g1, Dir: dir, IsSuppressed: isSuppressed})
	emit(o1, 5)
	sub.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(received(ms)) == 5 }, guardTimeout)

	b.Stop()
	emit(o1, 10) // on disk; the broker is away
	// "Restart" of the service: close both, as a shutdown would.
	if err := o1.Close(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	g1.Drain(sctx)
	cancel()

	g2 := newGuard()
	t.Cleanup(func() { g2.Close() })
	cctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	g2.Connect(cctx) // broker still away: keeps trying in the background
	cancel()
	gate := make(chan struct{})
	o2 := newOutbox(t, Config{Publisher: gated{g2, gate}, Dir: dir, IsSuppressed: isSuppressed})
	if st := o2.Stats(); st.Replayed != 10 {
		t.Fatalf("replayed %d events from disk, want 10", st.Replayed)
	}
	emit(o2, 3) // new events queue behind the replayed ones

	b.Restart()
	// Wait until the subscriber is back: probe through the guard itself.
	for i := 0; ; i++ {
		now := event.Time{Time: time.Now()}
		id := fmt.Sprint("probe", i)
		pctx, cancel := context.WithTimeout(ctx, guardTimeout)
		err := g2.PublishEvent(pctx, event.Event{Schema: event.Schema, ID: id, EventID: id, Device: "dev1", Camera: "probe",
			Type: "motion", Phase: event.PhaseStart, At: now, StartedAt: now})
		cancel()
		// ErrQueued: sent across the reconnect, not known to be acknowledged.
		if err != nil && !errors.Is(err, egress.ErrQueued) {
			t.Fatalf("probe: %v", err)
		}
		if slices.ContainsFunc(sub.Messages(), func(m mosquittotest.Message) bool { return m.Topic == "eg/dev1/probe/events" }) {
			break
		}
		if i == 100 {
			t.Fatal("subscriber did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(gate)
	msgs := sub.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(received(ms)) >= len(want) }, guardTimeout)
	drain(t, o2)
	if got := received(sub.Messages()); !slices.Equal(got, want) {
		t.Fatalf("received (de-duplicated) %v\nwant %v", got, want)
	}
	total := 0
	for _, m := range msgs {
		if m.Topic == "eg/dev1/cam1/events" {
			total++
		}
	}
	t.Logf("%d events, %d messages on the events topic (%d duplicates)", len(want), total, total-len(want))
}
