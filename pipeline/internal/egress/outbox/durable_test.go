package outbox

import (
	"context"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestStatsSayNotDurableWhileWritesFail: while the disk refuses the log's
// writes (a full disk, a failing fsync), events are kept in memory, and
// Stats must say so: Durable false, with the reason, until a write
// succeeds again (issue 18 item 3: otherwise the health topic says
// durable:true on a full disk).
func TestStatsSayNotDurableWhileWritesFail(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the next write or fsync fail; heal undoes it.
		fail       func(t *testing.T, o *Outbox, syncErr *atomic.Bool)
		wantReason string
	}{
		{"full disk", func(t *testing.T, o *Outbox, _ *atomic.Bool) {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skip("no /dev/full:", err)
			}
			o.mu.Lock()
			s := o.wal.active()
			s.f.Close()
			s.f = full // every write: ENOSPC
			o.mu.Unlock()
		}, "write failed: no space left on device; events kept in memory"},
		{"fsync fails", func(t *testing.T, o *Outbox, syncErr *atomic.Bool) {
			syncErr.Store(true)
		}, "fsync failed: input/output error; events kept in memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var syncErr atomic.Bool
			syncFile := func(f *os.File) error {
				if syncErr.Load() {
					return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
				}
				return f.Sync()
			}
			gate := make(chan struct{})
			pub := &recorder{gate: gate} // broker away
			o := newOutbox(t, Config{Publisher: pub, Dir: t.TempDir(), syncFile: syncFile})
			ctx := context.Background()
			o.Event(ctx, ev("e000"))
			flush(t, o)
			if st := o.Stats(); !st.Durable || st.DurableReason != "" || st.WriteFailing {
				t.Fatalf("before the failure: %+v", st)
			}

			tt.fail(t, o, &syncErr)
			o.Event(ctx, ev("e001"))
			flush(t, o)
			st := o.Stats()
			if st.Durable || !st.WriteFailing || st.DurableReason != tt.wantReason {
				t.Fatalf("while writes fail: durable %v, write_failing %v, reason %q; want false, true, %q",
					st.Durable, st.WriteFailing, st.DurableReason, tt.wantReason)
			}

			syncErr.Store(false)
			o.Event(ctx, ev("e002")) // a fresh segment, which takes it
			flush(t, o)
			if st := o.Stats(); !st.Durable || st.DurableReason != "" || st.WriteFailing {
				t.Fatalf("after a write succeeded again: durable %v, write_failing %v, reason %q", st.Durable, st.WriteFailing, st.DurableReason)
			}
			close(gate)
			drain(t, o)
			if got := pub.delivered(); !slices.Equal(got, ids(0, 3)) {
				t.Fatalf("delivered %v", got)
			}
		})
	}
}

// TestStatsInMemoryNotDurable: an outbox without Dir says why it is not
// durable, and is not "failing": nothing is written on purpose.
func TestStatsInMemoryNotDurable(t *testing.T) {
	o := newOutbox(t, Config{Publisher: &recorder{}})
	if st := o.Stats(); st.Durable || st.WriteFailing || st.DurableReason == "" {
		t.Fatalf("in memory: %+v", st)
	}
}
