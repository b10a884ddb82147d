package egress_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// retainedLatest reports whether every topic in want has a retained
// message whose last payload is want[topic].
func retainedLatest(want map[string]string) func([]Message) bool {
	return func(ms []Message) bool {
		last := map[string]string{}
		for _, m := range ms {
			last[m.Topic] = string(m.Payload)
		}
		for topic, p := range want {
			if last[topic] != p {
				return false
			}
		}
		return true
	}
}

// TestRetainedRepublishedAfterEmptyBroker (issue 18 item 2): a broker
// without persistence that restarts has forgotten every retained message.
// After the reconnect the guard publishes all of them again, each with its
// latest value, so a subscriber that arrives later sees the audit record,
// the rejected edit, the health and each camera's state, not only "online".
func TestRetainedRepublishedAfterEmptyBroker(t *testing.T) {
	mq := mosquittotest.Start(t) // no persistence: comes back empty
	f := newGuard(t, mq.URL(), allowAll, nil)
	f.connect(t)

	ctx := ctxT(t)
	if err := f.g.PublishRetained(ctx, "policy", map[string]string{"name": "open", "sha256": "aaaa"}); err != nil {
		t.Fatal(err)
	}
	if err := f.g.PublishRetained(ctx, "policy/error", map[string]string{"error": "line 3: unknown field"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // only the latest health counts
		if err := f.g.PublishRetained(ctx, "health", map[string]int{"depth": i}); err != nil {
			t.Fatal(err)
		}
	}
	since := event.Time{Time: time.Date(2026, 11, 23, 10, 3, 57, 0, time.UTC)}
	for _, st := range []event.CameraStatus{
		{Camera: "cam1", State: event.StateConnecting, Since: since},
		{Camera: "cam1", State: event.StateError, Error: "unauthorized", Since: since},
		{Camera: "cam2", State: event.StateStreaming, Codec: "h264", Width: 640, Height: 360, FPS: 25, Since: since},
	} {
		if err := f.g.PublishCameraStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	status := func(cam string, st event.CameraStatus) string {
		st.Device, st.Camera, st.Since = "box1", cam, since
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := map[string]string{
		statusTopic:                 event.DeviceOnline,
		"eg/test/box1/policy":       `{"name":"open","sha256":"aaaa"}`,
		"eg/test/box1/policy/error": `{"error":"line 3: unknown field"}`,
		"eg/test/box1/health":       `{"depth":2}`,
		"eg/test/box1/cam1/status":  status("cam1", event.CameraStatus{State: event.StateError, Error: "unauthorized"}),
		"eg/test/box1/cam2/status": status("cam2", event.CameraStatus{State: event.StateStreaming, Codec: "h264",
			Width: 640, Height: 360, FPS: 25}),
	}
	mosquittotest.Subscribe(t, mq.URL(), "eg/test/box1/#").WaitFor(t, retainedLatest(want), guardTimeout)

	mq.Kill() // as a crash: nothing saved, and there is no persistence anyway
	waitUntil(t, "guard to notice the broker is gone", func() bool { return !f.g.Stats().Connected })
	mq.Restart()
	waitUntil(t, "reconnect", func() bool { return f.g.Stats().Connects == 2 })

	msgs := mosquittotest.Subscribe(t, mq.URL(), "eg/test/box1/#").WaitFor(t, retainedLatest(want), guardTimeout)
	for _, m := range msgs {
		if _, ok := want[m.Topic]; !ok {
			t.Errorf("unexpected retained topic %s: %s", m.Topic, m.Payload)
		}
	}
}

// TestRetainedRepublishKeepsNewest: values published while re-publishes
// run (reconnects, forced here through the test hook) never end behind an
// older value: the broker's retained message is the last one published.
func TestRetainedRepublishKeepsNewest(t *testing.T) {
	mq := mosquittotest.Start(t)
	f := newGuard(t, mq.URL(), allowAll, nil)
	f.connect(t)
	const n = 200
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // rounds overlap every publish, the last one included
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			egress.RepublishNow(f.g)
		}
	}()
	ctx := ctxT(t)
	for i := range n {
		if err := f.g.PublishRetained(ctx, "health", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
		if err := f.g.PublishCameraStatus(ctx, event.CameraStatus{Camera: "cam1", State: event.StateOffline,
			Error: fmt.Sprint(i), Since: event.Time{Time: time.Unix(1, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done // no round after this: it would hide an older value left by a racing one
	last := event.CameraStatus{Device: "box1", Camera: "cam1", State: event.StateOffline, Error: fmt.Sprint(n - 1), Since: event.Time{Time: time.Unix(1, 0)}}
	b, _ := json.Marshal(last)
	mosquittotest.Subscribe(t, mq.URL(), "eg/test/box1/#").WaitFor(t, retainedLatest(map[string]string{
		"eg/test/box1/health":      fmt.Sprintf(`{"n":%d}`, n-1),
		"eg/test/box1/cam1/status": string(b),
	}), guardTimeout)
}
