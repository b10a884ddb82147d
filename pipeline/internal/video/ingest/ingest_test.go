package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// guard bounds every wait; tests never assert durations.
const guard = 30 * time.Second

// debugLogger logs everything to logs, so tests can check it for secrets.
func debugLogger(logs *testlog.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func startCam(t *testing.T, cfg simcam.Config) *simcam.Server {
	t.Helper()
	if cfg.Scene.Width == 0 {
		cfg.Scene = scene.Walker(320, 240, 25)
	}
	if cfg.ClipSeconds == 0 {
		cfg.ClipSeconds = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = testlog.Discard()
	}
	cam, err := simcam.Start(cfg)
	if err != nil {
		t.Fatalf("simcam.Start: %v", err)
	}
	t.Cleanup(cam.Close)
	return cam
}

func open(t *testing.T, cfg ingest.Config) *ingest.Session {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testlog.Discard()
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	s, err := ingest.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func next(t *testing.T, s *ingest.Session) ingest.AccessUnit {
	t.Helper()
	select {
	case au := <-s.AccessUnits():
		return au
	case <-s.Done():
		t.Fatalf("session ended: %v", s.Err())
	case <-time.After(guard):
		t.Fatal("no access unit")
	}
	panic("unreachable")
}

// TestVideoOnlyNeverAudio is invariant 1: the camera offers audio, the
// client lists it but SETUPs only the video, and the video decodes.
func TestVideoOnlyNeverAudio(t *testing.T) {
	for _, c := range []codec.Codec{codec.H264, codec.H265} {
		for _, transport := range []string{"tcp", "udp"} {
			t.Run(c.String()+"/"+transport, func(t *testing.T) {
				cam := startCam(t, simcam.Config{Codec: c, Audio: true, UDP: transport == "udp"})
				s := open(t, ingest.Config{URL: cam.URL(), Transport: transport})

				info := s.Info()
				if info.Codec != c.String() {
					t.Errorf("codec %q, want %q", info.Codec, c)
				}
				wantParams := map[codec.Codec]int{codec.H264: 2, codec.H265: 3}[c]
				if len(info.ParamSets) != wantParams {
					t.Errorf("%d parameter sets from the SDP, want %d", len(info.ParamSets), wantParams)
				}
				wantVideo := map[codec.Codec]string{codec.H264: "video/H264", codec.H265: "video/H265"}[c]
				if !slices.Contains(info.OfferedMedia, wantVideo) || !slices.Contains(info.OfferedMedia, "audio/PCMU") {
					t.Errorf("offered media %v, want %s and audio/PCMU", info.OfferedMedia, wantVideo)
				}

				dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: c, Logger: testlog.Discard()})
				if err != nil {
					t.Fatal(err)
				}
				defer dec.Close()
				var (
					lastPTS  time.Duration
					n        int
					decoded  bool
					sawFirst bool
				)
				for !decoded || n < 10 {
					au := next(t, s)
					if n > 0 && au.PTS <= lastPTS {
						t.Errorf("PTS not increasing: %v after %v", au.PTS, lastPTS)
					}
					lastPTS = au.PTS
					n++
					if !sawFirst && !au.RandomAccess {
						continue
					}
					sawFirst = true
					if decoded {
						continue
					}
					got, err := dec.Decode(au.NALUs)
					if err != nil {
						t.Fatalf("decode: %v", err)
					}
					if got {
						decoded = true
						if w, h := dec.Size(); w != 320 || h != 240 {
							t.Errorf("decoded %dx%d, want 320x240", w, h)
						}
					}
				}
				if got := cam.Setups(); !slices.Equal(got, []string{"video"}) {
					t.Fatalf("SETUPs %v, want exactly [video]: audio must never be set up", got)
				}
			})
		}
	}
}

