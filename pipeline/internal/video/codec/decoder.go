package codec

// #include "egcodec.h"
import "C"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// DecoderConfig configures a Decoder.
type DecoderConfig struct {
	Codec Codec
	// Threads is libavcodec's decoding thread count; 0 means 1. One thread
	// per camera is the right default on an edge box: cameras already run in
	// parallel (each decoder on a thread of its own), so more threads per
	// decoder only add context switches, per-thread memory and (with frame
	// threading) one frame of latency per extra thread. Raise it only for a
	// box with few high-resolution cameras and idle cores.
	Threads int
	// ParamSets are out-of-band parameter sets (SPS/PPS, and VPS for H.265)
	// from the SDP, without start codes. They are used when a random-access
	// AU arrives without its own. Optional.
	ParamSets [][]byte
	Logger    *slog.Logger
}

// DecoderStats counts what happened to the access units given to Decode.
type DecoderStats struct {
	Decoded uint64 // pictures produced
	Errors  uint64 // AUs libavcodec rejected or decoded with damage
	Skipped uint64 // AUs not decoded while waiting for a random-access AU (and empty AUs)
	// CPU is the CPU time the decoder's thread spent decoding (the kernel's
	// exact account, not a sample).
	CPU time.Duration
}

// Decoder decodes one camera's stream. Methods other than Stats must be
// called from a single goroutine (the camera's worker); Stats may be called
// from any goroutine.
type Decoder struct {
	codec Codec
	log   *slog.Logger
	dec   *C.eg_decoder

	// waiting is the key-frame gate: true until the first random-access AU,
	// and again after a decode error or ResetToKeyframe. A P-frame decoded
	// against a missing reference is garbage that looks like motion.
	waiting bool

	nalus  [][]byte // filtered view of the current AU (reused)
	annexb []byte   // Annex-B packet (reused)
	// ps holds the latest parameter sets seen (config or in-band), one per
	// naluKind slot. When the gate opens they are sent ahead of the
	// random-access AU if it lacks them: the codec context is new then.
	ps [3][]byte
	// Signatures of parameter sets: of the latest AU carrying any, and of
	// those the current context started with; psChanged records that an
	// AU carried others since.
	lastSig, ctxSig uint64
	psChanged       bool

	w, h   int
	pixFmt C.int
	scaler scalerCache
	box    boxScaler
	// noBox forces libswscale for every scale (tests compare the two).
	noBox bool

	decoded, errors, skipped atomic.Uint64
	cpuNS                    atomic.Int64

	// worker decodes on a thread of its own (egworker.c); done is its
	// eventfd, result the buffer a result is read into. lost: a wait for
	// the worker failed, so it may still be decoding.
	worker *C.eg_worker
	done   *os.File
	result [8]byte
	lost   bool
}

// NewDecoder opens a libavcodec decoder for cfg.Codec.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	if !cfg.Codec.valid() {
		return nil, fmt.Errorf("codec: decoder: invalid codec %v", cfg.Codec)
	}
	if cfg.Threads < 0 || cfg.Threads > 64 {
		return nil, fmt.Errorf("codec: decoder: thread count %d out of range", cfg.Threads)
	}
	threads := cfg.Threads
	if threads == 0 {
		threads = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	quietLibav()
	d := &Decoder{
		codec:   cfg.Codec,
		log:     log.With("codec", cfg.Codec.String()),
		waiting: true,
		annexb:  make([]byte, 0, 256<<10),
		nalus:   make([][]byte, 0, 16),
	}
	d.scaler.flags = C.int(defaultSwsFlags)
	for _, n := range cfg.ParamSets {
		if len(n) == 0 {
			continue
		}
		if _, slot := naluKind(cfg.Codec, n); slot >= 0 {
			d.ps[slot] = append([]byte(nil), n...)
		}
	}
	if ret := C.eg_decoder_open(&d.dec, cfg.Codec.avID(), C.int(threads)); ret < 0 {
		return nil, fmt.Errorf("codec: open %v decoder: %s", cfg.Codec, avError(ret))
	}
	if ret := C.eg_worker_start(&d.worker); ret < 0 {
		C.eg_decoder_close(d.dec)
		return nil, fmt.Errorf("codec: start %v decoder thread: %s", cfg.Codec, avError(ret))
	}
	// Non-blocking, so that os.File waits in the network poller.
	d.done = os.NewFile(uintptr(d.worker.efd), "decoder-done")
	return d, nil
}

