package analysis

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// TestWarmupWithPeopleInView: a camera (re)starts while a person stands in
// view. The background model learns them as part of the scene, but when they
// walk off they are foreground again: their crossing of a line is reported.
// The place they stood at is seen as a change for a moment (it was learnt
// with the person in it); that ghost must not become a situation of its
// own in a zone around it.
func TestWarmupWithPeopleInView(t *testing.T) {
	const w, h, fps = 640, 360, 25
	c := scene.Static(w, h, fps)
	c.Seed = 11
	// Stands at x 0.25 from the start, walks right from 6 s, gone at 14 s.
	person := scene.Actor{H: 0.3, Luma: 45, Keys: []scene.Key{
		{At: 0, Pos: scene.Point{X: 0.25, Y: 0.8}, Pose: scene.Stand},
		{At: 6 * time.Second, Pos: scene.Point{X: 0.25, Y: 0.8}, Pose: scene.Walk},
		{At: 14 * time.Second, Pos: scene.Point{X: 1.1, Y: 0.78}}}}
	line, err := pattern.NewLineCrossing(pattern.LineConfig{Name: "gate", LineName: "gate",
		Line: geometry.Line{A: geometry.Point{X: 0.6, Y: 0.5}, B: geometry.Point{X: 0.6, Y: 0.98}}})
	if err != nil {
		t.Fatal(err)
	}
	// A zone around where the person stood at the start, entered after
	// they left it: only a ghost of the learnt person could be "in" it.
	ghostZone := pattern.Zone{Name: "start", Polygon: geometry.Polygon{{X: 0.15, Y: 0.5}, {X: 0.35, Y: 0.5}, {X: 0.35, Y: 0.95}, {X: 0.15, Y: 0.95}}}
	stay, err := pattern.NewIntrusion(pattern.IntrusionConfig{Name: "ghost", Zone: ghostZone, MinDuration: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	an, err := New(Config{Motion: motion.DefaultConfig(), Track: track.DefaultConfig(), Rules: []pattern.Rule{line, stay}})
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	s := scene.NewScripted(scene.Script{Base: c, Actors: []scene.Actor{person}})
	y, u, v := s.NewFrame()
	grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer grey.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var crossed, ghost []time.Duration
	for n := 0; n < 30*fps; n += fps / 5 {
		s.Render(n, y, u, v)
		data, _ := grey.DataPtrUint8()
		copy(data, y)
		at := time.Duration(n) * time.Second / fps
		for _, ev := range an.Apply(t0.Add(at), grey).Events {
			if ev.Phase != lifecycle.Start {
				continue
			}
			switch ev.Rule {
			case "gate":
				crossed = append(crossed, at)
			case "ghost":
				ghost = append(ghost, at)
			}
		}
	}
	if len(crossed) != 1 || crossed[0] < 8*time.Second || crossed[0] > 12*time.Second {
		t.Errorf("line crossings at %v, want one at about 10 s", crossed)
	}
	// The person stood in the zone from the start until 6 s: it is there
	// for 5 s only if it was seen from the end of the warm-up; anything
	// starting after 8 s is the ghost.
	for _, g := range ghost {
		if g > 8*time.Second {
			t.Errorf("a situation in the zone the person left at 6 s, started at %v: the ghost of the learnt person", g)
		}
	}
}

// TestStillPersonStaysTracked: a person who walks in and stands still
// fades from the motion foreground within a second or two; their track
// stays where they stand, so a loitering dwell completes, and it ends
// after they walk off.
func TestStillPersonStaysTracked(t *testing.T) {
	const w, h, fps = 640, 360, 25
	c := scene.Static(w, h, fps)
	c.Seed = 12
	person := scene.Actor{H: 0.3, Luma: 45, Keys: []scene.Key{
		{At: 4 * time.Second, Pos: scene.Point{X: -0.05, Y: 0.8}, Pose: scene.Walk},
		{At: 9 * time.Second, Pos: scene.Point{X: 0.5, Y: 0.8}, Pose: scene.Stand},
		{At: 39 * time.Second, Pos: scene.Point{X: 0.5, Y: 0.8}, Pose: scene.Walk},
		{At: 45 * time.Second, Pos: scene.Point{X: 1.1, Y: 0.8}}}}
	zone := pattern.Zone{Name: "spot", Polygon: geometry.Polygon{{X: 0.35, Y: 0.6}, {X: 0.65, Y: 0.6}, {X: 0.65, Y: 0.95}, {X: 0.35, Y: 0.95}}}
	loiter, err := pattern.NewLoitering(pattern.LoiterConfig{Name: "loiter", Zone: zone, Dwell: 20 * time.Second, Radius: 3})
	if err != nil {
		t.Fatal(err)
	}
	an, err := New(Config{Motion: motion.DefaultConfig(), Track: track.DefaultConfig(), Rules: []pattern.Rule{loiter}})
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	s := scene.NewScripted(scene.Script{Base: c, Actors: []scene.Actor{person}})
	y, u, v := s.NewFrame()
	grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer grey.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var starts, ends []time.Duration
	tracked, standing := 0, 0
	for n := 0; n < 55*fps; n += fps / 5 {
		s.Render(n, y, u, v)
		data, _ := grey.DataPtrUint8()
		copy(data, y)
		at := time.Duration(n) * time.Second / fps
		f := an.Apply(t0.Add(at), grey)
		if at >= 12*time.Second && at < 38*time.Second {
			standing++
			for _, tr := range an.Tracks() {
				if cx, _ := tr.Box.Center(); cx > 0.4 && cx < 0.6 {
					tracked++
					break
				}
			}
		}
		for _, ev := range f.Events {
			switch ev.Phase {
			case lifecycle.Start:
				starts = append(starts, at)
			case lifecycle.End:
				ends = append(ends, at)
			}
		}
	}
	if tracked != standing {
		t.Errorf("a track where the person stands on %d of %d frames, want all", tracked, standing)
	}
	if len(starts) != 1 || starts[0] < 25*time.Second || starts[0] > 35*time.Second {
		t.Errorf("loitering starts at %v, want one about 20 s after they stopped at 9 s", starts)
	}
	if len(ends) != 1 || ends[0] > 50*time.Second {
		t.Errorf("loitering ends at %v, want one soon after they left at 39 s", ends)
	}
}
