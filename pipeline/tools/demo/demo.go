// Package demo runs the whole product on one machine with nothing
// installed: a simulated camera (an RTSP server streaming a generated
// square with a person walking through it, H.264 with an audio track), the
// real pipeline against it, and the embedded broker, printing every message
// that reaches the broker — exactly what a control room would receive.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/app"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
	"github.com/edgeguard/edgeguard/policy"
)

// Options for Run.
type Options struct {
	Out    io.Writer // readable transcript of what left the device
	Logger *slog.Logger
	Codec  codec.Codec // 0 → H.264
	// Duration stops the demo after this long; 0 runs until ctx ends.
	Duration time.Duration
}

// CameraID is the simulated camera's id.
const CameraID = "square-north"

// Scene is the demo's clip: a person crosses the square every 20 s.
func Scene() scene.Config {
	sc := scene.Walker(640, 360, 25)
	for i := range sc.Objects {
		// Appear after the detector's warm-up so the very first pass shows.
		sc.Objects[i].Appear += 3 * time.Second
		sc.Objects[i].Disappear += 3 * time.Second
	}
	return sc
}

// Run runs the demo until ctx ends or opts.Duration passes.
func Run(ctx context.Context, opts Options) error {
	if opts.Codec == 0 {
		opts.Codec = codec.H264
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	out := &transcript{w: opts.Out}
	out.printf("edgeguard demo: starting a simulated camera (%s video + G.711 audio track) …\n", opts.Codec)
	cam, err := simcam.Start(simcam.Config{
		Addr: "127.0.0.1:0", Path: "/Streaming/Channels/101", Codec: opts.Codec,
		Scene: Scene(), ClipSeconds: 20, Audio: true, Logger: opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("simulated camera: %w", err)
	}
	defer cam.Close()

	cfg := config.Defaults()
	cfg.Device = "demo-box"
	cfg.MQTT.EmbeddedAddr = "127.0.0.1:0"
	cfg.MQTT.ClientID = "edgeguard-demo-box"
	cfg.HTTP.Addr = ""       // no metrics endpoint: the demo must not collide with a running service
	cfg.Outbox.Memory = true // the demo writes no files; its events have nowhere to be lost to
	cam1 := config.Camera{ID: CameraID, Name: "Simulated square", URL: cam.URL(), Enabled: true, CameraSettings: cfg.Defaults}
	cam1.Motion.Warmup = 2 * time.Second
	cam1.Motion.QuietTime = 3 * time.Second
	cam1.Motion.UpdateInterval = 2 * time.Second
	cfg.Cameras = []config.Camera{cam1}
	pol := policy.Default()

	out.printf("camera offers: video/%s, audio/PCMU — edgeguard requests only the video\n", strings.ToUpper(opts.Codec.String()))
	out.printf("policy: %s (sha256 %.12s…): events %v, fields %v, no snapshots, no boxes\n",
		pol.Name, pol.SHA256, pol.Egress.Events, pol.Egress.Fields)
	out.printf("Everything below is what left the device over MQTT. Ctrl-C stops.\n\n")

	var once sync.Once
	err = app.Run(ctx, app.Options{
		Config: &cfg, Policy: pol, Logger: opts.Logger,
		BrokerObserver: func(topic string, payload []byte, retained bool) {
			out.message(topic, payload)
			if strings.HasSuffix(topic, "/"+CameraID+"/status") && strings.Contains(string(payload), `"streaming"`) {
				once.Do(func() {
					out.printf("             RTSP SETUP requests the camera saw: %v (audio offered, never set up)\n", cam.Setups())
				})
			}
		},
		Started: func(url string) {
			// mosquitto_sub -L takes mqtt:// (or mqtts://), not the
			// tcp:// that MQTT clients like paho use.
			out.printf("embedded MQTT broker at %s — subscribe with: mosquitto_sub -L '%s/edgeguard/#' -v\n\n", url, strings.Replace(url, "tcp://", "mqtt://", 1))
		},
	})
	out.printf("\ndemo stopped.\n")
	return err
}

// transcript prints messages readably; it is called from the broker's
// goroutines.
type transcript struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *transcript) printf(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format, a...)
}

func (t *transcript) message(topic string, payload []byte) {
	now := time.Now().Format("15:04:05.000")
	var ev event.Event
	var st event.CameraStatus
	switch {
	case strings.HasSuffix(topic, "/events") && json.Unmarshal(payload, &ev) == nil:
		line := fmt.Sprintf("%s  EVENT   %-13s %-7s %-6s score %.2f  event %s  policy %s", now, ev.Camera, ev.Type, strings.ToUpper(string(ev.Phase)), ev.Score, short(ev.EventID), policyName(ev.Policy))
		if ev.Phase == event.PhaseEnd && ev.EndedAt != nil {
			line += fmt.Sprintf("  lasted %.1fs", ev.EndedAt.Sub(ev.StartedAt.Time).Seconds())
		}
		t.printf("%s\n", line)
	case strings.HasSuffix(topic, "/status") && json.Unmarshal(payload, &st) == nil && st.Camera != "":
		detail := ""
		if st.State == event.StateStreaming {
			detail = fmt.Sprintf("%s %dx%d @ %.0f fps", st.Codec, st.Width, st.Height, st.FPS)
		}
		if st.Error != "" {
			detail = st.Error
		}
		t.printf("%s  CAMERA  %-13s %-10s %s\n", now, st.Camera, st.State, detail)
	default:
		t.printf("%s  %-7s %s = %s\n", now, "MQTT", topic, truncate(string(payload), 160))
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

func policyName(p *event.PolicyRef) string {
	if p == nil {
		return "-"
	}
	return p.Name
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ParseCodec reads a codec name ("h264", "h265") for Options.Codec; the demo
// command cannot import the codec package, which is internal to the pipeline.
func ParseCodec(name string) (codec.Codec, error) { return codec.ParseCodec(name) }
