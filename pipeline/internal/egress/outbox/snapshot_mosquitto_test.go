package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/jpegtest"
	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

// scheduledSnapshots allows motion with snapshots on Mondays 08:00–18:00
// (Berlin) only.
const scheduledSnapshots = `apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: scheduled-snapshots
  version: "1"
  controller: Stadt Beispiel, Ordnungsamt
  contact: datenschutz@example.org
  legal_basis: "Art. 6(1)(e) GDPR"
  dpia: DSFA-2026-01
  approved: 2026-10-28
retention: {outbox: 1h}
audio: discard
egress:
  events: [motion]
  snapshots: true
  max_events_per_minute: 20
  schedule:
    timezone: Europe/Berlin
    windows: [{days: [mon], from: "08:00", to: "18:00"}]
anonymisation:
  faces: fill
`

// TestSnapshotWaitsForItsStart is issue 13's reproduction: while the
// outbox holds a backlog (delivery held at a gate, as when the broker is
// away), a situation starts outside the policy's schedule and its snapshot
// is finished. The image must not leave: the guard withholds the start when
// the outbox delivers it, and the image may only follow its start. A second
// situation inside the schedule is the control: its image does leave, after
// its start.
func TestSnapshotWaitsForItsStart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mosquitto")
	}
	pol, err := policy.Parse("p.yaml", []byte(scheduledSnapshots))
	if err != nil {
		t.Fatal(err)
	}
	b := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/#")
	g, err := egress.New(egress.Config{Broker: b.URL(), TopicPrefix: "eg", Device: "dev1",
		ConnectTimeout: 2 * time.Second, Logger: testlog.Discard()}, pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	if err := g.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	o := newOutbox(t, Config{Publisher: gated{g, gate}, IsSuppressed: func(err error) bool { return errors.Is(err, egress.ErrSuppressed) }})

	start := func(at time.Time) event.Event {
		id := event.NewID()
		return event.Event{Schema: event.Schema, ID: event.NewID(), EventID: id, Device: "dev1", Camera: "cam1",
			Type: "motion", Phase: event.PhaseStart, At: event.Time{Time: at}, StartedAt: event.Time{Time: at}, Score: 0.5}
	}
	monday := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // 13:00 in Berlin: inside
	sunday := monday.Add(-24 * time.Hour)                    // outside
	day, night := start(monday), start(sunday)
	img := jpegtest.JFIF(t)
	for _, ev := range []event.Event{day, night} {
		if err := o.Event(ctx, ev); err != nil {
			t.Fatal(err)
		}
		// The snapshot worker hands over the finished image while the
		// start still waits in the outbox.
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		err := snapshotPath(o, g).PublishSnapshot(sctx, ev.Camera, ev.EventID, img)
		scancel()
		if err != nil && !errors.Is(err, egress.ErrQueued) {
			t.Fatalf("snapshot of %s: %v", ev.EventID, err)
		}
	}
	// A last event through the same path: once it arrived, everything
	// before it was forwarded by the broker.
	probe := start(monday.Add(time.Minute))
	probe.Camera = "probe"
	if err := o.Event(ctx, probe); err != nil {
		t.Fatal(err)
	}
	close(gate) // the backlog drains
	drain(t, o)
	msgs := sub.WaitFor(t, func(ms []mosquittotest.Message) bool {
		for _, m := range ms {
			if m.Topic == "eg/dev1/probe/events" {
				return true
			}
		}
		return false
	}, guardTimeout)

	var order []string
	for _, m := range msgs {
		switch {
		case strings.HasSuffix(m.Topic, "/snapshot/"+night.EventID):
			order = append(order, "night image")
		case strings.HasSuffix(m.Topic, "/snapshot/"+day.EventID):
			order = append(order, "day image")
		case m.Topic == "eg/dev1/cam1/events":
			var e event.Event
			if err := json.Unmarshal(m.Payload, &e); err != nil {
				t.Fatal(err)
			}
			switch e.EventID {
			case day.EventID:
				order = append(order, "day start")
			case night.EventID:
				order = append(order, "night start")
			}
		}
	}
	if strings.Join(order, ", ") != "day start, day image" {
		t.Fatalf("the broker got %q; want only \"day start, day image\" (the night start is outside the schedule, so its image must not leave either)", order)
	}
}

// snapshotPath is where the service sends finished snapshots.
func snapshotPath(o *Outbox, g *egress.Guard) interface {
	PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error
} {
	return snapshotQueue{o} // behind its start, through the outbox
}

type snapshotQueue struct{ o *Outbox }

func (q snapshotQueue) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	return q.o.Snapshot(ctx, camera, eventID, jpeg)
}

// PublishSnapshot lets images through gated; they wait behind their start,
// which waits at the gate.
func (g gated) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	return g.Publisher.(SnapshotPublisher).PublishSnapshot(ctx, camera, eventID, jpeg)
}
