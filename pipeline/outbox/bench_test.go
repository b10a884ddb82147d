package outbox

import (
	"context"
	"testing"

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
			cfg := Config{Publisher: &recorder{gate: make(chan struct{})}, Sync: bc.sync, Logger: quiet, MaxBytes: 1 << 30}
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
