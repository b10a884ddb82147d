package simcam_test

import (
	"errors"
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
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

const guard = 30 * time.Second

func start(t *testing.T, cfg simcam.Config) *simcam.Server {
	t.Helper()
	if cfg.Scene.Width == 0 {
		cfg.Scene = scene.Walker(320, 240, 25)
	}
	if cfg.ClipSeconds == 0 {
		cfg.ClipSeconds = 1
	}
	cfg.Logger = testlog.Discard()
	s, err := simcam.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// client is a plain gortsplib client, which (unlike ingest) can be told to
// SETUP every media: the negative control for the audio invariant.
func client(t *testing.T, raw string, transport gortsplib.Transport) (*gortsplib.Client, *base.URL, *description.Session) {
	t.Helper()
	u, err := base.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &transport, ReadTimeout: guard}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}
	return c, u, desc
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		codec codec.Codec
		audio bool
	}{
		{codec.H264, true}, {codec.H265, true}, {codec.H264, false},
	}
	for _, tt := range tests {
		t.Run(tt.codec.String(), func(t *testing.T) {
			cam := start(t, simcam.Config{Codec: tt.codec, Audio: tt.audio, Path: "/cam1"})
			if !strings.HasPrefix(cam.URL(), "rtsp://127.0.0.1:") || !strings.HasSuffix(cam.URL(), "/cam1") {
				t.Errorf("URL %q", cam.URL())
			}
			_, _, desc := client(t, cam.URL(), gortsplib.TransportTCP)
			wantMedia := 1
			if tt.audio {
				wantMedia = 2
			}
			if len(desc.Medias) != wantMedia {
				t.Fatalf("%d media, want %d", len(desc.Medias), wantMedia)
			}
			switch f := desc.Medias[0].Formats[0].(type) {
			case *format.H264:
				if tt.codec != codec.H264 || f.SPS == nil || f.PPS == nil || f.PacketizationMode != 1 {
					t.Errorf("H.264 format %+v", f)
				}
			case *format.H265:
				if tt.codec != codec.H265 || f.VPS == nil || f.SPS == nil || f.PPS == nil {
					t.Errorf("H.265 format %+v", f)
				}
			default:
				t.Errorf("video format %T", f)
			}
			if tt.audio {
				g, ok := desc.Medias[1].Formats[0].(*format.G711)
				if desc.Medias[1].Type != description.MediaTypeAudio || !ok || !g.MULaw || g.SampleRate != 8000 {
					t.Errorf("audio media %+v", desc.Medias[1])
				}
			}
		})
	}
}

// TestSetupsRecordAudio: a client that SETUPs everything shows up as
// [video audio], so an ingest test seeing only [video] means something.
// It also checks the streams: continuous video timestamps across the clip
// loop and 20 ms µ-law audio packets.
func TestSetupsRecordAudio(t *testing.T) {
	for _, tr := range []gortsplib.Transport{gortsplib.TransportTCP, gortsplib.TransportUDP} {
		t.Run(tr.String(), func(t *testing.T) {
			cam := start(t, simcam.Config{Audio: true, UDP: tr == gortsplib.TransportUDP})
			c, _, desc := client(t, cam.URL(), tr)
			if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
				t.Fatal(err)
			}
			if got := cam.Setups(); !slices.Equal(got, []string{"video", "audio"}) {
				t.Fatalf("Setups %v, want [video audio]", got)
			}

			var mu sync.Mutex
			var videoTS []uint32
			var audio []*rtp.Packet
			enough := make(chan struct{})
			var once sync.Once
			// One loop of the 1 s clip is 25 frames; 40 crosses the loop.
			const frames = 40
			c.OnPacketRTP(desc.Medias[0], desc.Medias[0].Formats[0], func(p *rtp.Packet) {
				mu.Lock()
				defer mu.Unlock()
				if p.Marker {
					videoTS = append(videoTS, p.Timestamp)
				}
				if len(videoTS) >= frames && len(audio) >= 10 {
					once.Do(func() { close(enough) })
				}
			})
			c.OnPacketRTP(desc.Medias[1], desc.Medias[1].Formats[0], func(p *rtp.Packet) {
				mu.Lock()
				defer mu.Unlock()
				audio = append(audio, p)
			})
			if _, err := c.Play(nil); err != nil {
				t.Fatal(err)
			}
			select {
			case <-enough:
			case <-time.After(guard):
				t.Fatal("not enough packets")
			}
			mu.Lock()
			defer mu.Unlock()
			for i := 1; i < len(videoTS); i++ {
				if d := videoTS[i] - videoTS[i-1]; d != 90000/25 {
					t.Fatalf("video timestamp step %d at frame %d, want 3600", d, i)
				}
			}
			for i, p := range audio[:10] {
				if p.PayloadType != 0 || len(p.Payload) != 160 {
					t.Fatalf("audio packet %d: PT %d, %d bytes", i, p.PayloadType, len(p.Payload))
				}
				if i > 0 && p.Timestamp-audio[i-1].Timestamp != 160 {
					t.Fatalf("audio timestamp step %d", p.Timestamp-audio[i-1].Timestamp)
				}
			}
		})
	}
}

func TestAuthAndPath(t *testing.T) {
	cam := start(t, simcam.Config{Username: "viewer", Password: "pa:ss@word"})
	u, err := url.Parse(cam.URL())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := u.User.Password(); u.User.Username() != "viewer" || p != "pa:ss@word" {
		t.Fatalf("URL credentials %v", u.User)
	}
	describe := func(raw string) error {
		bu, err := base.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		c := &gortsplib.Client{Scheme: bu.Scheme, Host: bu.Host, ReadTimeout: guard}
		if err := c.Start2(); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _, err = c.Describe(bu)
		return err
	}
	noCreds := *u
	noCreds.User = nil
	wrong := *u
	wrong.User = url.UserPassword("viewer", "nope")
	otherPath := *u
	otherPath.Path = "/other"
	tests := []struct {
		name string
		url  string
		code base.StatusCode
	}{
		{"correct", cam.URL(), 0},
		{"no credentials", noCreds.String(), base.StatusUnauthorized},
		{"wrong password", wrong.String(), base.StatusUnauthorized},
		{"unknown path", otherPath.String(), base.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := describe(tt.url)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("DESCRIBE: %v", err)
				}
				return
			}
			var bsc liberrors.ErrClientBadStatusCode
			if !errors.As(err, &bsc) || bsc.Code != tt.code {
				t.Fatalf("error %v, want status %d", err, tt.code)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  simcam.Config
	}{
		{"odd size", simcam.Config{Scene: scene.Static(321, 240, 25)}},
		{"bad codec", simcam.Config{Codec: codec.Codec(99)}},
		{"bad address", simcam.Config{Addr: "256.0.0.1:0"}},
		{"bad offered codec", simcam.Config{OfferCodec: "h266"}},
		{"bad impairment", simcam.Config{Impairment: simcam.Impairment{LossRate: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = testlog.Discard()
			tt.cfg.ClipSeconds = 1
			if tt.cfg.Scene.Width == 0 {
				tt.cfg.Scene = scene.Static(64, 64, 5)
			}
			s, err := simcam.Start(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	cam := start(t, simcam.Config{UDP: true})
	cam.Close()
	cam.Close()
}
