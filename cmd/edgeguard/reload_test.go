package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// TestSIGHUPReloadsTheConfiguration: `edgeguard run` hands its --config
// file to the reload. A camera added to the file starts on SIGHUP; the
// camera already running keeps its RTSP session (one SETUP); an edit that
// does not load is refused with FILE:LINE on stderr.
func TestSIGHUPReloadsTheConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/hup-box/#")
	var cams []*simcam.Server
	for range 2 {
		cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: simcam.H264,
			Scene: scene.Static(320, 180, 25), ClipSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cam.Close)
		cams = append(cams, cam)
	}
	dir := t.TempDir()
	config := func(ids ...string) string {
		s := fmt.Sprintf("device: hup-box\nmqtt:\n  broker: %s\nhttp:\n  addr: 127.0.0.1:0\noutbox:\n  dir: %s\ncameras:\n",
			mq.URL(), filepath.Join(dir, "outbox"))
		for i, id := range ids {
			s += fmt.Sprintf("  - id: %s\n    url: %s\n", id, cams[i].URL())
		}
		return s
	}
	path := writeFile(t, dir, "edgeguard.yaml", config("gate"))

	stderr := &testlog.Buffer{}
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("exit: %v", err)
			}
		case <-time.After(30 * time.Second): // hang guard
			cmd.Process.Kill()
			t.Error("no exit after SIGTERM")
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return last(m, "edgeguard/hup-box/gate/status", `"streaming"`)
	}, 30*time.Second)

	// A broken edit: refused, said with the file and line, nothing changes.
	if err := os.WriteFile(path, []byte(config("gate", "yard")+"  - id: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return last(m, "edgeguard/hup-box/health", `"config_error":"`+path+`:`)
	}, 30*time.Second)

	// A good edit: the new camera streams, the old one kept its session.
	if err := os.WriteFile(path, []byte(config("gate", "yard")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return last(m, "edgeguard/hup-box/yard/status", `"streaming"`) &&
			last(m, "edgeguard/hup-box/health", `"at"`) && !last(m, "edgeguard/hup-box/health", "config_error")
	}, 30*time.Second)
	if n := len(cams[0].Setups()); n != 1 {
		t.Errorf("camera gate: %d SETUPs, want 1 (its session kept)", n)
	}
	stop() // all of stderr written
	if !strings.Contains(stderr.String(), "configuration reload rejected") || !strings.Contains(stderr.String(), path+":") {
		t.Errorf("stderr does not report the rejected reload with FILE:LINE:\n%s", stderr.String())
	}
}
