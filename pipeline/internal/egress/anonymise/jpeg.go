package anonymise

import (
	"errors"
	"fmt"

	"gocv.io/x/gocv"
)

// ErrBadJPEG is wrapped by StripMetadata errors.
var ErrBadJPEG = errors.New("anonymise: malformed JPEG")

// EncodeJPEG encodes an anonymised BGR frame as a baseline JPEG that carries
// no metadata: no EXIF (so no GPS, camera serial or time), no comment, no
// APPn segment other than the JFIF header. OpenCV writes none of these
// today; StripMetadata makes sure of it whatever the library version does.
func EncodeJPEG(bgr gocv.Mat, quality int) ([]byte, error) {
	if bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("anonymise: EncodeJPEG needs a non-empty BGR frame")
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("anonymise: JPEG quality %d outside 1..100", quality)
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, bgr, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, fmt.Errorf("anonymise: JPEG encode: %w", err)
	}
	defer buf.Close()
	return StripMetadata(buf.GetBytes())
}

// JPEG markers.
const (
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mAPP0 = 0xE0
	mAPPF = 0xEF
	mCOM  = 0xFE
	mTEM  = 0x01
	mRST0 = 0xD0
	mRST7 = 0xD7
)

// StripMetadata returns a copy of a JPEG without APP1..APP15 segments, APP0
// segments other than JFIF, comments, and anything after the end-of-image
// marker. It parses the whole marker structure, including entropy-coded
// data between scans, and rejects what it cannot parse: an image that cannot
// be shown to be free of metadata does not leave.
func StripMetadata(in []byte) ([]byte, error) {
	if len(in) < 4 || in[0] != 0xFF || in[1] != mSOI {
		return nil, fmt.Errorf("%w: no start-of-image marker", ErrBadJPEG)
	}
	out := make([]byte, 0, len(in))
	out = append(out, 0xFF, mSOI)
	i := 2
	for {
		// Marker: 0xFF, optional fill 0xFFs, marker byte.
		if i >= len(in) || in[i] != 0xFF {
			return nil, fmt.Errorf("%w: expected a marker at offset %d", ErrBadJPEG, i)
		}
		for i < len(in) && in[i] == 0xFF {
			i++
		}
		if i >= len(in) {
			return nil, fmt.Errorf("%w: truncated marker", ErrBadJPEG)
		}
		m := in[i]
		i++
		switch {
		case m == mEOI:
			return append(out, 0xFF, mEOI), nil
		case m == mSOI || m == 0x00 || m == mTEM || (m >= mRST0 && m <= mRST7):
			return nil, fmt.Errorf("%w: unexpected marker 0x%02X at offset %d", ErrBadJPEG, m, i-1)
		}
		if i+2 > len(in) {
			return nil, fmt.Errorf("%w: truncated segment length", ErrBadJPEG)
		}
		n := int(in[i])<<8 | int(in[i+1])
		if n < 2 || i+n > len(in) {
			return nil, fmt.Errorf("%w: segment 0x%02X length %d out of range", ErrBadJPEG, m, n)
		}
		seg := in[i : i+n]
		i += n
		if keepSegment(m, seg) {
			out = append(out, 0xFF, m)
			out = append(out, seg...)
		}
		if m != mSOS {
			continue
		}
		// Entropy-coded data: up to the next marker that is not a byte
		// stuffing (FF 00) or a restart marker.
		start := i
		for {
			if i+1 >= len(in) {
				return nil, fmt.Errorf("%w: entropy-coded data not terminated", ErrBadJPEG)
			}
			if in[i] == 0xFF {
				nx := in[i+1]
				if nx == 0x00 || (nx >= mRST0 && nx <= mRST7) {
					i += 2
					continue
				}
				if nx == 0xFF { // fill byte before a marker
					i++
					continue
				}
				break
			}
			i++
		}
		out = append(out, in[start:i]...)
	}
}

// keepSegment keeps what decoding needs and the JFIF header; seg starts
// with the 2-byte length.
func keepSegment(m byte, seg []byte) bool {
	switch {
	case m == mCOM:
		return false
	case m == mAPP0:
		// The bare 16-byte JFIF header only: no embedded thumbnail.
		return len(seg) == 16 && string(seg[2:7]) == "JFIF\x00"
	case m > mAPP0 && m <= mAPPF:
		return false
	}
	return true
}
