package broker_test

import (
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/broker"
)

const guard = 20 * time.Second // failure guard only, never a speed assertion

// syncBuffer collects what goroutines of the code under test log.
type syncBuffer = testlog.Buffer

func start(t *testing.T, logs *syncBuffer) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		Addr:   "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestRetainedPublishSubscribe(t *testing.T) {
	logs := &syncBuffer{}
	b := start(t, logs)
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q, want the real loopback port", b.Addr())
	}

	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("pub").SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Publish("eg/dev/status", 1, true, "online"); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	c.Disconnect(250)

	s := mosquittotest.Subscribe(t, b.URL(), "eg/#")
	s.WaitFor(t, func(ms []mosquittotest.Message) bool {
		return len(ms) == 1 && ms[0].Retained && string(ms[0].Payload) == "online"
	}, guard)

	// mochi's own info lines (hooks, listeners, connects) are filtered; ours remain.
	out := logs.String()
	if strings.Contains(out, "attached listener") || strings.Contains(out, "added hook") {
		t.Errorf("mochi info logs leaked through:\n%s", out)
	}
	if !strings.Contains(out, "embedded broker listening") {
		t.Errorf("missing own state-change log line:\n%s", out)
	}
}

func TestCloseReleasesPort(t *testing.T) {
	b := start(t, &syncBuffer{})
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	b2, err := broker.New(broker.Config{Addr: addr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	_ = b2.Close()
}

func TestNewErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, tc := range []struct{ name, addr string }{
		{"no port", "127.0.0.1"},
		{"port in use", busy.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := broker.New(broker.Config{Addr: tc.addr, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				_ = b.Close()
				t.Fatalf("New(%q) succeeded", tc.addr)
			}
		})
	}
}

func TestNonLoopbackWarns(t *testing.T) {
	logs := &syncBuffer{}
	b, err := broker.New(broker.Config{
		Addr:   "0.0.0.0:0",
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("no warning for a non-loopback listener:\n%s", logs.String())
	}
}

type observed struct {
	topic, payload string
	retained       bool
}

func TestObserverSeesPublishesAndWills(t *testing.T) {
	var mu sync.Mutex
	var seen []observed
	b, err := broker.New(broker.Config{
		Addr:   "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler),
		Observer: func(topic string, payload []byte, retained bool) {
			mu.Lock()
			seen = append(seen, observed{topic, string(payload), retained})
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// A client with a Will whose TCP connection ends without DISCONNECT.
	var conn net.Conn
	opts := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("obs").SetProtocolVersion(4).
		SetAutoReconnect(false).SetBinaryWill("w/status", []byte("offline"), 1, true).
		SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			conn = c
			return c, err
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Publish("w/event", 1, false, "e1"); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	_ = conn.(*net.TCPConn).CloseWrite()

	want := []observed{{"w/event", "e1", false}, {"w/status", "offline", true}}
	deadline := time.Now().Add(guard)
	for {
		mu.Lock()
		got := append([]observed(nil), seen...)
		mu.Unlock()
		if len(got) >= len(want) {
			if got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("observed %+v, want %+v", got, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed %+v, want %+v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Disconnect(0)
}
