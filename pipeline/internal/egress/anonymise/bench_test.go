package anonymise

import (
	"fmt"
	"image"
	"testing"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/models"
	"gocv.io/x/gocv"
)

var benchSizes = []image.Point{{1280, 720}, {1920, 1080}}

func benchFrame(b *testing.B, size image.Point) gocv.Mat {
	s := scene{faceW: 48, centres: []image.Point{{size.X / 6, size.Y / 3}, {size.X / 2, size.Y / 2}, {size.X * 5 / 6, size.Y * 2 / 3}}, frameW: size.X, frameH: size.Y}
	f, _ := s.render(b)
	return f
}

func BenchmarkDetect(b *testing.B) {
	bd, _, err := models.Read(models.BlazeFace)
	if err != nil {
		b.Fatal(err)
	}
	hd, _, err := models.Read(models.HaarFrontalFace)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range benchSizes {
		frame := benchFrame(b, size)
		dets := []struct {
			name string
			new  func() (FaceDetector, error)
		}{
			{"blazeface-whole", func() (FaceDetector, error) { return NewBlazeFace(BlazeFaceConfig{Model: bd, Levels: 1}) }},
			{"blazeface-tiled", func() (FaceDetector, error) { return NewBlazeFace(BlazeFaceConfig{Model: bd}) }},
			{"haar", func() (FaceDetector, error) { return NewHaar(HaarConfig{Cascade: hd}) }},
		}
		for _, d := range dets {
			b.Run(fmt.Sprintf("%s/%dx%d", d.name, size.X, size.Y), func(b *testing.B) {
				det, err := d.new()
				if err != nil {
					b.Fatal(err)
				}
				defer det.Close()
				if _, err := det.Detect(frame); err != nil { // warm-up
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := det.Detect(frame); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		frame.Close()
	}
}

// BenchmarkApply: the whole anonymisation of one frame (copy, detection on
// the worker goroutine, covering), default detector chain.
func BenchmarkApply(b *testing.B) {
	for _, size := range benchSizes {
		for _, m := range []string{Fill, Pixelate, Blur} {
			b.Run(fmt.Sprintf("%s/%dx%d", m, size.X, size.Y), func(b *testing.B) {
				src := benchFrame(b, size)
				defer src.Close()
				frame := src.Clone()
				defer frame.Close()
				a := newReady(b, Config{Method: m, Persons: true})
				blobs := []image.Rectangle{image.Rect(10, 10, 110, 310)}
				b.ReportAllocs()
				cpu := cpuclock.Start() // detection runs on the worker's thread
				for b.Loop() {
					src.CopyTo(&frame)
					if err := a.Apply(&frame, blobs); err != nil {
						b.Fatal(err)
					}
				}
				cpu.Report(b)
			})
		}
	}
}

// BenchmarkCover: covering alone, for a fixed face box.
func BenchmarkCover(b *testing.B) {
	for _, m := range []string{Fill, Pixelate, Blur} {
		b.Run(m, func(b *testing.B) {
			frame := benchFrame(b, image.Pt(1920, 1080))
			defer frame.Close()
			a := newReady(b, Config{Method: m, Detector: &fakeDetector{}})
			f := image.Rect(800, 400, 1000, 640)
			r := expand(f, a.cfg.Margin)
			b.ReportAllocs()
			for b.Loop() {
				a.cover(&frame, r, f)
			}
		})
	}
}
