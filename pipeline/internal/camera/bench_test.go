package camera

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

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
	mask, err := privacymask.New([][]privacymask.Point{{{X: 0.7, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.4}, {X: 0.7, Y: 0.4}}}, w, h)
	if err != nil {
		b.Fatal(err)
	}
	defer mask.Close()
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8U)
	defer frame.Close()
	buf, err := frame.DataPtrUint8()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
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
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time this process has used. The benchmarks report
// it per op (cpu-ns/op) next to ns/op: on a shared machine wall time per op
// also counts the time other processes had the cores, CPU time much less.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
