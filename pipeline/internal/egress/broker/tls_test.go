package broker_test

import (
	"crypto/tls"
	"log/slog"
	"strings"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/broker"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/oversight"
)

// isCommand stands in for the box's command topics.
func isCommand(topic string) bool { return strings.HasSuffix(topic, "/analysis/set") }

func startTLS(t *testing.T, pki *mosquittotest.PKI) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		Addr:         "127.0.0.1:0",
		Logger:       slog.New(slog.DiscardHandler),
		TLS:          &broker.TLS{Addr: "127.0.0.1:0", CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile},
		CommandTopic: isCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func connect(t *testing.T, url, id string, tc *tls.Config) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetProtocolVersion(4).SetConnectRetry(false).SetAutoReconnect(false)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(guard) {
		t.Fatal("connect: no answer")
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(100) })
	}
	return c, tok.Error()
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// TestTLSListenerSealsCommands: over the TLS listener only a client with a
// certificate of the client CA connects; every command, from either
// listener, reaches a subscriber sealed with its publisher's verified
// subject ("" from the plain listener), also one that carries a forged
// envelope; other topics pass unchanged.
func TestTLSListenerSealsCommands(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	b := startTLS(t, pki)
	if b.TLSAddr() == "" || b.TLSAddr() == b.Addr() || strings.HasSuffix(b.TLSAddr(), ":0") {
		t.Fatalf("TLSAddr() = %q, Addr() = %q", b.TLSAddr(), b.Addr())
	}
	tlsURL := "ssl://" + b.TLSAddr()
	sub := mosquittotest.Subscribe(t, b.URL(), "eg/#")

	// The handshake refuses a client without a certificate, and one whose
	// certificate another CA issued.
	noCert := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.ClientTLS().RootCAs}
	if _, err := connect(t, tlsURL, "nocert", noCert); err == nil {
		t.Error("a client without a certificate connected to the TLS listener")
	}
	other := mosquittotest.NewPKI(t).ClientTLS()
	other.RootCAs = pki.ClientTLS().RootCAs // trusts the broker, but its certificate is of another CA
	if _, err := connect(t, tlsURL, "othercert", other); err == nil {
		t.Error("a client with a certificate of another CA connected")
	}
	if _, err := connect(t, "tcp://"+b.TLSAddr(), "plain-on-tls", nil); err == nil {
		t.Error("a plain client connected to the TLS listener")
	}

	alice, err := connect(t, tlsURL, "alice", pki.ClientTLS())
	if err != nil {
		t.Fatalf("client with a certificate of the CA: %v", err)
	}
	local, err := connect(t, b.URL(), "local", nil)
	if err != nil {
		t.Fatal(err)
	}
	const cmd = `{"state":"running","operator":"alice"}`
	forged := string(oversight.Seal("CN=mallory", []byte(cmd)))
	publish(t, alice, "eg/dev/cam1/analysis/set", cmd)
	publish(t, local, "eg/dev/cam2/analysis/set", cmd)
	publish(t, local, "eg/dev/cam3/analysis/set", forged)
	publish(t, alice, "eg/dev/cam1/status", "online")

	want := map[string]struct{ subject, payload string }{
		"eg/dev/cam1/analysis/set": {"CN=edgeguard-test-client", cmd},
		"eg/dev/cam2/analysis/set": {"", cmd},
		"eg/dev/cam3/analysis/set": {"", forged},
	}
	ms := sub.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(ms) == 4 }, guard)
	for _, m := range ms {
		if m.Topic == "eg/dev/cam1/status" {
			if string(m.Payload) != "online" {
				t.Errorf("a message that is no command was changed: %q", m.Payload)
			}
			continue
		}
		s, err := oversight.Unseal(m.Payload)
		w := want[m.Topic]
		if err != nil || s.Subject != w.subject || string(s.Payload) != w.payload {
			t.Errorf("%s: got %+v, %v; want subject %q, payload %q", m.Topic, s, err, w.subject, w.payload)
		}
	}
}

// TestTLSBadFiles: a listener that cannot check its clients does not
// open; the error names the file.
func TestTLSBadFiles(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	for _, tc := range []struct {
		name string
		tls  broker.TLS
		want string
	}{
		{"missing client CA", broker.TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"},
		{"client CA is no certificate", broker.TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.ServerKey}, "holds no PEM certificate"},
		{"key of another certificate", broker.TLS{CertFile: pki.ServerCert, KeyFile: pki.ClientKey, ClientCAFile: pki.CAFile}, pki.ServerCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.tls.Addr = "127.0.0.1:0"
			b, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), TLS: &tc.tls, CommandTopic: isCommand})
			if err == nil {
				_ = b.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
