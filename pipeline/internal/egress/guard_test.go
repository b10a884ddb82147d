package egress_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/broker"
)

// guardTimeout only stops a hung test; nothing here asserts how fast things are.
const guardTimeout = 30 * time.Second

type Message = mosquittotest.Message

// testBroker is a real broker the guard talks to: mosquitto or the embedded one.
type testBroker struct {
	url     string
	stop    func()
	restart func()
}

func startMosquitto(t *testing.T) testBroker {
	b := mosquittotest.Start(t)
	return testBroker{url: b.URL(), stop: b.Stop, restart: b.Restart}
}

func startEmbedded(t *testing.T) testBroker {
	start := func(addr string) *broker.Broker {
		var err error
		for attempt := 0; attempt < 50; attempt++ { // the old listener may linger briefly
			var b *broker.Broker
			if b, err = broker.New(broker.Config{Addr: addr, Logger: slog.New(slog.DiscardHandler)}); err == nil {
				return b
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("embedded broker on %s: %v", addr, err)
		return nil
	}
	var mu sync.Mutex
	b := start("127.0.0.1:0")
	addr := b.Addr()
	t.Cleanup(func() { mu.Lock(); _ = b.Close(); mu.Unlock() })
	return testBroker{
		url:  "tcp://" + addr,
		stop: func() { mu.Lock(); _ = b.Close(); mu.Unlock() },
		restart: func() {
			mu.Lock()
			defer mu.Unlock()
			_ = b.Close()
			b = start(addr)
		},
	}
}

// forEachBroker runs f against real mosquitto and against the embedded broker.
func forEachBroker(t *testing.T, f func(t *testing.T, b testBroker)) {
	for _, tc := range []struct {
		name  string
		start func(*testing.T) testBroker
	}{{"mosquitto", startMosquitto}, {"embedded", startEmbedded}} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.start(t)) })
	}
}

// gate dials the broker for the guard; the test can cut the connection
// without a DISCONNECT (as a crash or network loss would) and hold off
// reconnects.
type gate struct {
	mu     sync.Mutex
	closed bool
	conns  []net.Conn
}

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errors.New("gate closed by test")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		g.conns = append(g.conns, c)
	}
	return c, err
}

func (g *gate) setClosed(closed bool) {
	g.mu.Lock()
	g.closed = closed
	g.mu.Unlock()
}

// cut ends every connection the guard has open without an MQTT DISCONNECT,
// as a crash or a network failure would: both directions are shut down, so
// the broker sees the TCP stream end and the guard reads EOF. (Closing the
// socket instead would go unnoticed by paho, which takes "use of closed
// network connection" for its own doing.)
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		tc := c.(*net.TCPConn)
		_ = tc.CloseWrite()
		_ = tc.CloseRead()
	}
	g.conns = nil
}

type fixture struct {
	g    *egress.Guard
	gate *gate
	cfg  egress.Config
	logs *syncBuffer
}

func newGuard(t *testing.T, url string, r egress.Rules, edit func(*egress.Config)) fixture {
	t.Helper()
	logs := &syncBuffer{}
	cfg := egress.Config{
		Broker:       url,
		ClientID:     "guard-" + strings.ReplaceAll(t.Name(), "/", "-"),
		TopicPrefix:  "eg/test",
		Device:       "box1",
		ReconnectMax: 200 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	gt := &gate{}
	g, err := egress.NewWithDialer(cfg, r, gt.dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
		defer cancel()
		_ = g.Drain(ctx)
		if t.Failed() {
			t.Logf("guard logs:\n%s", logs.String())
		}
	})
	return fixture{g: g, gate: gt, cfg: cfg, logs: logs}
}

