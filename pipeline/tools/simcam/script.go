package simcam

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
)

// Reply is how a ScriptServer answers one RTSP method.
type Reply int

const (
	// ReplyOK answers correctly (OPTIONS, DESCRIBE with an H.264 SDP,
	// SETUP for TCP interleaved, PLAY); no video follows.
	ReplyOK Reply = iota
	// ReplyGarbage answers with bytes that are not RTSP.
	ReplyGarbage
	// ReplySilent reads the request and never answers; the connection
	// stays open, so only the client's time-out ends the step.
	ReplySilent
	// ReplyClose closes the connection instead of answering.
	ReplyClose
)

func (r Reply) String() string {
	switch r {
	case ReplyOK:
		return "ok"
	case ReplyGarbage:
		return "garbage"
	case ReplySilent:
		return "silent"
	case ReplyClose:
		return "close"
	}
	return fmt.Sprintf("Reply(%d)", int(r))
}

// ScriptConfig configures a ScriptServer.
type ScriptConfig struct {
	// Addr to listen on; "" → 127.0.0.1:0.
	Addr string
	// Replies maps a method ("OPTIONS", "DESCRIBE", "SETUP", "PLAY") to how
	// it is answered; methods not listed get ReplyOK.
	Replies map[string]Reply
	// TeardownAfterPlay makes the server send the client a TEARDOWN request
	// right after answering PLAY, as RTSP 2.0 cameras do when they end a
	// session.
	TeardownAfterPlay bool
	Logger            *slog.Logger
}

// ScriptServer is a broken camera: a raw TCP server that speaks just enough
// RTSP to get a client to the step where it then misbehaves (answers with
// garbage, never answers, hangs up). It exists to show that every RTSP step
// of the client has a time-out and a clear error. It never sends video.
type ScriptServer struct {
	cfg ScriptConfig
	ln  net.Listener
	sdp []byte

	mu       sync.Mutex
	requests []string
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// StartScript starts listening.
func StartScript(cfg ScriptConfig) (*ScriptServer, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// A valid SDP for an H.264 stream (parameter sets of a 16x16 picture are
	// not needed: they travel in band).
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Control: "trackID=0",
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
	sdp, err := desc.Marshal(false)
	if err != nil {
		return nil, fmt.Errorf("simcam: script SDP: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("simcam: listen: %w", err)
	}
	s := &ScriptServer{cfg: cfg, ln: ln, sdp: sdp, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL returns rtsp://HOST:PORT/script.
func (s *ScriptServer) URL() string { return "rtsp://" + s.ln.Addr().String() + "/script" }

// Requests returns the methods received so far, in order.
func (s *ScriptServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Close stops listening, closes every connection and waits for its
// goroutines.
func (s *ScriptServer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *ScriptServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve answers one connection's requests in order until it ends.
func (s *ScriptServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	for {
		var req base.Request
		if err := req.Unmarshal(br); err != nil {
			return
		}
		method := string(req.Method)
		s.mu.Lock()
		s.requests = append(s.requests, method)
		s.mu.Unlock()
		reply := s.cfg.Replies[method]
		s.cfg.Logger.Debug("script RTSP request", "method", method, "reply", reply.String())
		switch reply {
		case ReplyGarbage:
			if _, err := c.Write([]byte("\x00\xffHTTP/0.9 banana\r\n\xfe\r\n\r\n")); err != nil {
				return
			}
			continue
		case ReplySilent:
			continue // keep reading; the client gives up
		case ReplyClose:
			return
		}
		res := s.answer(&req)
		b, err := res.Marshal()
		if err != nil {
			return
		}
		if _, err := c.Write(b); err != nil {
			return
		}
		if req.Method == base.Play && s.cfg.TeardownAfterPlay {
			td := base.Request{Method: base.Teardown, URL: req.URL, Header: base.Header{"CSeq": base.HeaderValue{"1"}}}
			b, err := td.Marshal()
			if err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
}

func (s *ScriptServer) answer(req *base.Request) base.Response {
	h := base.Header{"CSeq": req.Header["CSeq"]}
	switch req.Method {
	case base.Options:
		h["Public"] = base.HeaderValue{"OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"}
	case base.Describe:
		h["Content-Type"] = base.HeaderValue{"application/sdp"}
		h["Content-Base"] = base.HeaderValue{req.URL.String() + "/"}
		return base.Response{StatusCode: base.StatusOK, Header: h, Body: s.sdp}
	case base.Setup:
		tr := strings.Join(req.Header["Transport"], ",")
		if !strings.Contains(tr, "TCP") {
			return base.Response{StatusCode: base.StatusUnsupportedTransport, Header: h}
		}
		h["Transport"] = base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=0-1"}
		h["Session"] = base.HeaderValue{"5c7a1e;timeout=60"}
	case base.Play:
		h["Session"] = base.HeaderValue{"5c7a1e"}
	default:
		return base.Response{StatusCode: base.StatusOK, Header: h}
	}
	return base.Response{StatusCode: base.StatusOK, Header: h}
}