func TestAuth(t *testing.T) {
	const user, pass = "camuser-7f3a", "s3cr3t-Pa55w0rd"
	cam := startCam(t, simcam.Config{Username: user, Password: pass, Audio: true})
	good, err := url.Parse(cam.URL())
	if err != nil {
		t.Fatal(err)
	}
	withUser := func(ui *url.Userinfo) string {
		u := *good
		u.User = ui
		return u.String()
	}

	var logs testlog.Buffer
	t.Run("correct", func(t *testing.T) {
		s := open(t, ingest.Config{URL: cam.URL(), Logger: debugLogger(&logs)})
		next(t, s)
		s.Close()
	})

	for _, tt := range []struct {
		name, url string
	}{
		{"wrong password", withUser(url.UserPassword(user, "wrong-Pa55w0rd"))},
		{"wrong user", withUser(url.UserPassword("intruder-user", pass))},
		{"no credentials", withUser(nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			s, err := ingest.Open(ctx, ingest.Config{URL: tt.url, Logger: debugLogger(&logs)})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded with bad credentials")
			}
			if !errors.Is(err, ingest.ErrUnauthorized) {
				t.Fatalf("error %v is not ErrUnauthorized", err)
			}
			for _, secret := range []string{user, pass, "wrong-Pa55w0rd", "intruder-user"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text contains %q: %v", secret, err)
				}
			}
		})
	}
	for _, secret := range []string{user, pass, "wrong-Pa55w0rd", "intruder-user"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
	if got := cam.Setups(); !slices.Equal(got, []string{"video"}) {
		t.Errorf("SETUPs %v, want only the authorised session's [video]", got)
	}
}

// descServer is a minimal RTSP server that only answers DESCRIBE with desc
// and counts SETUPs (which a correct client must not send here).
type descServer struct {
	server *gortsplib.Server
	stream *gortsplib.ServerStream
	mu     sync.Mutex
	setups int
}

func (d *descServer) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, d.stream, nil
}

func (d *descServer) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	d.mu.Lock()
	d.setups++
	d.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, d.stream, nil
}

func startDescServer(t *testing.T, medias ...*description.Media) (string, *descServer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &descServer{}
	d.server = &gortsplib.Server{
		Handler:     d,
		RTSPAddress: ln.Addr().String(),
		Listen:      func(string, string) (net.Listener, error) { return ln, nil },
	}
	if err := d.server.Start(); err != nil {
		t.Fatal(err)
	}
	d.stream = &gortsplib.ServerStream{Server: d.server, Desc: &description.Session{Medias: medias}}
	if err := d.stream.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stream.Close()
		d.server.Close()
	})
	return "rtsp://leakuser:leakpass@" + ln.Addr().String() + "/cam", d
}

func TestUnsupportedVideo(t *testing.T) {
	pcmu := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}}
	tests := []struct {
		name   string
		medias []*description.Media
		want   error
		names  string
	}{
		{"mjpeg", []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}}}, ingest.ErrUnsupportedCodec, "M-JPEG"},
		{"av1 with audio", []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{&format.AV1{PayloadTyp: 96}}}, pcmu}, ingest.ErrUnsupportedCodec, "AV1"},
		{"vp8", []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{&format.VP8{PayloadTyp: 97}}}}, ingest.ErrUnsupportedCodec, "VP8"},
		{"audio only", []*description.Media{pcmu}, ingest.ErrNoVideo, "no video"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, srv := startDescServer(t, tt.medias...)
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			s, err := ingest.Open(ctx, ingest.Config{URL: u, Logger: testlog.Discard()})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
			if strings.Contains(err.Error(), "leakuser") || strings.Contains(err.Error(), "leakpass") {
				t.Errorf("error leaks credentials: %v", err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.setups != 0 {
				t.Errorf("%d SETUPs for a stream that cannot be used", srv.setups)
			}
		})
	}
}

