package observe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// BenchmarkSinkEvent is the cost the hooks add to each event a camera
// queues (events are per situation change, not per frame).
func BenchmarkSinkEvent(b *testing.B) {
	s, err := New(Config{Logger: quiet(), EventTypes: []string{"motion"}})
	if err != nil {
		b.Fatal(err)
	}
	sink := s.Sink(discardSink{})
	ev := event.Event{Camera: "cam1", Type: "motion", Phase: event.PhaseUpdate, At: event.Time{Time: time.Now()}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := sink.Event(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGather is one Prometheus scrape of a box with 8 cameras
// (without the text encoding), the only time counters are read.
func BenchmarkGather(b *testing.B) {
	eg, ob, _ := readySources()
	s, err := New(Config{Logger: quiet(), Egress: eg, Outbox: ob, EventTypes: []string{"motion"}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 8 {
		s.AddCamera(&fakeCam{id: fmt.Sprintf("cam%d", i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Registry().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

type discardSink struct{}

func (discardSink) Event(context.Context, event.Event) error         { return nil }
func (discardSink) Status(context.Context, event.CameraStatus) error { return nil }
