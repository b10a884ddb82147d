package simcam

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// Fault injection. Real cameras misbehave in a handful of ways that the
// pipeline must survive; these methods make the simulated camera do each of
// them on demand, for the fault tests and for showing reconnection in the
// demo. All of them are safe to call from any goroutine while the camera
// streams.

// Impairment degrades the video packets on their way out, as a lossy
// network does. It applies to every reader; over TCP the client sees
// sequence gaps without any loss on the wire, so use it with UDP.
type Impairment struct {
	// LossRate is the probability (0..1) that a video RTP packet is dropped.
	LossRate float64
	// ReorderRate is the probability (0..1) that a packet is held back and
	// sent after the next one.
	ReorderRate float64
	// Seed makes the drops and swaps reproducible.
	Seed uint64
}

func (im Impairment) validate() error {
	if im.LossRate < 0 || im.LossRate > 1 || im.ReorderRate < 0 || im.ReorderRate > 1 {
		return fmt.Errorf("simcam: impairment rates %v/%v outside 0..1", im.LossRate, im.ReorderRate)
	}
	return nil
}

// faults is the fault state read by the streaming goroutine.
type faults struct {
	paused   atomic.Bool
	tsOffset atomic.Int64 // added to every video RTP timestamp, in 90 kHz units

	mu       sync.Mutex
	im       Impairment
	rng      *rand.Rand
	held     *rtp.Packet // reordered packet waiting for its successor
	dropped  uint64
	reorders uint64
}

func (f *faults) setImpairment(im Impairment) error {
	if err := im.validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.im = im
	f.rng = rand.New(rand.NewPCG(im.Seed, im.Seed^0x9e3779b97f4a7c15))
	return nil
}

// impair returns the packets to send now, in the order to send them.
func (f *faults) impair(pkts []*rtp.Packet) []*rtp.Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.im.LossRate == 0 && f.im.ReorderRate == 0 && f.held == nil {
		return pkts
	}
	out := make([]*rtp.Packet, 0, len(pkts)+1)
	for _, p := range pkts {
		if f.im.LossRate > 0 && f.rng.Float64() < f.im.LossRate {
			f.dropped++
			continue
		}
		if f.held != nil {
			out = append(out, p, f.held)
			f.held = nil
			continue
		}
		if f.im.ReorderRate > 0 && f.rng.Float64() < f.im.ReorderRate {
			f.held = p
			f.reorders++
			continue
		}
		out = append(out, p)
	}
	return out
}

// SetImpairment changes the loss and reordering of video packets from the
// next packet on; the zero Impairment turns them off.
func (s *Server) SetImpairment(im Impairment) error { return s.faults.setImpairment(im) }

// Impaired reports how many video packets were dropped and how many were
// reordered so far.
func (s *Server) Impaired() (dropped, reordered uint64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.dropped, s.faults.reorders
}

// Pause stops sending video while keeping every session open: the stream
// stalls, as with a frozen encoder. RTSP keeps answering. The stream clock
// keeps running, so after Resume timestamps continue in real time.
func (s *Server) Pause() { s.faults.paused.Store(true) }

// Resume ends a Pause; decoding clients pick up at the next key frame.
func (s *Server) Resume() { s.faults.paused.Store(false) }

// JumpTimestamps shifts every following video RTP timestamp by d (which
// may be negative), as a camera does when its clock is set or its encoder
// restarts without a new session.
func (s *Server) JumpTimestamps(d time.Duration) {
	s.faults.tsOffset.Add(int64(d) * videoClock / int64(time.Second))
}

// DropSessions closes every client connection at the TCP level, without an
// RTSP goodbye, as a camera that reboots or a NAT that forgets the flow.
// It returns how many connections were closed. New connections are
// accepted as before.
func (s *Server) DropSessions() int {
	s.mu.Lock()
	conns := make([]*gortsplib.ServerConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	s.log.Info("simulated fault: connections dropped", "n", len(conns))
	return len(conns)
}

// Teardown ends every RTSP session on the camera's side, as a camera does
// when its stream settings change: the session and the connections that
// carry it are closed by the server. It returns how many sessions ended.
func (s *Server) Teardown() int {
	s.mu.Lock()
	sessions := make([]*gortsplib.ServerSession, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.Close()
	}
	s.log.Info("simulated fault: sessions torn down", "n", len(sessions))
	return len(sessions)
}

// SwitchScene re-encodes the clip from sc (typically at another
// resolution) and switches to it at the next frame, mid-stream and without
// a new session. The new clip starts with an IDR that carries the new
// SPS/PPS in band, which is how cameras change resolution on the fly; the
// SDP of later DESCRIBEs carries them too. The frame rate stays the same.
func (s *Server) SwitchScene(sc scene.Config) error {
	if s.clip.Load() == nil {
		return errors.New("simcam: SwitchScene on a camera that sends no video (OfferCodec)")
	}
	sc.FPS = s.fps
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("simcam: %w", err)
	}
	if sc.Width%2 != 0 || sc.Height%2 != 0 {
		return fmt.Errorf("simcam: frame size %dx%d must be even", sc.Width, sc.Height)
	}
	c, err := s.encodeClip(sc)
	if err != nil {
		return err
	}
	s.setParams(c.aus[0])
	s.clip.Store(c)
	s.log.Info("simulated fault: scene switched", "size", fmt.Sprintf("%dx%d", c.w, c.h))
	return nil
}

// Size returns the resolution currently streamed (0, 0 with OfferCodec).
func (s *Server) Size() (w, h int) {
	if c := s.clip.Load(); c != nil {
		return c.w, c.h
	}
	return 0, 0
}

// Plays counts the PLAY requests answered with success: one per session
// that started streaming, so reconnections show up here.
func (s *Server) Plays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plays
}

// setParams puts the parameter sets of an IDR into the SDP's format.
func (s *Server) setParams(idr [][]byte) {
	switch f := s.vfmt.(type) {
	case *format.H264:
		var sps, pps []byte
		for _, n := range idr {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
		if sps != nil && pps != nil {
			f.SafeSetParams(sps, pps)
		}
	case *format.H265:
		var vps, sps, pps []byte
		for _, n := range idr {
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				vps = n
			case h265.NALUType_SPS_NUT:
				sps = n
			case h265.NALUType_PPS_NUT:
				pps = n
			}
		}
		if vps != nil && sps != nil && pps != nil {
			f.SafeSetParams(vps, sps, pps)
		}
	}
}

// buildUnsupportedDescription offers the video in a format edgeguard does
// not decode (Config.OfferCodec).
func (s *Server) buildUnsupportedDescription() error {
	var f format.Format
	switch strings.ToLower(s.cfg.OfferCodec) {
	case "mjpeg":
		f = &format.MJPEG{}
	case "av1":
		f = &format.AV1{PayloadTyp: 96}
	case "vp8":
		f = &format.VP8{PayloadTyp: 96}
	default:
		return fmt.Errorf("simcam: OfferCodec %q: want mjpeg, av1 or vp8", s.cfg.OfferCodec)
	}
	s.vfmt = f
	s.video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}
	s.desc = &description.Session{Title: "edgeguard simulated camera", Medias: []*description.Media{s.video}}
	if s.cfg.Audio {
		s.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{
			PayloadTyp: 0, MULaw: true, SampleRate: audioRate, ChannelCount: 1,
		}}}
		s.desc.Medias = append(s.desc.Medias, s.audio)
	}
	return nil
}
