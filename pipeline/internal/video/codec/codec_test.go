package codec

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/internal/testlog"
)

const (
	anaW, anaH = 640, 360 // analysis size used by the pipeline
)

func TestParseCodec(t *testing.T) {
	tests := []struct {
		in      string
		want    Codec
		wantErr bool
	}{
		{"h264", H264, false},
		{"H264", H264, false},
		{"avc", H264, false},
		{"h265", H265, false},
		{"HEVC", H265, false},
		{" h.265 ", H265, false},
		{"", 0, true},
		{"mjpeg", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCodec(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != map[Codec]string{H264: "h264", H265: "h265"}[got] {
			t.Errorf("String() = %q", got.String())
		}
	}
	if s := Codec(7).String(); s != "codec(7)" {
		t.Errorf("Codec(7).String() = %q", s)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []DecoderConfig{{}, {Codec: 3}, {Codec: H264, Threads: -1}} {
		if d, err := NewDecoder(cfg); err == nil {
			d.Close()
			t.Errorf("NewDecoder(%+v) succeeded", cfg)
		}
	}
	for _, cfg := range []EncoderConfig{
		{},
		{Codec: H264},
		{Codec: H264, Width: 641, Height: 360},
		{Codec: H265, Width: 640, Height: -2},
		{Codec: H264, Width: 64, Height: 64, FPS: -1},
	} {
		if e, err := NewEncoder(cfg); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v) succeeded", cfg)
		}
	}
}

// TestRoundTrip encodes synthetic pictures and checks what the decoder and
// scaler make of them: brightness preserved, the square where it was drawn.
func TestRoundTrip(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		for _, sz := range [][2]int{{640, 360}, {1920, 1080}} {
			t.Run(c.String()+"/"+sizeName(sz[0], sz[1]), func(t *testing.T) {
				w, h := sz[0], sz[1]
				s := newSynth(w, h, 90, 0)
				const frames, gop = 8, 4
				aus := encodeClip(t, c, s, frames, gop, 0)
				d := mustDecoder(t, c)
				grey := make([]byte, anaW*anaH)
				bgr := make([]byte, anaW*anaH*3)
				for n, au := range aus {
					if wantRA := n%gop == 0; isRandomAccess(c, au) != wantRA {
						t.Fatalf("AU %d: random access = %v, want %v", n, !wantRA, wantRA)
					}
					if isRandomAccess(c, au) {
						checkInBandParamSets(t, c, au)
					}
					ok, err := d.Decode(au)
					if err != nil || !ok {
						t.Fatalf("AU %d: Decode = %v, %v", n, ok, err)
					}
					if gw, gh := d.Size(); gw != w || gh != h {
						t.Fatalf("Size = %dx%d, want %dx%d", gw, gh, w, h)
					}
					if err := d.ScaleGray(grey, anaW, anaH, anaW); err != nil {
						t.Fatal(err)
					}
					y, _, _ := s.render(n)
					if got, want := meanBytes(grey), limitedToFull(meanBytes(y)); math.Abs(got-want) > 2 {
						t.Errorf("AU %d: mean grey %.2f, want %.2f", n, got, want)
					}
					checkSquare(t, n, s, grey, anaW, anaH, anaW)

					if err := d.ScaleBGR(bgr, anaW, anaH, anaW*3); err != nil {
						t.Fatal(err)
					}
					// Neutral chroma: B, G and R all equal the grey value.
					for _, i := range []int{0, len(grey) / 2, len(grey) - 1} {
						for ch := range 3 {
							if diff := int(bgr[3*i+ch]) - int(grey[i]); diff < -3 || diff > 3 {
								t.Fatalf("AU %d pixel %d: BGR %v vs grey %d", n, i, bgr[3*i:3*i+3], grey[i])
							}
						}
					}
				}
				st := d.Stats()
				if st.Decoded != frames || st.Errors != 0 || st.Skipped != 0 {
					t.Errorf("Stats = %+v", st)
				}
				// The decoder's thread is part of this process: its CPU
				// time is some, and less than the process's.
				if proc := cpuclock.Process(); st.CPU <= 0 || st.CPU > proc {
					t.Errorf("decoder CPU %v, process CPU %v", st.CPU, proc)
				}
			})
		}
	}
}

