package egress_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// benchRules allows every event type at any time, the listed fields, and a
// rate limit no benchmark reaches.
type benchRules struct{ fields []string }

func (benchRules) Identity() (string, string)           { return "bench", "0123456789abcdef" }
func (benchRules) AllowsType(string) bool               { return true }
func (benchRules) AllowsEventAt(string, time.Time) bool { return true }
func (r benchRules) AllowsField(f string) bool          { return slices.Contains(r.fields, f) }
func (benchRules) MaxEventsPerMinute() int              { return 1 << 30 }

// benchEvent is a typical start event: two boxes, a zone, a count.
func benchEvent() event.Event {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return event.Event{
		Schema: event.Schema, ID: event.NewID(), EventID: event.NewID(), Device: "box1", Camera: "cam01",
		Type: "line_crossing", Phase: event.PhaseStart, Seq: 42,
		At: event.Time{Time: at}, StartedAt: event.Time{Time: at}, Score: 0.63,
		Zone: "gate", Count: 2,
		Boxes: []event.Box{{X: 0.1, Y: 0.4, W: 0.05, H: 0.25}, {X: 0.6, Y: 0.45, W: 0.06, H: 0.27}},
	}
}

// BenchmarkEventEncode: what every event costs on its way out before MQTT.
// "json" is the JSON encoding alone; "filter+json" adds the egress
// guard's policy filter (schema, type, schedule, fields); "admit+json" is
// the guard's whole decision (filter and the per-situation rate limiter)
// as PublishEvent makes it. ns/op and allocs/op are per event.
func BenchmarkEventEncode(b *testing.B) {
	r := benchRules{fields: []string{egress.FieldScore, egress.FieldZone, egress.FieldCount, egress.FieldBoxes}}
	ev := benchEvent()
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuclock.Start()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
	})
	b.Run("filter+json", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuclock.Start()
		for b.Loop() {
			out, _, err := egress.Filter(r, ev)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
	})
	b.Run("admit+json", func(b *testing.B) {
		g, err := egress.New(egress.Config{Broker: "tcp://127.0.0.1:1", TopicPrefix: "eg", Device: "box1",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, r)
		if err != nil {
			b.Fatal(err)
		}
		// Each op is an update of one open situation, as while a situation runs.
		if err := egress.Admit(g, ev); err != nil {
			b.Fatal(err)
		}
		up := ev
		up.Phase = event.PhaseUpdate
		b.ReportAllocs()
		cpu := cpuclock.Start()
		for i := 0; b.Loop(); i++ {
			up.Seq = uint64(43 + i)
			up.At = event.Time{Time: ev.At.Add(time.Duration(i) * time.Millisecond)}
			if err := egress.Admit(g, up); err != nil { // filter included
				b.Fatal(err)
			}
			if _, err := json.Marshal(up); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
	})
}