func (f fixture) connect(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	if err := f.g.Connect(ctx); err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitUntil polls cond; the timeout is a failure guard only.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guardTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func payloads(ms []Message, topic string) []string {
	var out []string
	for _, m := range ms {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// lastIs reports whether the last message on topic has this payload.
func lastIs(topic, payload string) func([]Message) bool {
	return func(ms []Message) bool {
		p := payloads(ms, topic)
		return len(p) > 0 && p[len(p)-1] == payload
	}
}

func retainedIs(topic, payload string) func([]Message) bool {
	return func(ms []Message) bool {
		for _, m := range ms {
			if m.Topic == topic && m.Retained && string(m.Payload) == payload {
				return true
			}
		}
		return false
	}
}

const statusTopic = "eg/test/box1/status"

func TestOnlineRetainedAfterConnect(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		f := newGuard(t, b.url, allowAll, nil)
		f.connect(t)
		// A subscriber that arrives later learns the state from the retained message.
		s := mosquittotest.Subscribe(t, b.url, statusTopic)
		s.WaitFor(t, retainedIs(statusTopic, event.DeviceOnline), guardTimeout)
		if st := f.g.Stats(); !st.Connected || st.Connects != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestLastWillOnUncleanConnectionLoss(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		f := newGuard(t, b.url, allowAll, nil)
		f.connect(t)
		live := mosquittotest.Subscribe(t, b.url, statusTopic)
		live.WaitFor(t, lastIs(statusTopic, event.DeviceOnline), guardTimeout)

		// Keep the guard from reconnecting, then drop its TCP connection
		// without a DISCONNECT: the broker must publish the Last Will.
		f.gate.setClosed(true)
		f.gate.cut()
		live.WaitFor(t, lastIs(statusTopic, event.DeviceOffline), guardTimeout)
		mosquittotest.Subscribe(t, b.url, statusTopic).
			WaitFor(t, retainedIs(statusTopic, event.DeviceOffline), guardTimeout)

		// Once the network is back, the guard reconnects and says online again.
		f.gate.setClosed(false)
		live.WaitFor(t, lastIs(statusTopic, event.DeviceOnline), guardTimeout)
		waitUntil(t, "second connect counted", func() bool { return f.g.Stats().Connects == 2 })
	})
}

func TestCloseDisconnectsCleanlyWithOffline(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		f := newGuard(t, b.url, allowAll, nil)
		f.connect(t)
		live := mosquittotest.Subscribe(t, b.url, statusTopic)
		live.WaitFor(t, lastIs(statusTopic, event.DeviceOnline), guardTimeout)

		if err := f.g.Drain(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		live.WaitFor(t, lastIs(statusTopic, event.DeviceOffline), guardTimeout)
		mosquittotest.Subscribe(t, b.url, statusTopic).
			WaitFor(t, retainedIs(statusTopic, event.DeviceOffline), guardTimeout)

		if err := f.g.PublishEvent(ctxT(t), sampleEvent()); !errors.Is(err, egress.ErrClosed) {
			t.Fatalf("PublishEvent after Close = %v, want ErrClosed", err)
		}
		if err := f.g.Drain(ctxT(t)); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func decodeEvents(t *testing.T, ms []Message, topic string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range payloads(ms, topic) {
		var m map[string]any
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			t.Fatalf("payload %q: %v", p, err)
		}
		out = append(out, m)
	}
	return out
}

func TestPublishEventAppliesPolicy(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		const topic = "eg/test/box1/cam1/events"
		f := newGuard(t, b.url, bare, nil)
		f.connect(t)
		s := mosquittotest.Subscribe(t, b.url, "eg/test/box1/+/events")
		ctx := ctxT(t)

		suppressed := sampleEvent()
		suppressed.Type = "loitering"
		if err := f.g.PublishEvent(ctx, suppressed); !errors.Is(err, egress.ErrSuppressed) {
			t.Fatalf("loitering under %q: err = %v, want ErrSuppressed", bare.name, err)
		}
		ev := sampleEvent()
		if err := f.g.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		// Swap to rules that allow everything: the next event carries all fields
		// and names the new policy.
		f.g.SetRules(allowAll)
		ev2 := sampleEvent()
		ev2.Type = "loitering"
		if err := f.g.PublishEvent(ctx, ev2); err != nil {
			t.Fatal(err)
		}
		// nil rules fail closed.
		f.g.SetRules(nil)
		if err := f.g.PublishEvent(ctx, sampleEvent()); !errors.Is(err, egress.ErrSuppressed) {
			t.Fatalf("under nil rules: err = %v, want ErrSuppressed", err)
		}

		// QoS 1 on one connection keeps order, so two messages means the
		// suppressed ones never reached the broker.
		msgs := s.WaitFor(t, func(ms []Message) bool { return len(payloads(ms, topic)) >= 2 }, guardTimeout)
		got := decodeEvents(t, msgs, topic)
		if len(got) != 2 {
			t.Fatalf("want 2 events, got:\n%s", mosquittotest.Dump(msgs))
		}
		first, second := got[0], got[1]
		if first["id"] != ev.ID || second["id"] != ev2.ID {
			t.Fatalf("unexpected events:\n%s", mosquittotest.Dump(msgs))
		}
		for _, k := range []string{"zone", "count", "boxes"} {
			if _, ok := first[k]; ok {
				t.Errorf("field %q left the device under policy %q", k, bare.name)
			}
			if _, ok := second[k]; !ok {
				t.Errorf("field %q missing under policy %q", k, allowAll.name)
			}
		}
		if first["score"] != 0.0 || second["score"] != 0.75 {
			t.Errorf("scores = %v, %v; want 0 (withheld), 0.75", first["score"], second["score"])
		}
		wantPolicy := func(m map[string]any, r rules) {
			p, _ := m["policy"].(map[string]any)
			if p["name"] != r.name || p["sha256"] != r.sum {
				t.Errorf("policy = %v, want %s/%s", m["policy"], r.name, r.sum)
			}
		}
		wantPolicy(first, bare)
		wantPolicy(second, allowAll)

		st := f.g.Stats()
		if st.Published != 2 || st.Suppressed != 2 || st.Stripped != 4 || st.Failed != 0 || st.Pending != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestPublishEventRejectsInvalid(t *testing.T) {
	b := startEmbedded(t)
	f := newGuard(t, b.url, allowAll, nil)
	f.connect(t)
	for _, tc := range []struct {
		name   string
		mutate func(*event.Event)
	}{
		{"camera with slash", func(e *event.Event) { e.Camera = "a/b" }},
		{"camera wildcard", func(e *event.Event) { e.Camera = "+" }},
		{"empty camera", func(e *event.Event) { e.Camera = "" }},
		{"other device", func(e *event.Event) { e.Device = "box2" }},
		{"no id", func(e *event.Event) { e.ID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := sampleEvent()
			tc.mutate(&ev)
			if err := f.g.PublishEvent(ctxT(t), ev); err == nil || errors.Is(err, egress.ErrSuppressed) {
				t.Fatalf("err = %v, want a validation error", err)
			}
		})
	}
	if st := f.g.Stats(); st.Failed != 5 || st.Published != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCameraStatusRetained(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		const topic = "eg/test/box1/cam1/status"
		f := newGuard(t, b.url, allowAll, nil)
		f.connect(t)
		st := event.CameraStatus{Camera: "cam1", State: event.StateStreaming, Codec: "h264",
			Width: 1920, Height: 1080, FPS: 25, Since: event.Time{Time: time.Now()},
			Error: "earlier: rtsp://admin:hunter2@10.0.0.5/s1 timed out"}
		if err := f.g.PublishCameraStatus(ctxT(t), st); err != nil {
			t.Fatal(err)
		}
		msgs := mosquittotest.Subscribe(t, b.url, "eg/test/box1/+/status").
			WaitFor(t, func(ms []Message) bool { return len(ms) > 0 }, guardTimeout)
		var got event.CameraStatus
		if err := json.Unmarshal(msgs[0].Payload, &got); err != nil {
			t.Fatal(err)
		}
		if !msgs[0].Retained || msgs[0].Topic != topic || got.Device != "box1" || got.State != event.StateStreaming || got.Width != 1920 {
			t.Fatalf("got %+v from:\n%s", got, mosquittotest.Dump(msgs))
		}
		if strings.Contains(string(msgs[0].Payload), "hunter2") || !strings.Contains(got.Error, "rtsp://xxxxx@10.0.0.5") {
			t.Errorf("camera credentials not masked: %q", got.Error)
		}

		bad := st
		bad.Camera = "cam#"
		if err := f.g.PublishCameraStatus(ctxT(t), bad); err == nil {
			t.Fatal("camera with '#' accepted")
		}
	})
}

func TestPublishRetained(t *testing.T) {
	b := startEmbedded(t)
	f := newGuard(t, b.url, allowAll, nil)
	f.connect(t)
	rec := map[string]string{"name": "open", "sha256": "aaaa"}
	if err := f.g.PublishRetained(ctxT(t), "policy", rec); err != nil {
		t.Fatal(err)
	}
	mosquittotest.Subscribe(t, b.url, "eg/test/box1/policy").
		WaitFor(t, retainedIs("eg/test/box1/policy", `{"name":"open","sha256":"aaaa"}`), guardTimeout)

	if err := f.g.PublishRetained(ctxT(t), "policy/error", rec); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"status", "cam1/events", "cam1/status", "a/+", "#", "", "a//b", "/a"} {
		if err := f.g.PublishRetained(ctxT(t), sub, rec); err == nil {
			t.Errorf("subtopic %q accepted", sub)
		}
	}
	if err := f.g.PublishRetained(ctxT(t), "x", func() {}); err == nil {
		t.Error("unencodable value accepted")
	}
}

// TestEventsQueuedWhileBrokerDown stops the broker under a connected guard,
// publishes, restarts the broker and expects every event to arrive.
func TestEventsQueuedWhileBrokerDown(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		f := newGuard(t, b.url, allowAll, nil)
		f.connect(t)
		b.stop()
		waitUntil(t, "guard to notice the broker is gone", func() bool { return !f.g.Stats().Connected })
		// Hold reconnects until the test's subscriber is back, so no event
		// can arrive before anyone listens.
		f.gate.setClosed(true)
		ids, errs := publishConcurrently(t, f.g, 5)
		deliveredAfterRestart(t, b, f, ids, errs)
		mosquittotest.Subscribe(t, b.url, statusTopic).
			WaitFor(t, retainedIs(statusTopic, event.DeviceOnline), guardTimeout)
	})
}

