package observe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/tlstest"
)

// selfSigned is tlstest.SelfSigned as three values.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	p := tlstest.SelfSigned(t)
	return p.CertFile, p.KeyFile, p.Pool
}

// TestServeTLS: with http.tls the endpoint answers HTTPS only, at TLS 1.2
// or newer, and a plain-HTTP request gets nothing but the refusal.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := newServer(t, Config{Addr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile})
	plain := start(t, s)
	secure := "https://" + strings.TrimPrefix(plain, "http://")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(secure + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /healthz over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}

	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(secure + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("TLS 1.1 accepted")
	}

	resp, err = (&http.Client{Timeout: 10 * time.Second}).Get(plain + "/metrics")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served /metrics on a TLS endpoint")
		}
	}
}

// TestServeTLSBadFiles: a certificate that cannot be loaded stops New with
// an error naming the files, rather than serving in the clear.
func TestServeTLSBadFiles(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "nokey.pem")
	for _, tt := range []struct{ name, cert, key string }{
		{"missing key", certFile, missing},
		{"key is a certificate", certFile, certFile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Addr: "127.0.0.1:0", TLSCertFile: tt.cert, TLSKeyFile: tt.key})
			if err == nil {
				s.Close()
				t.Fatal("New accepted a certificate it cannot load")
			}
			if !strings.Contains(err.Error(), "http.tls") || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("err = %v, want it to name http.tls and %s", err, tt.key)
			}
		})
	}
}

// TestProbeTLS: `edgeguard health` on a TLS endpoint accepts the configured
// certificate and no other.
func TestProbeTLS(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	otherCert, _, _ := selfSigned(t)
	s := newServer(t, Config{Addr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile})
	url := "https://" + strings.TrimPrefix(start(t, s), "http://") + "/healthz"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ProbeTLS(ctx, url, certFile); err != nil {
		t.Fatalf("ProbeTLS with the served certificate: %v", err)
	}
	if err := ProbeTLS(ctx, url, otherCert); err == nil || !strings.Contains(err.Error(), "not the one in") {
		t.Fatalf("ProbeTLS with another certificate: %v, want a refusal", err)
	}
	if err := ProbeTLS(ctx, url, keyFile); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("ProbeTLS with a key file: %v", err)
	}
}
