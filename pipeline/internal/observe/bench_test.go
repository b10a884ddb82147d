package observe

import (
	"fmt"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
)

// BenchmarkGather is one Prometheus scrape of a box with 8 cameras
// (without the text encoding), the only time counters are read: observe
// does no work per frame or event.
func BenchmarkGather(b *testing.B) {
	eg, ob, _ := readySources()
	s, err := New(Config{Logger: testlog.Discard(), Egress: eg, Outbox: ob, EventTypes: []string{"motion"}})
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
