package person

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// clip is analysis frames with their motion blobs, rendered once.
type clip struct {
	frames []gocv.Mat
	blobs  [][]image.Rectangle
}

func (c *clip) close() {
	for _, m := range c.frames {
		m.Close()
	}
}

// renderClip: n people walking across the 640×360 square at the suite's
// depths, analysed at 5 frames/s by the real motion detector.
func renderClip(b *testing.B, people, frames int) *clip {
	var as []scene.Actor
	for k := range people {
		y := 0.55 + 0.4*float64(k)/float64(max(1, people-1))
		a := walker(y, 0.15+0.15*(y-0.4)/0.55, []uint8{40, 190, 60}[k%3], scene.Walk, 30)
		for i := range a.Keys { // staggered: not one behind the other
			a.Keys[i].At += time.Duration(k) * 4 * time.Second
		}
		as = append(as, a)
	}
	s := scene.NewScripted(scene.Script{Base: base(9), Actors: as})
	det, err := motion.NewDetector(motion.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer det.Close()
	y, u, v := s.NewFrame()
	c := &clip{}
	for n := 0; len(c.frames) < frames; n += fps / 5 {
		s.Render(n, y, u, v)
		m := gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC1)
		data, _ := m.DataPtrUint8()
		copy(data, y)
		res := det.Apply(m)
		if n < 14*fps || res.Warmup || res.LightChange || len(res.Boxes) == 0 {
			m.Close()
			continue
		}
		c.frames = append(c.frames, m)
		c.blobs = append(c.blobs, append([]image.Rectangle(nil), res.Boxes...))
	}
	return c
}

// BenchmarkDetect: the per-frame cost at 640×360 with 1 and 3 people
// walking, default rate limits (each place examined at most every 5
// frames, at most 2 crops per frame), so ns/op is the average cost of one
// analysis frame; ×5 is the cost per stream-second at 5 frames/s. "every
// frame" examines every blob on every frame: the cost of one crop per
// person.
func BenchmarkDetect(b *testing.B) {
	for _, bc := range []struct {
		people int
		cfg    Config
		name   string
	}{
		{1, Config{}, "default"},
		{3, Config{}, "default"},
		{1, Config{Every: 1, Budget: 8}, "every_frame"},
		{3, Config{Every: 1, Budget: 8}, "every_frame"},
	} {
		b.Run(fmt.Sprintf("people=%d/%s", bc.people, bc.name), func(b *testing.B) {
			c := renderClip(b, bc.people, 50)
			defer c.close()
			d, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			for i := range c.frames { // warm: regions and OpenCV buffers
				d.Detect(c.frames[i], c.blobs[i])
			}
			crops := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuclock.Start()
			for i := 0; b.Loop(); i++ {
				k := i % len(c.frames)
				crops += d.Detect(c.frames[k], c.blobs[k]).Examined
			}
			// CPU time (all threads) is what a stream costs the box, and
			// unlike wall time it does not grow when other work competes.
			cpu.Report(b)
			b.ReportMetric(float64(crops)/float64(b.N), "crops/op")
		})
	}
}
