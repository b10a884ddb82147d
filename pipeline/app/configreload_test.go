package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
	"github.com/edgeguard/edgeguard/policy"
)

// reloadCam is a camera of a configuration file written by a test.
type reloadCam struct {
	id, url string
	fps     float64 // 0: the default
}

// configFile is an operator configuration written as a file, so that the
// service reloads it as it would the real one.
type configFile struct {
	path, broker, httpAddr, outbox string
}

func newConfigFile(t *testing.T, broker string) *configFile {
	dir := t.TempDir()
	return &configFile{path: filepath.Join(dir, "edgeguard.yaml"), broker: broker, httpAddr: freeAddr(t), outbox: filepath.Join(dir, "outbox")}
}

// yaml is the file for cams; extra is appended to the first camera's
// entry (an invalid field, for instance).
func (f *configFile) yaml(cams []reloadCam, broker string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "device: e2e\nmqtt:\n  broker: %s\nhttp:\n  addr: %s\noutbox:\n  dir: %s\n", broker, f.httpAddr, f.outbox)
	b.WriteString("defaults:\n  motion:\n    warmup: 2s\n    quiet_time: 2s\ncameras:\n")
	for _, c := range cams {
		fmt.Fprintf(&b, "  - id: %s\n    url: %s\n", c.id, c.url)
		if c.fps != 0 {
			fmt.Fprintf(&b, "    analysis:\n      fps: %g\n", c.fps)
		}
	}
	return b.String()
}

// write replaces the file (write, then rename, as configuration management
// does).
func (f *configFile) write(t *testing.T, content string) {
	t.Helper()
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runFile runs the service on the configuration file as cmd/edgeguard
// does (config.Load, then Run with the path) until the test ends.
func runFile(t *testing.T, f *configFile, opts Options) {
	t.Helper()
	cfg, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.ConfigPath = cfg, f.path
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func statuses(msgs []mosquittotest.Message, cam string) []event.CameraStatus {
	var out []event.CameraStatus
	for _, m := range msgs {
		if m.Topic != "edgeguard/e2e/"+cam+"/status" {
			continue
		}
		var st event.CameraStatus
		if err := json.Unmarshal(m.Payload, &st); err == nil {
			out = append(out, st)
		}
	}
	return out
}

func streamingCount(msgs []mosquittotest.Message, cam string) int {
	n := 0
	for _, st := range statuses(msgs, cam) {
		if st.State == event.StateStreaming {
			n++
		}
	}
	return n
}

func lastState(msgs []mosquittotest.Message, cam string) event.CameraState {
	st := statuses(msgs, cam)
	if len(st) == 0 {
		return ""
	}
	return st[len(st)-1].State
}

func readyz(t *testing.T, addr string) observe.Readiness {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r observe.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// healths are the device health messages in order.
func healths(msgs []mosquittotest.Message) []deviceHealth {
	var out []deviceHealth
	for _, m := range msgs {
		if m.Topic == "edgeguard/e2e/health" {
			var h deviceHealth
			if json.Unmarshal(m.Payload, &h) == nil {
				out = append(out, h)
			}
		}
	}
	return out
}

func lastConfigError(msgs []mosquittotest.Message) (string, bool) {
	h := healths(msgs)
	if len(h) == 0 {
		return "", false
	}
	return h[len(h)-1].ConfigError, true
}

// waitLog waits until the log has a line containing every one of want.
func waitLog(t *testing.T, logs *testlog.Buffer, timeout time.Duration, want ...string) string {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(l, w) }) {
				return l
			}
		}
	}
	t.Fatalf("no log line with %q in:\n%s", want, logs.String())
	return ""
}

func walkerCamera(t *testing.T) *simcam.Server {
	// A figure crosses between 2.5 s and 5.5 s of a 7 s loop: a situation
	// every loop.
	w := scene.Walker(320, 180, 25)
	w.Objects[0].Appear, w.Objects[0].Disappear = 2500*time.Millisecond, 5500*time.Millisecond
	return startCamera(t, codec.H264, w, 7)
}

func staticCamera(t *testing.T) *simcam.Server {
	return startCamera(t, codec.H264, scene.Static(320, 180, 25), 2)
}

func setups(s *simcam.Server) int { return len(s.Setups()) }

