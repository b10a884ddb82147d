package observe

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
	"github.com/edgeguard/edgeguard/policy"
)

// The real pipeline types are the sources observe reads (a camera through
// an adapter, as pipeline/app does).
var (
	_ CameraSource   = realCamera{}
	_ EgressSource   = (*egress.Guard)(nil)
	_ OutboxSource   = (*outbox.Outbox)(nil)
	_ SnapshotSource = (*snapshot.Worker)(nil)
)

// realCamera is a *camera.Camera as observe reads it. It copies the
// counters by name, so it fails if camera.Stats lacks one of CameraStats
// (pipeline/app's adapter copies them one by one).
type realCamera struct{ *camera.Camera }

func (c realCamera) Stats() CameraStats {
	var out CameraStats
	src, dst := reflect.ValueOf(c.Camera.Stats()), reflect.ValueOf(&out).Elem()
	for i := range dst.NumField() {
		dst.Field(i).Set(src.FieldByName(dst.Type().Field(i).Name))
	}
	return out
}

func TestCameraStatsNamedAsCamera(t *testing.T) {
	realCamera{&camera.Camera{}}.Stats() // panics on a field camera.Stats does not have
}

// guardSink hands a camera's messages straight to the guard; the service
// puts the outbox in between, which this test does not need. Without the
// outbox a publish waits for the broker, so it is bounded: the camera's
// last status is published while the broker is down.
type guardSink struct{ g *egress.Guard }

func (s guardSink) Event(ctx context.Context, ev event.Event) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return s.g.PublishEvent(ctx, ev)
}

func (s guardSink) Status(ctx context.Context, st event.CameraStatus) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return s.g.PublishCameraStatus(ctx, st)
}

// TestRealPipeline wires observe to a real camera actor (RTSP from the
// simulator, libavcodec, OpenCV) and a real egress guard on a real
// Mosquitto, the way the service does: readiness follows the camera and
// the broker, and the metrics carry the pipeline's own counters.
func TestRealPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("real RTSP, decoder and broker")
	}
	mq := mosquittotest.Start(t)
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264,
		Scene: scene.Static(320, 180, 25), ClipSeconds: 2, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	pol := policy.Default()
	guard, err := egress.New(egress.Config{Broker: mq.URL(), TopicPrefix: "edgeguard", Device: "edge-01",
		ReconnectMax: 200 * time.Millisecond, Logger: testlog.Discard()}, pol)
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Close()
	if err := guard.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob := &fakeOutbox{} // empty: a broker outage alone does not make the box unready

	obs := newServer(t, Config{Addr: "127.0.0.1:0", Device: "edge-01", Egress: guard, Outbox: ob, EventTypes: []string{"motion"}})
	obs.SetPolicy(pol.Name, pol.SHA256)
	m := motion.DefaultConfig()
	c, err := camera.New(camera.Config{Device: "edge-01", ID: "cam1", URL: cam.URL(), AnalysisFPS: 5, AnalysisWidth: 160,
		Motion: m, Rules: motionRule, Sink: guardSink{guard}, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	obs.AddCamera(realCamera{c})
	base := start(t, obs)
	if r := obs.Readiness(); r.Ready() {
		t.Errorf("ready before the camera streams: %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		camera.Supervise(ctx, c, camera.DefaultBackoff)
	}()
	defer func() {
		cancel()
		<-done
	}()

	waitUntil(t, "ready", func() bool { return obs.Readiness().Ready() })
	waitUntil(t, "frames analysed", func() bool { return c.Stats().Analysed >= 3 })
	mfs := scrape(t, base)
	for _, name := range []string{"edgeguard_camera_frames_received_total", "edgeguard_camera_frames_decoded_total", "edgeguard_camera_frames_analysed_total"} {
		if v, ok := value(mfs, name, "camera=cam1"); !ok || v < 3 {
			t.Errorf("%s = %v, want >= 3", name, v)
		}
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"edgeguard_camera_streaming", []string{"camera=cam1"}, 1},
		{"edgeguard_mqtt_connected", nil, 1},
		{"edgeguard_ready", nil, 1},
		{"edgeguard_events_total", []string{"camera=cam1", "phase=start", "type=motion"}, 0},
	} {
		if v, ok := value(mfs, tt.name, tt.labels...); !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}

	// Broker gone: still ready while the outbox absorbs it, and it shows.
	mq.Stop()
	waitUntil(t, "MQTT disconnected", func() bool { return !guard.Stats().Connected })
	if r := obs.Readiness(); !r.Ready() || r.Broker == nil || r.Broker.Connected {
		t.Errorf("with the broker down and an empty outbox: %+v", r)
	}
	ob.setDepth(1000)
	if err := Probe(context.Background(), base+"/readyz"); err == nil {
		t.Error("ready with the broker down and the outbox backing up")
	} else {
		t.Logf("as expected: %v", err)
	}
}

// waitUntil polls cond; the deadline only guards against a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// motionRule is the camera's motion events: a situation ends after 1 s
// without motion, no updates.
func motionRule() ([]pattern.Rule, error) {
	m, err := pattern.NewMotion(pattern.MotionConfig{Name: pattern.TypeMotion, QuietTime: time.Second})
	return []pattern.Rule{m}, err
}
