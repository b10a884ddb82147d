package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// loggedEventIDs reads the ids of event messages the service created from
// its JSON log.
func loggedEventIDs(path string) []string {
	var ids []string
	for _, l := range loggedMotions(path) {
		ids = append(ids, l.ID)
	}
	return ids
}

// TestKill9LosesNoEvent: with the broker down, events go to the durable
// outbox; the service is killed with SIGKILL; after the broker and the
// service come back, every event the first process created is delivered.
func TestKill9LosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	box := filepath.Join(dir, "outbox")
	kill9(t, dir, "kill-box", "outbox:\n  dir: "+box+"\n", box, nil)
}

// TestKill9LosesNoEventWithDefaultConfig is the same outage and SIGKILL
// with a configuration that never mentions the outbox, run as systemd runs
// it ($STATE_DIRECTORY set by StateDirectory=): the outbox is durable by
// default, under $STATE_DIRECTORY/<device>/, and every event arrives.
func TestKill9LosesNoEventWithDefaultConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir, state := t.TempDir(), t.TempDir()
	const device = "default-box"
	want := filepath.Join(state, device, "outbox")
	run1, _ := kill9(t, dir, device, "", want, []string{"STATE_DIRECTORY=" + state})

	type locationLine struct {
		Msg, Dir, Why string
		Default       bool
	}
	var place locationLine
	for _, l := range logLines(t, run1) {
		var x locationLine
		if json.Unmarshal([]byte(l), &x) == nil && x.Msg == "outbox location" {
			place = x
			break
		}
	}
	if place.Msg == "" || place.Dir != want || !place.Default || !strings.Contains(place.Why, "$STATE_DIRECTORY") {
		t.Errorf("first run's outbox location line: %+v; want dir %s, default, from $STATE_DIRECTORY", place, want)
	}
	if rel, err := filepath.Rel(state, place.Dir); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("outbox %s is not under STATE_DIRECTORY %s", place.Dir, state)
	}
}

// kill9 runs the scenario: the broker (Mosquitto, persistent) is stopped;
// the service, its own process with a config for device plus outboxYAML
// and extra environment env, creates event messages only its outbox can
// hold, which must then be on disk in boxDir; it is killed with SIGKILL; the broker and then the service (same
// config, same environment) come back, and a persistent subscriber started
// before the outage must receive every event id the first process logged.
// It returns the two processes' log files.
func kill9(t *testing.T, dir, device, outboxYAML, boxDir string, env []string) (run1, run2 string) {
	t.Helper()
	rig := newKillRig(t, dir, device, outboxYAML, 3500*time.Millisecond, 5, env)
	mq, sub := rig.mq, rig.sub
	mq.Stop() // the uplink is down: events can only go to the outbox
	run1 = filepath.Join(dir, "run1.log")
	first := rig.start(run1)
	waitForLog(t, first, run1, "no events in the first run", func() bool { return len(loggedEventIDs(run1)) >= 4 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	want := loggedEventIDs(run1)
	t.Logf("first run created %d event messages before kill -9", len(want))
	if segs, _ := filepath.Glob(filepath.Join(boxDir, "*.seg")); len(segs) == 0 {
		t.Fatalf("after kill -9, no outbox segment in %s", boxDir)
	}

	mq.Restart()
	run2 = filepath.Join(dir, "run2.log")
	second := rig.start(run2)
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	msgs := sub.WaitFor(t, mosquittotest.HasIDs(want...), 60*time.Second)
	t.Logf("%d of %d event messages of the killed process delivered after the restart (%d messages received in all)", len(want), len(want), len(msgs))
	return run1, run2
}

// logLines is the log file at path, one string per line.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// killRig is the set-up the kill -9 tests share: a persistent Mosquitto, a
// control room's persistent subscription to device's events, a camera
// whose one walker appears at 0.5 s and leaves at leave (in a clip of
// clipSeconds), and the service's config for device with outboxYAML.
type killRig struct {
	t        *testing.T
	bin, cfg string
	env      []string
	mq       *mosquittotest.Broker
	sub      *mosquittotest.Subscription
}

func newKillRig(t *testing.T, dir, device, outboxYAML string, leave time.Duration, clipSeconds int, env []string) *killRig {
	t.Helper()
	r := &killRig{t: t, bin: buildBinary(t), env: env}
	r.mq = mosquittotest.StartWith(t, mosquittotest.Options{Persistence: true})
	r.sub = mosquittotest.SubscribeWith(t, r.mq.URL(), "edgeguard/"+device+"/+/events", mosquittotest.ClientOptions{ClientID: device + "-control-room"})
	sc := scene.Walker(320, 180, 25)
	sc.Objects[0].Appear, sc.Objects[0].Disappear = 500*time.Millisecond, leave
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: simcam.H264, Scene: sc, ClipSeconds: clipSeconds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cam.Close)
	u, _ := url.Parse(r.mq.URL())
	r.cfg = writeFile(t, dir, "edgeguard.yaml", fmt.Sprintf(`device: %s
mqtt:
  broker: tcp://%s
http:
  addr: 127.0.0.1:0
%sdefaults:
  motion: {warmup: 1s, quiet_time: 1s, update_interval: 1s}
cameras:
  - id: gate
    url: %s
`, device, u.Host, outboxYAML, cam.URL()))
	return r
}

// start runs the service (same config, same environment each time) with
// its JSON log in the file logPath.
func (r *killRig) start(logPath string) *exec.Cmd {
	out, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { out.Close() })
	c := exec.Command(r.bin, "run", "--config", r.cfg, "--log-format", "json")
	c.Env = append(os.Environ(), r.env...)
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		r.t.Fatal(err)
	}
	return c
}

// waitForLog polls cond until it holds; if it does not within 60 s (a hang
// guard, not a speed assertion), it kills c and fails with what and c's
// log at logPath.
func waitForLog(t *testing.T, c *exec.Cmd, logPath, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.Process.Kill()
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s:\n%s", what, b)
		}
	}
}