// Decode feeds one access unit (NAL units without start codes). It returns
// true when a new picture is available for ScaleGray/ScaleBGR. Skipped AUs
// return (false, nil); a damaged AU returns an error wrapping ErrDecode, after
// which AUs are skipped until the next random-access AU. Decode never keeps
// references to au.
func (d *Decoder) Decode(au [][]byte) (bool, error) {
	if d.dec == nil {
		return false, ErrClosed
	}
	var has [3]bool
	var sig uint64 // of this AU's parameter sets; 0 if none
	d.nalus = d.nalus[:0]
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		drop, slot := naluKind(d.codec, n)
		if drop {
			continue
		}
		if slot >= 0 {
			has[slot] = true
			if !bytes.Equal(d.ps[slot], n) {
				d.ps[slot] = append(d.ps[slot][:0], n...)
			}
			sig = fnv1a(sig, n)
		}
		d.nalus = append(d.nalus, n)
	}
	if sig != 0 {
		d.lastSig = sig
		if sig != d.ctxSig {
			d.psChanged = true
		}
	}
	if len(d.nalus) == 0 {
		d.skipped.Add(1)
		return false, nil
	}
	var ra bool
	if d.codec == H265 {
		ra = h265.IsRandomAccess(d.nalus)
	} else {
		ra = h264.IsRandomAccess(d.nalus)
	}
	if d.waiting && !ra {
		d.skipped.Add(1)
		return false, nil
	}

	fresh := d.waiting
	if ra && d.psChanged && !fresh {
		// New parameter sets (resolution change, or damaged ones that
		// slipped through): start this random-access AU on a new context,
		// so no picture decoded under the old ones is still queued for
		// output and none of their state lingers.
		d.enterWaiting("parameter sets changed")
		fresh = true
	}

	buf := d.annexb[:0]
	if fresh {
		for slot, p := range d.ps {
			if !has[slot] && len(p) > 0 {
				buf = append(buf, 0, 0, 0, 1)
				buf = append(buf, p...)
			}
		}
	}
	for _, n := range d.nalus {
		buf = append(buf, 0, 0, 0, 1)
		buf = append(buf, n...)
	}
	d.annexb = buf
	clear(d.nalus) // do not keep the caller's buffers alive

	got, err := d.decodeOnWorker(buf)
	if err != nil {
		return false, err
	}
	if got < 0 {
		d.errors.Add(1)
		d.enterWaiting("decode error")
		return false, fmt.Errorf("%w: %v: %s", ErrDecode, d.codec, avError(got))
	}
	if ra {
		d.ctxSig, d.psChanged = d.lastSig, false
	}
	if d.waiting {
		d.waiting = false
		d.log.Debug("decoder synchronised on random-access AU")
	}
	if got == 0 {
		return false, nil
	}
	d.decoded.Add(uint64(got))
	d.notePicture()
	return true, nil
}

// decodeOnWorker runs eg_decoder_decode on the decoder's thread and waits
// for it without holding a scheduler slot.
func (d *Decoder) decodeOnWorker(annexB []byte) (C.int, error) {
	if d.lost {
		return 0, errThreadLost
	}
	if ret := C.eg_worker_submit(d.worker, d.dec, (*C.uint8_t)(unsafe.Pointer(&annexB[0])), C.int(len(annexB))); ret < 0 {
		return ret, nil
	}
	if _, err := io.ReadFull(d.done, d.result[:]); err != nil {
		// Only if the eventfd broke: the thread may still be decoding with
		// this decoder, which must not be touched again.
		d.lost = true
		return 0, fmt.Errorf("%w: %w", errThreadLost, err)
	}
	// The worker set cpu_ns before writing the eventfd just read.
	d.cpuNS.Store(int64(d.worker.cpu_ns))
	return C.int(int64(binary.NativeEndian.Uint64(d.result[:])) - int64(C.EG_WORKER_BIAS)), nil
}

// errThreadLost: waiting for the decoder's thread failed (the eventfd
// broke); the decoder is unusable until Close.
var errThreadLost = errors.New("codec: lost the decoder thread")

