// Package ingest pulls one camera's RTSP stream and hands its video access
// units to the decoder through a bounded queue.
//
// Only the video media is ever SETUP: an audio track offered by the camera is
// listed in StreamInfo.OfferedMedia but never requested, so no audio byte
// reaches the device (invariant 1). Credentials travel only inside the
// RTSP client; everything this package logs or returns is redacted.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/internal/redact"
)

// Defaults for zero Config fields.
const (
	DefaultQueueSize = 32
	DefaultTimeout   = 10 * time.Second
	// dropLogEvery bounds the queue-full log line: a slow consumer drops
	// many AUs per second, the log needs to hear about it once in a while.
	dropLogEvery = 10 * time.Second
)

// Errors a caller can act on (errors.Is). Their messages never contain
// credentials.
var (
	// ErrUnsupportedCodec: the camera offers video, but not as H.264/H.265.
	ErrUnsupportedCodec = errors.New("unsupported video codec")
	// ErrUnauthorized: the camera rejected the credentials (or their absence).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNoVideo: the camera offers no video media at all.
	ErrNoVideo = errors.New("no video media offered")
	// ErrClosed is Err() after Close ended the session.
	ErrClosed = errors.New("session closed")
	// ErrStreamEnded: the camera ended a playing session without an error
	// of its own (Err() then wraps it).
	ErrStreamEnded = errors.New("stream ended")
)

// UnsupportedCodecError names the video codecs a camera offered instead of
// H.264/H.265; errors.Is(err, ErrUnsupportedCodec) holds for it. The names
// are the RTSP library's codec names (e.g. "M-JPEG", "AV1"), never text the
// camera chose, so a status may show them.
type UnsupportedCodecError struct {
	Offered []string
}

func (e *UnsupportedCodecError) Error() string {
	return fmt.Sprintf("%v: camera offers video as %s; H.264 or H.265 required", ErrUnsupportedCodec, strings.Join(e.Offered, ", "))
}

func (e *UnsupportedCodecError) Is(target error) bool { return target == ErrUnsupportedCodec }

