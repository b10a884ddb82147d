// Package broker embeds an MQTT broker (mochi) so edgeguard works with zero
// installs: the egress guard publishes to it and a local consumer or a
// bridge subscribes. Sites with their own broker do not start it.
//
// Every client is allowed to connect, publish and subscribe. That is only
// acceptable because the default listener is loopback-only: the box's own
// processes are the only clients. Binding to another address exposes an
// unauthenticated broker, so New logs a warning when asked to.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddr is loopback-only on purpose; see the package comment.
const DefaultAddr = "127.0.0.1:1883"

// Config configures the embedded broker.
type Config struct {
	// Addr is host:port to listen on; "" means DefaultAddr. Port 0 picks a
	// free port (tests), which Addr reports.
	Addr   string
	Logger *slog.Logger
	// Observer, if set, sees every message clients publish and every Last
	// Will the broker sends (the demo prints them). It runs on the
	// publishing client's goroutine, so it must not block; payload is a copy.
	Observer func(topic string, payload []byte, retained bool)
}

// Broker is a running embedded broker.
type Broker struct {
	srv       *mqtt.Server
	tcp       *listeners.TCP
	log       *slog.Logger
	closeOnce sync.Once
}

// New listens on cfg.Addr and serves until Close. (mochi runs its own
// goroutines from here on; the broker needs no Run.)
func New(cfg Config) (*Broker, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "broker")
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", addr, err)
	}

	// mochi logs every connect and disconnect at info; only its warnings and
	// errors are state changes worth a line in edgeguard's log.
	srv := mqtt.New(&mqtt.Options{
		Logger:       slog.New(minLevel{h: log.Handler(), min: slog.LevelWarn}),
		InlineClient: false,
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	if cfg.Observer != nil {
		if err := srv.AddHook(&observeHook{fn: cfg.Observer}, nil); err != nil {
			return nil, fmt.Errorf("broker: observer hook: %w", err)
		}
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b := &Broker{srv: srv, tcp: tcp, log: log}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Warn("embedded broker listens beyond loopback and accepts every client", "addr", b.Addr())
	} else {
		// Debug: the service announces the address itself.
		log.Debug("embedded broker listening", "addr", b.Addr())
	}
	return b, nil
}

// Addr is the address actually listened on (host:port, real port if 0 was asked).
func (b *Broker) Addr() string { return b.tcp.Address() }

// URL is Addr in the form the egress guard's Config.Broker expects.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Close disconnects every client and stops listening. It is idempotent.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		err = b.srv.Close()
		b.log.Info("embedded broker stopped")
	})
	return err
}

// observeHook passes published messages and sent wills to Config.Observer.
type observeHook struct {
	mqtt.HookBase
	fn func(topic string, payload []byte, retained bool)
}

func (h *observeHook) ID() string { return "edgeguard-observer" }

func (h *observeHook) Provides(b byte) bool {
	return b == mqtt.OnPublished || b == mqtt.OnWillSent
}

func (h *observeHook) OnPublished(_ *mqtt.Client, pk packets.Packet) { h.observe(pk) }

func (h *observeHook) OnWillSent(_ *mqtt.Client, pk packets.Packet) { h.observe(pk) }

func (h *observeHook) observe(pk packets.Packet) {
	h.fn(pk.TopicName, append([]byte(nil), pk.Payload...), pk.FixedHeader.Retain)
}

// minLevel drops records below min before they reach the wrapped handler.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}
