package codec

// #include <stdlib.h>
// #include "egcodec.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// EncoderConfig configures an Encoder.
type EncoderConfig struct {
	Codec         Codec
	Width, Height int // even (4:2:0)
	FPS           int // 0 → 25
	// BitrateKbps caps the rate like a CBR camera (1 s VBV); 0 → the
	// encoder's constant-quality default (CRF).
	BitrateKbps int
	GOP         int // frames between IDRs; 0 → 2 s
	// Preset is the x264/x265 speed preset; "" → ultrafast, which tests
	// use because it encodes fast. Ultrafast turns off CABAC and the
	// deblocking filter, so its bitstream is far cheaper to decode than a
	// camera's: use PresetCamera where decoding cost is measured.
	Preset string
	// BFrames puts this many non-reference B-frames between reference
	// pictures (x264 only, without B-pyramid), the discardable pictures
	// some cameras send; Encode then returns pictures in decoding order,
	// BFrames pictures late. 0: none, like most cameras.
	BFrames int
}

// PresetCamera makes a bitstream shaped like an IP camera's hardware
// encoder: High profile with CABAC, 8x8 transform and the deblocking filter
// on (x264's "veryfast"), still without B-frames.
const PresetCamera = "veryfast"

// presets are the x264/x265 presets accepted (the library's own names).
var presets = map[string]bool{"ultrafast": true, "superfast": true, "veryfast": true, "faster": true,
	"fast": true, "medium": true, "slow": true}

// Encoder produces a camera-like bitstream with libx264/libx265: ultrafast
// unless EncoderConfig.Preset says otherwise, zero latency (one AU out per
// picture in) and no B-frames unless EncoderConfig.BFrames asks for them,
// parameter sets in-band before every IDR so a receiver can join at any key
// frame. Not safe for concurrent use.
type Encoder struct {
	cfg   EncoderConfig
	enc   *C.eg_encoder
	ySize int
	cSize int
}

// NewEncoder opens libx264 (H264) or libx265 (H265).
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if !cfg.Codec.valid() {
		return nil, fmt.Errorf("codec: encoder: invalid codec %v", cfg.Codec)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 || cfg.Width > 8192 || cfg.Height > 8192 {
		return nil, fmt.Errorf("codec: encoder: size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	if cfg.BFrames < 0 || cfg.BFrames > 3 || (cfg.BFrames > 0 && cfg.Codec != H264) {
		return nil, fmt.Errorf("codec: encoder: %d B-frames: allowed 0 to 3, H.264 only", cfg.BFrames)
	}
	if cfg.FPS < 0 || cfg.FPS > 240 || cfg.BitrateKbps < 0 || cfg.BitrateKbps > 1_000_000 || cfg.GOP < 0 {
		return nil, fmt.Errorf("codec: encoder: FPS %d, bitrate %d kbit/s or GOP %d out of range",
			cfg.FPS, cfg.BitrateKbps, cfg.GOP)
	}
	if cfg.FPS == 0 {
		cfg.FPS = 25
	}
	if cfg.GOP == 0 {
		cfg.GOP = 2 * cfg.FPS
	}
	if cfg.Preset == "" {
		cfg.Preset = "ultrafast"
	}
	if !presets[cfg.Preset] {
		return nil, fmt.Errorf("codec: encoder: unknown preset %q", cfg.Preset)
	}
	quietLibav()

	// Cameras keep a fixed key-frame interval: no scene-cut IDRs (ultrafast
	// has none anyway; the camera preset would add some).
	name, key, params := "libx264", "x264-params", "scenecut=0"
	if cfg.BFrames > 0 {
		params += fmt.Sprintf(":bframes=%d:b-pyramid=none:b-adapt=0", cfg.BFrames)
	}
	if cfg.Codec == H265 {
		// x265 writes to stderr itself (not through av_log), hence
		// log-level=none. open-gop=0 makes every key frame an IDR rather
		// than a CRA, like camera firmware.
		name, key, params = "libx265", "x265-params", "repeat-headers=1:log-level=none:open-gop=0:bframes=0"
	}
	cName, cPreset := C.CString(name), C.CString(cfg.Preset)
	defer C.free(unsafe.Pointer(cName))
	defer C.free(unsafe.Pointer(cPreset))
	var cKey, cParams *C.char
	if key != "" {
		cKey, cParams = C.CString(key), C.CString(params)
		defer C.free(unsafe.Pointer(cKey))
		defer C.free(unsafe.Pointer(cParams))
	}
	e := &Encoder{cfg: cfg, ySize: cfg.Width * cfg.Height, cSize: (cfg.Width / 2) * (cfg.Height / 2)}
	ret := C.eg_encoder_open(&e.enc, cName, cPreset, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS),
		C.int64_t(cfg.BitrateKbps)*1000, C.int(cfg.GOP), cKey, cParams)
	if ret < 0 {
		return nil, fmt.Errorf("codec: open %s: %s", name, avError(ret))
	}
	return e, nil
}

// Encode compresses one I420 picture (plane strides w, w/2, w/2) and returns
// the resulting access unit as NAL units without start codes. The NAL units
// are fresh Go memory owned by the caller. An empty result means the encoder
// buffered the picture (only with BFrames).
func (e *Encoder) Encode(y, u, v []byte, pts int64) ([][]byte, error) {
	if e.enc == nil {
		return nil, ErrClosed
	}
	if len(y) < e.ySize || len(u) < e.cSize || len(v) < e.cSize {
		return nil, fmt.Errorf("codec: encode: planes %d/%d/%d bytes, need %d/%d/%d",
			len(y), len(u), len(v), e.ySize, e.cSize, e.cSize)
	}
	ret := C.eg_encoder_send(e.enc, (*C.uint8_t)(unsafe.Pointer(&y[0])), (*C.uint8_t)(unsafe.Pointer(&u[0])),
		(*C.uint8_t)(unsafe.Pointer(&v[0])), C.int64_t(pts))
	if ret < 0 {
		return nil, fmt.Errorf("codec: encode %v: %s", e.cfg.Codec, avError(ret))
	}
	var stream []byte
	for {
		ret := C.eg_encoder_receive(e.enc)
		if ret == C.AVERROR_EAGAIN_ || ret == C.AVERROR_EOF {
			break
		}
		if ret < 0 {
			return nil, fmt.Errorf("codec: encode %v: %s", e.cfg.Codec, avError(ret))
		}
		pkt := e.enc.pkt
		stream = append(stream, unsafe.Slice((*byte)(unsafe.Pointer(pkt.data)), int(pkt.size))...)
	}
	return splitAnnexB(stream, nil), nil
}

// Close frees the encoder. Safe to call more than once.
func (e *Encoder) Close() {
	if e.enc == nil {
		return
	}
	C.eg_encoder_close(e.enc)
	e.enc = nil
}
