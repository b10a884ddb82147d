package codec

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
)

var (
	fuzzClipsOnce sync.Once
	fuzzClips     map[Codec][][][]byte
)

// fuzzClip is a tiny real stream per codec: IDR, P, P, IDR, P.
func fuzzClip(tb testing.TB, c Codec) [][][]byte {
	fuzzClipsOnce.Do(func() {
		fuzzClips = map[Codec][][][]byte{}
		for _, cc := range []Codec{H264, H265} {
			fuzzClips[cc] = encodeClip(tb, cc, newSynth(160, 96, 100, 3), 5, 3, 0)
		}
	})
	return fuzzClips[c]
}

// FuzzDecode feeds arbitrary bytes, split at Annex-B start codes, as one AU
// between real AUs. sel picks the codec (bit 0) and whether the gate is open
// when the AU arrives (bit 1). Besides never crashing, the decoder must
// produce a picture for the next real IDR: whatever the input did, it
// recovers at the next key frame.
func FuzzDecode(f *testing.F) {
	for sel, c := range []Codec{H264, H265} {
		for _, au := range fuzzClip(f, c) {
			f.Add(uint8(sel), annexB(au))
			f.Add(uint8(sel|2), annexB(au))
			b := annexB(au)
			f.Add(uint8(sel), b[:len(b)/2])
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 8 {
		b := make([]byte, 16<<i)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(uint8(i&3), b)
	}
	for _, b := range [][]byte{
		nil,
		{0, 0, 1},
		{0, 0, 0, 1, 0, 0, 1, 0, 0, 1},
		{0, 0, 1, 0x65},                   // H.264 IDR header alone
		{0, 0, 1, 0x67, 0xff, 0xff, 0xff}, // broken SPS
		{0, 0, 1, 0x26, 0x01},             // H.265 IDR header alone
		{0, 0, 1, 0x42, 0x01, 0xff, 0xff}, // broken H.265 SPS
		bytes.Repeat([]byte{0}, 4096),
		bytes.Repeat([]byte{0xff}, 4096),
	} {
		f.Add(uint8(0), b)
		f.Add(uint8(1), b)
	}

	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		c := H264
		if sel&1 == 1 {
			c = H265
		}
		clip := fuzzClip(t, c)
		d, err := NewDecoder(DecoderConfig{Codec: c, Logger: testlog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		g := make([]byte, 64*48)
		bgr := make([]byte, 64*48*3)
		scale := func() {
			// Scaling errors are fine (e.g. a damaged SPS announcing an
			// odd format); crashing is not.
			_ = d.ScaleGray(g, 64, 48, 64)
			_ = d.ScaleBGR(bgr, 64, 48, 64*3)
		}
		if ok, err := d.Decode(clip[0]); !ok || err != nil {
			t.Fatalf("first IDR: %v, %v", ok, err)
		}
		if sel&2 != 0 {
			d.ResetToKeyframe()
		}
		if ok, _ := d.Decode(splitAnnexB(data, nil)); ok {
			scale()
		}
		for n, au := range clip[1:] {
			ok, _ := d.Decode(au)
			if ok {
				scale()
			}
			if n+1 == 3 {
				if !ok {
					t.Fatalf("no picture from the IDR after the fuzzed AU (stats %+v)", d.Stats())
				}
				if w, h := d.Size(); w != 160 || h != 96 {
					t.Fatalf("IDR after the fuzzed AU: picture is %dx%d", w, h)
				}
			}
		}
	})
}

// TestDamagedParamSetsRecoverAtIDR is the case FuzzDecode found: a parsable
// but wrong H.265 SPS/PPS mid-GOP makes the P-frames decode at another size
// with output delay, and an IDR decoded on the same context returns a
// stale 160x64 picture. That is why new parameter sets re-create the
// context at the next random-access AU.
func TestDamagedParamSetsRecoverAtIDR(t *testing.T) {
	bad := splitAnnexB([]byte("\x00\x00\x01B\x01\x01000000000000\xa0\x14 Ae7z\"(000000\x00\x00\x01D\x01\xc0y\x831"), nil)
	clip := fuzzClip(t, H265)
	d := mustDecoder(t, H265)
	for n, au := range [][][]byte{clip[0], bad, clip[1], clip[2], clip[3], clip[4]} {
		ok, err := d.Decode(au)
		if n >= 4 {
			if w, h := d.Size(); !ok || err != nil || w != 160 || h != 96 {
				t.Fatalf("step %d: Decode = %v, %v, picture %dx%d", n, ok, err, w, h)
			}
		}
	}
}
