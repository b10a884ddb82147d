// Package simcam is a simulated IP camera: an RTSP server streaming a
// synthetic scene as H.264 or H.265, with an optional G.711 audio track, for
// the demo, tests and evaluation without hardware.
//
// The audio track exists so that the "audio is never received" rule can be
// seen and tested: the server records the media of every SETUP it is asked
// for (Setups), and a correct client only ever asks for the video.
//
// The camera can also misbehave on demand (faults.go): stall (Pause),
// drop connections (DropSessions), end sessions (Teardown), change
// resolution mid-stream (SwitchScene), jump its timestamps
// (JumpTimestamps), lose and reorder packets (Impairment), or offer a codec
// edgeguard does not decode (Config.OfferCodec). ScriptServer is a broken
// camera that fails at a chosen RTSP step (garbage, silence, hang-up).
package simcam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// Defaults for zero Config fields.
const (
	DefaultAddr        = "127.0.0.1:0"
	DefaultPath        = "stream"
	DefaultClipSeconds = 10
)

const (
	videoClock   = 90000
	audioRate    = 8000
	audioPacket  = 20 * time.Millisecond
	audioSamples = audioRate / 50 // per 20 ms packet
	toneHz       = 400            // 160 samples hold exactly 8 periods
)

// Config configures a simulated camera.
type Config struct {
	// Addr is the RTSP listen address; port 0 picks a free port.
	Addr string
	// Path is the stream path (without or with a leading '/').
	Path string
	// Codec is codec.H264 (default) or codec.H265.
	Codec codec.Codec
	// Scene is rendered and encoded; zero Width → scene.Walker(640, 360, 25).
	Scene scene.Config
	// ClipSeconds is the length of the clip encoded once at Start and then
	// looped with continuous timestamps (default 10). Encoding once keeps
	// the simulator cheap enough to run next to the pipeline on the box.
	ClipSeconds int
	// Audio adds a G.711 µ-law 8 kHz media (a 400 Hz tone, 20 ms packets).
	Audio bool
	// Username and Password, if Username is set, are required (Basic or
	// Digest) on DESCRIBE, SETUP and PLAY.
	Username, Password string
	// UDP additionally offers the UDP transport (binds an RTP/RTCP port
	// pair); TCP interleaved is always offered.
	UDP bool
	// BitrateKbps of the encoder (0 → 1000).
	BitrateKbps int
	// OfferCodec, if set ("mjpeg", "av1" or "vp8"), makes the camera offer
	// its video only in that format, which edgeguard does not decode: the
	// SDP says so and no video is sent. It shows the "unsupported codec"
	// status without a real MJPEG camera.
	OfferCodec string
	// Impairment is applied to the video packets from the start; see
	// SetImpairment.
	Impairment Impairment
	// Clip, if set, is a pre-encoded clip in Codec (access units as NAL
	// units without start codes, Clip[0] a key frame with the parameter
	// sets in band) streamed instead of encoding Scene; Scene's Width,
	// Height and FPS must describe it. It lets a benchmark encode a 1080p
	// clip once and share it among many cameras instead of encoding it per
	// camera at start.
	Clip   [][][]byte
	Logger *slog.Logger
}

