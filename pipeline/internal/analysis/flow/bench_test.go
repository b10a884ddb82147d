package flow

import (
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// BenchmarkApply measures the stage alone on a near fight at 640x360 (the
// camera's default analysis size), 5 analysis frames/s, with the motion
// detector's real blobs and mask: the frames, blobs and masks are computed
// beforehand.
func BenchmarkApply(b *testing.B) {
	const w, h, fps = 640, 360, 25
	base := scene.Static(w, h, fps)
	base.Seed = 60
	key := func(x, y float64) []scene.Key {
		return []scene.Key{{At: 0, Pos: scene.Point{X: x, Y: y}, Pose: scene.Walk}, {At: 2 * time.Second, Pos: scene.Point{X: x, Y: y}, Pose: scene.Fight}, {At: time.Minute, Pos: scene.Point{X: x, Y: y}}}
	}
	sc := scene.NewScripted(scene.Script{Base: base, Actors: []scene.Actor{
		{Keys: key(0.46, 0.86), H: 0.28, Luma: 45}, {Keys: key(0.52, 0.87), H: 0.28, Luma: 190},
	}})
	det, err := motion.NewDetector(motion.Config{WarmupFrames: 5})
	if err != nil {
		b.Fatal(err)
	}
	defer det.Close()
	y, u, v := sc.NewFrame()
	type in struct {
		grey, fg gocv.Mat
		res      motion.Result
	}
	var ins []in
	defer func() {
		for _, x := range ins {
			x.grey.Close()
			x.fg.Close()
		}
	}()
	for n := 0; n < 40*5; n += 5 {
		sc.Render(n, y, u, v)
		m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, y)
		if err != nil {
			b.Fatal(err)
		}
		res := det.Apply(m)
		res.Boxes = append([]image.Rectangle(nil), res.Boxes...)
		if n >= 15*5 && len(res.Boxes) > 0 {
			fg := det.Foreground()
			ins = append(ins, in{grey: m, fg: fg.Clone(), res: res})
		} else {
			m.Close()
		}
	}
	// busy: the fight plus seven more person-sized regions spread over the
	// frame, the cost's upper bound (one pass over the whole image).
	busy := make([]in, len(ins))
	for i, x := range ins {
		x.res.Boxes = append(x.res.Boxes[:len(x.res.Boxes):len(x.res.Boxes)],
			image.Rect(20, 150, 60, 250), image.Rect(100, 120, 130, 200), image.Rect(420, 100, 445, 170), image.Rect(520, 200, 570, 330),
			image.Rect(580, 120, 610, 200), image.Rect(200, 60, 220, 110), image.Rect(330, 40, 350, 90))
		busy[i] = x
	}
	for _, c := range []struct {
		width int
		ins   []in
		name  string
	}{{160, ins, "fight/flow160"}, {320, ins, "fight/flow320"}, {640, ins, "fight/flow640"}, {320, busy, "busy/flow320"}} {
		width, ins := c.width, c.ins
		b.Run(c.name, func(b *testing.B) {
			s, err := New(Config{Width: width})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Unix(0, 0)
			i := 0
			apply := func() int {
				x := ins[i%len(ins)]
				i++
				return len(s.Apply(t0.Add(time.Duration(i)*200*time.Millisecond), x.grey, x.res, x.fg))
			}
			for range ins {
				apply()
			}
			regions := 0
			b.ReportAllocs()
			cpu := cpuclock.Start()
			for b.Loop() {
				regions += apply()
			}
			// OpenCV may use several threads: CPU time is what the box pays.
			cpu.Report(b)
			b.ReportMetric(float64(regions)/float64(b.N), "regions/op")
		})
	}
}
