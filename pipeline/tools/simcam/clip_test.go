package simcam_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// encodeClip encodes n frames of a small Walker scene, as a benchmark
// would once for many cameras.
func encodeClip(t *testing.T, n int) [][][]byte {
	t.Helper()
	aus, err := simcam.Encode(scene.Walker(160, 120, 25), codec.EncoderConfig{Codec: codec.H264, FPS: 25, GOP: 25}, n)
	if err != nil {
		t.Fatal(err)
	}
	return aus
}

// TestPreEncodedClip: a camera given Config.Clip streams exactly those
// access units (SPS in the SDP from the clip's first key frame), and a clip
// that does not start with a key frame is refused.
func TestPreEncodedClip(t *testing.T) {
	clip := encodeClip(t, 10)
	cam := start(t, simcam.Config{Scene: scene.Walker(160, 120, 25), Clip: clip})
	c, _, desc := client(t, cam.URL(), gortsplib.TransportTCP)
	var h *format.H264
	media := desc.FindFormat(&h)
	if media == nil {
		t.Fatal("no H.264 media")
	}
	var sps []byte
	for _, n := range clip[0] {
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			sps = n
		}
	}
	if !bytes.Equal(h.SPS, sps) {
		t.Errorf("SDP SPS %x, clip SPS %x", h.SPS, sps)
	}
	dec, err := h.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Setup(desc.BaseURL, media, 0, 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan [][]byte, 64)
	c.OnPacketRTP(media, h, func(p *rtp.Packet) {
		au, err := dec.Decode(p)
		if err != nil || au == nil {
			return
		}
		cp := make([][]byte, len(au))
		for i, n := range au {
			cp[i] = append([]byte(nil), n...)
		}
		select {
		case got <- cp:
		default:
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	// The stream may join mid-loop: find the received AU in the clip and
	// check the ones after it follow the clip in order, across the loop.
	timeout := time.After(guard) // hang guard
	idx := -1
	for matched := 0; matched < 2*len(clip); {
		select {
		case au := <-got:
			if idx < 0 {
				for i, want := range clip {
					if equalAU(au, want) {
						idx = i
						break
					}
				}
				if idx < 0 {
					t.Fatalf("received an access unit that is not in the clip")
				}
			} else if idx = (idx + 1) % len(clip); !equalAU(au, clip[idx]) {
				t.Fatalf("access unit %d of the clip differs", idx)
			}
			matched++
		case <-timeout:
			t.Fatal("no stream")
		}
	}

	if s, err := simcam.Start(simcam.Config{Scene: scene.Walker(160, 120, 25), Clip: clip[1:], Logger: testlog.Discard()}); err == nil {
		s.Close()
		t.Error("a clip starting with a P frame was accepted")
	}
}

func equalAU(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