// TestEventsQueuedBeforeFirstConnect covers a broker that is down when the
// service starts: Connect gives up, publishes queue, and arrive later.
func TestEventsQueuedBeforeFirstConnect(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		b.stop()
		f := newGuard(t, b.url, allowAll, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Connect must not wait for a broker that is down
		if err := f.g.Connect(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Connect with broker down = %v, want context.Canceled", err)
		}
		f.gate.setClosed(true)
		ids, errs := publishConcurrently(t, f.g, 3)
		deliveredAfterRestart(t, b, f, ids, errs)
	})
}

// deliveredAfterRestart restarts the broker, subscribes and only then
// lets f's guard reconnect (held at its gate, so no event can arrive
// before anyone listens), and expects every event of ids to arrive and
// their publishes (errs) to succeed.
func deliveredAfterRestart(t *testing.T, b testBroker, f fixture, ids []string, errs <-chan error) {
	t.Helper()
	b.restart()
	s := mosquittotest.Subscribe(t, b.url, "eg/test/box1/+/events")
	f.gate.setClosed(false)
	waitForIDs(t, s, ids)
	for range ids {
		// Queued across a reconnect, paho reports the re-send, not the
		// broker's acknowledgement: the guard says ErrQueued so that a
		// durable outbox keeps the event (delivered above all the same).
		if err := <-errs; err != nil && !errors.Is(err, egress.ErrQueued) {
			t.Errorf("PublishEvent: %v", err)
		}
	}
}

