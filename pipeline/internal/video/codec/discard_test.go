package codec

import (
	"bytes"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestDiscardableSamePictures: on a stream with non-reference pictures
// (x264 B-frames without pyramid, the shape of a camera's temporal
// scalability), decoding only the reference pictures plus the ones analysis
// wants (every 5th) gives byte-identical analysis frames to decoding every
// picture, while about half of the pictures are never decoded. A stream
// without them (every camera preset without B-frames) has none to skip.
func TestDiscardableSamePictures(t *testing.T) {
	const w, h, fps, frames = 640, 360, 25, 100
	for _, tc := range []struct {
		name    string
		bframes int
		minSkip int
	}{
		{"one B-frame between references", 1, frames * 2 / 5},
		{"no B-frames", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scene.New(scene.Walker(w, h, fps))
			enc, err := NewEncoder(EncoderConfig{Codec: H264, Width: w, Height: h, FPS: fps, GOP: 50, BFrames: tc.bframes})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			full, sparse := mustDecoder(t, H264), mustDecoder(t, H264)
			a, b := make([]byte, w*h), make([]byte, w*h)
			y, u, v := sc.NewFrame()
			skipped, compared, n := 0, 0, 0
			for f := range frames {
				sc.Render(f, y, u, v)
				au, err := enc.Encode(y, u, v, int64(f))
				if err != nil {
					t.Fatal(err)
				}
				if len(au) == 0 {
					continue // B-frame delay
				}
				want := n%5 == 0
				n++
				gotFull, err := full.Decode(au)
				if err != nil {
					t.Fatal(err)
				}
				if !want && Discardable(H264, au) {
					skipped++
					continue
				}
				gotSparse, err := sparse.Decode(au)
				if err != nil {
					t.Fatal(err)
				}
				if !want || !gotFull {
					continue
				}
				if !gotSparse {
					t.Fatalf("AU %d: the full decoder has a picture, the sparse one not", n-1)
				}
				if err := full.ScaleGray(a, w, h, w); err != nil {
					t.Fatal(err)
				}
				if err := sparse.ScaleGray(b, w, h, w); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("AU %d: analysis frames differ", n-1)
				}
				compared++
			}
			t.Logf("%d AUs, %d left undecoded, %d analysis frames identical", n, skipped, compared)
			if skipped < tc.minSkip || (tc.minSkip == 0 && skipped != 0) {
				t.Errorf("%d AUs left undecoded, want at least %d", skipped, tc.minSkip)
			}
			if compared < n/5-2 {
				t.Errorf("only %d frames compared", compared)
			}
		})
	}
}

func TestDiscardable(t *testing.T) {
	nonIDR := func(ref byte) []byte { return []byte{ref<<5 | 1, 0x88} }
	for _, tc := range []struct {
		name string
		c    Codec
		au   [][]byte
		want bool
	}{
		{"non-reference slices", H264, [][]byte{nonIDR(0), nonIDR(0)}, true},
		{"with AUD and SEI", H264, [][]byte{{9, 0xf0}, {6, 5}, nonIDR(0)}, true},
		{"reference slice", H264, [][]byte{nonIDR(2)}, false},
		{"one reference slice among others", H264, [][]byte{nonIDR(0), nonIDR(1)}, false},
		{"IDR", H264, [][]byte{{0x65, 0x88}}, false},
		{"parameter sets", H264, [][]byte{{0x67, 1}, nonIDR(0)}, false},
		{"no slice", H264, [][]byte{{9, 0xf0}}, false},
		{"empty", H264, nil, false},
		{"empty NAL unit", H264, [][]byte{{}, nonIDR(0)}, true},
		{"H.265 never", H265, [][]byte{{0x00, 0x01, 0x88}}, false},
	} {
		if got := Discardable(tc.c, tc.au); got != tc.want {
			t.Errorf("%s: Discardable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
