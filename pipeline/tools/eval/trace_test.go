package eval

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

// TestTrace prints blobs, tracks and events of the scenario named by
// EVAL_TRACE, for tuning; it is skipped otherwise.
func TestTrace(t *testing.T) {
	name := os.Getenv("EVAL_TRACE")
	if name == "" {
		t.Skip("set EVAL_TRACE=<scenario>")
	}
	for _, sc := range Suite() {
		if sc.Name != name {
			continue
		}
		trace = func(at time.Duration, res motion.Result, f pattern.FrameInfo, tracks []track.Track, evs []pattern.Event) {
			s := fmt.Sprintf("%6.1fs blobs=%d", at.Seconds(), len(res.Boxes))
			if f.LightChange {
				s += " LIGHT"
			}
			for _, b := range res.Boxes {
				s += fmt.Sprintf(" [%d,%d %dx%d]", b.Min.X, b.Min.Y, b.Dx(), b.Dy())
			}
			for _, tr := range tracks {
				fx, fy := tr.Box.Foot()
				s += fmt.Sprintf(" | #%d foot(%.2f,%.2f) %.3fx%.3f m%d v(%.2f,%.2f)", tr.ID, fx, fy, tr.Box.W, tr.Box.H, tr.Misses, tr.VX, tr.VY)
			}
			for _, fr := range f.Flow {
				s += fmt.Sprintf(" ~ flow(%.2f,%.2f %.2fx%.2f) v=%.2fbh/s spread=%.2f clash=%.2f moving=%.2f", fr.Box.X, fr.Box.Y, fr.Box.W, fr.Box.H,
					pattern.Energy(fr, persp), fr.Spread, fr.Clash, fr.Moving)
			}
			for _, so := range f.Static {
				s += fmt.Sprintf(" # static(%.2f,%.2f %.3fx%.3f) kind=%d for=%.0fs", so.Box.X, so.Box.Y, so.Box.W, so.Box.H, so.Kind, (at - so.Since.Sub(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))).Seconds())
			}
			for _, e := range evs {
				s += fmt.Sprintf(" ** %s %s", e.Type, e.Phase)
			}
			fmt.Println(s)
		}
		defer func() { trace = nil }()
		if _, err := Run(sc, Rules); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no scenario %q", name)
}
