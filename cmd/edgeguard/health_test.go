package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthConfig: `health --config FILE` probes /healthz where the file's
// http.addr listens; a wildcard address is probed on 127.0.0.1 (the image's
// HEALTHCHECK with the compose config, http.addr 0.0.0.0:9090).
func TestHealthConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"status": "alive"}`)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	// A port nothing listens on: bind one and close it again.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := fmt.Sprint(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()

	dir := t.TempDir()
	cfg := func(name, addr string) string {
		return writeFile(t, dir, name+".yaml", fmt.Sprintf("device: x\nhttp:\n  addr: %q\ncameras:\n  - id: a\n    url: rtsp://127.0.0.1:1/a\n", addr))
	}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"loopback", []string{"health", "--config", cfg("loopback", "127.0.0.1:"+port)}, 0, "ok", ""},
		{"all IPv4", []string{"health", "--config", cfg("any4", "0.0.0.0:"+port)}, 0, "ok", ""},
		{"all IPv6", []string{"health", "--config", cfg("any6", "[::]:"+port)}, 0, "ok", ""},
		{"no host", []string{"health", "--config", cfg("nohost", ":"+port)}, 0, "ok", ""},
		{"nothing listens", []string{"health", "--config", cfg("closed", "0.0.0.0:"+closedPort), "--timeout", "2s"}, 1, "", "127.0.0.1:" + closedPort + "/healthz"},
		{"endpoint disabled", []string{"health", "--config", cfg("off", "")}, 1, "", "http.addr is empty: the health endpoint is disabled"},
		{"missing file", []string{"health", "--config", filepath.Join(dir, "missing.yaml")}, 1, "", "missing.yaml"},
		{"invalid file", []string{"health", "--config", cfg("bad", "nonsense")}, 1, "", "http.addr"},
		{"both", []string{"health", "--config", cfg("both", "127.0.0.1:"+port), "--url", "http://127.0.0.1:" + port + "/healthz"}, 2, "", "give one of them"},
		{"url", []string{"health", "--url", "http://127.0.0.1:" + port + "/healthz"}, 0, "ok", ""},
		{"help", []string{"health", "--help"}, 0, "-config FILE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout containing %q, stderr containing %q",
					strings.Join(tt.args, " "), code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9090": "http://127.0.0.1:9090/healthz",
		"0.0.0.0:9090":   "http://127.0.0.1:9090/healthz",
		"[::]:9090":      "http://127.0.0.1:9090/healthz",
		":9090":          "http://127.0.0.1:9090/healthz",
		"[::1]:9091":     "http://[::1]:9091/healthz",
		"localhost:9090": "http://localhost:9090/healthz",
		"192.0.2.7:9090": "http://192.0.2.7:9090/healthz", // listens only there
		"edge-01.lan:80": "http://edge-01.lan:80/healthz",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL(""); err == nil {
		t.Error(`healthURL("") succeeded; the endpoint is disabled`)
	}
}
