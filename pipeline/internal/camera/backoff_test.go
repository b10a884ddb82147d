package camera

import (
	"testing"
	"time"
)

func TestBackoffSequence(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 30 * time.Second, Healthy: time.Minute}
	var got []time.Duration
	for w := b.Initial; len(got) < 8; w = b.grow(w) {
		got = append(got, w)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v s", got, want)
		}
	}
	// Jitter stays within [w/2, w] at both extremes of the random source.
	for _, w := range got {
		lo := b.delay(w, func(int64) int64 { return 0 })
		hi := b.delay(w, func(n int64) int64 { return n - 1 })
		if lo != w/2 || hi > w || hi < lo {
			t.Errorf("delay(%v) in [%v, %v]", w, lo, hi)
		}
	}
}

func TestBackoffZeroValueIsSafe(t *testing.T) {
	b := Backoff{}.withDefaults()
	if b != DefaultBackoff {
		t.Fatalf("zero Backoff → %+v, want %+v", b, DefaultBackoff)
	}
	if b := (Backoff{Initial: time.Minute}).withDefaults(); b.Max < b.Initial {
		t.Fatalf("Max %v below Initial %v", b.Max, b.Initial)
	}
}
