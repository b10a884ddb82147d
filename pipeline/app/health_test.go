package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// TestHealthSaysWhetherTheOutboxIsDurable: the health topic must not say
// "durable":true while the outbox keeps events in memory because its disk
// refuses writes (issue 18 item 3), and must say why; a change of it is
// published at once.
func TestHealthSaysWhetherTheOutboxIsDurable(t *testing.T) {
	const full = "write failed: no space left on device; events kept in memory"
	tests := []struct {
		name  string
		stats outbox.Stats
		want  string // in the JSON
	}{
		{"on disk", outbox.Stats{Durable: true}, `"outbox":{"durable":true,"depth"`},
		{"disk full", outbox.Stats{WriteFailing: true, DurableReason: full, WriteErrors: 2},
			`"outbox":{"durable":false,"durable_reason":"` + full + `","depth"`},
		{"in memory", outbox.Stats{DurableReason: "outbox in memory only"},
			`"outbox":{"durable":false,"durable_reason":"outbox in memory only","depth"`},
	}
	var last deviceHealth
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := healthOf(tt.stats, snapshot.Stats{Detector: "blazeface"})
			b, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.want) {
				t.Fatalf("health %s\nwant it to contain %s", b, tt.want)
			}
			if i > 0 && !h.stateChanged(last) {
				t.Errorf("a change of durable (%v → %v) is not published at once", last.Outbox, h.Outbox)
			}
			if h.stateChanged(h) {
				t.Error("an unchanged health counts as changed")
			}
			last = h
		})
	}
}
