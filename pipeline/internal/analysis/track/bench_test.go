package track

import (
	"fmt"
	"testing"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
)

// BenchmarkTracker: the tracker's step per analysis frame with 1, 5 and 20
// people walking across the frame, each leaving after 100 frames and a new
// one entering (so births and deaths are part of the steady state), in
// three lanes without overlapping boxes, and a
// quarter of them missed by motion detection in every fourth frame.
// Boxes are normalised, so the cost does not depend on the frame size.
// ns/op and allocs/op are per analysis frame.
func BenchmarkTracker(b *testing.B) {
	for _, n := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("people=%d", n), func(b *testing.B) {
			tr, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			dets := make([]Box, 0, n)
			b.ReportAllocs()
			cpu := cpuclock.Start()
			for i := 0; b.Loop(); i++ {
				dets = dets[:0]
				for k := range n {
					// Walker k enters at a staggered frame and crosses in 100 frames.
					step := (i + k*100/n) % 100
					if i%4 == 0 && k%4 == 3 {
						continue // missed this frame
					}
					// Three lanes; walkers in one lane keep their distance.
					x := 0.9 * float64(step) / 100
					y := 0.05 + 0.25*float64(k%3)
					dets = append(dets, person(x, y))
				}
				tr.Update(at(i), dets)
			}
			cpu.Report(b)
		})
	}
}