// Server is a running simulated camera.
type Server struct {
	cfg    Config
	log    *slog.Logger
	path   string
	server *gortsplib.Server
	stream atomic.Pointer[gortsplib.ServerStream]
	desc   *description.Session
	video  *description.Media
	audio  *description.Media // nil without Audio
	vfmt   format.Format
	clip   atomic.Pointer[clip] // swapped by SwitchScene
	fps    int
	addr   string

	mu       sync.Mutex
	setups   []string
	plays    int
	conns    map[*gortsplib.ServerConn]struct{}
	sessions map[*gortsplib.ServerSession]struct{}

	faults faults

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start encodes the clip, starts listening and streams in real time until
// Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Codec == 0 {
		cfg.Codec = codec.H264
	}
	if cfg.Codec != codec.H264 && cfg.Codec != codec.H265 {
		return nil, fmt.Errorf("simcam: unsupported codec %v", cfg.Codec)
	}
	if cfg.Scene.Width == 0 {
		cfg.Scene = scene.Walker(640, 360, 25)
	}
	if cfg.Scene.FPS == 0 {
		cfg.Scene.FPS = 25
	}
	if err := cfg.Scene.Validate(); err != nil {
		return nil, fmt.Errorf("simcam: %w", err)
	}
	if cfg.Scene.Width%2 != 0 || cfg.Scene.Height%2 != 0 {
		return nil, fmt.Errorf("simcam: frame size %dx%d must be even", cfg.Scene.Width, cfg.Scene.Height)
	}
	if cfg.ClipSeconds <= 0 {
		cfg.ClipSeconds = DefaultClipSeconds
	}
	if cfg.BitrateKbps <= 0 {
		cfg.BitrateKbps = 1000
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "simcam"),
		path:     strings.Trim(cfg.Path, "/"),
		fps:      cfg.Scene.FPS,
		conns:    map[*gortsplib.ServerConn]struct{}{},
		sessions: map[*gortsplib.ServerSession]struct{}{},
	}
	if err := s.faults.setImpairment(cfg.Impairment); err != nil {
		return nil, err
	}
	if cfg.OfferCodec != "" {
		if err := s.buildUnsupportedDescription(); err != nil {
			return nil, err
		}
	} else if len(cfg.Clip) > 0 {
		if !s.randomAccess(cfg.Clip[0]) {
			return nil, errors.New("simcam: Config.Clip does not start with a key frame")
		}
		s.clip.Store(&clip{aus: cfg.Clip, w: cfg.Scene.Width, h: cfg.Scene.Height})
		if err := s.buildDescription(); err != nil {
			return nil, err
		}
	} else {
		c, err := s.encodeClip(cfg.Scene)
		if err != nil {
			return nil, err
		}
		s.clip.Store(c)
		if err := s.buildDescription(); err != nil {
			return nil, err
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	st := &gortsplib.ServerStream{Server: s.server, Desc: s.desc}
	if err := st.Initialize(); err != nil {
		s.server.Close()
		return nil, fmt.Errorf("simcam: stream: %w", err)
	}
	s.stream.Store(st)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.run(ctx, st); err != nil {
			s.log.Error("simulated camera stopped streaming", "err", err)
		}
	}()
	s.log.Info("simulated camera listening", "addr", s.addr, "path", s.path,
		"codec", cfg.Codec.String(), "size", fmt.Sprintf("%dx%d", cfg.Scene.Width, cfg.Scene.Height),
		"fps", s.fps, "audio", cfg.Audio, "auth", cfg.Username != "", "udp", cfg.UDP)
	return s, nil
}

// clip is an encoded scene: access units, aus[0] an IDR carrying the
// parameter sets in band.
type clip struct {
	aus  [][][]byte
	w, h int
}

// encodeClip renders and encodes ClipSeconds of sc at the server's frame
// rate.
func (s *Server) encodeClip(cfg scene.Config) (*clip, error) {
	aus, err := Encode(cfg, codec.EncoderConfig{
		Codec: s.cfg.Codec, FPS: s.fps,
		BitrateKbps: s.cfg.BitrateKbps, GOP: s.fps, // a key frame every second: quick start for late joiners
	}, s.cfg.ClipSeconds*s.fps)
	if err != nil {
		return nil, err
	}
	if len(aus) == 0 {
		return nil, errors.New("simcam: encoder produced no access units")
	}
	if !s.randomAccess(aus[0]) {
		return nil, errors.New("simcam: encoder did not start with a key frame")
	}
	return &clip{aus: aus, w: cfg.Width, h: cfg.Height}, nil
}

// Encode renders the first frames pictures of the scene and encodes them
// with enc, whose size is the scene's: the access units in decoding order,
// as a camera sends them (pictures an encoder with B-frames still holds at
// the end are left out). It makes clips for Config.Clip.
func Encode(cfg scene.Config, enc codec.EncoderConfig, frames int) ([][][]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simcam: %w", err)
	}
	sc := scene.New(cfg)
	enc.Width, enc.Height = sc.Size()
	e, err := codec.NewEncoder(enc)
	if err != nil {
		return nil, fmt.Errorf("simcam: encoder: %w", err)
	}
	defer e.Close()
	y, u, v := sc.NewFrame()
	aus := make([][][]byte, 0, frames)
	for i := range frames {
		sc.Render(i, y, u, v)
		au, err := e.Encode(y, u, v, int64(i))
		if err != nil {
			return nil, fmt.Errorf("simcam: encode frame %d: %w", i, err)
		}
		if len(au) > 0 {
			aus = append(aus, au)
		}
	}
	return aus, nil
}

func (s *Server) randomAccess(au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 {
			return false
		}
	}
	if s.cfg.Codec == codec.H265 {
		return h265.IsRandomAccess(au)
	}
	return h264.IsRandomAccess(au)
}

