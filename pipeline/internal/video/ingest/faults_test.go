package ingest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// TestBrokenCameraEveryStep: a camera that misbehaves at any one RTSP step
// (never answers, answers with garbage, hangs up) makes Open fail on its
// own — within the step time-out, never at the outer guard — with an error
// that names the step.
func TestBrokenCameraEveryStep(t *testing.T) {
	steps := []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY"}
	for _, reply := range []simcam.Reply{simcam.ReplySilent, simcam.ReplyGarbage, simcam.ReplyClose} {
		for i, step := range steps {
			t.Run(reply.String()+"/"+step, func(t *testing.T) {
				srv, err := simcam.StartScript(simcam.ScriptConfig{
					Replies: map[string]simcam.Reply{step: reply}, Logger: testlog.Discard(),
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Close)
				ctx, cancel := context.WithTimeout(context.Background(), guard)
				defer cancel()
				var logs testlog.Buffer
				s, err := ingest.Open(ctx, ingest.Config{URL: srv.URL(), Timeout: 200 * time.Millisecond, Logger: debugLogger(&logs)})
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
				if ctx.Err() != nil {
					t.Fatalf("Open only returned at the guard: %v", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, step+" ") {
					t.Errorf("error %q does not name the step %s", msg, step)
				}
				if reply == simcam.ReplySilent && !strings.Contains(msg, "timed out") {
					t.Errorf("error %q does not say the camera timed out", msg)
				}
				if errors.Is(err, ingest.ErrUnauthorized) || errors.Is(err, ingest.ErrUnsupportedCodec) {
					t.Errorf("error %v classified as auth/codec", err)
				}
				// The client got exactly as far as the broken step.
				// (A client that gave up after SETUP politely sends TEARDOWN.)
				got := srv.Requests()
				if len(got) > i+1 && got[len(got)-1] == "TEARDOWN" {
					got = got[:len(got)-1]
				}
				if !slices.Equal(got, steps[:i+1]) {
					t.Errorf("requests %v, want %v", srv.Requests(), steps[:i+1])
				}
				// A failed open is the caller's to report: no log flood here.
				if n := strings.Count(logs.String(), "\n"); n > 2 {
					t.Errorf("%d log lines for one failed open:\n%s", n, logs.String())
				}
				t.Log(msg)
			})
		}
	}
}

// TestServerSendsTeardown: a camera that ends the session with a TEARDOWN
// request of its own ends the Session with an error (the caller
// reconnects), instead of leaving it hanging.
func TestServerSendsTeardown(t *testing.T) {
	srv, err := simcam.StartScript(simcam.ScriptConfig{TeardownAfterPlay: true, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	s := open(t, ingest.Config{URL: srv.URL(), Timeout: guard})
	select {
	case <-s.Done():
	case <-time.After(guard):
		t.Fatal("session survived the camera's TEARDOWN")
	}
	if err := s.Err(); err == nil || errors.Is(err, ingest.ErrClosed) || !strings.Contains(err.Error(), "TEARDOWN") {
		t.Fatalf("Err = %v, want the camera's TEARDOWN", err)
	}
}

// TestSimcamFaultsEndSession: dropped connections and camera-side session
// ends are reported through Done/Err, over TCP and UDP.
func TestSimcamFaultsEndSession(t *testing.T) {
	for _, fault := range []string{"drop", "teardown"} {
		for _, transport := range []string{"tcp", "udp"} {
			t.Run(fault+"/"+transport, func(t *testing.T) {
				cam := startCam(t, simcam.Config{UDP: transport == "udp"})
				s := open(t, ingest.Config{URL: cam.URL(), Transport: transport, Timeout: 2 * time.Second})
				next(t, s)
				var n int
				if fault == "drop" {
					n = cam.DropSessions()
				} else {
					n = cam.Teardown()
				}
				if n != 1 {
					t.Fatalf("fault hit %d connections/sessions, want 1", n)
				}
				select {
				case <-s.Done():
				case <-time.After(guard):
					t.Fatal("session did not end")
				}
				if err := s.Err(); err == nil || errors.Is(err, ingest.ErrClosed) {
					t.Fatalf("Err = %v", err)
				}
				t.Log(s.Err())
				// The camera takes the next connection as usual.
				s2 := open(t, ingest.Config{URL: cam.URL(), Transport: transport})
				next(t, s2)
			})
		}
	}
}

// TestUDPLossAndReorder: with 5 % loss and 5 % reordering on UDP the
// session keeps running, losses are counted and marked as
// discontinuities, and a decoder that resyncs at the next key frame keeps
// producing pictures.
func TestUDPLossAndReorder(t *testing.T) {
	// A low bit rate keeps frames to a few packets: whole GOPs survive
	// often enough for a quick test.
	cam := startCam(t, simcam.Config{UDP: true, BitrateKbps: 300,
		Impairment: simcam.Impairment{LossRate: 0.05, ReorderRate: 0.05, Seed: 7}})
	s := open(t, ingest.Config{URL: cam.URL(), Transport: "udp"})
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: codec.H264, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var discont, afterDiscont, decErrs int
	for afterDiscont < 10 || discont < 2 {
		au := next(t, s)
		if au.Discontinuity {
			discont++
			dec.ResetToKeyframe()
		}
		got, err := dec.Decode(au.NALUs)
		if err != nil {
			decErrs++
			continue
		}
		if got && discont > 0 {
			afterDiscont++
		}
	}
	if s.Lost() == 0 {
		t.Error("no lost packets counted")
	}
	dropped, reordered := cam.Impaired()
	if dropped == 0 || reordered == 0 {
		t.Errorf("impairment did nothing: %d dropped, %d reordered", dropped, reordered)
	}
	t.Logf("lost %d, discontinuities %d, decode errors %d, decoder %+v", s.Lost(), discont, decErrs, dec.Stats())
}
