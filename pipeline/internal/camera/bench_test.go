package camera

import (
	"fmt"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// encodeScene encodes n frames of the walker scene, one GOP, at a
// camera-like bitrate.
func encodeScene(b *testing.B, c codec.Codec, w, h, n, kbps int) [][][]byte {
	b.Helper()
	sc := scene.New(scene.Walker(w, h, 25))
	enc, err := codec.NewEncoder(codec.EncoderConfig{Codec: c, Width: w, Height: h, FPS: 25, BitrateKbps: kbps, GOP: n})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	y, u, v := sc.NewFrame()
	var aus [][][]byte
	for i := range n {
		// Frames 75.. show the figure walking through.
		sc.Render(75+i, y, u, v)
		au, err := enc.Encode(y, u, v, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		if au != nil {
			aus = append(aus, au)
		}
	}
	return aus
}

// BenchmarkFramePath measures the per-frame cost of the camera's data path
// after the network: decode every access unit, and for analysed frames scale
// straight to the 640-wide grey analysis frame, fill a privacy zone and run
// motion detection. ns/op and allocs/op are per stream frame.
//
// "every-frame" analyses all 25 frames/s (the worst case); "5fps" analyses
// one frame in five, the default analysis rate on a 25 fps stream.
func BenchmarkFramePath(b *testing.B) {
	for _, size := range []struct{ w, h, kbps int }{{1920, 1080, 4000}, {640, 360, 1000}} {
		for _, c := range []codec.Codec{codec.H264, codec.H265} {
			aus := encodeScene(b, c, size.w, size.h, 50, size.kbps)
			for _, every := range []int{1, 5} {
				name := fmt.Sprintf("%s/%dx%d/every-frame", c, size.w, size.h)
				if every == 5 {
					name = fmt.Sprintf("%s/%dx%d/5fps", c, size.w, size.h)
				}
				b.Run(name, func(b *testing.B) { benchFramePath(b, c, aus, every) })
			}
		}
	}
}

func benchFramePath(b *testing.B, c codec.Codec, aus [][][]byte, every int) {
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: c})
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	det, err := motion.NewDetector(motion.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer det.Close()
	// Warm up: first picture tells the size.
	for _, au := range aus[:2] {
		if _, err := dec.Decode(au); err != nil {
			b.Fatal(err)
		}
	}
	srcW, srcH := dec.Size()
	w, h := analysisSize(srcW, srcH, 640)
	zones := privacymask.NewZones([]geometry.Polygon{{{X: 0.7, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.4}, {X: 0.7, Y: 0.4}}})
	mask, err := zones.Mask(w, h, privacymask.Grey)
	if err != nil {
		b.Fatal(err)
	}
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8U)
	defer frame.Close()
	buf, err := frame.DataPtrUint8()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuclock.Start()
	for i := 0; b.Loop(); i++ {
		got, err := dec.Decode(aus[i%len(aus)])
		if err != nil {
			b.Fatal(err)
		}
		if !got || i%every != 0 {
			continue
		}
		if err := dec.ScaleGray(buf, w, h, w); err != nil {
			b.Fatal(err)
		}
		mask.Apply(frame)
		det.Apply(frame)
	}
	cpu.Report(b)
}
