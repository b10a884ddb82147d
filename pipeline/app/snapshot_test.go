package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// snapshotPolicy is configs/policy.yaml with snapshots allowed.
func snapshotPolicy(t *testing.T) string {
	t.Helper()
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(example), "snapshots: false", "snapshots: true", 1)
	if text == string(example) {
		t.Fatal("configs/policy.yaml has no `snapshots: false` line to change")
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSnapshotCase runs the service on a walker camera until the first
// start event and a little after, and returns every message.
func runSnapshotCase(t *testing.T, fault func() error) []mosquittotest.Message {
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	cam := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 10)
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": cam.URL()})
	cfg.Policy = snapshotPolicy(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), anonymise: func(c anonymise.Config) anonymise.Config {
			c.Fault = fault
			return c
		}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return len(events(m, "cam1")) > 0
	}, 60*time.Second)
	// The snapshot follows its event within the next frames; give the
	// anonymiser time on a loaded machine (failure guard, not a timing check).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		msgs = sub.Messages()
		if snapshotTopic(msgs) != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return msgs
}

func snapshotTopic(msgs []mosquittotest.Message) string {
	for _, m := range msgs {
		if strings.Contains(m.Topic, "/snapshot/") {
			return m.Topic
		}
	}
	return ""
}

// TestSnapshots: with a policy that allows snapshots, the start of a
// situation is followed by a JPEG on <prefix>/<device>/<camera>/snapshot/<event_id>
// that carries no metadata and has the policy's privacy zones filled.
func TestSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and camera")
	}
	msgs := runSnapshotCase(t, nil)
	start := events(msgs, "cam1")[0]
	want := "edgeguard/e2e/cam1/snapshot/" + start.EventID
	var jpeg []byte
	for _, m := range msgs {
		if m.Topic == want {
			jpeg = m.Payload
		}
	}
	if jpeg == nil {
		t.Fatalf("no snapshot on %s; got %q", want, snapshotTopic(msgs))
	}
	if err := jfifOnly(jpeg); err != nil {
		t.Errorf("snapshot: %v", err)
	}
	img, err := gocv.IMDecode(jpeg, gocv.IMReadGrayScale)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	// configs/policy.yaml's cam1 zone "windows" is x 0..0.3, y 0..0.4.
	w, h := img.Cols(), img.Rows()
	bright := 0
	for y := 2; y < int(0.4*float64(h))-2; y++ {
		for x := 2; x < int(0.3*float64(w))-2; x++ {
			if img.GetUCharAt(y, x) > 8 {
				bright++
			}
		}
	}
	if bright > 0 {
		t.Errorf("%d pixels of the privacy zone carry picture in the snapshot", bright)
	}
	var st struct{ Schema string }
	if json.Unmarshal(jpeg, &st) == nil {
		t.Error("snapshot payload is JSON, want JPEG")
	}
}

// TestSnapshotWithheldWhenAnonymiserFails (invariant 4): an anonymiser
// failure withholds the image; the event still goes out.
func TestSnapshotWithheldWhenAnonymiserFails(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and camera")
	}
	msgs := runSnapshotCase(t, func() error { return errors.New("injected detector failure") })
	if evs := events(msgs, "cam1"); len(evs) == 0 || evs[0].Phase != event.PhaseStart {
		t.Fatalf("the event did not go out: %v", evs)
	}
	if topic := snapshotTopic(msgs); topic != "" {
		t.Fatalf("a snapshot left although the anonymiser failed: %s", topic)
	}
}

// jfifOnly checks the JPEG's segments up to the scan: only JFIF APP0 and
// tables, no EXIF/XMP/ICC/comments.
func jfifOnly(b []byte) error {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return errors.New("not a JPEG")
	}
	for i := 2; i+4 <= len(b); {
		m := b[i+1]
		n := int(b[i+2])<<8 | int(b[i+3])
		switch {
		case m == 0xDA:
			return nil
		case m == 0xE0 && string(b[i+4:i+8]) == "JFIF":
		case m >= 0xE0 && m <= 0xEF || m == 0xFE:
			return errors.New("metadata segment present")
		}
		i += 2 + n
	}
	return errors.New("no scan")
}
