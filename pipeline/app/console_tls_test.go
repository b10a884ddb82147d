package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/tlstest"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestConsoleOverTLS (issue 16): with http.tls and a users file the real
// service serves console, metrics and health over HTTPS only; the login's
// cookie is Secure, the cameras answer after the login, plain HTTP gets
// nothing, and the health probe accepts the configured certificate.
func TestConsoleOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sim := startCamera(t, codec.H264, scene.Walker(320, 180, 25), 12)
	f := newConfigFile(t, mq.URL())
	pair := tlstest.SelfSigned(t)
	users := filepath.Join(filepath.Dir(f.path), "users")
	h, err := bcrypt.GenerateFromPassword([]byte("pw-otto"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users, []byte("otto operator "+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	content := f.yaml([]reloadCam{{id: "gatecam", url: sim.URL()}}, mq.URL())
	content = strings.Replace(content, "http:\n", "http:\n  users_file: users\n  tls:\n    cert_file: "+pair.CertFile+"\n    key_file: "+pair.KeyFile+"\n", 1)
	f.write(t, content)
	logs := &syncBuffer{}
	runFile(t, f, Options{Logger: jsonLogger(logs)})

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Pool}}}
	defer client.CloseIdleConnections()
	base := "https://" + f.httpAddr
	var session struct {
		Login bool   `json:"login"`
		CSRF  string `json:"csrf"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/api/session")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&session)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console did not answer over HTTPS: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !session.Login || session.CSRF == "" {
		t.Fatalf("session %+v: want a login asked for and a CSRF token", session)
	}
	if code := httpStatusOrZero("http://" + f.httpAddr + "/metrics"); code == http.StatusOK {
		t.Error("plain HTTP served /metrics on the TLS endpoint")
	}
	get := func(path string) int {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/api/cameras"); code != http.StatusUnauthorized {
		t.Errorf("/api/cameras before the login: %d, want 401", code)
	}

	req, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"user":"otto","password":"pw-otto"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", session.CSRF)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over HTTPS: %d", resp.StatusCode)
	}
	secure := false
	for _, c := range resp.Cookies() {
		secure = secure || c.Secure
	}
	if !secure {
		t.Error("the session cookie over HTTPS is not Secure")
	}
	if code := get("/api/cameras"); code != http.StatusOK {
		t.Errorf("/api/cameras after the login: %d, want 200", code)
	}
	if code := get("/metrics"); code != http.StatusOK {
		t.Errorf("/metrics over HTTPS: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ProbeTLS(ctx, base+"/healthz", pair.CertFile); err != nil {
		t.Errorf("health probe pinned to the configured certificate: %v", err)
	}
	if !strings.Contains(logs.String(), `"tls":true`) {
		t.Error(`no "tls":true in the endpoint's log line`)
	}
}