func checkInBandParamSets(t *testing.T, c Codec, au [][]byte) {
	t.Helper()
	var has [3]bool
	for _, n := range au {
		if _, slot := naluKind(c, n); slot >= 0 {
			has[slot] = true
		}
	}
	want := 2
	if c == H265 {
		want = 3
	}
	for i := range want {
		if !has[i] {
			t.Fatalf("IDR AU lacks parameter set %d (have %v)", i, has)
		}
	}
}

// checkSquare finds the bright square in a grey picture scaled from the
// synthetic source and checks it is where frame n drew it.
func checkSquare(t *testing.T, n int, s *synth, g []byte, w, h, stride int) {
	t.Helper()
	x, y, cnt := brightCentroid(g, w, h, stride, 180)
	sq := s.square(n)
	sx, sy := float64(w)/float64(s.w), float64(h)/float64(s.h)
	wantX := (float64(sq.Min.X+sq.Max.X)/2)*sx - 0.5
	wantY := (float64(sq.Min.Y+sq.Max.Y)/2)*sy - 0.5
	wantN := float64(sq.Dx()) * sx * float64(sq.Dy()) * sy
	if math.Abs(x-wantX) > 1.5 || math.Abs(y-wantY) > 1.5 || math.Abs(float64(cnt)-wantN) > 0.2*wantN {
		t.Errorf("frame %d: square centre (%.1f,%.1f) area %d, want (%.1f,%.1f) area %.0f",
			n, x, y, cnt, wantX, wantY, wantN)
	}
}

// gopClip is 20 access units of a 320×240 synthetic clip in GOPs of 10
// (key frames at 0 and 10) and their clean decode, grey, per AU.
func gopClip(t *testing.T, c Codec) (aus [][][]byte, ref [][]byte) {
	t.Helper()
	aus = encodeClip(t, c, newSynth(320, 240, 80, 2), 20, 10, 0)
	return aus, reference(t, c, aus, 320, 240)
}

