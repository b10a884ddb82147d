package egress_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// secret is the broker password; no error or log line may contain it.
const secret = "Pw-7f3kq-Zeb9"

// secureBroker is mosquitto with TLS (certificates from a CA the test
// generates), a password file and no anonymous access.
type secureBroker struct {
	b      *mosquittotest.Broker
	pki    *mosquittotest.PKI
	pwFile string // the client's password file, as an operator writes it
}

func startSecure(t *testing.T, requireCert bool) secureBroker {
	t.Helper()
	pki := mosquittotest.NewPKI(t)
	b := mosquittotest.StartWith(t, mosquittotest.Options{
		TLS: pki.Server(), RequireCertificate: requireCert,
		PasswordFile: mosquittotest.NewPasswordFile(t, "edge", secret),
	})
	pw := filepath.Join(t.TempDir(), "mqtt-password")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secureBroker{b: b, pki: pki, pwFile: pw}
}

// guardFor builds the guard the way the service does: config.MQTT →
// Password() and TLSConfig() → egress.Config.
func guardFor(t *testing.T, m config.MQTT) (fixture, error) {
	t.Helper()
	tlsCfg, err := m.TLSConfig()
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	pw, err := m.Password()
	if err != nil {
		t.Fatalf("Password: %v", err)
	}
	f := newGuard(t, m.Broker, allowAll, func(c *egress.Config) {
		c.Username, c.Password, c.TLS = m.Username, pw, tlsCfg
	})
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	return f, f.g.Connect(ctx)
}