// buildDescription creates the media, with the parameter sets of the first
// IDR in the SDP, as real cameras do.
func (s *Server) buildDescription() error {
	first := s.clip.Load().aus[0]
	if s.cfg.Codec == codec.H265 {
		f := &format.H265{PayloadTyp: 96}
		for _, n := range first {
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				f.VPS = n
			case h265.NALUType_SPS_NUT:
				f.SPS = n
			case h265.NALUType_PPS_NUT:
				f.PPS = n
			}
		}
		if f.VPS == nil || f.SPS == nil || f.PPS == nil {
			return errors.New("simcam: first H.265 key frame lacks VPS/SPS/PPS")
		}
		s.vfmt = f
	} else {
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
		for _, n := range first {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				f.SPS = n
			case h264.NALUTypePPS:
				f.PPS = n
			}
		}
		if f.SPS == nil || f.PPS == nil {
			return errors.New("simcam: first H.264 key frame lacks SPS/PPS")
		}
		s.vfmt = f
	}
	s.video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{s.vfmt}}
	s.desc = &description.Session{Title: "edgeguard simulated camera", Medias: []*description.Media{s.video}}
	if s.cfg.Audio {
		s.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{
			PayloadTyp: 0, MULaw: true, SampleRate: audioRate, ChannelCount: 1,
		}}}
		s.desc.Medias = append(s.desc.Medias, s.audio)
	}
	return nil
}

// listen binds the ports first: gortsplib wants fixed addresses, and
// binding ourselves turns "port 0" into a free port without a race.
func (s *Server) listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("simcam: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	srv := &gortsplib.Server{
		Handler:     &handler{s: s},
		RTSPAddress: s.addr,
		Listen:      func(string, string) (net.Listener, error) { return ln, nil },
	}
	if s.cfg.UDP {
		host, _, _ := net.SplitHostPort(s.addr)
		rtpConn, rtcpConn, err := udpPair(host)
		if err != nil {
			ln.Close()
			return err
		}
		srv.UDPRTPAddress = rtpConn.LocalAddr().String()
		srv.UDPRTCPAddress = rtcpConn.LocalAddr().String()
		srv.ListenPacket = func(_, address string) (net.PacketConn, error) {
			switch address {
			case srv.UDPRTPAddress:
				return rtpConn, nil
			case srv.UDPRTCPAddress:
				return rtcpConn, nil
			}
			return nil, fmt.Errorf("simcam: unexpected UDP listen on %s", address)
		}
		if err := srv.Start(); err != nil {
			ln.Close()
			rtpConn.Close()
			rtcpConn.Close()
			return fmt.Errorf("simcam: start: %w", err)
		}
	} else if err := srv.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("simcam: start: %w", err)
	}
	s.server = srv
	return nil
}

// udpPair binds an even RTP port and the RTCP port right above it, as RTSP
// requires.
func udpPair(host string) (*net.UDPConn, *net.UDPConn, error) {
	for range 100 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
		if err != nil {
			return nil, nil, fmt.Errorf("simcam: udp: %w", err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host), Port: port + 1})
		if err != nil {
			a.Close()
			continue
		}
		return a, b, nil
	}
	return nil, nil, errors.New("simcam: no free UDP port pair")
}

// run streams the clip (and the tone) in real time. Timestamps come from
// frame/packet counters, not the clock, so they stay continuous across loops
// and even if a tick is late.
func (s *Server) run(ctx context.Context, st *gortsplib.ServerStream) error {
	var venc func([][]byte) ([]*rtp.Packet, error)
	if s.clip.Load() != nil { // nil with OfferCodec: no video is sent
		e, err := s.newVideoEncoder()
		if err != nil {
			return err
		}
		venc = e
	}
	videoTick := time.NewTicker(time.Second / time.Duration(s.fps))
	defer videoTick.Stop()
	var (
		audioC <-chan time.Time
		aenc   interface {
			Encode([]byte) ([]*rtp.Packet, error)
		}
		tone      []byte
		audioBase uint32
		audioN    uint32
	)
	if s.audio != nil {
		e, err := s.audio.Formats[0].(*format.G711).CreateEncoder()
		if err != nil {
			return err
		}
		aenc = e
		if tone, err = toneMulaw(); err != nil {
			return err
		}
		audioBase = uint32(time.Now().UnixNano())
		t := time.NewTicker(audioPacket)
		defer t.Stop()
		audioC = t.C
	}
	videoBase := uint32(time.Now().UnixNano() >> 10)
	var (
		frame     int64
		cur       *clip
		clipStart int64 // frame at which cur started: a new clip starts with its IDR
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-videoTick.C:
			if c := s.clip.Load(); c != cur {
				cur, clipStart = c, frame
			}
			// A paused camera keeps its clock running, like a frozen
			// encoder whose wall clock does not stop.
			if cur == nil || s.faults.paused.Load() {
				frame++
				continue
			}
			au := cur.aus[(frame-clipStart)%int64(len(cur.aus))]
			pkts, err := venc(au)
			if err != nil {
				return err
			}
			ts := videoBase + uint32(frame*videoClock/int64(s.fps)) + uint32(s.faults.tsOffset.Load())
			for _, p := range pkts {
				p.Timestamp = ts
			}
			for _, p := range s.faults.impair(pkts) {
				if err := st.WritePacketRTP(s.video, p); err != nil {
					return err
				}
			}
			frame++
		case <-audioC:
			pkts, err := aenc.Encode(tone)
			if err != nil {
				return err
			}
			for _, p := range pkts {
				p.Timestamp = audioBase + audioN*audioSamples
				if err := st.WritePacketRTP(s.audio, p); err != nil {
					return err
				}
			}
			audioN++
		}
	}
}

