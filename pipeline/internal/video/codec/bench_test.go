package codec

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

type benchClipKey struct {
	c    Codec
	w, h int
}

var (
	benchClipsMu sync.Mutex
	benchClips   = map[benchClipKey][][][]byte{}
)

// benchClip is 2 s of a noisy scene (one GOP at 25 fps) at a camera-like
// bitrate, so P-frames carry residuals as they would on a real camera.
func benchClip(b *testing.B, c Codec, w, h int) [][][]byte {
	benchClipsMu.Lock()
	defer benchClipsMu.Unlock()
	k := benchClipKey{c, w, h}
	if aus, ok := benchClips[k]; ok {
		return aus
	}
	kbps := 4000
	if w*h < 1280*720 {
		kbps = 1000
	}
	aus := encodeClip(b, c, newSynth(w, h, 100, 3), 50, 50, kbps)
	benchClips[k] = aus
	return aus
}

var benchSizes = [][2]int{{1920, 1080}, {640, 360}}

// BenchmarkDecodeOnly: ns/op is ns per decoded frame.
func BenchmarkDecodeOnly(b *testing.B) {
	for _, c := range []Codec{H264, H265} {
		for _, sz := range benchSizes {
			b.Run(c.String()+"/"+sizeName(sz[0], sz[1]), func(b *testing.B) {
				aus := benchClip(b, c, sz[0], sz[1])
				d := mustDecoder(b, c)
				b.ReportAllocs()
				i := 0
				cpu := processCPU()
				for b.Loop() {
					if ok, err := d.Decode(aus[i]); !ok || err != nil {
						b.Fatal(ok, err)
					}
					i = (i + 1) % len(aus)
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkDecodeScaleGray decodes and scales every frame to the 640x360
// grey analysis picture (the pipeline scales only at the analysis rate, so
// this is the worst case). ns/op is ns per frame.
func BenchmarkDecodeScaleGray(b *testing.B) {
	for _, c := range []Codec{H264, H265} {
		for _, sz := range benchSizes {
			b.Run(c.String()+"/"+sizeName(sz[0], sz[1]), func(b *testing.B) {
				aus := benchClip(b, c, sz[0], sz[1])
				d := mustDecoder(b, c)
				g := make([]byte, anaW*anaH)
				b.ReportAllocs()
				i := 0
				cpu := processCPU()
				for b.Loop() {
					if ok, err := d.Decode(aus[i]); !ok || err != nil {
						b.Fatal(ok, err)
					}
					if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
						b.Fatal(err)
					}
					i = (i + 1) % len(aus)
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkScaleGray compares the filters for the analysis downscale to
// 640x360: "box" is the default path at these integer ratios (boxScaler),
// "area" libswscale's SWS_AREA it stands in for, and libswscale's cheaper
// bilinear filters (see swsFlags).
func BenchmarkScaleGray(b *testing.B) {
	filters := []struct {
		name  string
		flags int
		noBox bool
	}{{"box", swsArea, false}, {"area", swsArea, true}, {"fast_bilinear", swsFastBilinear, true}, {"bilinear", swsBilinear, true}}
	for _, f := range filters {
		for _, sz := range benchSizes {
			b.Run(f.name+"/"+sizeName(sz[0], sz[1]), func(b *testing.B) {
				aus := benchClip(b, H264, sz[0], sz[1])
				d := mustDecoder(b, H264)
				d.setSwsFlags(f.flags)
				d.noBox = f.noBox
				if ok, err := d.Decode(aus[0]); !ok || err != nil {
					b.Fatal(ok, err)
				}
				g := make([]byte, anaW*anaH)
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
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