// Config configures one RTSP session.
type Config struct {
	// URL is rtsp://[user:pass@]host[:port]/path. The user info is used for
	// Basic/Digest authentication and never logged.
	URL string
	// Transport is "tcp" (default: interleaved on the RTSP connection, works
	// through NAT and firewalls, no loss) or "udp".
	Transport string
	// QueueSize bounds the access-unit queue (default 32).
	QueueSize int
	// Timeout bounds every RTSP step and the silence after which a playing
	// stream counts as dead (default 10 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// AccessUnit is one coded picture.
type AccessUnit struct {
	// NALUs without start codes. The slices belong to the receiver.
	NALUs [][]byte
	// PTS is relative to the start of the session.
	PTS          time.Duration
	Received     time.Time
	RandomAccess bool
	// Discontinuity: access units were dropped (queue full) or lost
	// (RTP packets missing) before this one; the decoder must wait for the
	// next random-access unit.
	Discontinuity bool
}

// StreamInfo describes what was negotiated.
type StreamInfo struct {
	Codec string // "h264" | "h265"
	// ParamSets are VPS/SPS/PPS from the SDP (may be empty: then they are
	// only in band).
	ParamSets [][]byte
	// OfferedMedia lists every media/format the camera offered, e.g.
	// "video/H264", "audio/PCMU", for status display. Only the chosen video
	// media was SETUP.
	OfferedMedia []string
}

// Session is one playing RTSP session. It ends when the camera closes the
// connection, the stream times out, or Close is called.
type Session struct {
	log    *slog.Logger
	client *gortsplib.Client
	info   StreamInfo
	media  *description.Media
	clock  int64 // RTP clock rate of the chosen format
	sc     *redact.Scrubber
	where  string // redacted URL for messages

	aus         chan AccessUnit
	dropped     atomic.Uint64
	lost        atomic.Uint64
	pendingDisc atomic.Bool
	dropLog     rateLimit
	lossLog     rateLimit
	decErrLog   rateLimit

	// Owned by the packet-reading goroutine.
	depkt   depacketizer
	started bool // a PTS was ever available
	prevTS  uint32
	prevPTS int64

	closeOnce sync.Once
	closed    atomic.Bool
	done      chan struct{}
	err       error // written once before done is closed
}

// Open connects, DESCRIBEs, SETUPs the first H.264/H.265 video media (and
// nothing else) and PLAYs it. Like net.Dialer.DialContext, ctx bounds only
// the opening: once Open returned, end the session with Close.
func Open(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	where := redact.URL(cfg.URL)
	if err := ctx.Err(); err != nil {
		return nil, &safeError{msg: fmt.Sprintf("ingest: open %s: %v", where, err), cause: err}
	}
	var transport gortsplib.Transport
	switch strings.ToLower(cfg.Transport) {
	case "", "tcp":
		transport = gortsplib.TransportTCP
	case "udp":
		transport = gortsplib.TransportUDP
	default:
		return nil, fmt.Errorf("ingest: %s: unknown transport %q (want tcp or udp)", where, redact.URL(cfg.Transport))
	}
	u, err := base.ParseURL(cfg.URL)
	if err != nil {
		// The parser's message quotes the URL: not used.
		return nil, fmt.Errorf("ingest: invalid camera URL %s", where)
	}

	s := &Session{
		log:   cfg.Logger.With("url", where),
		sc:    redact.NewScrubber(cfg.URL),
		where: where,
		aus:   make(chan AccessUnit, cfg.QueueSize),
		done:  make(chan struct{}),
	}
	s.dropLog.every, s.lossLog.every, s.decErrLog.every = dropLogEvery, dropLogEvery, dropLogEvery
	s.client = &gortsplib.Client{
		Scheme:       u.Scheme,
		Host:         u.Host,
		ReadTimeout:  cfg.Timeout,
		WriteTimeout: cfg.Timeout,
		Transport:    &transport,
		OnTransportSwitch: func(err error) {
			s.log.Info("rtsp transport switched", "reason", s.sc.Text(err.Error()))
		},
		OnPacketsLost: s.onPacketsLost,
		OnDecodeError: func(err error) {
			if s.decErrLog.allow(time.Now()) {
				s.log.Warn("rtsp packet decode error", "err", s.sc.Text(err.Error()))
			}
		},
	}
	if err := s.client.Start2(); err != nil {
		return nil, s.fail(ctx, "start", err)
	}

	// The client takes no context; closing it aborts the step in flight.
	stop := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		select {
		case <-ctx.Done():
			s.client.Close()
		case <-stop:
		}
	}()
	err = s.negotiate(u)
	close(stop)
	<-watcher
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		s.client.Close()
		return nil, s.fail(ctx, "open", err)
	}

	go s.wait()
	s.log.Info("rtsp session playing", "codec", s.info.Codec, "transport", transport.String(),
		"offered", s.info.OfferedMedia)
	return s, nil
}

// negotiate runs OPTIONS, DESCRIBE, SETUP (video only) and PLAY.
func (s *Session) negotiate(u *base.URL) error {
	// Sent on its own (the client would send it inside DESCRIBE) so that a
	// camera that hangs already here is reported as such. A 404 is accepted
	// by the client: not every camera implements OPTIONS.
	if _, err := s.client.Options(u); err != nil {
		return stepError{"OPTIONS", err}
	}
	desc, _, err := s.client.Describe(u)
	if err != nil {
		return stepError{"DESCRIBE", err}
	}
	s.info.OfferedMedia = offered(desc)
	medi, forma, err := pickVideo(desc)
	if err != nil {
		return err
	}
	if err := s.setDepacketizer(forma); err != nil {
		return err
	}
	// Invariant 1: this is the only Setup call in the package, and medi is
	// a video media (pickVideo only returns those).
	if medi.Type != description.MediaTypeVideo {
		return fmt.Errorf("refusing to SETUP %s media", medi.Type)
	}
	if _, err := s.client.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return stepError{"SETUP", err}
	}
	s.media = medi
	s.clock = int64(forma.ClockRate())
	s.client.OnPacketRTP(medi, forma, s.onRTP)
	if _, err := s.client.Play(nil); err != nil {
		return stepError{"PLAY", err}
	}
	return nil
}

// stepError names the RTSP step that failed.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e stepError) Unwrap() error { return e.err }