func TestTLSAndPassword(t *testing.T) {
	other := mosquittotest.NewPKI(t) // a CA the broker's certificate is not from
	tests := []struct {
		name        string
		requireCert bool
		tls         func(sb secureBroker) config.TLS
		password    string // "" → the right one, from the file
		wantErr     error  // nil: connects and publishes
		wantText    string // in the error
		wantLog     string // in the guard's log
	}{
		{name: "CA and password", tls: func(sb secureBroker) config.TLS { return config.TLS{CAFile: sb.pki.CAFile} }},
		{name: "mutual TLS", requireCert: true, tls: func(sb secureBroker) config.TLS {
			return config.TLS{CAFile: sb.pki.CAFile, CertFile: sb.pki.ClientCert, KeyFile: sb.pki.ClientKey}
		}},
		{name: "server name given", tls: func(sb secureBroker) config.TLS {
			return config.TLS{CAFile: sb.pki.CAFile, ServerName: "localhost"}
		}},
		{name: "wrong CA", tls: func(sb secureBroker) config.TLS { return config.TLS{CAFile: other.CAFile} },
			wantErr: egress.ErrUntrustedBroker, wantText: "mqtt.tls.ca_file"},
		{name: "system CAs do not know a private CA", tls: func(secureBroker) config.TLS { return config.TLS{} },
			wantErr: egress.ErrUntrustedBroker, wantText: "certificate"},
		{name: "certificate for another name", tls: func(sb secureBroker) config.TLS {
			return config.TLS{CAFile: sb.pki.CAFile, ServerName: "broker.example.org"}
		}, wantErr: egress.ErrUntrustedBroker, wantText: "broker.example.org"},
		{name: "wrong password", tls: func(sb secureBroker) config.TLS { return config.TLS{CAFile: sb.pki.CAFile} },
			password: "not-" + secret, wantErr: egress.ErrBadCredentials, wantText: "mqtt.username and the password"},
		{name: "no client certificate where one is required", requireCert: true,
			tls:     func(sb secureBroker) config.TLS { return config.TLS{CAFile: sb.pki.CAFile} },
			wantErr: egress.ErrBadCredentials, wantText: "client certificate"},
		{name: "client certificate from another CA", requireCert: true, tls: func(sb secureBroker) config.TLS {
			return config.TLS{CAFile: sb.pki.CAFile, CertFile: other.ClientCert, KeyFile: other.ClientKey}
		}, wantErr: egress.ErrBadCredentials, wantText: "client certificate"},
		{name: "insecure_skip_verify connects and warns", tls: func(secureBroker) config.TLS {
			return config.TLS{InsecureSkipVerify: true}
		}, wantLog: "TLS certificate verification of the MQTT broker is OFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := startSecure(t, tc.requireCert)
			m := config.MQTT{Broker: sb.b.URL(), Username: "edge", PasswordFile: sb.pwFile, TLS: tc.tls(sb)}
			if tc.password != "" {
				m.PasswordFile = filepath.Join(t.TempDir(), "pw")
				if err := os.WriteFile(m.PasswordFile, []byte(tc.password), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := guardFor(t, m)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("Connect: %v; want %v mentioning %q", err, tc.wantErr, tc.wantText)
				}
				t.Logf("Connect: %v", err)
			} else {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				co := mosquittotest.ClientOptions{TLS: sb.pki.ClientTLS(), Username: "edge", Password: secret}
				s := mosquittotest.SubscribeWith(t, sb.b.URL(), "eg/test/box1/+/events", co)
				ev := sampleEvent()
				if err := f.g.PublishEvent(ctxT(t), ev); err != nil {
					t.Fatal(err)
				}
				s.WaitFor(t, func(ms []Message) bool { return len(ms) == 1 && strings.Contains(string(ms[0].Payload), ev.ID) }, guardTimeout)
			}
			_ = f.g.Drain(ctxT(t))
			if tc.wantLog != "" && !strings.Contains(f.logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, f.logs)
			}
			for what, text := range map[string]string{"error": errText(err), "log": f.logs.String()} {
				if strings.Contains(text, secret) {
					t.Errorf("the password appears in the %s: %s", what, text)
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPasswordNeverLogged runs a full cycle at debug level (connect, events,
// a device and a camera status, a connection loss and reconnect, the
// Config itself logged, close) and a failed login, then greps everything
// the guard logged for the password.
func TestPasswordNeverLogged(t *testing.T) {
	sb := startSecure(t, true)
	m := config.MQTT{Broker: sb.b.URL(), Username: "edge", PasswordFile: sb.pwFile,
		TLS: config.TLS{CAFile: sb.pki.CAFile, CertFile: sb.pki.ClientCert, KeyFile: sb.pki.ClientKey}}
	f, err := guardFor(t, m)
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.Logger.Info("guard config", "mqtt", f.cfg) // LogValue must hide the password
	s := mosquittotest.SubscribeWith(t, sb.b.URL(), "eg/test/#",
		mosquittotest.ClientOptions{TLS: sb.pki.ClientTLS(), Username: "edge", Password: secret})
	for i := 0; i < 3; i++ {
		if err := f.g.PublishEvent(ctxT(t), sampleEvent()); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.g.PublishCameraStatus(ctxT(t), event.CameraStatus{Camera: "cam1", State: event.StateError,
		Error: "rtsp://admin:" + secret + "@192.0.2.1/ unreachable"}); err != nil {
		t.Fatal(err)
	}
	f.gate.cut() // unclean loss: Will, reconnect, online again
	waitUntil(t, "reconnect", func() bool { return f.g.Stats().Connects == 2 })
	if err := f.g.PublishEvent(ctxT(t), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	s.WaitFor(t, func(ms []Message) bool { return len(payloads(ms, "eg/test/box1/cam1/events")) >= 4 }, guardTimeout)
	if err := f.g.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Messages() {
		if strings.Contains(string(m.Payload), secret) {
			t.Errorf("the password left the device on %s: %s", m.Topic, m.Payload)
		}
	}

	// A refused login logs and returns the reason, never the password.
	bad := m
	bad.PasswordFile = filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(bad.PasswordFile, []byte(secret+"-old"), 0o600); err != nil {
		t.Fatal(err)
	}
	fb, err := guardFor(t, bad)
	if !errors.Is(err, egress.ErrBadCredentials) {
		t.Fatalf("with an old password: %v, want ErrBadCredentials", err)
	}
	_ = fb.g.Drain(ctxT(t))

	logs := f.logs.String() + fb.logs.String()
	for _, want := range []string{"mqtt connected", "mqtt connection lost", "mqtt disconnected", "mqtt connection refused", "auth=true"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q (is the cycle complete?):\n%s", want, logs)
		}
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the password appears in the log:\n%s", logs)
	}
	if strings.Contains(errText(err), secret) {
		t.Errorf("the password appears in the error: %v", err)
	}
}

// The guard's own TLS path (paho dials), without the tests' gate dialer.
func TestTLSWithPahoDialer(t *testing.T) {
	sb := startSecure(t, true)
	m := config.MQTT{Broker: sb.b.URL(), Username: "edge", PasswordFile: sb.pwFile,
		TLS: config.TLS{CAFile: sb.pki.CAFile, CertFile: sb.pki.ClientCert, KeyFile: sb.pki.ClientKey}}
	tlsCfg, err := m.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	pw, err := m.Password()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	g, err := egress.New(egress.Config{Broker: m.Broker, ClientID: "paho-dialer", TopicPrefix: "eg/test", Device: "box1",
		Username: m.Username, Password: pw, TLS: tlsCfg, Logger: slog.New(slog.NewTextHandler(logs, nil))}, allowAll)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Drain(ctxT(t))
	if err := g.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := g.PublishEvent(ctxT(t), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("password in log:\n%s", logs)
	}
}

func TestNewChecksTLSAgainstScheme(t *testing.T) {
	for _, tc := range []struct {
		broker  string
		tls     *tls.Config
		wantErr string
	}{
		{"tcp://127.0.0.1:1883", &tls.Config{}, `egress: TLS settings given, but the broker URL scheme "tcp" is not encrypted; use tls:// or ssl://`},
		{"mqtt://127.0.0.1:1883", &tls.Config{}, `egress: TLS settings given, but the broker URL scheme "mqtt" is not encrypted; use tls:// or ssl://`},
		{"tls://127.0.0.1:8883", nil, ""}, // system CAs
		{"ssl://127.0.0.1:8883", &tls.Config{}, ""},
		{"mqtts://127.0.0.1:8883", &tls.Config{}, ""},
		{"tcp://127.0.0.1:1883", nil, ""},
	} {
		_, err := egress.New(egress.Config{Broker: tc.broker, TopicPrefix: "eg", Device: "box1", TLS: tc.tls,
			Logger: slog.New(slog.DiscardHandler)}, allowAll)
		if errText(err) != tc.wantErr {
			t.Errorf("%s, tls=%v: err = %v, want %q", tc.broker, tc.tls != nil, err, tc.wantErr)
		}
	}
}

// With a clean session nothing is accepted before the first connect, since
// paho would drop it: the outbox keeps it and retries.
func TestCleanSessionRefusesBeforeFirstConnect(t *testing.T) {
	b := startMosquitto(t)
	f := newGuard(t, b.url, allowAll, func(c *egress.Config) { c.CleanSession = true })
	if err := f.g.PublishEvent(ctxT(t), sampleEvent()); !errors.Is(err, egress.ErrNotConnected) {
		t.Fatalf("before Connect: %v, want ErrNotConnected", err)
	}
	f.connect(t)
	s := mosquittotest.Subscribe(t, b.url, "eg/test/box1/+/events")
	if err := f.g.PublishEvent(ctxT(t), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	s.WaitFor(t, func(ms []Message) bool { return len(ms) == 1 }, guardTimeout)
}
