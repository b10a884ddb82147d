package simcam_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// frames plays the video and delivers the RTP timestamp of every frame
// (marker packet) and the SPS of every access unit that carries one.
type frames struct {
	mu  sync.Mutex
	ts  []uint32
	sps [][]byte
	got chan struct{}
}

func playVideo(t *testing.T, cam *simcam.Server) (*frames, *description.Session) {
	t.Helper()
	c, _, desc := client(t, cam.URL(), gortsplib.TransportTCP)
	if _, err := c.Setup(desc.BaseURL, desc.Medias[0], 0, 0); err != nil {
		t.Fatal(err)
	}
	f := &frames{got: make(chan struct{}, 1)}
	forma := desc.Medias[0].Formats[0].(*format.H264)
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	c.OnPacketRTP(desc.Medias[0], forma, func(p *rtp.Packet) {
		au, err := dec.Decode(p)
		f.mu.Lock()
		defer f.mu.Unlock()
		if err == nil {
			for _, n := range au {
				if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
					f.sps = append(f.sps, n)
				}
			}
		}
		if p.Marker {
			f.ts = append(f.ts, p.Timestamp)
			select {
			case f.got <- struct{}{}:
			default:
			}
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	return f, desc
}

// waitFrames waits until at least n frames have arrived in total.
func (f *frames) waitFrames(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(guard)
	for {
		f.mu.Lock()
		have := len(f.ts)
		f.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-f.got:
		case <-deadline:
			t.Fatalf("%d frames, want %d", have, n)
		}
	}
}

func (f *frames) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ts)
}

func spsWidth(t *testing.T, b []byte) int {
	t.Helper()
	var sps h264.SPS
	if err := sps.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return sps.Width()
}

func TestPauseResume(t *testing.T) {
	cam := start(t, simcam.Config{})
	f, _ := playVideo(t, cam)
	f.waitFrames(t, 5)
	cam.Pause()
	n := f.count()
	time.Sleep(300 * time.Millisecond) // 7 frame intervals
	// At most the frame that was being sent when Pause was called.
	if got := f.count(); got > n+1 {
		t.Fatalf("%d frames arrived while paused", got-n)
	}
	cam.Resume()
	f.waitFrames(t, f.count()+3)
	f.mu.Lock()
	defer f.mu.Unlock()
	// The stream clock kept running through the pause: one timestamp step
	// spans at least the 300 ms slept.
	var maxGap uint32
	for i := 1; i < len(f.ts); i++ {
		maxGap = max(maxGap, f.ts[i]-f.ts[i-1])
	}
	if maxGap < 300*90 {
		t.Errorf("largest timestamp step %d, want ≥ %d across the pause", maxGap, 300*90)
	}
}

func TestJumpTimestamps(t *testing.T) {
	cam := start(t, simcam.Config{})
	f, _ := playVideo(t, cam)
	f.waitFrames(t, 3)
	cam.JumpTimestamps(10 * time.Second)
	n := f.count()
	f.waitFrames(t, n+3)
	cam.JumpTimestamps(-20 * time.Second)
	n = f.count()
	f.waitFrames(t, n+3)
	f.mu.Lock()
	defer f.mu.Unlock()
	var fwd, back int
	for i := 1; i < len(f.ts); i++ {
		switch d := int32(f.ts[i] - f.ts[i-1]); d {
		case 3600:
		case 3600 + 900000:
			fwd++
		case 3600 - 1800000:
			back++
		default:
			t.Errorf("timestamp step %d", d)
		}
	}
	if fwd != 1 || back != 1 {
		t.Errorf("%d forward and %d backward jumps, want 1 and 1", fwd, back)
	}
}

func TestSwitchScene(t *testing.T) {
	cam := start(t, simcam.Config{Scene: scene.Walker(320, 240, 25)})
	f, desc := playVideo(t, cam)
	if w := spsWidth(t, desc.Medias[0].Formats[0].(*format.H264).SPS); w != 320 {
		t.Fatalf("SDP SPS width %d", w)
	}
	f.waitFrames(t, 3)
	if err := cam.SwitchScene(scene.Static(160, 96, 25)); err != nil {
		t.Fatal(err)
	}
	if w, h := cam.Size(); w != 160 || h != 96 {
		t.Fatalf("Size %dx%d after switch", w, h)
	}
	deadline := time.After(guard)
	for {
		f.mu.Lock()
		found := len(f.sps) > 0 && spsWidth(t, f.sps[len(f.sps)-1]) == 160
		f.mu.Unlock()
		if found {
			break
		}
		select {
		case <-f.got:
		case <-deadline:
			t.Fatal("no in-band SPS for the new size")
		}
	}
	// A client connecting now gets the new parameter sets in the SDP.
	_, _, desc2 := client(t, cam.URL(), gortsplib.TransportTCP)
	if w := spsWidth(t, desc2.Medias[0].Formats[0].(*format.H264).SPS); w != 160 {
		t.Errorf("SDP SPS width %d after switch, want 160", w)
	}
	if err := cam.SwitchScene(scene.Static(161, 96, 25)); err == nil {
		t.Error("odd width accepted")
	}
}

func TestOfferCodec(t *testing.T) {
	cam := start(t, simcam.Config{OfferCodec: "mjpeg", Audio: true})
	_, _, desc := client(t, cam.URL(), gortsplib.TransportTCP)
	if len(desc.Medias) != 2 || desc.Medias[0].Type != description.MediaTypeVideo {
		t.Fatalf("medias %+v", desc.Medias)
	}
	if _, ok := desc.Medias[0].Formats[0].(*format.MJPEG); !ok {
		t.Fatalf("video format %T, want MJPEG", desc.Medias[0].Formats[0])
	}
	if err := cam.SwitchScene(scene.Static(64, 64, 25)); err == nil {
		t.Error("SwitchScene without video accepted")
	}
	if w, h := cam.Size(); w != 0 || h != 0 {
		t.Errorf("Size %dx%d", w, h)
	}
}

func TestScriptServerClose(t *testing.T) {
	s, err := simcam.StartScript(simcam.ScriptConfig{Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	client(t, s.URL(), gortsplib.TransportTCP)
	if got := s.Requests(); len(got) != 2 || got[0] != "OPTIONS" || got[1] != "DESCRIBE" {
		t.Errorf("requests %v", got)
	}
	s.Close()
	s.Close()
}