func fnv1a(h uint64, b []byte) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (d *Decoder) notePicture() {
	f := d.dec.cur
	w, h, pf := int(f.width), int(f.height), C.int(f.format)
	if w == d.w && h == d.h && pf == d.pixFmt {
		return
	}
	if d.w == 0 {
		d.log.Info("first picture decoded", "width", w, "height", h, "pix_fmt", pixFmtName(pf))
	} else {
		d.log.Info("picture format changed", "from_width", d.w, "from_height", d.h,
			"width", w, "height", h, "pix_fmt", pixFmtName(pf))
	}
	d.w, d.h, d.pixFmt = w, h, pf
}

func pixFmtName(pf C.int) string {
	name := C.av_get_pix_fmt_name(C.enum_AVPixelFormat(pf))
	if name == nil {
		return fmt.Sprint(int(pf))
	}
	return C.GoString(name)
}

// enterWaiting closes the key-frame gate and re-creates the codec context.
// avcodec_flush_buffers is not enough: it does not reset all per-slice state,
// and an IDR decoded after a truncated H.264 slice came out different from a
// clean decode (top-left block). Re-creating costs well under a millisecond
// and happens only on errors and upstream losses; parameter sets the new
// context has not seen are re-sent from d.ps with the next random-access AU.
func (d *Decoder) enterWaiting(why string) {
	C.eg_decoder_reopen(d.dec) // a failure is retried by the next Decode
	if !d.waiting {
		d.waiting = true
		d.log.Debug("waiting for random-access AU", "reason", why)
	}
}

// ResetToKeyframe discards decoder state and skips AUs until the next
// random-access AU; call it when AUs were lost upstream (ingest queue
// overflow, RTP loss), since later P-frames would reference missing pictures.
// The last picture stays available for scaling.
func (d *Decoder) ResetToKeyframe() {
	if d.dec == nil {
		return
	}
	d.enterWaiting("reset")
}

// Size is the size of the last decoded picture (0, 0 before the first).
func (d *Decoder) Size() (w, h int) { return d.w, d.h }

// Stats returns counters since NewDecoder. Safe for concurrent use.
func (d *Decoder) Stats() DecoderStats {
	return DecoderStats{Decoded: d.decoded.Load(), Errors: d.errors.Load(), Skipped: d.skipped.Load(),
		CPU: time.Duration(d.cpuNS.Load())}
}

// ScaleGray converts the last picture to 8-bit grey (full range) of size
// w x h into dst, whose rows are stride bytes apart. dst may be Go memory or
// C memory (e.g. a gocv Mat's data); it must hold stride*h bytes, and the
// padding at the end of each row may be overwritten.
func (d *Decoder) ScaleGray(dst []byte, w, h, stride int) error {
	return d.scale(dst, w, h, stride, C.AV_PIX_FMT_GRAY8, 1)
}

// ScaleBGR converts the last picture to packed 24-bit BGR (OpenCV's order)
// of size w x h into dst; see ScaleGray for the dst rules.
func (d *Decoder) ScaleBGR(dst []byte, w, h, stride int) error {
	return d.scale(dst, w, h, stride, C.AV_PIX_FMT_BGR24, 3)
}

func (d *Decoder) scale(dst []byte, w, h, stride int, dstFmt C.int, bpp int) error {
	if d.dec == nil {
		return ErrClosed
	}
	if d.w == 0 {
		return ErrNoPicture
	}
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return fmt.Errorf("codec: scale: invalid size %dx%d", w, h)
	}
	if stride < w*bpp {
		return fmt.Errorf("codec: scale: stride %d < %d bytes per row", stride, w*bpp)
	}
	if len(dst) < stride*h {
		return fmt.Errorf("codec: scale: dst has %d bytes, need %d", len(dst), stride*h)
	}
	f := d.dec.cur
	if dstFmt == C.AV_PIX_FMT_GRAY8 && d.scaler.flags == C.int(swsArea) && !d.noBox {
		// The analysis frame at an integer fraction of the picture's size:
		// see boxScaler.
		if k := boxFactor(f, w, h); k > 0 && d.box.scale(f, k, dst, w, h, stride) {
			return nil
		}
	}
	key := scalerKey{
		srcW: f.width, srcH: f.height, srcFmt: C.int(f.format),
		srcFull:    f.color_range == C.AVCOL_RANGE_JPEG,
		colorspace: C.int(f.colorspace),
		dstW:       C.int(w), dstH: C.int(h), dstFmt: dstFmt,
	}
	sws, err := d.scaler.get(key)
	if err != nil {
		return err
	}
	// dst is passed as a call argument only; cgo keeps Go memory pinned for
	// the duration of the call and swscale does not retain it.
	if C.eg_sws_scale(sws, f, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(stride)) <= 0 {
		return fmt.Errorf("codec: scale %dx%d %s -> %dx%d failed", d.w, d.h, pixFmtName(key.srcFmt), w, h)
	}
	return nil
}