// publishConcurrently starts n PublishEvent calls and returns once all n
// messages are queued in the guard.
func publishConcurrently(t *testing.T, g *egress.Guard, n int) ([]string, <-chan error) {
	t.Helper()
	errs := make(chan error, n)
	ids := make([]string, n)
	for i := range ids {
		ev := sampleEvent()
		ev.Seq = uint64(i)
		ids[i] = ev.ID
		go func() { errs <- g.PublishEvent(context.Background(), ev) }()
	}
	waitUntil(t, fmt.Sprintf("%d queued messages", n), func() bool { return g.Stats().Pending == n })
	return ids, errs
}

func waitForIDs(t *testing.T, s *mosquittotest.Subscription, ids []string) {
	t.Helper()
	s.WaitFor(t, mosquittotest.HasIDs(ids...), guardTimeout)
}

func TestBacklogBounded(t *testing.T) {
	b := startEmbedded(t)
	f := newGuard(t, b.url, allowAll, func(c *egress.Config) { c.MaxPending = 2 })
	f.connect(t)
	b.stop()
	waitUntil(t, "guard to notice the broker is gone", func() bool { return !f.g.Stats().Connected })
	f.gate.setClosed(true)

	ctx, cancel := context.WithCancel(context.Background())
	for i := 0; i < 2; i++ {
		done := make(chan error, 1)
		go func() { done <- f.g.PublishEvent(ctx, sampleEvent()) }()
		waitUntil(t, "message queued", func() bool { return f.g.Stats().Pending == i+1 })
		defer func() {
			if err := <-done; !errors.Is(err, egress.ErrQueued) {
				t.Errorf("abandoned publish = %v, want ErrQueued", err)
			}
		}()
	}
	if err := f.g.PublishEvent(ctx, sampleEvent()); !errors.Is(err, egress.ErrBacklog) {
		t.Fatalf("third publish = %v, want ErrBacklog", err)
	}
	cancel() // the two waiting publishers give up; their messages stay queued
	waitUntil(t, "publishers to return", func() bool { return f.g.Stats().Pending == 2 })
	if st := f.g.Stats(); st.Dropped != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	const secret = "s3cr3t-pw"
	ok := egress.Config{Broker: "tcp://127.0.0.1:1883", TopicPrefix: "eg", Device: "box1"}
	tests := []struct {
		name  string
		edit  func(*egress.Config)
		rules egress.Rules
	}{
		{"credentials in URL", func(c *egress.Config) { c.Broker = "tcp://user:" + secret + "@127.0.0.1:1883" }, allowAll},
		{"unparsable URL with secret", func(c *egress.Config) { c.Broker = "tcp://u:" + secret + "@[::1" }, allowAll},
		{"unknown scheme", func(c *egress.Config) { c.Broker = "http://127.0.0.1" }, allowAll},
		{"no host", func(c *egress.Config) { c.Broker = "tcp://" }, allowAll},
		{"prefix wildcard", func(c *egress.Config) { c.TopicPrefix = "eg/#" }, allowAll},
		{"prefix $SYS", func(c *egress.Config) { c.TopicPrefix = "$SYS" }, allowAll},
		{"empty prefix", func(c *egress.Config) { c.TopicPrefix = "" }, allowAll},
		{"device with slash", func(c *egress.Config) { c.Device = "a/b" }, allowAll},
		{"empty device", func(c *egress.Config) { c.Device = "" }, allowAll},
		{"no rules", func(*egress.Config) {}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := egress.New(cfg, tc.rules)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error reveals the password: %v", err)
			}
		})
	}
	if _, err := egress.New(ok, allowAll); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

