package simcam

import (
	"slices"
	"testing"

	"github.com/pion/rtp"
)

func seqs(pkts []*rtp.Packet) []uint16 {
	out := make([]uint16, len(pkts))
	for i, p := range pkts {
		out[i] = p.SequenceNumber
	}
	return out
}

// run pushes n packets through in batches of three (a frame's worth) and
// returns the sequence numbers in the order they went out.
func runImpair(t *testing.T, im Impairment, n int) []uint16 {
	t.Helper()
	var f faults
	if err := f.setImpairment(im); err != nil {
		t.Fatal(err)
	}
	var out []uint16
	for i := 0; i < n; i += 3 {
		var batch []*rtp.Packet
		for j := i; j < i+3 && j < n; j++ {
			batch = append(batch, &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(j)}})
		}
		out = append(out, seqs(f.impair(batch))...)
	}
	return out
}

func TestImpair(t *testing.T) {
	const n = 30000
	tests := []struct {
		name               string
		im                 Impairment
		minLoss, maxLoss   int
		wantSwaps, ordered bool
	}{
		{"none", Impairment{}, 0, 0, false, true},
		{"loss 5%", Impairment{LossRate: 0.05, Seed: 1}, n * 4 / 100, n * 6 / 100, false, true},
		{"reorder 5%", Impairment{ReorderRate: 0.05, Seed: 1}, 0, 1, true, false},
		{"both", Impairment{LossRate: 0.05, ReorderRate: 0.05, Seed: 2}, n * 4 / 100, n * 6 / 100, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runImpair(t, tt.im, n)
			// Deterministic for a seed.
			if again := runImpair(t, tt.im, n); !slices.Equal(out, again) {
				t.Fatal("same seed, different result")
			}
			// At most the one held packet is still waiting at the end.
			if lost := n - len(out); lost < tt.minLoss || lost > tt.maxLoss {
				t.Errorf("lost %d of %d, want %d..%d", lost, n, tt.minLoss, tt.maxLoss)
			}
			if dup := len(out) - len(slices.Compact(slices.Sorted(slices.Values(out)))); dup != 0 {
				t.Errorf("%d duplicated packets", dup)
			}
			swaps := 0
			for i := 1; i < len(out); i++ {
				if out[i] < out[i-1] {
					swaps++
					// Reordering only ever delays a packet past its successor.
					if i >= 2 && out[i] < out[i-2] {
						t.Fatalf("packet %d moved more than one place: %v", out[i], out[i-2:i+1])
					}
				}
			}
			if tt.ordered && swaps != 0 {
				t.Errorf("%d swaps without reordering", swaps)
			}
			if tt.wantSwaps && (swaps < n*3/100 || swaps > n*7/100) {
				t.Errorf("%d swaps, want about 5%% of %d", swaps, n)
			}
		})
	}
}

func TestImpairmentValidate(t *testing.T) {
	for _, im := range []Impairment{{LossRate: -0.1}, {LossRate: 1.5}, {ReorderRate: 2}} {
		if err := (&faults{}).setImpairment(im); err == nil {
			t.Errorf("%+v accepted", im)
		}
	}
}
