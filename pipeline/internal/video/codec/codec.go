// Package codec wraps libavcodec and libswscale for the camera pipeline:
// decode H.264/H.265 access units as delivered by RTSP, and scale the decoded
// picture straight to the analysis size and format in one pass. It also wraps
// libx264/libx265 so the simulated camera and the tests produce real
// bitstreams with the properties of a real camera (in-band parameter sets, no
// B-frames).
//
// libav* log output is silenced process-wide on first use: the decoder would
// otherwise print per frame on a damaged stream. Errors are returned instead
// and the caller rate-limits what it logs.
package codec

// #cgo pkg-config: libavcodec libavutil libswscale
// #include "egcodec.h"
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Codec is a video compression standard a camera may stream.
type Codec int

// The codecs edgeguard decodes. Zero is deliberately invalid so a forgotten
// config field is caught.
const (
	H264 Codec = iota + 1
	H265
)

// String returns the lower-case name used in configs and logs.
func (c Codec) String() string {
	switch c {
	case H264:
		return "h264"
	case H265:
		return "h265"
	}
	return fmt.Sprintf("codec(%d)", int(c))
}

// ParseCodec accepts the names operators and SDP use: h264/avc, h265/hevc
// (any case).
func ParseCodec(s string) (Codec, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "h264", "h.264", "avc":
		return H264, nil
	case "h265", "h.265", "hevc":
		return H265, nil
	}
	return 0, fmt.Errorf("codec: unsupported codec %q (want h264 or h265)", s)
}

func (c Codec) valid() bool { return c == H264 || c == H265 }

func (c Codec) avID() C.int {
	if c == H265 {
		return C.AV_CODEC_ID_HEVC
	}
	return C.AV_CODEC_ID_H264
}

// ErrDecode is wrapped by every error Decode returns for a damaged or
// undecodable access unit (as opposed to misuse such as a closed decoder).
var ErrDecode = errors.New("codec: decode error")

// ErrClosed is returned when a closed Decoder or Encoder is used.
var ErrClosed = errors.New("codec: closed")

// ErrNoPicture is returned by ScaleGray/ScaleBGR before the first picture.
var ErrNoPicture = errors.New("codec: no picture decoded yet")

var quietOnce sync.Once

func quietLibav() { quietOnce.Do(func() { C.eg_quiet_logs() }) }

// avError renders a libav error code; only called on error paths.
func avError(code C.int) string {
	var buf [128]C.char
	C.eg_strerror(code, &buf[0], C.int(len(buf)))
	return C.GoString(&buf[0])
}
