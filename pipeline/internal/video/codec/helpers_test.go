package codec

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
)

// synth renders deterministic I420 test pictures: flat background, a bright
// square moving left to right, optional static sensor noise pattern shifted
// per frame (so P-frames carry real residuals, as on a camera).
type synth struct {
	w, h     int
	bg       uint8
	noise    []int8 // nil: no noise
	noSquare bool
}

func newSynth(w, h int, bg uint8, noiseAmp int) *synth {
	s := &synth{w: w, h: h, bg: bg}
	if noiseAmp > 0 {
		r := rand.New(rand.NewPCG(1, 2))
		s.noise = make([]int8, w*h+4096)
		for i := range s.noise {
			s.noise[i] = int8(r.IntN(2*noiseAmp+1) - noiseAmp)
		}
	}
	return s
}

// square is where the bright square is in frame n (even coordinates, so it
// is exact in 4:2:0).
func (s *synth) square(n int) image.Rectangle {
	sw, sh := s.w/8&^1, s.h/8&^1
	span := s.w - sw
	x := (n * (s.w / 40) * 2) % span &^ 1
	y := (s.h/3 + (n%5)*2) &^ 1
	return image.Rect(x, y, x+sw, y+sh)
}

const squareLuma = 235

func (s *synth) render(n int) (y, u, v []byte) {
	y = make([]byte, s.w*s.h)
	u = make([]byte, s.w*s.h/4)
	v = make([]byte, s.w*s.h/4)
	off := (n * 7919) % 4096
	for i := range y {
		p := int(s.bg)
		if s.noise != nil {
			p += int(s.noise[off+i])
		}
		y[i] = uint8(p)
	}
	sq := s.square(n)
	if s.noSquare {
		sq = image.Rectangle{}
	}
	for row := sq.Min.Y; row < sq.Max.Y; row++ {
		for col := sq.Min.X; col < sq.Max.X; col++ {
			y[row*s.w+col] = squareLuma
		}
	}
	for i := range u {
		u[i], v[i] = 128, 128
	}
	return y, u, v
}

func encodeClip(tb testing.TB, c Codec, s *synth, frames, gop, kbps int) [][][]byte {
	tb.Helper()
	e, err := NewEncoder(EncoderConfig{Codec: c, Width: s.w, Height: s.h, FPS: 25, GOP: gop, BitrateKbps: kbps})
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Close()
	aus := make([][][]byte, 0, frames)
	for n := range frames {
		y, u, v := s.render(n)
		au, err := e.Encode(y, u, v, int64(n))
		if err != nil {
			tb.Fatal(err)
		}
		if len(au) == 0 {
			tb.Fatalf("frame %d: encoder returned no AU (zero latency expected)", n)
		}
		aus = append(aus, au)
	}
	return aus
}

func isRandomAccess(c Codec, au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if c == H265 {
			switch (n[0] >> 1) & 0x3f {
			case 19, 20, 21:
				return true
			}
		} else if n[0]&0x1f == 5 {
			return true
		}
	}
	return false
}

func annexB(au [][]byte) []byte {
	var b []byte
	for _, n := range au {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func cloneAU(au [][]byte) [][]byte {
	out := make([][]byte, len(au))
	for i, n := range au {
		out[i] = append([]byte(nil), n...)
	}
	return out
}

// limitedToFull is what swscale does to luma when producing GRAY8: video
// luma is limited range (16..235), grey is full range.
func limitedToFull(y float64) float64 {
	return math.Max(0, math.Min(255, (y-16)*255/219))
}

func meanBytes(b []byte) float64 {
	var sum int
	for _, p := range b {
		sum += int(p)
	}
	return float64(sum) / float64(len(b))
}

// brightCentroid is the centre of the pixels above thr in a w x h grey image.
func brightCentroid(g []byte, w, h, stride int, thr byte) (x, y float64, n int) {
	for row := range h {
		for col := range w {
			if g[row*stride+col] > thr {
				x += float64(col)
				y += float64(row)
				n++
			}
		}
	}
	if n == 0 {
		return -1, -1, 0
	}
	return x / float64(n), y / float64(n), n
}

func mustDecoder(tb testing.TB, c Codec) *Decoder {
	tb.Helper()
	d, err := NewDecoder(DecoderConfig{Codec: c, Logger: testlog.Discard()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Close)
	return d
}

func sizeName(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }
