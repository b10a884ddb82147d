package observe

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
)

// TestReadyzShowsGenericReason (issue 18 item 5): /readyz shows why a real
// camera is down with the same generic reason its status topic carries,
// never its URL or address.
func TestReadyzShowsGenericReason(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Device: "edge-01", Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	cam, err := camera.New(camera.Config{Device: "edge-01", ID: "cam1", URL: "rtsp://admin:s3cr3t@" + addr + "/x",
		Rules: motionRule, Sink: discardSink{}, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	s.AddCamera(realCamera{cam})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		camera.Supervise(ctx, cam, camera.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Healthy: time.Hour})
	}()
	defer func() { cancel(); wg.Wait() }()

	want := "camera cam1 is offline: " + camera.ReasonConnectionRefused
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a speed assertion
	for !slices.Contains(s.Readiness().Reasons, want) {
		if time.Now().After(deadline) {
			t.Fatalf("readiness reasons %q, want %q", s.Readiness().Reasons, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	body, err := json.Marshal(s.Readiness())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), addr) || strings.Contains(string(body), "rtsp://") || strings.Contains(string(body), "s3cr3t") {
		t.Errorf("/readyz shows the camera's URL or address: %s", body)
	}
}

// discardSink takes a camera's messages and drops them.
type discardSink struct{}

func (discardSink) Event(context.Context, event.Event) error         { return nil }
func (discardSink) Status(context.Context, event.CameraStatus) error { return nil }
