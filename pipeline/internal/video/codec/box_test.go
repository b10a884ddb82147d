package codec

import (
	"fmt"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestBoxMatchesArea: at both ratios the box path takes, its grey picture
// is libswscale's SWS_AREA result up to rounding: at most a few pixels
// differ by more than one grey level, and a fraction of a percent by one.
// Other ratios (2:1 here) keep libswscale.
func TestBoxMatchesArea(t *testing.T) {
	for _, tc := range []struct{ srcW, srcH, w, h int }{
		{1920, 1080, 640, 360}, // k = 3, the main stream
		{640, 360, 640, 360},   // k = 1, the sub-stream
		{1280, 720, 640, 360},  // 2:1: libswscale
		{1920, 1080, 320, 180}, // 6:1: libswscale
	} {
		t.Run(fmt.Sprintf("%dx%d-to-%dx%d", tc.srcW, tc.srcH, tc.w, tc.h), func(t *testing.T) {
			aus := encodeClip(t, H264, newSynth(tc.srcW, tc.srcH, 100, 12), 5, 25, 4000)
			d := mustDecoder(t, H264)
			box := make([]byte, tc.w*tc.h)
			area := make([]byte, tc.w*tc.h)
			var n, off1, offMore int
			for _, au := range aus {
				if ok, err := d.Decode(au); !ok || err != nil {
					t.Fatal(ok, err)
				}
				want := tc.srcW / tc.w
				if want != 1 && want != 3 {
					want = 0
				}
				if k := boxFactor(d.dec.cur, tc.w, tc.h); k != want {
					t.Fatalf("boxFactor %d, want %d", k, want)
				}
				d.noBox = false
				if err := d.ScaleGray(box, tc.w, tc.h, tc.w); err != nil {
					t.Fatal(err)
				}
				d.noBox = true
				if err := d.ScaleGray(area, tc.w, tc.h, tc.w); err != nil {
					t.Fatal(err)
				}
				for i := range box {
					switch diff := int(box[i]) - int(area[i]); {
					case diff == 1 || diff == -1:
						off1++
					case diff != 0:
						offMore++
					}
				}
				n += len(box)
			}
			t.Logf("%d pixels: %d (%.3f %%) differ by one grey level, %d by more", n, off1, 100*float64(off1)/float64(n), offMore)
			if float64(off1) > 0.02*float64(n) || float64(offMore) > 1e-4*float64(n) {
				t.Errorf("box filter is not SWS_AREA up to rounding")
			}
		})
	}
}

// TestBoxLUT: the table is the rounded mean, range-converted.
func TestBoxLUT(t *testing.T) {
	for _, k := range []int{1, 3} {
		for _, full := range []bool{false, true} {
			lut := boxLUT(k, full)
			n := k * k
			for s, got := range lut {
				m := float64(s) / float64(n)
				if !full {
					m = (m - 16) * 255 / 219
				}
				want := math.Min(math.Max(math.Floor(m+0.5), 0), 255)
				if float64(got) != want {
					t.Fatalf("k=%d full=%v: lut[%d] = %d, want %g", k, full, s, got, want)
				}
			}
		}
	}
}

// TestBoxSameMotion: motion detection on the box path's frames gives the
// same result as on libswscale's, frame by frame, on a 1080p camera clip of
// a walking figure with sensor noise and light drift (the benchmark scene).
func TestBoxSameMotion(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes 10 s of 1080p")
	}
	const w, h, fps = 1920, 1080, 25
	sc := scene.New(scene.Walker(w, h, fps))
	enc, err := NewEncoder(EncoderConfig{Codec: H264, Width: w, Height: h, FPS: fps, BitrateKbps: 4000, GOP: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	d := mustDecoder(t, H264)
	var det [2]*motion.Detector
	var frame [2]gocv.Mat
	for i := range det {
		// The model at the frame's full width, so that it sees every pixel
		// the two filters produce.
		if det[i], err = motion.NewDetector(motion.Config{WarmupFrames: 5, ModelWidth: -1}); err != nil {
			t.Fatal(err)
		}
		defer det[i].Close()
		frame[i] = gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8U)
		defer frame[i].Close()
	}
	y, u, v := sc.NewFrame()
	var analysed, moving int
	for n := range 10 * fps {
		sc.Render(n, y, u, v)
		au, err := enc.Encode(y, u, v, int64(n))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := d.Decode(au); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if n%5 != 0 { // 5 of 25 frames, the default analysis rate
			continue
		}
		var res [2]motion.Result
		for i := range det {
			buf, err := frame[i].DataPtrUint8()
			if err != nil {
				t.Fatal(err)
			}
			d.noBox = i == 1
			if err := d.ScaleGray(buf, 640, 360, 640); err != nil {
				t.Fatal(err)
			}
			res[i] = det[i].Apply(frame[i])
		}
		analysed++
		if res[0].Motion {
			moving++
		}
		a, b := res[0], res[1]
		if a.Motion != b.Motion || a.Warmup != b.Warmup || a.LightChange != b.LightChange || len(a.Boxes) != len(b.Boxes) {
			t.Fatalf("frame %d: box path %+v, libswscale %+v", n, a, b)
		}
		for j := range a.Boxes {
			if a.Boxes[j] != b.Boxes[j] {
				t.Errorf("frame %d: box %d is %v on the box path, %v with libswscale", n, j, a.Boxes[j], b.Boxes[j])
			}
		}
	}
	t.Logf("%d frames analysed, %d with motion: same result on both paths", analysed, moving)
	if moving == 0 {
		t.Fatal("no motion in the clip: the comparison proves nothing")
	}
}
