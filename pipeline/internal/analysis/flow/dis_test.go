package flow

import (
	"image"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gocv.io/x/gocv"
)

// TestDISHardInputs runs the optical flow on what a camera can produce and
// OpenCV's DIS has crashed on elsewhere (opencv/opencv#14554, #20185): flat
// and saturated frames, noise, large jumps, frames smaller than its
// pyramid, rectangles at every edge, several instances at once. A native
// crash fails the whole test binary; every flow value must be finite.
func TestDISHardInputs(t *testing.T) {
	sizes := []image.Point{{320, 180}, {160, 90}, {64, 36}, {33, 17}, {8, 8}, {1, 1}}
	kinds := []func(r *rand.Rand, w, h, shift int) ([]byte, []byte){
		func(_ *rand.Rand, w, h, _ int) ([]byte, []byte) { return make([]byte, w*h), make([]byte, w*h) },
		func(_ *rand.Rand, w, h, _ int) ([]byte, []byte) { return filled(w*h, 255), make([]byte, w*h) },
		func(r *rand.Rand, w, h, _ int) ([]byte, []byte) { return noise(r, w*h), noise(r, w*h) },
		func(r *rand.Rand, w, h, shift int) ([]byte, []byte) {
			a := texture(w+2*shift, h, r.Uint64())
			return crop(a, w+2*shift, 0, w, h), crop(a, w+2*shift, 2*shift, w, h)
		},
		func(r *rand.Rand, w, h, _ int) ([]byte, []byte) {
			// half flat, half texture, swapped
			a, b := texture(w, h, r.Uint64()), make([]byte, w*h)
			for i := range a {
				if i%w < w/2 {
					b[i], a[i] = a[i], 128
				}
			}
			return a, b
		},
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			d, err := newDIS()
			if err != nil {
				t.Error(err)
				return
			}
			defer d.close()
			for _, sz := range sizes {
				for k, kind := range kinds {
					for _, shift := range []int{0, 3, 40, 150} {
						a, b := kind(r, sz.X, sz.Y, shift)
						checkDIS(t, d, sz, a, b, r, k)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// checkDIS runs on TestDISHardInputs's goroutines, so it reports with
// t.Error and returns rather than calling t.Fatal.
func checkDIS(t *testing.T, d *dis, sz image.Point, a, b []byte, r *rand.Rand, kind int) {
	prev, err := gocv.NewMatFromBytes(sz.Y, sz.X, gocv.MatTypeCV8UC1, a)
	if err != nil {
		t.Error(err)
		return
	}
	defer prev.Close()
	cur, err := gocv.NewMatFromBytes(sz.Y, sz.X, gocv.MatTypeCV8UC1, b)
	if err != nil {
		t.Error(err)
		return
	}
	defer cur.Close()
	flow := gocv.NewMatWithSizeFromScalar(gocv.Scalar{}, sz.Y, sz.X, gocv.MatTypeCV32FC2)
	defer flow.Close()
	frame := image.Rect(0, 0, sz.X, sz.Y)
	rects := []image.Rectangle{frame, atLeast(image.Rect(0, 0, 1, 1), minROI, frame),
		atLeast(image.Rect(sz.X-1, sz.Y-1, sz.X, sz.Y), minROI, frame)}
	for range 12 {
		x, y := r.IntN(sz.X), r.IntN(sz.Y)
		rects = append(rects, image.Rect(x, y, x+1+r.IntN(sz.X-x), y+1+r.IntN(sz.Y-y)))
	}
	for _, rc := range rects {
		// Exactly the rectangles under the minimum side are refused.
		err := d.calc(prev, cur, flow, rc)
		small := rc.Dx() < minDISSide || rc.Dy() < minDISSide
		if small != (err != nil) {
			t.Errorf("size %v kind %d rect %v: got error %v", sz, kind, rc, err)
		}
		if err != nil {
			continue
		}
		f, err := flow.DataPtrFloat32()
		if err != nil {
			t.Error(err)
			return
		}
		for _, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("size %v kind %d rect %v: flow value %v", sz, kind, rc, v)
				break
			}
		}
	}
	if err := d.calc(prev, cur, flow, image.Rect(0, 0, sz.X+1, sz.Y)); err == nil {
		t.Errorf("size %v: a rectangle outside the frame was accepted", sz)
	}
}

func filled(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

func noise(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func crop(src []byte, stride, x0, w, h int) []byte {
	out := make([]byte, 0, w*h)
	for y := range h {
		out = append(out, src[y*stride+x0:y*stride+x0+w]...)
	}
	return out
}
