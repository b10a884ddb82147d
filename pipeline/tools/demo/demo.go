// Package demo runs the whole product on one machine with nothing
// installed: a simulated camera (an RTSP server streaming a generated
// square, H.264 with an audio track) on which people cross a line, wait in
// a doorway and fall, the real pipeline against it with a camera section
// and a policy written for that square, and the embedded broker, printing
// every message that reaches the broker — exactly what a control room
// would receive, anonymised snapshots included.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/models"
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

// Scene is the demo's clip (scene.Square, looped every
// scene.SquareLength): a walker crosses the gate line, someone waits in
// the doorway, someone falls and stays down.
func Scene() (scene.Script, scene.SquareTimes) { return scene.Square() }

// Rule times of the demo's camera section: short, so that every pattern
// shows within the first minute (a real camera waits a minute or more
// before calling someone a loiterer).
const (
	dwell    = 8 * time.Second // loitering
	downTime = 5 * time.Second // person_down
)

// policyText is the demo's privacy policy: the square's patterns with
// their zone, count and class, and anonymised snapshots. It is for the
// simulated camera only: the metadata says it has no legal basis for a
// real one.
const policyText = `# The demo's policy, for its simulated camera only.
apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: demo
  version: "1"
  controller: "nobody: the simulated camera of edgeguard-demo"
  contact: "nobody: the simulated camera of edgeguard-demo"
  legal_basis: "none: a simulated camera filming nobody; not for a real camera"
  dpia: "none: a simulated camera filming nobody"
  approved: 2026-01-01
retention:
  outbox: 1h
audio: discard
egress:
  events: [motion, intrusion, line_crossing, loitering, person_down]
  fields: [score, zone, count, class]
  snapshots: true
  max_events_per_minute: 60
anonymisation:
  faces: fill
  margin: 0.25
  persons: true
`

// Policy returns the demo's policy.
func Policy() (*policy.Policy, error) { return policy.Parse("demo-policy.yaml", []byte(policyText)) }

// configText is the demo's configuration: the simulated camera with the
// square's zone, line and rules, the embedded broker and metrics on free
// loopback ports, the outbox in memory (the demo writes no files). It
// leaves person_detector at its default: NanoDet where its model is
// installed (then the person lying on the ground is still a person), the
// shape heuristic otherwise (which calls them an object). Its
// placeholders are the metrics port, the camera and the layout.
const configText = `device: demo-box
http:
  addr: 127.0.0.1:%d
mqtt:
  embedded_addr: 127.0.0.1:0
outbox:
  memory: true
cameras:
  - id: %s
    name: Simulated square
    url: %s
    motion:
      warmup: 2s
      quiet_time: 3s
      update_interval: 2s
    zones:
      door: %s
    lines:
      gate: {from: %s, to: %s, direction: left_to_right}
    perspective: {row1: %g, height1: %g, row2: %g, height2: %g}
    rules:
      - type: line_crossing
        line: gate
      - type: intrusion
        zone: door
        min_duration: 1s
      - type: loitering
        zone: door
        dwell: %s
      - type: person_down
        down_time: %s
`

