package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// TestCameraEvents: Event counts what it accepts per camera, type and
// phase, and the capture-to-queue latency of starts and updates (the
// numbers observe exports as edgeguard_events_total and
// edgeguard_event_latency_seconds); a refused event is not counted.
func TestCameraEvents(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	o := newOutbox(t, Config{Publisher: &recorder{gate: make(chan struct{})}, Now: c.now})
	ctx := context.Background()
	at := func(ago time.Duration) event.Time { return event.Time{Time: c.now().Add(-ago)} }
	for _, e := range []event.Event{
		{Camera: "cam1", Type: "motion", Phase: event.PhaseStart, At: at(80 * time.Millisecond)},
		{Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: at(120 * time.Millisecond)},
		{Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: at(20 * time.Second)},
		{Camera: "cam1", Type: "motion", Phase: event.PhaseEnd, At: at(time.Minute)},    // not a latency
		{Camera: "cam1", Type: "loitering", Phase: event.PhaseStart},                    // no At: not a latency
		{Camera: "cam2", Type: "motion", Phase: event.PhaseStart, At: at(-time.Second)}, // clock skew: 0
	} {
		if err := o.Event(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()
	if err := o.Event(ctx, event.Event{Camera: "cam1", Type: "motion", Phase: event.PhaseStart}); err == nil {
		t.Fatal("Event after Close succeeded")
	}

	got := o.CameraEvents("cam1")
	want := map[Kind]uint64{
		{"motion", event.PhaseStart}: 1, {"motion", event.PhaseUpdate}: 2, {"motion", event.PhaseEnd}: 1,
		{"loitering", event.PhaseStart}: 1,
	}
	if len(got.Queued) != len(want) {
		t.Errorf("queued %v, want %v", got.Queued, want)
	}
	for k, n := range want {
		if got.Queued[k] != n {
			t.Errorf("queued %v = %d, want %d", k, got.Queued[k], n)
		}
	}
	l := got.Latency
	if l.Count != 3 || l.Sum != 80*time.Millisecond+120*time.Millisecond+20*time.Second {
		t.Errorf("latency count %d sum %v, want 3, 20.2s", l.Count, l.Sum)
	}
	// 80 ms ≤ 100 ms (index 4), 120 ms ≤ 250 ms (index 5), 20 s above 10 s.
	wantBuckets := [len(LatencyBounds)]uint64{4: 1, 5: 1}
	if l.Buckets != wantBuckets {
		t.Errorf("buckets %v, want %v", l.Buckets, wantBuckets)
	}
	if l := o.CameraEvents("cam2").Latency; l.Count != 1 || l.Sum != 0 || l.Buckets[0] != 1 {
		t.Errorf("cam2 latency %+v, want one 0", l)
	}
	if got := o.CameraEvents("cam3"); got.Queued != nil || got.Latency.Count != 0 {
		t.Errorf("cam3 never queued: %+v", got)
	}
	// A copy: the caller may keep it.
	got.Queued[Kind{"motion", event.PhaseStart}] = 99
	if n := o.CameraEvents("cam1").Queued[Kind{"motion", event.PhaseStart}]; n != 1 {
		t.Errorf("CameraEvents shares its map: %d", n)
	}
}

// BenchmarkCountEvent is what counting adds to Event: no allocation once
// a camera's kind was seen.
func BenchmarkCountEvent(b *testing.B) {
	o := &Outbox{cams: map[string]*cameraCounts{}}
	now := time.Now()
	e := event.Event{Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: event.Time{Time: now.Add(-100 * time.Millisecond)}}
	b.ReportAllocs()
	for b.Loop() {
		o.countEvent(&e, now)
	}
	if testing.AllocsPerRun(100, func() { o.countEvent(&e, now) }) != 0 {
		b.Error("countEvent allocates")
	}
}
