package ingest

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/internal/cpuclock"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// BenchmarkDepacketise measures the packet-reading goroutine's share of an
// access unit: parse the RTP packets of one coded picture as they come off
// the RTSP connection (each in a fresh buffer, as the client reads them),
// depacketise them (gortsplib's RFC 6184 decoder: FU-A fragments joined,
// STAP-A split) and queue the access unit for the decoder. The packets are
// those of a libx264 stream of the walker scene at a camera's bitrate, cut
// at 1450 bytes like a camera's. ns/op and allocs/op are per access unit
// (one stream frame).
func BenchmarkDepacketise(b *testing.B) {
	for _, sz := range []struct{ w, h, kbps int }{{1920, 1080, 4000}, {640, 360, 1000}} {
		b.Run(fmt.Sprintf("h264/%dx%d", sz.w, sz.h), func(b *testing.B) {
			pkts, bytesPerAU := rtpClip(b, sz.w, sz.h, sz.kbps)
			s := &Session{log: slog.New(slog.NewTextHandler(io.Discard, nil)), aus: make(chan AccessUnit, 1), clock: 90000}
			if err := s.setDepacketizer(&format.H264{PayloadTyp: 96, PacketizationMode: 1}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			cpu := cpuclock.Start()
			for b.Loop() {
				// One access unit per op: its packets up to the marker bit.
				for {
					wire := pkts[i%len(pkts)]
					i++
					buf := make([]byte, len(wire)) // the client reads each frame into a new buffer
					copy(buf, wire)
					var pkt rtp.Packet
					if err := pkt.Unmarshal(buf); err != nil {
						b.Fatal(err)
					}
					// Timestamps keep increasing across loops of the clip.
					pkt.Timestamp += uint32(i/len(pkts)) * 2 * 90000
					s.handleRTP(&pkt, int64(pkt.Timestamp), true)
					if pkt.Marker {
						break
					}
				}
				select {
				case <-s.aus:
				default:
					b.Fatal("no access unit after the marker packet")
				}
			}
			cpu.Report(b)
			b.ReportMetric(bytesPerAU, "coded-B/AU")
		})
	}
}

// rtpClip encodes 2 s (one GOP) of the walker scene with libx264 and
// packetises it as an RTSP server would, returning the marshalled packets
// and the mean coded bytes per access unit.
func rtpClip(b *testing.B, w, h, kbps int) ([][]byte, float64) {
	b.Helper()
	const n = 50
	sc := scene.New(scene.Walker(w, h, 25))
	enc, err := codec.NewEncoder(codec.EncoderConfig{Codec: codec.H264, Width: w, Height: h, FPS: 25, BitrateKbps: kbps, GOP: n})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	pk, err := f.CreateEncoder()
	if err != nil {
		b.Fatal(err)
	}
	y, u, v := sc.NewFrame()
	var out [][]byte
	total := 0
	for i := range n {
		sc.Render(75+i, y, u, v)
		au, err := enc.Encode(y, u, v, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		if len(au) == 0 {
			b.Fatal("encoder delayed a frame")
		}
		pkts, err := pk.Encode(au)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pkts {
			p.Timestamp = uint32(i * 90000 / 25)
			raw, err := p.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, raw)
			total += len(p.Payload)
		}
	}
	return out, float64(total) / n
}