// TestCredentialsNeverLogged runs a full session with a password (mosquitto
// accepts any with allow_anonymous) through connect, connection loss, an
// outage and close, and checks the password appears in no log line or error.
func TestCredentialsNeverLogged(t *testing.T) {
	const secret = "s3cr3t-pw"
	b := startMosquitto(t)
	f := newGuard(t, b.url, allowAll, func(c *egress.Config) { c.Username, c.Password = "edge", secret })
	f.connect(t)
	slog.New(slog.NewTextHandler(f.logs, nil)).Info("config", "cfg", f.cfg) // LogValue redacts

	f.gate.setClosed(true)
	f.gate.cut()
	waitUntil(t, "connection loss", func() bool { return !f.g.Stats().Connected })
	waitUntil(t, "unreachable logged", func() bool { return strings.Contains(f.logs.String(), "unreachable") })
	f.gate.setClosed(false)
	waitUntil(t, "reconnect", func() bool { return f.g.Stats().Connects == 2 })
	if err := f.g.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// A guard that cannot reach its broker reports why, without the password.
	b.stop()
	f2 := newGuard(t, b.url, allowAll, func(c *egress.Config) { c.Password = secret })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := f2.g.Connect(ctx)
	if err == nil {
		t.Fatal("Connect to a stopped broker succeeded")
	}

	for what, text := range map[string]string{"log": f.logs.String() + f2.logs.String(), "error": err.Error()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s reveals the password:\n%s", what, text)
		}
	}
	for _, want := range []string{"mqtt connected", "connection lost", "unreachable", "mqtt disconnected", "auth=true"} {
		if !strings.Contains(f.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, f.logs.String())
		}
	}
}

// syncBuffer collects what goroutines of the code under test log.
type syncBuffer = testlog.Buffer