// fail turns any error from opening into one that is safe to print.
func (s *Session) fail(ctx context.Context, what string, err error) error {
	step := what
	var se stepError
	if errors.As(err, &se) {
		step = se.step
		err = se.err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &safeError{msg: fmt.Sprintf("ingest: %s %s: %v", step, s.where, ctxErr), cause: ctxErr}
	}
	var bsc liberrors.ErrClientBadStatusCode
	var authSetup liberrors.ErrClientAuthSetup
	switch {
	case errors.As(err, &bsc) && bsc.Code == base.StatusUnauthorized,
		errors.As(err, &authSetup):
		return &safeError{
			msg:      fmt.Sprintf("ingest: %s %s: %v (check the camera credentials)", step, s.where, ErrUnauthorized),
			sentinel: ErrUnauthorized,
			cause:    err,
		}
	case errors.Is(err, ErrUnsupportedCodec):
		return &safeError{msg: "ingest: " + s.where + ": " + s.sc.Text(err.Error()), sentinel: ErrUnsupportedCodec, cause: err}
	case errors.Is(err, ErrNoVideo):
		return &safeError{msg: "ingest: " + s.where + ": " + s.sc.Text(err.Error()), sentinel: ErrNoVideo, cause: err}
	}
	return &safeError{msg: fmt.Sprintf("ingest: %s %s: %s", step, s.where, s.sc.Text(err.Error())), cause: err}
}

// offered lists the media/format pairs of a description.
func offered(desc *description.Session) []string {
	var out []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			out = append(out, string(m.Type)+"/"+encodingName(f))
		}
	}
	return out
}

// encodingName is the SDP encoding name (H264, PCMU, JPEG...), which people
// recognise from camera web pages; the library's codec name otherwise.
func encodingName(f format.Format) string {
	if name, _, _ := strings.Cut(f.RTPMap(), "/"); name != "" {
		return name
	}
	return f.Codec()
}

// pickVideo returns the first H.264 or H.265 format of a video media.
func pickVideo(desc *description.Session) (*description.Media, format.Format, error) {
	var others []string
	for _, m := range desc.Medias {
		if m.Type != description.MediaTypeVideo {
			continue
		}
		for _, f := range m.Formats {
			switch f.(type) {
			case *format.H264, *format.H265:
				return m, f, nil
			}
			others = append(others, f.Codec())
		}
	}
	if len(others) == 0 {
		return nil, nil, ErrNoVideo
	}
	return nil, nil, &UnsupportedCodecError{Offered: others}
}

// depacketizer turns RTP packets of one format into access units.
type depacketizer struct {
	decode       func(*rtp.Packet) ([][]byte, error)
	benign       func(error) bool // "need more packets" and the like
	randomAccess func([][]byte) bool
}

func (s *Session) setDepacketizer(f format.Format) error {
	switch f := f.(type) {
	case *format.H264:
		d, err := f.CreateDecoder()
		if err != nil {
			return err
		}
		sps, pps := f.SafeParams()
		s.info.Codec = "h264"
		s.info.ParamSets = paramSets(sps, pps)
		s.depkt = depacketizer{
			decode: d.Decode,
			benign: func(err error) bool {
				return errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious)
			},
			randomAccess: h264.IsRandomAccess,
		}
	case *format.H265:
		d, err := f.CreateDecoder()
		if err != nil {
			return err
		}
		vps, sps, pps := f.SafeParams()
		s.info.Codec = "h265"
		s.info.ParamSets = paramSets(vps, sps, pps)
		s.depkt = depacketizer{
			decode: d.Decode,
			benign: func(err error) bool {
				return errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious)
			},
			randomAccess: h265.IsRandomAccess,
		}
	default:
		return &UnsupportedCodecError{Offered: []string{f.Codec()}}
	}
	return nil
}

func paramSets(ps ...[]byte) [][]byte {
	var out [][]byte
	for _, p := range ps {
		if len(p) > 0 {
			out = append(out, append([]byte(nil), p...))
		}
	}
	return out
}

// onRTP runs on the client's packet-reading goroutine (TCP: the connection
// reader; UDP: the RTP socket reader). It must never block: a stalled
// reader stalls RTCP and keep-alives and the camera drops the session.
func (s *Session) onRTP(pkt *rtp.Packet) {
	pts, ok := s.client.PacketPTS2(s.media, pkt)
	s.handleRTP(pkt, pts, ok)
}

