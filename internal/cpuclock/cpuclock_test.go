package cpuclock

import (
	"testing"
	"time"
)

// TestProcessCounts: busy work shows as CPU time, and the clock does not
// run backwards.
func TestProcessCounts(t *testing.T) {
	before := Process()
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	if after := Process(); after <= before {
		t.Errorf("CPU time %v after 50 ms of busy work, was %v", after, before)
	}
}

func BenchmarkMeter(b *testing.B) {
	cpu := Start()
	for b.Loop() {
		Process()
	}
	cpu.Report(b)
}