// TestConfigReloadAddsAndRestartsCameras: the file watch sees the
// configuration gain camera C and camera B's analysis rate change. C
// starts, B restarts alone, and A keeps its RTSP session (its simulator
// saw one SETUP only, it published no status since) while its events go
// on.
func TestConfigReloadAddsAndRestartsCameras(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	a, b, c := walkerCamera(t), staticCamera(t), staticCamera(t)
	f := newConfigFile(t, mq.URL())
	f.write(t, f.yaml([]reloadCam{{id: "a", url: a.URL()}, {id: "b", url: b.URL()}}, f.broker))
	logs := &testlog.Buffer{}
	runFile(t, f, Options{Logger: jsonLogger(logs), PolicyPollInterval: 50 * time.Millisecond})

	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return streamingCount(m, "a") == 1 && streamingCount(m, "b") == 1 &&
			slices.ContainsFunc(events(m, "a"), func(ev event.Event) bool { return ev.Phase == event.PhaseStart })
	}, 60*time.Second)
	aStatuses := len(statuses(msgs, "a"))
	reloaded := time.Now()

	f.write(t, f.yaml([]reloadCam{{id: "a", url: a.URL()}, {id: "b", url: b.URL(), fps: 4}, {id: "c", url: c.URL()}}, f.broker))
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		// C streams, B streams a second time, and A sent an event that
		// happened after the edit.
		return streamingCount(m, "c") == 1 && streamingCount(m, "b") == 2 &&
			slices.ContainsFunc(events(m, "a"), func(ev event.Event) bool { return ev.At.After(reloaded) })
	}, 60*time.Second)
	waitLog(t, logs, 10*time.Second, "configuration reloaded", `"restarted":["b"]`, `"started":["c"]`)

	if n := setups(a); n != 1 {
		t.Errorf("camera a: %d SETUPs (%v), want 1: its session was re-established", n, a.Setups())
	}
	if got := statuses(msgs, "a"); len(got) != aStatuses {
		t.Errorf("camera a published statuses after the reload: %+v", got[aStatuses:])
	}
	if n := setups(b); n != 2 {
		t.Errorf("camera b: %d SETUPs, want 2 (restarted once)", n)
	}
	// B went offline before its new actor connected: a restart, announced.
	bs := statuses(msgs, "b")
	if i := slices.IndexFunc(bs, func(s event.CameraStatus) bool { return s.State == event.StateOffline }); i < 0 ||
		!slices.ContainsFunc(bs[i:], func(s event.CameraStatus) bool { return s.State == event.StateStreaming }) {
		t.Errorf("camera b's statuses %+v: want offline, then streaming again", bs)
	}
	if n := setups(c); n != 1 {
		t.Errorf("camera c: %d SETUPs, want 1", n)
	}
	sub.WaitFor(t, func(m []mosquittotest.Message) bool { return len(readyz(t, f.httpAddr).Cameras) == 3 }, 10*time.Second)
	if t.Failed() {
		t.Log(mosquittotest.Dump(msgs))
	}
}

// TestConfigReloadRemovesCamera: SIGHUP (the file watch off) reloads a
// configuration without camera B. B stops as at a shutdown — its open
// situation ends, it says offline — and leaves /readyz; A is untouched.
func TestConfigReloadRemovesCamera(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	a, b := staticCamera(t), walkerCamera(t)
	f := newConfigFile(t, mq.URL())
	f.write(t, f.yaml([]reloadCam{{id: "a", url: a.URL()}, {id: "b", url: b.URL()}}, f.broker))
	reload := make(chan struct{}, 1)
	runFile(t, f, Options{Reload: reload, PolicyPollInterval: -1})

	// B has a situation open (a start without its end yet).
	var open event.Event
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		if streamingCount(m, "a") != 1 {
			return false
		}
		evs := events(m, "b")
		if len(evs) == 0 || evs[len(evs)-1].Phase != event.PhaseStart {
			return false
		}
		open = evs[len(evs)-1]
		return true
	}, 60*time.Second)
	aStatuses := len(statuses(msgs, "a"))

	f.write(t, f.yaml([]reloadCam{{id: "a", url: a.URL()}}, f.broker))
	reload <- struct{}{}
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return lastState(m, "b") == event.StateOffline &&
			slices.ContainsFunc(events(m, "b"), func(ev event.Event) bool { return ev.EventID == open.EventID && ev.Phase == event.PhaseEnd })
	}, 30*time.Second)
	r := readyz(t, f.httpAddr)
	if len(r.Cameras) != 1 || r.Cameras[0].ID != "a" {
		t.Errorf("/readyz cameras after removing b: %+v", r.Cameras)
	}
	if !r.Ready() {
		t.Errorf("not ready with a streaming: %v", r.Reasons)
	}
	if n := setups(a); n != 1 {
		t.Errorf("camera a: %d SETUPs, want 1", n)
	}
	if got := statuses(msgs, "a"); len(got) != aStatuses {
		t.Errorf("camera a published statuses after the reload: %+v", got[aStatuses:])
	}
	// The retained status a late subscriber reads is offline.
	late := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/b/status")
	late.WaitFor(t, func(m []mosquittotest.Message) bool { return lastState(m, "b") == event.StateOffline }, 10*time.Second)
	if t.Failed() {
		t.Log(mosquittotest.Dump(msgs))
	}
}

