package pattern

import (
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
)

const fw, fh = 640, 360

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * 200 * time.Millisecond) }

func rect(x0, y0, x1, y1 float64) geometry.Polygon {
	return geometry.Polygon{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// standing is a person-shaped blob with feet at (x, y) normalised, h tall.
func standing(x, y, h float64) image.Rectangle {
	ph := h * fh
	pw := 0.4 * ph
	cx, fy := x*fw, y*fh
	return image.Rect(int(cx-pw/2), int(fy-ph), int(cx+pw/2), int(fy))
}

func lying(x, y, h float64) image.Rectangle {
	ph := h * fh
	return image.Rect(int(x*fw-0.45*ph), int(y*fh-0.2*ph), int(x*fw+0.45*ph), int(y*fh))
}

type frame struct {
	blobs []image.Rectangle
	info  FrameInfo
}

// drive runs frames (5/s) through a pipeline with one rule and returns the
// frame indices of starts and ends.
func drive(t *testing.T, r Rule, frames func(i int) frame, n int) (starts, ends []int) {
	t.Helper()
	p, err := NewPipeline(track.Config{}, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f := frames(i)
		f.info.Width, f.info.Height = fw, fh
		for _, e := range p.Frame(at(i), f.blobs, f.info) {
			switch e.Phase {
			case lifecycle.Start:
				starts = append(starts, i)
				if e.Type != r.Type() || e.Rule != r.Name() {
					t.Fatalf("event %+v", e)
				}
			case lifecycle.End:
				ends = append(ends, i)
			}
		}
	}
	for range p.Flush() {
		ends = append(ends, n)
	}
	return starts, ends
}

func walkX(x0, v float64, y float64) func(i int) frame {
	return func(i int) frame {
		return frame{blobs: []image.Rectangle{standing(x0+v*float64(i)/5, y, 0.25)}}
	}
}

// cellStats is a frame of the given brightness whose cells all have the
// same sharpness but the first lost ones, which keep factor of it; the
// whole frame's sharpness is their mean.
func cellStats(mean, sharp float64, lost int, factor float64) FrameStats {
	st := FrameStats{Valid: true, Mean: mean, StdDev: 30}
	for k := range st.Cells {
		st.Cells[k] = sharp
		if k < lost {
			st.Cells[k] = factor * sharp
		}
		st.Sharpness += st.Cells[k] / float64(len(st.Cells))
	}
	return st
}

func TestRules(t *testing.T) {
	door := Zone{Name: "door", Polygon: rect(0.4, 0.5, 0.6, 0.9)}
	upLine := geometry.Line{A: geometry.Point{X: 0.5, Y: 0.95}, B: geometry.Point{X: 0.5, Y: 0.3}, Direction: geometry.LeftToRight}
	must := func(r Rule, err error) Rule {
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		rule   Rule
		frames func(i int) frame
		n      int
		starts []int // frame indices, ±2
	}{
		{"intrusion walk through", must(NewIntrusion(IntrusionConfig{Name: "i", Zone: door})), walkX(0.1, 0.1, 0.8), 50, []int{21}},
		{"intrusion passes above", must(NewIntrusion(IntrusionConfig{Name: "i", Zone: door})), walkX(0.1, 0.1, 0.45), 50, nil},
		{"zone_enter", must(NewIntrusion(IntrusionConfig{Name: "e", Zone: door, Mode: Enter})), walkX(0.1, 0.1, 0.8), 50, []int{21}},
		{"zone_exit", must(NewIntrusion(IntrusionConfig{Name: "x", Zone: door, Mode: Exit})), walkX(0.1, 0.1, 0.8), 50, []int{25}},
		{"line left to right", must(NewLineCrossing(LineConfig{Name: "l", Line: upLine})), walkX(0.1, 0.1, 0.8), 50, []int{20}},
		{"line right to left ignored", must(NewLineCrossing(LineConfig{Name: "l", Line: upLine})), walkX(0.9, -0.1, 0.8), 50, nil},
		{"running", must(NewRunning(RunningConfig{Name: "r"})), walkX(0.0, 0.35, 0.8), 15, []int{10}},
		{"walking is not running", must(NewRunning(RunningConfig{Name: "r"})), walkX(0.0, 0.12, 0.8), 40, nil},
		{"loitering", must(NewLoitering(LoiterConfig{Name: "lo", Zone: door, Dwell: 10 * time.Second})), func(i int) frame {
			return frame{blobs: []image.Rectangle{standing(0.5+0.01*float64(i%7), 0.8, 0.25)}}
		}, 80, []int{51}},
		{"passing is not loitering", must(NewLoitering(LoiterConfig{Name: "lo", Zone: door, Dwell: 3 * time.Second})), walkX(0.1, 0.1, 0.8), 50, nil},
		{"crowd", must(NewCrowd(CrowdConfig{Name: "c", MinCount: 3, MinOccupancy: -1, Duration: 2 * time.Second})), func(i int) frame {
			var b []image.Rectangle
			for k := range min(4, 1+i/10) {
				b = append(b, standing(0.2+0.2*float64(k)+0.003*float64(i%4), 0.8, 0.25))
			}
			return frame{blobs: b}
		}, 60, []int{32}},
		{"person down", must(NewPersonDown(PersonDownConfig{Name: "d", DownTime: 4 * time.Second})), func(i int) frame {
			if i < 20 {
				return frame{blobs: []image.Rectangle{standing(0.5, 0.8, 0.25)}}
			}
			if i < 25 {
				return frame{blobs: []image.Rectangle{lying(0.5, 0.8, 0.25)}}
			}
			return frame{} // absorbed by the background model; the track coasts
		}, 60, []int{40}},
		{"tamper covered", must(NewTamper(TamperConfig{Name: "t", Duration: 2 * time.Second})), func(i int) frame {
			st := FrameStats{Valid: true, Mean: 120, StdDev: 30, Sharpness: 400}
			if i >= 30 {
				st = FrameStats{Valid: true, Mean: 10, StdDev: 2, Sharpness: 3}
			}
			return frame{info: FrameInfo{Stats: st}}
		}, 60, []int{40}},
		{"tamper defocused", must(NewTamper(TamperConfig{Name: "t", Duration: 2 * time.Second, Learn: 3 * time.Second})), func(i int) frame {
			st := FrameStats{Valid: true, Mean: 120, StdDev: 30, Sharpness: 400}
			if i >= 30 {
				st.Sharpness = 40
			}
			return frame{info: FrameInfo{Stats: st}}
		}, 60, []int{40}},
		{"tamper half covered by something translucent", must(NewTamper(TamperConfig{Name: "t", Duration: 2 * time.Second, Learn: 3 * time.Second})), func(i int) frame {
			// The sharp half stays clear: the whole frame's sharpness
			// keeps half its value, above blur_ratio.
			if i >= 30 {
				return frame{info: FrameInfo{Stats: cellStats(140, 400, 16, 0.05)}}
			}
			return frame{info: FrameInfo{Stats: cellStats(120, 400, 0, 1)}}
		}, 60, []int{40}},
		{"tamper a third covered is not", must(NewTamper(TamperConfig{Name: "t", Duration: 2 * time.Second, Learn: 3 * time.Second})), func(i int) frame {
			if i >= 30 {
				return frame{info: FrameInfo{Stats: cellStats(120, 400, 10, 0.05)}}
			}
			return frame{info: FrameInfo{Stats: cellStats(120, 400, 0, 1)}}
		}, 60, nil},
		{"tamper exposure darkening every cell is not", must(NewTamper(TamperConfig{Name: "t", Duration: 2 * time.Second, Learn: 3 * time.Second})), func(i int) frame {
			// 70/120 of the brightness is a third of every cell's
			// Laplacian variance, and less where a car passes: uncorrected,
			// 20 of the 32 cells would be below a quarter of their normal.
			if i >= 30 {
				st := cellStats(70, 400, 20, 0.7)
				st.Sharpness = 0
				for k := range st.Cells {
					st.Cells[k] *= 0.34
					st.Sharpness += st.Cells[k] / float64(len(st.Cells))
				}
				return frame{info: FrameInfo{Stats: st}}
			}
			return frame{info: FrameInfo{Stats: cellStats(120, 400, 0, 1)}}
		}, 60, nil},
		{"tamper exposure change is not", must(NewTamper(TamperConfig{Name: "t"})), func(i int) frame {
			st := FrameStats{Valid: true, Mean: 120, StdDev: 30, Sharpness: 400}
			if i >= 30 {
				st = FrameStats{Valid: true, Mean: 60, StdDev: 15, Sharpness: 150}
			}
			return frame{info: FrameInfo{Stats: st}}
		}, 80, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			starts, ends := drive(t, tc.rule, tc.frames, tc.n)
			if len(starts) != len(tc.starts) {
				t.Fatalf("starts at frames %v, want %v", starts, tc.starts)
			}
			for k, s := range starts {
				if d := s - tc.starts[k]; d < -2 || d > 2 {
					t.Fatalf("starts at frames %v, want %v (±2)", starts, tc.starts)
				}
			}
			if len(ends) != len(starts) {
				t.Fatalf("%d starts but %d ends", len(starts), len(ends))
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	bowtie := geometry.Polygon{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 1, Y: 0}, {X: 0, Y: 1}}
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"no name", Validate(IntrusionConfig{Zone: Zone{Name: "z", Polygon: rect(0, 0, 1, 1)}}), "name"},
		{"zone required", Validate(IntrusionConfig{Name: "a"}), "zone.points"},
		{"bow tie", Validate(IntrusionConfig{Name: "a", Zone: Zone{Name: "z", Polygon: bowtie}}), "zone.points"},
		{"zone without name", Validate(LoiterConfig{Name: "a", Zone: Zone{Polygon: rect(0, 0, 1, 1)}}), "zone.name"},
		{"point outside", Validate(CrowdConfig{Name: "a", Zone: Zone{Name: "z", Polygon: rect(0, 0, 1.5, 1)}}), "zone.points[1][0]"},
		{"line outside", Validate(LineConfig{Name: "a", Line: geometry.Line{A: geometry.Point{X: -1}, B: geometry.Point{X: 1, Y: 1}}}), "line.points[0]"},
		{"min_count", Validate(CrowdConfig{Name: "a", MinCount: 1}), "min_count"},
		{"min_occupancy", Validate(CrowdConfig{Name: "a", MinOccupancy: 3}), "min_occupancy"},
		{"speed", Validate(RunningConfig{Name: "a", Speed: 100}), "speed"},
		{"dwell", Validate(LoiterConfig{Name: "a", Dwell: time.Millisecond}), "dwell"},
		{"radius", Validate(LoiterConfig{Name: "a", Radius: -1}), "radius"},
		{"aspect", Validate(PersonDownConfig{Name: "a", Aspect: 50}), "aspect"},
		{"height_drop", Validate(PersonDownConfig{Name: "a", HeightDrop: 2}), "height_drop"},
		{"class", Validate(IntrusionConfig{Name: "a", Zone: Zone{Name: "z", Polygon: rect(0, 0, 1, 1)}, Class: "car"}), "class"},
		{"perspective", Validate(RunningConfig{Name: "a", Perspective: geometry.Perspective{Row1: 0.5, Height1: 0.1, Row2: 0.4, Height2: 0.2}}), "perspective.row2"},
		{"dark_mean", Validate(TamperConfig{Name: "a", DarkMean: 500}), "dark_mean"},
		{"quiet_time", Validate(TamperConfig{Name: "a", Timing: Timing{QuietTime: -time.Second}}), "quiet_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fe *FieldError
			if !errors.As(tc.err, &fe) {
				t.Fatalf("want a FieldError, got %v", tc.err)
			}
			if fe.Field != tc.field {
				t.Fatalf("field %q (%v), want %q", fe.Field, fe, tc.field)
			}
			if !strings.HasPrefix(fe.Error(), tc.field+": ") {
				t.Fatalf("message %q", fe.Error())
			}
		})
	}
}

func TestClassify(t *testing.T) {
	f := FrameInfo{Width: fw, Height: fh}
	p := geometry.Perspective{Row1: 0.4, Height1: 0.15, Row2: 0.95, Height2: 0.3}
	box := func(r image.Rectangle) track.Box {
		return track.Box{X: float64(r.Min.X) / fw, Y: float64(r.Min.Y) / fh, W: float64(r.Dx()) / fw, H: float64(r.Dy()) / fh}
	}
	for _, tc := range []struct {
		b    track.Box
		p    geometry.Perspective
		want Class
	}{
		{box(standing(0.5, 0.8, 0.25)), geometry.Perspective{}, Person},
		{box(standing(0.5, 0.8, 0.25)), p, Person},
		{box(standing(0.5, 0.8, 0.05)), p, Object}, // far too small for that row
		{box(lying(0.5, 0.8, 0.25)), geometry.Perspective{}, Object},
	} {
		if got := Classify(tc.b, f, tc.p); got != tc.want {
			t.Errorf("Classify(%+v) = %q want %q", tc.b, got, tc.want)
		}
	}
}

// BenchmarkPipeline: five walkers through all rules; allocations per frame
// in steady state.
func BenchmarkPipeline(b *testing.B) {
	door := Zone{Name: "door", Polygon: rect(0.4, 0.5, 0.6, 0.9)}
	var rules []Rule
	for _, r := range []func() (Rule, error){
		func() (Rule, error) { return NewIntrusion(IntrusionConfig{Name: "i", Zone: door}) },
		func() (Rule, error) {
			return NewLineCrossing(LineConfig{Name: "l", Line: geometry.Line{A: geometry.Point{X: 0.5, Y: 0.9}, B: geometry.Point{X: 0.5, Y: 0.2}}})
		},
		func() (Rule, error) { return NewLoitering(LoiterConfig{Name: "lo", Zone: door}) },
		func() (Rule, error) { return NewCrowd(CrowdConfig{Name: "c"}) },
		func() (Rule, error) { return NewRunning(RunningConfig{Name: "r"}) },
		func() (Rule, error) { return NewPersonDown(PersonDownConfig{Name: "d"}) },
		func() (Rule, error) { return NewTamper(TamperConfig{Name: "t"}) },
	} {
		x, err := r()
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, x)
	}
	p, err := NewPipeline(track.Config{}, rules...)
	if err != nil {
		b.Fatal(err)
	}
	blobs := make([]image.Rectangle, 5)
	info := FrameInfo{Width: fw, Height: fh, Stats: FrameStats{Valid: true, Mean: 120, StdDev: 30, Sharpness: 400}}
	b.ReportAllocs()
	for i := range b.N {
		for k := range blobs {
			blobs[k] = standing(0.1+0.18*float64(k)+0.001*float64(i%50), 0.8, 0.25)
		}
		p.Frame(at(i), blobs, info)
	}
}
