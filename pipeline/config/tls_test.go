package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
)

func TestTLSConfig(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	other := mosquittotest.NewPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable.pem")
	if err := os.Mkdir(unreadable, 0o700); err != nil { // reading a directory fails, also as root
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	const tlsURL = "tls://broker.example.org:8883"
	tests := []struct {
		name         string
		m            MQTT
		wantNil      bool
		wantErr      string // exact
		wantRoots    bool
		wantCert     bool
		wantName     string
		wantInsecure bool
	}{
		{name: "no TLS for tcp://", m: MQTT{Broker: "tcp://h:1883"}, wantNil: true},
		{name: "no TLS for the embedded broker", m: MQTT{}, wantNil: true},
		{name: "system CAs", m: MQTT{Broker: tlsURL}},
		{name: "ssl:// is TLS too", m: MQTT{Broker: "ssl://h:8883", TLS: TLS{CAFile: pki.CAFile}}, wantRoots: true},
		{name: "CA, client certificate, server name", m: MQTT{Broker: tlsURL, TLS: TLS{CAFile: pki.CAFile,
			CertFile: pki.ClientCert, KeyFile: pki.ClientKey, ServerName: "mqtt.internal"}},
			wantRoots: true, wantCert: true, wantName: "mqtt.internal"},
		{name: "insecure", m: MQTT{Broker: tlsURL, TLS: TLS{InsecureSkipVerify: true}}, wantInsecure: true},
		{name: "missing CA file", m: MQTT{Broker: tlsURL, TLS: TLS{CAFile: missing}},
			wantErr: "mqtt.tls.ca_file: open " + missing + ": no such file or directory"},
		{name: "unreadable CA file", m: MQTT{Broker: tlsURL, TLS: TLS{CAFile: unreadable}},
			wantErr: "mqtt.tls.ca_file: read " + unreadable + ": is a directory"},
		{name: "CA file without a certificate", m: MQTT{Broker: tlsURL, TLS: TLS{CAFile: notPEM}},
			wantErr: "mqtt.tls.ca_file: " + notPEM + " holds no PEM certificate"},
		{name: "missing client certificate", m: MQTT{Broker: tlsURL, TLS: TLS{CertFile: missing, KeyFile: pki.ClientKey}},
			wantErr: "mqtt.tls.cert_file: open " + missing + ": no such file or directory"},
		{name: "missing client key", m: MQTT{Broker: tlsURL, TLS: TLS{CertFile: pki.ClientCert, KeyFile: missing}},
			wantErr: "mqtt.tls.key_file: open " + missing + ": no such file or directory"},
		{name: "key of another certificate", m: MQTT{Broker: tlsURL, TLS: TLS{CertFile: pki.ClientCert, KeyFile: other.ClientKey}},
			wantErr: "mqtt.tls.cert_file, mqtt.tls.key_file: " + pki.ClientCert + " and " + other.ClientKey + ": tls: private key does not match public key"},
		{name: "certificate file holds no certificate", m: MQTT{Broker: tlsURL, TLS: TLS{CertFile: notPEM, KeyFile: pki.ClientKey}},
			wantErr: "mqtt.tls.cert_file, mqtt.tls.key_file: " + notPEM + " and " + pki.ClientKey + ": tls: failed to find any PEM data in certificate input"},
		{name: "key file holds no key", m: MQTT{Broker: tlsURL, TLS: TLS{CertFile: pki.ClientCert, KeyFile: notPEM}},
			wantErr: "mqtt.tls.cert_file, mqtt.tls.key_file: " + pki.ClientCert + " and " + notPEM + ": tls: failed to find any PEM data in key input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.m.TLSConfig()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if c != nil {
					t.Fatalf("got a TLS config for %q", tc.m.Broker)
				}
				return
			}
			if c == nil || (c.RootCAs != nil) != tc.wantRoots || (len(c.Certificates) == 1) != tc.wantCert ||
				c.ServerName != tc.wantName || c.InsecureSkipVerify != tc.wantInsecure || c.MinVersion == 0 {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestTLSPathsResolveAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	in := valid + "mqtt:\n  broker: tls://h:8883\n  tls: {ca_file: pki/ca.pem, cert_file: pki/c.pem, key_file: /abs/c.key}\n"
	cfg, err := Parse(filepath.Join(dir, "edgeguard.yaml"), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := TLS{CAFile: filepath.Join(dir, "pki", "ca.pem"), CertFile: filepath.Join(dir, "pki", "c.pem"), KeyFile: "/abs/c.key"}
	if cfg.MQTT.TLS != want {
		t.Errorf("tls = %+v, want %+v", cfg.MQTT.TLS, want)
	}
	if cfg.MQTT.CleanSession {
		t.Errorf("clean_session defaults to true, want false (persistent session)")
	}
}