func (s *Server) newVideoEncoder() (func([][]byte) ([]*rtp.Packet, error), error) {
	switch f := s.vfmt.(type) {
	case *format.H264:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		return e.Encode, nil
	case *format.H265:
		e, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		return e.Encode, nil
	}
	return nil, fmt.Errorf("simcam: no RTP encoder for %s", s.vfmt.Codec())
}

// toneMulaw is one 20 ms packet of a 400 Hz tone, µ-law coded. 160 samples
// hold whole periods, so the same payload repeats without a click.
func toneMulaw() ([]byte, error) {
	lpcm := make(g711.Mulaw, audioSamples*2)
	for i := range audioSamples {
		v := int16(8000 * math.Sin(2*math.Pi*toneHz*float64(i)/audioRate))
		lpcm[2*i] = byte(uint16(v) >> 8)
		lpcm[2*i+1] = byte(uint16(v))
	}
	return lpcm.Marshal()
}

// URL returns rtsp://HOST:PORT/path, with the credentials if auth is on.
func (s *Server) URL() string {
	u := url.URL{Scheme: "rtsp", Host: s.addr, Path: "/" + s.path}
	if s.cfg.Username != "" {
		u.User = url.UserPassword(s.cfg.Username, s.cfg.Password)
	}
	return u.String()
}

// Setups returns the media type ("video", "audio", or "unknown") of every
// SETUP request received so far, authorised or not, in order.
func (s *Server) Setups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.setups...)
}

// Close stops streaming, disconnects every client and frees the ports.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		if st := s.stream.Load(); st != nil {
			st.Close()
		}
		s.server.Close()
		s.log.Info("simulated camera closed", "addr", s.addr)
	})
}

// mediaOf maps a SETUP URL to the media it names. gortsplib puts
// "trackID=N" (the index into the description) into the path or, for
// FFmpeg-style URLs, the query.
func (s *Server) mediaOf(u *base.URL) string {
	for _, part := range []string{u.RawQuery, u.Path} {
		i := strings.LastIndex(part, "trackID=")
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(part[i+len("trackID="):], "/"))
		if err != nil || n < 0 || n >= len(s.desc.Medias) {
			return "unknown"
		}
		return string(s.desc.Medias[n].Type)
	}
	return "unknown"
}

// handler implements gortsplib's ServerHandler callbacks.
type handler struct{ s *Server }

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.s.mu.Lock()
	h.s.conns[ctx.Conn] = struct{}{}
	h.s.mu.Unlock()
	h.s.log.Debug("rtsp connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.s.mu.Lock()
	delete(h.s.conns, ctx.Conn)
	h.s.mu.Unlock()
	h.s.log.Debug("rtsp connection closed", "err", ctx.Error)
}

func (h *handler) OnSessionOpen(ctx *gortsplib.ServerHandlerOnSessionOpenCtx) {
	h.s.mu.Lock()
	h.s.sessions[ctx.Session] = struct{}{}
	h.s.mu.Unlock()
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	h.s.mu.Lock()
	delete(h.s.sessions, ctx.Session)
	h.s.mu.Unlock()
	h.s.log.Debug("rtsp session closed", "err", ctx.Error)
}

// check applies the path and the credentials to a request.
func (h *handler) check(conn *gortsplib.ServerConn, req *base.Request, path string) (*base.Response, error) {
	if strings.Trim(path, "/") != h.s.path {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	if h.s.cfg.Username != "" && !conn.VerifyCredentials(req, h.s.cfg.Username, h.s.cfg.Password) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	if h.s.stream.Load() == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil
	}
	return nil, nil
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := h.check(ctx.Conn, ctx.Request, ctx.Path); res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, h.s.stream.Load(), nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	media := h.s.mediaOf(ctx.Request.URL)
	h.s.mu.Lock()
	h.s.setups = append(h.s.setups, media)
	h.s.mu.Unlock()
	h.s.log.Info("rtsp SETUP", "media", media, "transport", ctx.Transport.String())
	if res, err := h.check(ctx.Conn, ctx.Request, ctx.Path); res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, h.s.stream.Load(), nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if res, err := h.check(ctx.Conn, ctx.Request, ctx.Path); res != nil {
		return res, err
	}
	h.s.mu.Lock()
	h.s.plays++
	h.s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// The codecs a simulated camera streams, for callers outside the pipeline
// (the command's tests), which cannot import the codec package.
const (
	H264 = codec.H264
	H265 = codec.H265
)
