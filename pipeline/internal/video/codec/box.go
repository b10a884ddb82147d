package codec

// #include "egcodec.h"
import "C"

import "unsafe"

// boxScaler is the analysis downscale for the two common cases: grey
// output of exactly a third of an 8-bit YUV picture's size (1920x1080 →
// 640x360, k = 3) or of the same size (the 640x360 sub-stream, k = 1).
// Each output pixel is the mean of its k x k block of luma, range-converted
// to full range in the same table look-up. At these ratios that is the
// filter SWS_AREA computes, so it averages sensor noise just the same,
// without libswscale's general polyphase machinery (several taps per
// direction through 15-bit intermediate planes): 2.6x cheaper at 1080p
// (BenchmarkScaleGray). The output is libswscale's up to rounding: at k = 3
// under 1 % of pixels differ by one grey level, at k = 1 none
// (TestBoxMatchesArea), and motion detection gives the same result frame
// by frame (TestBoxSameMotion). At even ratios libswscale's area filter is
// not a plain box (about 4 % of pixels differ by one level), so those keep
// libswscale.
type boxScaler struct {
	k    int
	full bool
	lut  []byte   // 255*k*k+1 entries: block sum → output grey
	row  []uint16 // column sums of k source rows
}

// boxFactor returns k if the current picture can take the box path to
// w x h grey, else 0.
func boxFactor(f *C.AVFrame, w, h int) int {
	switch f.format {
	case C.AV_PIX_FMT_YUV420P, C.AV_PIX_FMT_YUVJ420P, C.AV_PIX_FMT_YUV422P, C.AV_PIX_FMT_YUVJ422P,
		C.AV_PIX_FMT_YUV444P, C.AV_PIX_FMT_YUVJ444P:
	default:
		return 0
	}
	k := int(f.width) / w
	if (k != 1 && k != 3) || int(f.width) != k*w || int(f.height) != k*h {
		return 0
	}
	return k
}

// fullRange is how libswscale decides the source range in eg_sws_new: the
// J formats are full range, as is any picture flagged so.
func fullRange(f *C.AVFrame) bool {
	switch f.format {
	case C.AV_PIX_FMT_YUVJ420P, C.AV_PIX_FMT_YUVJ422P, C.AV_PIX_FMT_YUVJ444P:
		return true
	}
	return f.color_range == C.AVCOL_RANGE_JPEG
}

// scale writes the picture; the caller checked boxFactor.
func (b *boxScaler) scale(f *C.AVFrame, k int, dst []byte, w, h, stride int) bool {
	full := fullRange(f)
	if b.lut == nil || b.k != k || b.full != full {
		b.k, b.full = k, full
		b.lut = boxLUT(k, full)
	}
	if n := k * w; len(b.row) < n {
		b.row = make([]uint16, n)
	}
	return C.eg_box_gray(f, C.int(k), (*C.uint8_t)(unsafe.Pointer(&b.lut[0])), (*C.uint8_t)(unsafe.Pointer(&dst[0])),
		C.int(w), C.int(h), C.int(stride), (*C.uint16_t)(unsafe.Pointer(&b.row[0]))) == 0
}

// boxLUT maps the sum s of k*k luma samples to the rounded full-range grey
// of their mean: s/k² itself for a full-range source, otherwise
// (s/k² − 16)·255/219 clipped to 0..255 (BT.601/709 video range; the YUV
// matrix does not matter for luma).
func boxLUT(k int, full bool) []byte {
	n := k * k
	lut := make([]byte, 255*n+1)
	for s := range lut {
		num, den := s, n
		if !full {
			num, den = (s-16*n)*255, 219*n
		}
		// Round half up; floor division for negative numerators.
		v := (2*num + den)
		q := v / (2 * den)
		if v < 0 && v%(2*den) != 0 {
			q--
		}
		lut[s] = byte(min(max(q, 0), 255))
	}
	return lut
}
