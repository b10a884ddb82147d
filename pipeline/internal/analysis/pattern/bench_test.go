package pattern_test

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
)

// BenchmarkRules measures each rule of the evaluation's rule set (every
// pattern type, as configured in pipeline/tools/eval) on its own: one Observe per
// analysis frame with 5 tracked people walking through the zones, two of
// them close together, plus frame statistics, two flow regions and one
// static object so the pixel-fed rules do their work too. Rules never see
// pixels, so the cost does not depend on the resolution. ns/op and
// allocs/op are per analysis frame.
func BenchmarkRules(b *testing.B) {
	const frames = 500
	tr, err := track.New(track.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	type frame struct {
		at     time.Time
		tracks []track.Track
	}
	seq := make([]frame, frames)
	for i := range seq {
		var dets []track.Box
		for k := range 5 {
			step := (i + k*20) % 100
			x := 0.05 + 0.85*float64(step)/100
			y := 0.45 + 0.1*float64(k%3)
			if k == 4 { // walks next to person 3
				x, y = x+0.03, 0.45+0.1*float64(3%3)
			}
			dets = append(dets, track.Box{X: x, Y: y, W: 0.03, H: 0.2})
		}
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		tracks := tr.Update(at, dets)
		seq[i] = frame{at: at, tracks: append([]track.Track(nil), tracks...)}
		for j := range seq[i].tracks {
			seq[i].tracks[j].History = append([]track.Sample(nil), tracks[j].History...)
		}
	}
	info := pattern.FrameInfo{
		Width: 640, Height: 360,
		Stats:  pattern.FrameStats{Valid: true, Mean: 110, StdDev: 40, Sharpness: 300, ShiftConfidence: 0.9},
		Flow:   []pattern.FlowRegion{{Box: track.Box{X: 0.4, Y: 0.45, W: 0.08, H: 0.2}, Speed: 0.3, Spread: 0.4, Moving: 0.5}, {Box: track.Box{X: 0.7, Y: 0.55, W: 0.03, H: 0.2}, Speed: 0.2, Spread: 0.1, Moving: 0.6}},
		Static: []pattern.StaticObject{{Box: track.Box{X: 0.5, Y: 0.8, W: 0.03, H: 0.03}, Kind: pattern.Added, Since: t0}},
	}
	for _, r := range eval.Rules() {
		b.Run(r.Type()+"/"+r.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f := seq[i%frames]
				// Time keeps going forward across loops over the sequence.
				r.Observe(f.at.Add(time.Duration(i/frames)*frames*200*time.Millisecond), f.tracks, info)
			}
		})
	}
}