// Close frees the decoder. Safe to call more than once.
func (d *Decoder) Close() {
	if d.dec == nil {
		return
	}
	d.scaler.close()
	// Waits for a decode in progress (only after a lost wait).
	C.eg_worker_stop(d.worker)
	d.done.Close()
	C.eg_decoder_close(d.dec)
	d.dec, d.worker = nil, nil
}

// The scaling filter is SWS_AREA: it averages all source pixels under a
// destination pixel, so downscaling 1080p to the analysis size also averages
// away sensor noise that MOG2 would otherwise see as flicker (false motion).
// SWS_FAST_BILINEAR uses 2 taps whatever the ratio: it samples rather than
// averages, and aliases moving edges. Measured (TestAreaFilterAveragesNoise):
// noise σ after 1080p→640x360 is 2.6 with AREA vs 6.3 with FAST_BILINEAR.
// The price was ~0.8 ms vs ~0.3 ms per 1080p frame (BenchmarkScaleGray),
// paid only at the analysis rate (5 fps); at the ratios of the usual
// analysis sizes (1080p → 640x360, and 640x360 itself) boxScaler computes
// the same average for a quarter of that.
const (
	swsArea         = int(C.SWS_AREA)
	swsFastBilinear = int(C.SWS_FAST_BILINEAR)
	swsBilinear     = int(C.SWS_BILINEAR)
	defaultSwsFlags = swsArea
)

// setSwsFlags changes the filter (benchmarks compare them).
func (d *Decoder) setSwsFlags(flags int) {
	d.scaler.close()
	d.scaler.flags = C.int(flags)
}

type scalerKey struct {
	srcW, srcH, srcFmt C.int
	srcFull            bool
	colorspace         C.int
	dstW, dstH, dstFmt C.int
}

type scalerEntry struct {
	key  scalerKey
	sws  *C.struct_SwsContext
	used uint64
}

// scalerCache keeps a few swscale contexts: one per (source format, target)
// pair in use, typically grey for motion plus BGR for a snapshot. A source
// size/format change (new SPS) simply misses and evicts the least recently
// used context.
type scalerCache struct {
	entries [4]scalerEntry
	tick    uint64
	flags   C.int
}

func (c *scalerCache) get(k scalerKey) (*C.struct_SwsContext, error) {
	c.tick++
	victim := -1
	for i := range c.entries {
		e := &c.entries[i]
		if e.sws != nil && e.key == k {
			e.used = c.tick
			return e.sws, nil
		}
		// Prefer an empty slot, else the least recently used one.
		if victim < 0 || (c.entries[victim].sws != nil && (e.sws == nil || e.used < c.entries[victim].used)) {
			victim = i
		}
	}
	sws := C.eg_sws_new(k.srcW, k.srcH, k.srcFmt, boolToC(k.srcFull), k.colorspace, k.dstW, k.dstH, k.dstFmt, c.flags)
	if sws == nil {
		return nil, fmt.Errorf("codec: no scaler for %dx%d %s -> %dx%d %s", k.srcW, k.srcH, pixFmtName(k.srcFmt),
			k.dstW, k.dstH, pixFmtName(k.dstFmt))
	}
	e := &c.entries[victim]
	if e.sws != nil {
		C.sws_freeContext(e.sws)
	}
	*e = scalerEntry{key: k, sws: sws, used: c.tick}
	return sws, nil
}

func (c *scalerCache) len() int {
	n := 0
	for _, e := range c.entries {
		if e.sws != nil {
			n++
		}
	}
	return n
}

func (c *scalerCache) close() {
	for i := range c.entries {
		if c.entries[i].sws != nil {
			C.sws_freeContext(c.entries[i].sws)
		}
		c.entries[i] = scalerEntry{}
	}
}

func boolToC(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
