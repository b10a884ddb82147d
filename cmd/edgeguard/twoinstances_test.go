package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// TestSecondInstanceOnOneOutboxRefused: two configs with one outbox.dir
// (issue 18 item 1: both would run, and the second one's events would be
// lost without a word), or one config started twice (systemd and an admin
// by hand: the two would also take the MQTT session from each other in a
// loop). The second instance refuses to start, names the directory and the
// first one's pid, and the first one keeps running.
func TestSecondInstanceOnOneOutboxRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	mq := mosquittotest.Start(t)
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: simcam.H264, Scene: scene.Static(320, 180, 25), ClipSeconds: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	dir := t.TempDir()
	box := filepath.Join(dir, "outbox")
	config := func(name, device string) string {
		return writeFile(t, dir, name, fmt.Sprintf(`device: %s
mqtt:
  broker: %s
http:
  addr: 127.0.0.1:0
outbox:
  dir: %s
cameras:
  - id: gate
    url: %s
`, device, mq.URL(), box, cam.URL()))
	}
	firstCfg := config("first.yaml", "box-a")

	var firstLog bytes.Buffer
	first := exec.Command(bin, "run", "--config", firstCfg)
	first.Stdout, first.Stderr = &firstLog, &firstLog // read only after Wait
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	defer func() {
		first.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	// The first one holds the directory once its pid is in the lock file.
	deadline := time.Now().Add(30 * time.Second) // hang guard
	for {
		b, _ := os.ReadFile(filepath.Join(box, "lock"))
		if strings.TrimSpace(string(b)) == strconv.Itoa(first.Process.Pid) {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the first instance exited: %v\n%s", err, firstLog.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the first instance never locked its outbox")
		}
		time.Sleep(20 * time.Millisecond)
	}

	tests := []struct{ name, cfg string }{
		{"another device, same outbox.dir", config("second.yaml", "box-b")},
		{"the same config again", firstCfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			second := exec.Command(bin, "run", "--config", tt.cfg)
			second.Stdout, second.Stderr = &out, &out
			done := make(chan error, 1)
			if err := second.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- second.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("the second instance exited 0:\n%s", out.String())
				}
			case <-time.After(30 * time.Second): // hang guard
				second.Process.Kill()
				<-done
				t.Fatalf("the second instance runs next to the first:\n%s", out.String())
			}
			want := fmt.Sprintf("outbox: %s is in use by pid %d (another edgeguard with the same outbox.dir or device?); each instance needs its own outbox.dir",
				box, first.Process.Pid)
			if !strings.Contains(out.String(), want) {
				t.Errorf("the second instance said:\n%s\nwant it to say:\n%s", out.String(), want)
			}
			if strings.Contains(out.String(), "mqtt connected") {
				t.Errorf("the second instance connected to the broker before it refused:\n%s", out.String())
			}
		})
	}
	select {
	case err := <-exited:
		t.Fatalf("the first instance stopped: %v\n%s", err, firstLog.String())
	default:
	}
}
