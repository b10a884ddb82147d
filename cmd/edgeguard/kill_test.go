package main

import (
	"bufio"
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
	"github.com/edgeguard/edgeguard/pipeline/codec"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/scene"
	"github.com/edgeguard/edgeguard/pipeline/simcam"
)

// loggedEventIDs reads the ids of event messages the service created from
// its JSON log.
func loggedEventIDs(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Msg, ID string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "motion ") && l.ID != "" {
			ids = append(ids, l.ID)
		}
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
	bin := buildBinary(t)
	mq := mosquittotest.StartWith(t, mosquittotest.Options{Persistence: true})
	sub := mosquittotest.SubscribeWith(t, mq.URL(), "edgeguard/kill-box/+/events", mosquittotest.ClientOptions{ClientID: "kill-control-room"})
	sc := scene.Walker(320, 180, 25)
	sc.Objects[0].Appear, sc.Objects[0].Disappear = 500*time.Millisecond, 3500*time.Millisecond
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264, Scene: sc, ClipSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	u, _ := url.Parse(mq.URL())
	dir := t.TempDir()
	cfg := writeFile(t, dir, "edgeguard.yaml", fmt.Sprintf(`device: kill-box
mqtt:
  broker: tcp://%s
http:
  addr: 127.0.0.1:0
outbox:
  dir: %s
defaults:
  motion: {warmup: 1s, quiet_time: 1s, update_interval: 1s}
cameras:
  - id: gate
    url: %s
`, u.Host, filepath.Join(dir, "outbox"), cam.URL()))

	mq.Stop() // the uplink is down: events can only go to the outbox
	log1 := filepath.Join(dir, "run1.log")
	out1, _ := os.Create(log1)
	first := exec.Command(bin, "run", "--config", cfg, "--log-format", "json")
	first.Stdout, first.Stderr = out1, out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second) // hang guard
	for len(loggedEventIDs(t, log1)) < 4 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			b, _ := os.ReadFile(log1)
			t.Fatalf("no events in the first run:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	out1.Close()
	want := loggedEventIDs(t, log1)
	t.Logf("first run created %d event messages before kill -9", len(want))

	mq.Restart()
	log2 := filepath.Join(dir, "run2.log")
	out2, _ := os.Create(log2)
	defer out2.Close()
	second := exec.Command(bin, "run", "--config", cfg, "--log-format", "json")
	second.Stdout, second.Stderr = out2, out2
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		got := map[string]bool{}
		for _, x := range m {
			var ev event.Event
			if json.Unmarshal(x.Payload, &ev) == nil {
				got[ev.ID] = true
			}
		}
		for _, id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	}, 60*time.Second)
}