// Config returns the demo's configuration for a camera at url with
// metrics on httpPort.
func Config(url string, httpPort int) (*config.Config, error) {
	pt := func(p scene.Point) string { return fmt.Sprintf("[%g, %g]", p.X, p.Y) }
	door := make([]string, len(scene.SquareDoor))
	for i, p := range scene.SquareDoor {
		door[i] = pt(p)
	}
	ps := scene.SquarePerspective
	text := fmt.Sprintf(configText, httpPort, CameraID, url, "["+strings.Join(door, ", ")+"]",
		pt(scene.SquareGate[0]), pt(scene.SquareGate[1]), ps[0], ps[1], ps[2], ps[3], dwell, downTime)
	return config.Parse("demo.yaml", []byte(text))
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
	pol, err := Policy()
	if err != nil {
		return fmt.Errorf("demo policy: %w", err)
	}
	out := &transcript{w: opts.Out, types: map[string]string{}, pol: pol}
	sc, times := Scene()
	out.printf("edgeguard demo: encoding the simulated square (%.0f s, looped) …\n", scene.SquareLength.Seconds())
	clip, err := encode(sc, opts.Codec, int(scene.SquareLength.Seconds())*sc.Base.FPS)
	if err != nil {
		return fmt.Errorf("simulated camera: %w", err)
	}
	out.printf("edgeguard demo: starting a simulated camera (%s video + G.711 audio track) …\n", opts.Codec)
	cam, err := simcam.Start(simcam.Config{
		Addr: "127.0.0.1:0", Path: "/Streaming/Channels/101", Codec: opts.Codec,
		Scene: sc.Base, Clip: clip, Audio: true, Logger: opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("simulated camera: %w", err)
	}
	defer cam.Close()

	// A free port rather than the service's 9090, so the demo runs next
	// to a service on the same box.
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("metrics port: %w", err)
	}
	cfg, err := Config(cam.URL(), port)
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}

	out.printf("camera offers: video/%s, audio/PCMU — edgeguard requests only the video\n", strings.ToUpper(opts.Codec.String()))
	out.printf("policy: %s (sha256 %.12s…): events %v, fields %v, snapshots anonymised (faces %s, moving persons filled), no boxes\n",
		pol.Name, pol.SHA256, pol.Egress.Events, pol.Egress.Fields, pol.Anonymisation.Faces)
	out.printf("%s\n", snapshotNote(models.Locate(models.BlazeFace)))
	out.printf("rules: line_crossing on line gate (left to right), intrusion in zone door (1s), loitering in zone door (dwell %v), person_down (down %v)\n", dwell, downTime)
	out.printf("scene (every %v): a walker crosses the gate at %.0fs, someone waits in the doorway from %.0fs, someone falls at %.0fs and stays down\n",
		scene.SquareLength, times.Cross.Seconds(), times.Door.Seconds(), times.Fall.Seconds())
	out.printf("metrics: http://%s/metrics (health: /healthz, /readyz)\n", cfg.HTTP.Addr)
	if cfg.HTTP.ConsoleOn() {
		out.printf("console: http://%s/\n", cfg.HTTP.Addr)
	}
	out.printf("Everything below is what left the device over MQTT. Ctrl-C stops.\n\n")

	var once sync.Once
	err = app.Run(ctx, app.Options{
		Config: cfg, Policy: pol, Logger: opts.Logger,
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

// snapshotNote says before the start whether snapshots will leave: the
// face detector's model at path, or err saying what is missing (then the
// snapshot path withholds every image, and the demo must say so rather
// than show events without their images unexplained).
func snapshotNote(path string, err error) string {
	if err != nil {
		return "snapshots: images withheld: " + oneLine(err.Error()) + " — events still leave; `bash .ci/setup` installs the model"
	}
	return "snapshots: faces found with BlazeFace (" + path + ") and filled, moving persons filled, then JPEG without metadata"
}

// encode renders frames of the script and encodes them as the simulated
// camera's clip (simcam.Config.Clip): simcam encodes only straight
// walkers (scene.Config), the square needs scripted actors. A key frame
// every second lets the pipeline join quickly. Frames are rendered on a
// goroutine of their own while the previous one is encoded: the clip is
// ready a few seconds sooner, and the demo's first minute is short.
func encode(sc scene.Script, c codec.Codec, frames int) ([][][]byte, error) {
	s := scene.NewScripted(sc)
	w, h := s.Size()
	fps := s.Config().FPS
	e, err := codec.NewEncoder(codec.EncoderConfig{Codec: c, Width: w, Height: h, FPS: fps, BitrateKbps: 1000, GOP: fps})
	if err != nil {
		return nil, fmt.Errorf("encoder: %w", err)
	}
	defer e.Close()
	type planes struct{ y, u, v []byte }
	const inFlight = 3
	free, ready := make(chan planes, inFlight), make(chan planes, inFlight)
	for range inFlight {
		y, u, v := s.NewFrame()
		free <- planes{y, u, v}
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ready)
		for i := range frames {
			var p planes
			select {
			case p = <-free:
			case <-stop:
				return
			}
			s.Render(i, p.y, p.u, p.v)
			ready <- p // buffered as deep as free: never blocks
		}
	}()
	aus := make([][][]byte, 0, frames)
	i := 0
	for p := range ready {
		au, err := e.Encode(p.y, p.u, p.v, int64(i))
		if err != nil {
			return nil, fmt.Errorf("encode frame %d: %w", i, err)
		}
		free <- p
		i++
		if len(au) > 0 {
			aus = append(aus, au)
		}
	}
	return aus, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// transcript prints messages readably, one line each; it is called from
// the broker's goroutines.
type transcript struct {
	mu    sync.Mutex
	w     io.Writer
	pol   *policy.Policy
	types map[string]string // event id → type, to name a snapshot's situation
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
	var hl health
	switch {
	case strings.HasSuffix(topic, "/events") && json.Unmarshal(payload, &ev) == nil:
		line := fmt.Sprintf("%s  EVENT   %-13s %-13s %-6s score %.2f  event %s  policy %s", now, ev.Camera, ev.Type, strings.ToUpper(string(ev.Phase)), ev.Score, short(ev.EventID), policyName(ev.Policy))
		if ev.Zone != "" {
			line += "  zone " + ev.Zone
		}
		if ev.Class != "" {
			line += "  class " + ev.Class
		}
		if ev.Count > 0 {
			line += fmt.Sprintf("  count %d", ev.Count)
		}
		if ev.Phase == event.PhaseEnd && ev.EndedAt != nil {
			line += fmt.Sprintf("  lasted %.1fs", ev.EndedAt.Sub(ev.StartedAt.Time).Seconds())
		}
		t.mu.Lock()
		t.types[ev.EventID] = ev.Type
		t.mu.Unlock()
		t.printf("%s\n", line)
	case strings.Contains(topic, "/snapshot/"):
		t.snapshot(now, topic, payload)
	case strings.HasSuffix(topic, "/health") && json.Unmarshal(payload, &hl) == nil && hl.FaceDetector != "":
		line := fmt.Sprintf("%s  HEALTH  face detector %s, snapshots withheld %d, dropped %d", now, hl.FaceDetector, hl.SnapshotsWithheld, hl.SnapshotsDropped)
		if hl.SnapshotsWithheldReason != "" {
			line += "  images withheld: " + oneLine(hl.SnapshotsWithheldReason)
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
		t.printf("%s  %-7s %s = %s\n", now, "MQTT", topic, truncate(oneLine(string(payload)), 160))
	}
}

// health is the part of the device health (<prefix>/<device>/health) the
// transcript shows: whether images can be anonymised, and if not why.
type health struct {
	FaceDetector            string `json:"face_detector"`
	SnapshotsWithheld       uint64 `json:"snapshots_withheld"`
	SnapshotsDropped        uint64 `json:"snapshots_dropped"`
	SnapshotsWithheldReason string `json:"snapshots_withheld_reason"`
}

// snapshot announces an image instead of printing its bytes: its
// situation, size and what the anonymiser covered before it left.
func (t *transcript) snapshot(now, topic string, payload []byte) {
	i := strings.LastIndex(topic, "/snapshot/")
	id := topic[i+len("/snapshot/"):]
	cam := topic[:i]
	cam = cam[strings.LastIndex(cam, "/")+1:]
	t.mu.Lock()
	typ := t.types[id]
	t.mu.Unlock()
	if typ == "" {
		typ = "situation"
	}
	c, err := jpeg.DecodeConfig(bytes.NewReader(payload))
	if err != nil {
		t.printf("%s  SNAPSHOT %-13s of %s  event %s  not a JPEG, %.1f kB\n", now, cam, typ, short(id), float64(len(payload))/1000)
		return
	}
	// Only an anonymised image passes the snapshot path (no face detector:
	// withheld), so what it covered is what the policy says.
	persons := "persons not covered"
	if t.pol.Anonymisation.Persons {
		persons = "moving persons filled"
	}
	t.printf("%s  SNAPSHOT %-13s of %s  event %s  JPEG %dx%d, %.1f kB  anonymised: faces %s (BlazeFace), %s; no metadata\n",
		now, cam, typ, short(id), c.Width, c.Height, float64(len(payload))/1000, t.pol.Anonymisation.Faces, persons)
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

// oneLine keeps the transcript at one line per message.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ParseCodec reads a codec name ("h264", "h265") for Options.Codec; the demo
// command cannot import the codec package, which is internal to the pipeline.
func ParseCodec(name string) (codec.Codec, error) { return codec.ParseCodec(name) }