// reference decodes a clean clip and returns every picture scaled to w x h
// grey (nil where no picture came out).
func reference(t *testing.T, c Codec, aus [][][]byte, w, h int) [][]byte {
	t.Helper()
	d := mustDecoder(t, c)
	out := make([][]byte, len(aus))
	for n, au := range aus {
		ok, err := d.Decode(au)
		if err != nil || !ok {
			t.Fatalf("reference AU %d: %v, %v", n, ok, err)
		}
		out[n] = make([]byte, w*h)
		if err := d.ScaleGray(out[n], w, h, w); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type corruption struct {
	name string
	at   int // AU index
	fn   func(au [][]byte) [][]byte
}

func truncate(au [][]byte) [][]byte {
	au = cloneAU(au)
	last := len(au) - 1
	au[last] = au[last][:len(au[last])/3+1]
	return au
}

func flipBits(seed uint64, flips int) func([][]byte) [][]byte {
	return func(au [][]byte) [][]byte {
		au = cloneAU(au)
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		last := len(au) - 1 // the slice data (parameter sets come first)
		n := au[last]
		for range flips {
			// Keep the NAL header so the AU stays what it claims to be;
			// damage the slice header and data.
			i := 2 + r.IntN(len(n)-2)
			n[i] ^= 1 << r.IntN(8)
		}
		return au
	}
}

func garbage(seed uint64, size int) func([][]byte) [][]byte {
	return func([][]byte) [][]byte {
		r := rand.New(rand.NewPCG(seed, 1))
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return [][]byte{b}
	}
}

// TestCorruptAUs feeds damaged AUs and checks that nothing crashes, that
// pictures before the damage and from the next key frame on are exactly what
// a clean decode produces, and that the gate skips the rest of a GOP once an
// error was reported.
func TestCorruptAUs(t *testing.T) {
	const (
		frames, gop = 30, 10
		w, h        = 320, 180
	)
	corruptions := []corruption{
		{"truncated P", 12, truncate},
		{"truncated IDR", 10, truncate},
		{"1 flip P", 13, flipBits(1, 1)},
		{"8 flips P", 11, flipBits(2, 8)},
		{"64 flips P", 15, flipBits(3, 64)},
		{"8 flips IDR", 10, flipBits(4, 8)},
		{"64 flips IDR", 10, flipBits(5, 64)},
		{"garbage", 12, garbage(6, 3000)},
		{"garbage IDR header", 12, func([][]byte) [][]byte { return [][]byte{{0x65, 0x88, 0x84}, {0x26, 0x01, 0xaf}} }},
		{"empty AU", 12, func([][]byte) [][]byte { return [][]byte{} }},
		{"nil AU", 12, func([][]byte) [][]byte { return nil }},
		{"empty NALUs", 12, func([][]byte) [][]byte { return [][]byte{nil, {}} }},
		{"start codes only", 12, func([][]byte) [][]byte { return [][]byte{{0, 0, 1}, {0, 0, 0, 1}} }},
		{"first NALU only", 10, func(au [][]byte) [][]byte { return cloneAU(au[:1]) }},
	}
	for _, c := range []Codec{H264, H265} {
		s := newSynth(640, 360, 100, 4)
		aus := encodeClip(t, c, s, frames, gop, 800)
		ref := reference(t, c, aus, w, h)
		for _, cr := range corruptions {
			t.Run(c.String()+"/"+cr.name, func(t *testing.T) {
				d := mustDecoder(t, c)
				g := make([]byte, w*h)
				nextKey := (cr.at/gop + 1) * gop
				var sawErr bool
				for n, au := range aus {
					if n == cr.at {
						au = cr.fn(au)
					}
					ok, err := d.Decode(au)
					if err != nil {
						if !errors.Is(err, ErrDecode) {
							t.Fatalf("AU %d: error %v does not wrap ErrDecode", n, err)
						}
						sawErr = true
					}
					switch {
					case n < cr.at || n >= nextKey:
						if !ok || err != nil {
							t.Fatalf("AU %d: Decode = %v, %v; want a picture", n, ok, err)
						}
						if err := d.ScaleGray(g, w, h, w); err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(g, ref[n]) {
							t.Fatalf("AU %d: picture differs from clean decode", n)
						}
					case sawErr && n > cr.at:
						// Gate closed by the error: nothing decoded until the key frame.
						if ok || err != nil {
							t.Fatalf("AU %d after error: Decode = %v, %v; want skipped", n, ok, err)
						}
					default:
						if ok { // undetected damage: must still scale without trouble
							if err := d.ScaleGray(g, w, h, w); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
				t.Logf("stats %+v (error reported: %v)", d.Stats(), sawErr)
			})
		}
	}
}

// TestStartMidGOP joins a stream after its IDR, as when connecting to a
// running camera: nothing is decoded until the next random-access AU, which
// then decodes exactly as in a clean decode.
func TestStartMidGOP(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		t.Run(c.String(), func(t *testing.T) {
			aus, ref := gopClip(t, c)
			d := mustDecoder(t, c)
			g := make([]byte, 320*240)
			if err := d.ScaleGray(g, 320, 240, 320); !errors.Is(err, ErrNoPicture) {
				t.Fatalf("ScaleGray before first picture: %v", err)
			}
			for n := 3; n < 20; n++ {
				ok, err := d.Decode(aus[n])
				if err != nil {
					t.Fatalf("AU %d: %v", n, err)
				}
				if ok != (n >= 10) {
					t.Fatalf("AU %d: picture = %v", n, ok)
				}
				if ok {
					if err := d.ScaleGray(g, 320, 240, 320); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(g, ref[n]) {
						t.Fatalf("AU %d differs from clean decode", n)
					}
				}
			}
			if st := d.Stats(); st.Skipped != 7 || st.Decoded != 10 || st.Errors != 0 {
				t.Errorf("Stats = %+v, want 7 skipped, 10 decoded", st)
			}
		})
	}
}

func TestResetToKeyframe(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		t.Run(c.String(), func(t *testing.T) {
			aus, ref := gopClip(t, c)
			d := mustDecoder(t, c)
			g := make([]byte, 320*240)
			for n, au := range aus {
				if n == 6 {
					d.ResetToKeyframe()
					// The last good picture stays available.
					if err := d.ScaleGray(g, 320, 240, 320); err != nil || !bytes.Equal(g, ref[5]) {
						t.Fatalf("after reset: last picture lost (%v)", err)
					}
				}
				ok, err := d.Decode(au)
				if err != nil || ok != (n < 6 || n >= 10) {
					t.Fatalf("AU %d: Decode = %v, %v", n, ok, err)
				}
				if ok {
					if err := d.ScaleGray(g, 320, 240, 320); err != nil || !bytes.Equal(g, ref[n]) {
						t.Fatalf("AU %d differs from clean decode (%v)", n, err)
					}
				}
			}
			if st := d.Stats(); st.Skipped != 4 || st.Decoded != 16 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestParamSetsOutOfBand covers cameras that send parameter sets only in the
// SDP, or in an AU of their own before the IDR.
func TestParamSetsOutOfBand(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		s := newSynth(320, 240, 80, 0)
		aus := encodeClip(t, c, s, 10, 5, 0)
		var ps [][]byte
		strip := func(au [][]byte) [][]byte {
			var out [][]byte
			for _, n := range au {
				if _, slot := naluKind(c, n); slot >= 0 {
					ps = append(ps, n)
					continue
				}
				out = append(out, n)
			}
			return out
		}
		stripped := make([][][]byte, len(aus))
		for n, au := range aus {
			stripped[n] = strip(au)
		}
		ps = ps[:len(ps)/2] // one set (both IDRs carried the same)

		t.Run(c.String()+"/config", func(t *testing.T) {
			d, err := NewDecoder(DecoderConfig{Codec: c, ParamSets: ps, Logger: testlog.Discard()})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for n, au := range stripped {
				if n == 3 {
					// The re-created context needs the SDP sets again.
					d.ResetToKeyframe()
				}
				ok, err := d.Decode(au)
				if want := n < 3 || n >= 5; ok != want || err != nil {
					t.Fatalf("AU %d: Decode = %v, %v; want %v", n, ok, err, want)
				}
			}
		})
		t.Run(c.String()+"/separate AU", func(t *testing.T) {
			d := mustDecoder(t, c)
			if ok, err := d.Decode(ps); ok || err != nil {
				t.Fatalf("parameter-set AU: %v, %v", ok, err)
			}
			for n, au := range stripped {
				if ok, err := d.Decode(au); !ok || err != nil {
					t.Fatalf("AU %d: %v, %v", n, ok, err)
				}
			}
		})
	}
}

// TestResolutionChange switches the stream from 640x360 to 320x240 (a new
// SPS at an IDR) and back through one Decoder.
func TestResolutionChange(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		t.Run(c.String(), func(t *testing.T) {
			parts := []*synth{newSynth(640, 360, 70, 0), newSynth(320, 240, 110, 0), newSynth(640, 360, 70, 0)}
			d := mustDecoder(t, c)
			g := make([]byte, anaW*anaH)
			for _, s := range parts {
				for n, au := range encodeClip(t, c, s, 6, 50, 0) {
					ok, err := d.Decode(au)
					if err != nil || !ok {
						t.Fatalf("%dx%d AU %d: %v, %v", s.w, s.h, n, ok, err)
					}
					if w, h := d.Size(); w != s.w || h != s.h {
						t.Fatalf("Size = %dx%d, want %dx%d", w, h, s.w, s.h)
					}
					if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
						t.Fatal(err)
					}
					checkSquare(t, n, s, g, anaW, anaH, anaW)
					y, _, _ := s.render(n)
					if got, want := meanBytes(g), limitedToFull(meanBytes(y)); math.Abs(got-want) > 2 {
						t.Errorf("%dx%d AU %d: mean %.2f, want %.2f", s.w, s.h, n, got, want)
					}
				}
			}
			// 640x360 to 640x360 takes the box path (boxScaler), 320x240
			// libswscale: one context, kept across the switches.
			if n := d.scaler.len(); n != 1 {
				t.Errorf("scaler cache holds %d contexts, want 1 (the 320x240 source's)", n)
			}
		})
	}
}

// TestScaleIntoMat writes straight into gocv Mats' C memory: the zero-copy
// path the camera worker uses.
func TestScaleIntoMat(t *testing.T) {
	s := newSynth(1280, 720, 120, 0)
	aus := encodeClip(t, H264, s, 1, 25, 0)
	d := mustDecoder(t, H264)
	if ok, err := d.Decode(aus[0]); !ok || err != nil {
		t.Fatal(ok, err)
	}

	grey := gocv.NewMatWithSize(anaH, anaW, gocv.MatTypeCV8UC1)
	defer grey.Close()
	data, err := grey.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ScaleGray(data, anaW, anaH, grey.Step()); err != nil {
		t.Fatal(err)
	}
	y, _, _ := s.render(0)
	want := limitedToFull(meanBytes(y))
	if got := grey.Mean().Val1; math.Abs(got-want) > 2 {
		t.Errorf("grey Mat mean %.2f, want %.2f", got, want)
	}
	checkSquare(t, 0, s, data, anaW, anaH, grey.Step())

	bgr := gocv.NewMatWithSize(anaH, anaW, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	bdata, err := bgr.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ScaleBGR(bdata, anaW, anaH, bgr.Step()); err != nil {
		t.Fatal(err)
	}
	m := bgr.Mean()
	for _, v := range []float64{m.Val1, m.Val2, m.Val3} {
		if math.Abs(v-want) > 3 {
			t.Errorf("BGR Mat mean %v, want %.2f per channel", m, want)
		}
	}
}

func TestScaleArgs(t *testing.T) {
	s := newSynth(320, 240, 120, 0)
	aus := encodeClip(t, H264, s, 1, 25, 0)
	d, err := NewDecoder(DecoderConfig{Codec: H264, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Decode(aus[0]); !ok || err != nil {
		t.Fatal(ok, err)
	}
	buf := make([]byte, 1000)
	bad := []struct {
		name         string
		dst          []byte
		w, h, stride int
	}{
		{"zero width", buf, 0, 10, 10},
		{"negative height", buf, 10, -1, 10},
		{"stride too small", buf, 10, 10, 9},
		{"dst too small", buf, 40, 30, 40},
		{"nil dst", nil, 10, 10, 10},
		{"huge", buf, 1 << 20, 1, 1 << 20},
	}
	for _, b := range bad {
		if err := d.ScaleGray(b.dst, b.w, b.h, b.stride); err == nil {
			t.Errorf("ScaleGray %s: no error", b.name)
		}
	}
	if err := d.ScaleBGR(buf, 10, 10, 10); err == nil {
		t.Error("ScaleBGR with a grey stride: no error")
	}

	// Padded rows and a guard area: swscale must stay inside stride*h.
	const w, h, stride, guard = 100, 50, 128, 256
	for _, bpp := range []int{1, 3} {
		dst := bytes.Repeat([]byte{0xA5}, stride*bpp*h+guard)
		scale := d.ScaleGray
		if bpp == 3 {
			scale = d.ScaleBGR
		}
		if err := scale(dst[:stride*bpp*h], w, h, stride*bpp); err != nil {
			t.Fatal(err)
		}
		for i, b := range dst[stride*bpp*h:] {
			if b != 0xA5 {
				t.Fatalf("bpp %d: byte %d past the end was written", bpp, i)
			}
		}
	}

	d.Close()
	d.Close()
	if _, err := d.Decode(aus[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
	if err := d.ScaleGray(buf, 10, 10, 10); !errors.Is(err, ErrClosed) {
		t.Errorf("ScaleGray after Close: %v", err)
	}
	d.ResetToKeyframe()

	e, err := NewEncoder(EncoderConfig{Codec: H264, Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(make([]byte, 10), make([]byte, 1024), make([]byte, 1024), 0); err == nil {
		t.Error("Encode with a short Y plane: no error")
	}
	e.Close()
	e.Close()
	if _, err := e.Encode(make([]byte, 4096), make([]byte, 1024), make([]byte, 1024), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
}

func TestSplitAnnexB(t *testing.T) {
	tests := []struct {
		in   []byte
		want [][]byte
	}{
		{nil, nil},
		{[]byte{1, 2, 3}, nil},
		{[]byte{0, 0, 1}, nil},
		{[]byte{0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2}, [][]byte{{0x67, 1}, {0x68, 2}}},
		{[]byte{0, 0, 1, 0x65, 5, 0, 0, 0, 0, 1, 0x41, 0}, [][]byte{{0x65, 5}, {0x41}}},
		{[]byte{9, 9, 0, 0, 1, 0x65}, [][]byte{{0x65}}},
	}
	for _, tt := range tests {
		got := splitAnnexB(tt.in, nil)
		if len(got) != len(tt.want) {
			t.Errorf("splitAnnexB(%x) = %x, want %x", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], tt.want[i]) {
				t.Errorf("splitAnnexB(%x) = %x, want %x", tt.in, got, tt.want)
			}
		}
	}
}

// TestAreaFilterAveragesNoise backs the choice of SWS_AREA: downscaling a
// noisy flat 1080p picture to the analysis size leaves less noise (what MOG2
// would see as flicker) than SWS_FAST_BILINEAR.
func TestAreaFilterAveragesNoise(t *testing.T) {
	s := newSynth(1920, 1080, 100, 12)
	s.noSquare = true
	aus := encodeClip(t, H264, s, 1, 25, 20000)
	stddev := func(flags int) float64 {
		d := mustDecoder(t, H264)
		d.setSwsFlags(flags)
		if ok, err := d.Decode(aus[0]); !ok || err != nil {
			t.Fatal(ok, err)
		}
		g := make([]byte, anaW*anaH)
		if err := d.ScaleGray(g, anaW, anaH, anaW); err != nil {
			t.Fatal(err)
		}
		m := meanBytes(g)
		var v float64
		for _, p := range g {
			v += (float64(p) - m) * (float64(p) - m)
		}
		return math.Sqrt(v / float64(len(g)))
	}
	area, fast := stddev(swsArea), stddev(swsFastBilinear)
	t.Logf("noise after downscale: area %.2f, fast bilinear %.2f", area, fast)
	if area >= fast {
		t.Errorf("SWS_AREA noise %.2f not below SWS_FAST_BILINEAR %.2f", area, fast)
	}
}

// TestDecoderThreads: with frame threading pictures come out later than
// their AU, but in order and identical to a single-threaded decode.
func TestDecoderThreads(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		t.Run(c.String(), func(t *testing.T) {
			aus, ref := gopClip(t, c)
			d, err := NewDecoder(DecoderConfig{Codec: c, Threads: 2, Logger: testlog.Discard()})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			g := make([]byte, 320*240)
			next := 0 // index of the picture expected next
			for n, au := range aus {
				ok, err := d.Decode(au)
				if err != nil {
					t.Fatalf("AU %d: %v", n, err)
				}
				if !ok {
					continue
				}
				if err := d.ScaleGray(g, 320, 240, 320); err != nil {
					t.Fatal(err)
				}
				for next <= n && !bytes.Equal(g, ref[next]) {
					next++ // a picture may be superseded within one Decode call
				}
				if next > n {
					t.Fatalf("AU %d: picture matches none of the pictures so far", n)
				}
				next++
			}
			if st := d.Stats(); st.Decoded < uint64(len(aus))-2 || st.Errors != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestDecoderThreadEnds: every decoder decodes on a thread of its own
// (egworker.c), which Close ends: a box whose cameras reconnect for months
// must not collect threads.
func TestDecoderThreadEnds(t *testing.T) {
	tasks := func() int {
		es, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		return len(es)
	}
	s := newSynth(160, 120, 40, 2)
	aus := encodeClip(t, H264, s, 3, 10, 0)
	const n = 16
	before := tasks()
	var ds []*Decoder
	for range n {
		d, err := NewDecoder(DecoderConfig{Codec: H264, Logger: testlog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
		for _, au := range aus {
			if _, err := d.Decode(au); err != nil {
				t.Fatal(err)
			}
		}
	}
	peak := tasks()
	if peak < before+n {
		t.Fatalf("%d threads with %d decoders, %d before: decoders do not run their own", peak, n, before)
	}
	for _, d := range ds {
		d.Close()
		d.Close() // twice is fine
	}
	if after := tasks(); peak-after < n {
		t.Errorf("%d threads after closing %d decoders, %d with them: threads left behind", after, n, peak)
	}
	if _, err := ds[0].Decode(aus[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: %v, want ErrClosed", err)
	}
}