// TestErrorsNeverLeakCredentials runs the ways Open fails with credentials
// in the URL and checks that no error text carries them.
func TestErrorsNeverLeakCredentials(t *testing.T) {
	const user, pass = "leakuser", "leakpass"
	cam := startCam(t, simcam.Config{})
	camURL, _ := url.Parse(cam.URL())

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	// A server that accepts and never answers: every step must time out.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	tests := []struct {
		name, url string
		timeout   time.Duration
	}{
		{"refused", fmt.Sprintf("rtsp://%s:%s@%s/x", user, pass, closedAddr), 0},
		{"silent server", fmt.Sprintf("rtsp://%s:%s@%s/x", user, pass, silent.Addr()), 300 * time.Millisecond},
		{"not found", fmt.Sprintf("rtsp://%s:%s@%s/nope", user, pass, camURL.Host), 0},
		{"bad port", fmt.Sprintf("rtsp://%s:%s@127.0.0.1:99999/x", user, pass), 0},
		{"unparsable", fmt.Sprintf("rtsp://%s:%s/@127.0.0.1/x", user, pass), 0},
		{"pasted unescaped", fmt.Sprintf("rtsp://%s:%s@x@%s/x", user, pass, closedAddr), 0},
		{"bad transport", fmt.Sprintf("rtsp://%s:%s@%s/x", user, pass, closedAddr), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			cfg := ingest.Config{URL: tt.url, Timeout: tt.timeout, Logger: testlog.Discard()}
			if tt.timeout < 0 {
				cfg.Timeout, cfg.Transport = 0, "rtsp://"+user+":"+pass+"@bogus"
			}
			s, err := ingest.Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if ctx.Err() != nil {
				t.Fatalf("Open only returned at the guard: %v", err)
			}
			for _, secret := range []string{user, pass} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text contains %q: %v", secret, err)
				}
			}
			t.Log(err)
		})
	}
}

func TestOpenCancelled(t *testing.T) {
	// Accepts and never answers, so only the context can end Open.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := ingest.Open(ctx, ingest.Config{URL: "rtsp://" + silent.Addr().String() + "/x", Timeout: guard, Logger: testlog.Discard()})
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(guard):
		t.Fatal("Open ignored the cancelled context")
	}
}

// TestQueueOverflow: a consumer that does not read makes the reader drop
// (and count) access units instead of blocking, and the first unit that
// gets through afterwards is marked as a discontinuity.
func TestQueueOverflow(t *testing.T) {
	const queue = 3
	cam := startCam(t, simcam.Config{})
	var logs testlog.Buffer
	s := open(t, ingest.Config{URL: cam.URL(), QueueSize: queue, Logger: debugLogger(&logs)})

	waitDropped := func(atLeast uint64) {
		t.Helper()
		deadline := time.After(guard)
		for s.Dropped() < atLeast {
			select {
			case <-s.Done():
				t.Fatalf("session ended: %v", s.Err())
			case <-deadline:
				t.Fatalf("dropped %d, want ≥ %d", s.Dropped(), atLeast)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitDropped(1)
	// The reader is not blocked: it keeps receiving and dropping.
	waitDropped(s.Dropped() + 5)

	for i := range queue {
		if au := next(t, s); au.Discontinuity {
			t.Fatalf("queued unit %d, from before the drops, marked as discontinuity", i)
		}
	}
	if au := next(t, s); !au.Discontinuity {
		t.Fatal("first unit after drops not marked as discontinuity")
	}
	// Rate limited: one line per 10 s, not one per dropped unit.
	if n, d := strings.Count(logs.String(), "queue full"), s.Dropped(); n < 1 || uint64(n) >= d {
		t.Errorf("%d queue-full log lines for %d drops, want 1 or a few", n, d)
	}
}

func TestServerClosesConnection(t *testing.T) {
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			cam := startCam(t, simcam.Config{UDP: transport == "udp", Username: "u1", Password: "p1-secret"})
			s := open(t, ingest.Config{URL: cam.URL(), Transport: transport})
			next(t, s)
			if s.Err() != nil {
				t.Fatalf("Err while running: %v", s.Err())
			}
			cam.Close()
			select {
			case <-s.Done():
			case <-time.After(guard):
				t.Fatal("session did not end when the server went away")
			}
			err := s.Err()
			if err == nil || errors.Is(err, ingest.ErrClosed) {
				t.Fatalf("Err = %v, want the reason the stream ended", err)
			}
			if strings.Contains(err.Error(), "p1-secret") {
				t.Errorf("error leaks the password: %v", err)
			}
			s.Close() // idempotent after the end
			if s.Err() != err {
				t.Errorf("Close changed Err to %v", s.Err())
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	cam := startCam(t, simcam.Config{})
	s := open(t, ingest.Config{URL: cam.URL()})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Close()
		}()
	}
	wg.Wait()
	s.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if !errors.Is(s.Err(), ingest.ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", s.Err())
	}
}
