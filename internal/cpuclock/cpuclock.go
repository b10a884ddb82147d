// Package cpuclock measures the CPU time this process uses, for benchmarks
// that report it per op (cpu-ns/op) next to ns/op: on a shared machine wall
// time per op also counts the time other processes had the cores, CPU time
// much less. For tests only.
package cpuclock

import (
	"syscall"
	"testing"
	"time"
)

// Process is the CPU time (user and system, all threads) this process has
// used; 0 if the system does not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Meter is a measurement from Start on.
type Meter struct{ start time.Duration }

// Start starts measuring the process's CPU time.
func Start() Meter { return Meter{start: Process()} }

// Report reports the CPU time since Start per op of b as cpu-ns/op; call
// it once b's loop is done.
func (m Meter) Report(b *testing.B) {
	b.ReportMetric(float64(Process()-m.start)/float64(b.N), "cpu-ns/op")
}
