// Package broker embeds an MQTT broker (mochi) so edgeguard works with zero
// installs: the egress guard publishes to it and a local consumer or a
// bridge subscribes. Sites with their own broker do not start it.
//
// Every client of the plain listener is allowed to connect, publish and
// subscribe. That is only acceptable because the default listener is
// loopback-only: the box's own processes are the only clients. Binding to
// another address exposes an unauthenticated broker, so New logs a warning
// when asked to. Clients off the box belong on the TLS listener (Config.TLS),
// which admits only clients with a certificate of the configured CA and
// tells the box who sent each command (see CommandTopic).
package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/oversight"
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
	// TLS, if set, adds a mutual-TLS listener.
	TLS *TLS
	// CommandTopic reports whether a topic is one of the box's commands.
	// With TLS, the broker seals every message published on such a topic,
	// by any client of either listener, into an oversight.Sealed envelope
	// naming the publisher's verified certificate subject ("" for a client
	// of the plain listener), so the box knows who sent it. Required with
	// TLS.
	CommandTopic func(topic string) bool
}

// TLS is the broker's TLS listener: its certificate, and the CA a client's
// certificate must chain to (a client without one fails the handshake).
type TLS struct {
	Addr              string // host:port; port 0 picks a free port (TLSAddr reports it)
	CertFile, KeyFile string // PEM
	ClientCAFile      string // PEM, one or more CA certificates
}

// Broker is a running embedded broker.
type Broker struct {
	srv       *mqtt.Server
	tcp       *listeners.TCP
	tlsLn     *listeners.TCP // nil without Config.TLS
	log       *slog.Logger
	closeOnce sync.Once
}

// tlsListenerID names the TLS listener in mochi, which tells the seal hook
// where a client connected.
const tlsListenerID = "tls"

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
	var tlsLn *listeners.TCP
	if cfg.TLS != nil {
		if cfg.CommandTopic == nil {
			return nil, errors.New("broker: TLS without CommandTopic")
		}
		tc, err := serverTLS(*cfg.TLS)
		if err != nil {
			return nil, err
		}
		if err := srv.AddHook(&sealHook{isCommand: cfg.CommandTopic}, nil); err != nil {
			return nil, fmt.Errorf("broker: seal hook: %w", err)
		}
		tlsLn = listeners.NewTCP(listeners.Config{ID: tlsListenerID, Address: cfg.TLS.Addr, TLSConfig: tc})
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
	}
	if tlsLn != nil {
		if err := srv.AddListener(tlsLn); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("broker: TLS listener on %s: %w", cfg.TLS.Addr, err)
		}
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b := &Broker{srv: srv, tcp: tcp, tlsLn: tlsLn, log: log}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Warn("embedded broker listens beyond loopback and accepts every client", "addr", b.Addr())
	} else {
		// Debug: the service announces the address itself.
		log.Debug("embedded broker listening", "addr", b.Addr())
	}
	if tlsLn != nil {
		log.Info("embedded broker TLS listener: clients need a certificate of the client CA", "addr", b.TLSAddr(), "client_ca_file", cfg.TLS.ClientCAFile)
	}
	return b, nil
}

// serverTLS is the TLS listener's configuration: TLS 1.2 or newer, and a
// client certificate required and verified against the client CA. Every
// file problem is an error naming the file: a listener that cannot check
// its clients does not open.
func serverTLS(t TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("broker: TLS certificate %s and key %s: %w", t.CertFile, t.KeyFile, err)
	}
	pem, err := os.ReadFile(t.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("broker: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("broker: client CA %s holds no PEM certificate", t.ClientCAFile)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// TLSAddr is the TLS listener's address ("" without Config.TLS).
func (b *Broker) TLSAddr() string {
	if b.tlsLn == nil {
		return ""
	}
	return b.tlsLn.Address()
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

// sealHook wraps every command in an envelope naming its publisher's
// certificate (oversight.Seal). It seals what every client publishes on a
// command topic, whichever listener it came through, so an envelope the
// box receives is always the broker's own.
type sealHook struct {
	mqtt.HookBase
	isCommand func(topic string) bool
}

func (h *sealHook) ID() string { return "edgeguard-seal" }

func (h *sealHook) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *sealHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !h.isCommand(pk.TopicName) {
		return pk, nil
	}
	pk.Payload = oversight.Seal(certificateSubject(cl), pk.Payload)
	return pk, nil
}

// certificateSubject is the verified subject of cl's client certificate,
// "" for a client of the plain listener. (The handshake has completed: the
// client's CONNECT was read through it.)
func certificateSubject(cl *mqtt.Client) string {
	if cl == nil || cl.Net.Listener != tlsListenerID {
		return ""
	}
	c, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return ""
	}
	st := c.ConnectionState()
	if !st.HandshakeComplete || len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.String()
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
