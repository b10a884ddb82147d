package codec

import (
	"sync"
	"testing"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
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
func BenchmarkDecodeOnly(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeScaleGray decodes and scales every frame to the 640x360
// grey analysis picture (the pipeline scales only at the analysis rate, so
// this is the worst case). ns/op is ns per frame.
func BenchmarkDecodeScaleGray(b *testing.B) { benchDecode(b, true) }

// benchDecode decodes the bench clips of both codecs at every bench size
// in a loop, scaling each picture to the grey analysis size too if scale.
func benchDecode(b *testing.B, scale bool) {
	for _, c := range []Codec{H264, H265} {
		for _, sz := range benchSizes {
			b.Run(c.String()+"/"+sizeName(sz[0], sz[1]), func(b *testing.B) {
				aus := benchClip(b, c, sz[0], sz[1])
				d := mustDecoder(b, c)
				g := make([]byte, anaW*anaH)
				b.ReportAllocs()
				i := 0
				cpu := cpuclock.Start()
				for b.Loop() {
					if ok, err := d.Decode(aus[i]); !ok || err != nil {
						b.Fatal(ok, err)
					}
					if scale {
						if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
							b.Fatal(err)
						}
					}
					i = (i + 1) % len(aus)
				}
				cpu.Report(b)
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
				cpu := cpuclock.Start()
				for b.Loop() {
					if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
						b.Fatal(err)
					}
				}
				cpu.Report(b)
			})
		}
	}
}