// TestConfigReloadRejected: a configuration that does not load (an
// invalid value, a syntax error) or that changes a setting only a start
// applies (mqtt.broker) changes nothing — not even the camera it also
// adds — and is reported: an ERROR line with FILE:LINE (or the setting and
// "needs a restart"), config_error in the retained health message and on
// /readyz. The next good edit applies and clears it.
func TestConfigReloadRejected(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	a, c := staticCamera(t), staticCamera(t)
	f := newConfigFile(t, mq.URL())
	good := []reloadCam{{id: "a", url: a.URL()}}
	f.write(t, f.yaml(good, f.broker))
	logs := &testlog.Buffer{}
	runFile(t, f, Options{Logger: jsonLogger(logs), PolicyPollInterval: 50 * time.Millisecond})
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		_, ok := lastConfigError(m)
		return streamingCount(m, "a") == 1 && ok
	}, 60*time.Second)
	withC := append(slices.Clone(good), reloadCam{id: "c", url: c.URL()})

	// What config.Load says of a file, FILE:LINE first.
	loadErr := func(content string) []string {
		_, err := config.Parse(f.path, []byte(content))
		if err == nil || !regexp.MustCompile(`^`+regexp.QuoteMeta(f.path)+`:\d+:`).MatchString(err.Error()) {
			t.Fatalf("config.Parse: %v, want FILE:LINE: …", err)
		}
		return []string{err.Error()}
	}
	invalid := f.yaml([]reloadCam{{id: "a", url: a.URL(), fps: 500}, {id: "c", url: c.URL()}}, f.broker)
	fpsLine := slices.IndexFunc(strings.Split(invalid, "\n"), func(l string) bool { return strings.Contains(l, "fps: 500") }) + 1
	broken := f.yaml(withC, f.broker) + "  - id: [unclosed\n"
	for _, tt := range []struct {
		name, content string
		want          []string // in the error
	}{
		{"invalid value", invalid, append(loadErr(invalid), fmt.Sprintf("%s:%d:", f.path, fpsLine), "cameras[0].analysis.fps")},
		{"syntax error", broken, loadErr(broken)},
		{"restart-only setting", f.yaml(withC, "tcp://127.0.0.1:1"), []string{f.path + ": mqtt.broker changed", "needs a restart"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.write(t, tt.content)
			msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
				e, _ := lastConfigError(m)
				return !slices.ContainsFunc(tt.want, func(w string) bool { return !strings.Contains(e, w) })
			}, 30*time.Second)
			line := waitLog(t, logs, 10*time.Second, `"level":"ERROR"`, "configuration reload rejected", tt.want[0])
			for _, w := range tt.want {
				if !strings.Contains(line, strings.ReplaceAll(w, `"`, `\"`)) {
					t.Errorf("ERROR line does not say %q: %s", w, line)
				}
			}
			if e := readyz(t, f.httpAddr).ConfigError; !strings.Contains(e, tt.want[0]) {
				t.Errorf("/readyz config_error %q, want it to name %q", e, tt.want[0])
			}
			// Nothing changed: C did not start, A kept its session, and the
			// health came through the broker in force.
			if n := setups(c); n != 0 {
				t.Errorf("camera c: %d SETUPs after a rejected reload", n)
			}
			if n := setups(a); n != 1 {
				t.Errorf("camera a: %d SETUPs, want 1", n)
			}
			if lastState(msgs, "a") != event.StateStreaming {
				t.Errorf("camera a is %s", lastState(msgs, "a"))
			}
		})
	}

	// The next good edit applies (C starts) and clears the error.
	f.write(t, f.yaml(withC, f.broker))
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		e, _ := lastConfigError(m)
		return streamingCount(m, "c") == 1 && e == ""
	}, 30*time.Second)
	if r := readyz(t, f.httpAddr); r.ConfigError != "" || len(r.Cameras) != 2 {
		t.Errorf("/readyz after a good edit: config_error %q, cameras %+v", r.ConfigError, r.Cameras)
	}
	if n := setups(a); n != 1 {
		t.Errorf("camera a: %d SETUPs, want 1", n)
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(msgs))
	}
}

