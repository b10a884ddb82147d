package outbox

import (
	"context"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
)

// BenchmarkAppend measures Event (encode, write and, with SyncAlways, fsync
// one event) while the broker is away, so nothing is delivered meanwhile.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		dir  bool
		sync Sync
	}{{"fsync", true, SyncAlways}, {"nosync", true, SyncNever}, {"memory", false, SyncAlways}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{Publisher: &recorder{gate: make(chan struct{})}, Sync: bc.sync, Logger: testlog.Discard(), MaxBytes: 1 << 30}
			if bc.dir {
				cfg.Dir = b.TempDir()
			}
			o, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			now := event.Time{}
			e := event.Event{Schema: event.Schema, ID: event.NewID(), EventID: event.NewID(), Device: "edge-01",
				Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: now, StartedAt: now, Score: 0.42}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := o.Event(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEventParallel measures Event from several goroutines at once,
// as several cameras call it, with SyncAlways on a real directory and the
// broker away. It shows whether cameras wait on each other's disk.
func BenchmarkEventParallel(b *testing.B) {
	o, err := New(Config{Publisher: &recorder{gate: make(chan struct{})}, Dir: b.TempDir(), Sync: SyncAlways,
		Logger: testlog.Discard(), MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	now := event.Time{}
	e := event.Event{Schema: event.Schema, ID: event.NewID(), EventID: event.NewID(), Device: "edge-01",
		Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: now, StartedAt: now, Score: 0.42}
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines, like a box with a few cameras per core
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := o.Event(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
