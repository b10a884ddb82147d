package observe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Probe asks a health endpoint (/healthz or /readyz) and returns nil when it
// answers 200. It is what `edgeguard health` runs (--url, or --config for
// the http.addr of a config file), so the container image needs no curl:
// Docker's HEALTHCHECK calls the binary itself. Otherwise the error carries
// the reasons from the body.
func Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return probe(http.DefaultClient, req)
}

// ProbeTLS is Probe for an endpoint served with http.tls: it asks over
// HTTPS and accepts only the certificate in certFile (the one the service
// was configured with). Pinning that certificate rather than verifying a
// chain lets the probe on the box reach 127.0.0.1 whatever names the
// certificate was issued for, without ever trusting another server.
func ProbeTLS(ctx context.Context, url, certFile string) error {
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("health: http.tls.cert_file: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("health: http.tls.cert_file %s: no PEM certificate in it", certFile)
	}
	pinned := block.Bytes
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not verified by name; VerifyPeerCertificate
		// accepts exactly the pinned certificate and nothing else.
		InsecureSkipVerify: true, //nolint:gosec // pinned below
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			if len(rawCerts) == 0 || !bytes.Equal(rawCerts[0], pinned) {
				return fmt.Errorf("the server's certificate is not the one in %s", certFile)
			}
			return nil
		},
	}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return probe(client, req)
}

func probe(client *http.Client, req *http.Request) error {
	url := req.URL.String()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("health: reading the answer: %w", err)
	}
	return probeResult(resp.StatusCode, body, url)
}

// probeResult interprets an answer: 200 is healthy; otherwise the reasons
// of a readiness body, or the status code.
func probeResult(code int, body []byte, url string) error {
	if code == http.StatusOK {
		return nil
	}
	var r Readiness
	if json.Unmarshal(body, &r) == nil && len(r.Reasons) > 0 {
		return errors.New("health: " + r.Status + ": " + strings.Join(r.Reasons, "; "))
	}
	return fmt.Errorf("health: %s answered %d %s", url, code, http.StatusText(code))
}