// handleRTP is onRTP after the client's timestamp decoding: depacketise,
// and queue every completed access unit. Split off so that the benchmark
// measures this path on real packets without an RTSP client.
func (s *Session) handleRTP(pkt *rtp.Packet, pts int64, ok bool) {
	prevTS, prevPTS, hadPrev := s.prevTS, s.prevPTS, s.started
	if ok {
		s.started = true
		s.prevTS, s.prevPTS = pkt.Timestamp, pts
	}
	au, err := s.depkt.decode(pkt)
	if err != nil {
		if !s.depkt.benign(err) {
			// A missing fragment loses the whole access unit.
			s.pendingDisc.Store(true)
			if s.decErrLog.allow(time.Now()) {
				s.log.Warn("rtp depacketizing error; access unit lost", "err", s.sc.Text(err.Error()))
			}
		}
		return
	}
	// The depacketizer also completes an AU when the timestamp changes
	// without a marker bit; that AU belongs to the previous packet.
	if !pkt.Marker && hadPrev && pkt.Timestamp != prevTS {
		pts, ok = prevPTS, true
	}
	if !ok {
		// Before the first random-access unit no PTS exists; nothing before
		// it can be decoded anyway.
		return
	}
	au = dropEmpty(au)
	if len(au) == 0 {
		return
	}
	unit := AccessUnit{
		NALUs:        au,
		PTS:          ptsDuration(pts, s.clock),
		Received:     time.Now(),
		RandomAccess: s.depkt.randomAccess(au),
	}
	unit.Discontinuity = s.pendingDisc.Swap(false)
	select {
	case s.aus <- unit:
	default:
		n := s.dropped.Add(1)
		s.pendingDisc.Store(true)
		if s.dropLog.allow(unit.Received) {
			s.log.Warn("access unit queue full; dropping until the consumer catches up", "dropped_total", n)
		}
	}
}

// ptsDuration converts a PTS in clock-rate units without overflowing.
func ptsDuration(pts, rate int64) time.Duration {
	if rate <= 0 {
		rate = 90000
	}
	return time.Duration(pts/rate)*time.Second + time.Duration(pts%rate)*time.Second/time.Duration(rate)
}

// dropEmpty removes empty NAL units (the random-access checks index [0]).
func dropEmpty(au [][]byte) [][]byte {
	for i, n := range au {
		if len(n) == 0 {
			out := append([][]byte(nil), au[:i]...)
			for _, m := range au[i+1:] {
				if len(m) > 0 {
					out = append(out, m)
				}
			}
			return out
		}
	}
	return au
}

func (s *Session) onPacketsLost(n uint64) {
	total := s.lost.Add(n)
	s.pendingDisc.Store(true)
	if s.lossLog.allow(time.Now()) {
		s.log.Warn("rtp packets lost", "lost_total", total)
	}
}

// wait ends the session when the client stops.
func (s *Session) wait() {
	err := s.client.Wait()
	if s.closed.Load() {
		s.err = ErrClosed
		s.log.Info("rtsp session closed", "dropped", s.dropped.Load(), "lost", s.lost.Load())
	} else {
		if err == nil {
			err = ErrStreamEnded
		}
		s.err = &safeError{msg: fmt.Sprintf("ingest: %s: %s", s.where, s.sc.Text(err.Error())), cause: err}
		s.log.Warn("rtsp session ended", "err", s.err.Error(), "dropped", s.dropped.Load(), "lost", s.lost.Load())
	}
	close(s.done)
}

// Info returns what was negotiated.
func (s *Session) Info() StreamInfo {
	info := s.info
	info.ParamSets = append([][]byte(nil), s.info.ParamSets...)
	info.OfferedMedia = append([]string(nil), s.info.OfferedMedia...)
	return info
}

// AccessUnits delivers the video access units. It is never closed; select
// on Done as well.
func (s *Session) AccessUnits() <-chan AccessUnit { return s.aus }

// Dropped counts access units dropped because the queue was full.
func (s *Session) Dropped() uint64 { return s.dropped.Load() }

// Lost counts RTP packets the client saw missing (UDP loss or reordering
// beyond repair).
func (s *Session) Lost() uint64 { return s.lost.Load() }

// Done is closed when the session has ended; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session runs, ErrClosed after Close, otherwise the
// reason the stream ended. Its text never contains credentials.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the session (TEARDOWN) and waits until no callback runs any
// more. It is safe to call more than once and concurrently.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.client.Close()
	})
	<-s.done
}

// rateLimit lets one event through per period, across goroutines.
type rateLimit struct {
	every time.Duration
	last  atomic.Int64 // unix nanos of the last allowed event, 0 = never
}

func (r *rateLimit) allow(now time.Time) bool {
	n := now.UnixNano()
	l := r.last.Load()
	if l != 0 && n-l < int64(r.every) {
		return false
	}
	return r.last.CompareAndSwap(l, n)
}
