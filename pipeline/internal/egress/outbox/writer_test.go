package outbox

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowDisk is a sync seam whose fsync blocks, once armed, until released.
type slowDisk struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	syncs   int // fsyncs while armed
}

func newSlowDisk() *slowDisk {
	return &slowDisk{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (d *slowDisk) sync(f *os.File) error {
	if d.armed.Load() {
		d.mu.Lock()
		d.syncs++
		d.mu.Unlock()
		d.entered <- struct{}{}
		<-d.release
	}
	return f.Sync()
}

// TestEventDoesNotWaitForTheDisk: while the writer is stuck in an fsync,
// Event still returns (cameras do not wait on the disk, nor on each
// other), and what queued meanwhile is written and synced in one batch
// (group commit), in order, and delivered.
func TestEventDoesNotWaitForTheDisk(t *testing.T) {
	disk := newSlowDisk()
	gate := make(chan struct{})
	pub := &recorder{gate: gate}
	dir := t.TempDir()
	o := newOutbox(t, Config{Publisher: pub, Dir: dir, Sync: SyncAlways, syncFile: disk.sync})
	ctx := context.Background()
	disk.armed.Store(true)
	if err := o.Event(ctx, ev("e000")); err != nil {
		t.Fatal(err)
	}
	<-disk.entered // the writer now waits in e000's fsync

	// Several cameras at once, while the disk hangs.
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Go(func() {
				for i := range 5 {
					if err := o.Event(ctx, ev(fmt.Sprintf("e%d%02d", c+1, i))); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(guardTimeout): // hang guard, not a speed assertion
		t.Fatal("Event waited for the disk")
	}
	if st := o.Stats(); st.Queued != 21 {
		t.Fatalf("queued %d, want 21", st.Queued)
	}
	close(disk.release)
	flush(t, o)
	disk.mu.Lock()
	syncs := disk.syncs
	disk.mu.Unlock()
	if syncs != 2 {
		t.Fatalf("%d fsyncs for 21 events, want 2: e000's, then one for the 20 queued while it ran", syncs)
	}
	disk.armed.Store(false)

	// On disk, durable: a restart replays all 21.
	o.Close()
	pub = &recorder{}
	o = newOutbox(t, Config{Publisher: pub, Dir: dir})
	if st := o.Stats(); st.Replayed != 21 {
		t.Fatalf("replayed %d, want 21", st.Replayed)
	}
	drain(t, o)
	got := pub.delivered()
	if len(got) != 21 || got[0] != "e000" {
		t.Fatalf("delivered %v", got)
	}
	// Each camera's events in its order.
	for c := range 4 {
		var mine []string
		for _, id := range got {
			if id[1] == byte('1'+c) {
				mine = append(mine, id)
			}
		}
		if !slices.IsSorted(mine) || len(mine) != 5 {
			t.Fatalf("camera %d: %v", c+1, mine)
		}
	}
}