// TestNeedsRestart names every setting only a start applies, by its key.
func TestNeedsRestart(t *testing.T) {
	base := config.Defaults()
	base.Device = "e2e"
	base.Cameras = []config.Camera{{ID: "a", URL: "rtsp://192.0.2.1/a", Enabled: true, CameraSettings: base.Defaults}}
	for _, tt := range []struct {
		name string
		edit func(*config.Config)
		want []string // nil: no restart needed
	}{
		{"cameras and policy are live", func(c *config.Config) {
			c.Cameras = append(c.Cameras, config.Camera{ID: "b", URL: "rtsp://192.0.2.1/b", Enabled: true})
			c.Cameras[0].Analysis.FPS = 2
			c.Defaults.Motion.Warmup = time.Second
			c.Policy = "/etc/edgeguard/other-policy.yaml"
		}, nil},
		{"device", func(c *config.Config) { c.Device = "e3" }, []string{"device"}},
		{"broker and TLS", func(c *config.Config) {
			c.MQTT.Broker = "tls://broker:8883"
			c.MQTT.TLS.CAFile = "/ca.pem"
		}, []string{"mqtt.broker", "mqtt.tls.ca_file"}},
		{"http and outbox", func(c *config.Config) {
			c.HTTP.Addr = "0.0.0.0:9090"
			c.Outbox.MaxMB = 1
			c.Outbox.Sync = "never"
		}, []string{"http.addr", "outbox.max_mb", "outbox.sync"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			next.Cameras = slices.Clone(base.Cameras)
			tt.edit(&next)
			err := needsRestart("edgeguard.yaml", &base, &next)
			if tt.want == nil {
				if err != nil {
					t.Errorf("needsRestart: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no restart needed")
			}
			want := "edgeguard.yaml: " + strings.Join(tt.want, ", ") + " changed, which needs a restart"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to start with %q", err, want)
			}
		})
	}
}

// TestPlanCameras: what a reload does to each camera. A camera whose
// privacy zones alone changed keeps running (the zones are swapped live);
// any other change restarts it; a camera the new configuration cannot build
// fails the reload.
func TestPlanCameras(t *testing.T) {
	zoned, err := policy.Load("../../configs/policy.yaml") // privacy zones on cam1
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Device = "e2e"
	for _, id := range []string{"cam1", "cam2", "cam3"} {
		cfg.Cameras = append(cfg.Cameras, config.Camera{ID: id, URL: "rtsp://192.0.2.1/" + id, Enabled: true, CameraSettings: cfg.Defaults})
	}
	open := policy.Default()
	cur, err := cameraConfigs(&cfg, open)
	if err != nil {
		t.Fatal(err)
	}
	next := cfg
	next.Cameras = slices.Clone(cfg.Cameras)
	next.Cameras[1].Motion.Sensitivity = 30          // cam2 changes
	next.Cameras = slices.Delete(next.Cameras, 2, 3) // cam3 goes
	next.Cameras = append(next.Cameras, config.Camera{ID: "cam4", URL: "rtsp://192.0.2.1/cam4", Enabled: true, CameraSettings: cfg.Defaults})
	nextCams, err := cameraConfigs(&next, zoned) // cam1: new zones only
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(cur[0].cfg.Zones, nextCams[0].cfg.Zones) {
		t.Fatal("the example policy gives cam1 no zones; the test needs them")
	}
	var checked []string
	p, err := planCameras(cur, nextCams, zoned, func(cc camera.Config) error { checked = append(checked, cc.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(p.start), ids(p.restart), p.stop, checked); got != "[cam4] [cam2] [cam3] [cam2 cam4]" {
		t.Errorf("started, restarted, stopped, built: %s; want [cam4] [cam2] [cam3] [cam2 cam4]", got)
	}
	if _, err := planCameras(cur, nextCams, zoned, func(cc camera.Config) error {
		return fmt.Errorf("camera %s: rules: broken", cc.ID)
	}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a camera that cannot be built: %v", err)
	}
}
