package main

import (
	"context"
	"fmt"
	"github.com/edgeguard/edgeguard/pipeline/app"
	"io"
	"net"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
)

const defaultHealthURL = "http://127.0.0.1:9090/healthz"

// cmdHealth is the container's HEALTHCHECK: the runtime image has no curl,
// so the binary asks its own endpoint. Exit 0 when it answers 200. With
// --config it asks /healthz where that file's http.addr listens, so the
// check follows the config instead of assuming the default port.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", "health [--config FILE | --url URL] [--timeout DURATION]", stdout, stderr)
	url := fs.String("url", "", "health endpoint: /healthz (alive) or /readyz (ready) (default "+defaultHealthURL+")")
	configPath := fs.String("config", "", "probe /healthz on the `FILE`'s http.addr (127.0.0.1 when it listens on all interfaces: 0.0.0.0, [::], :PORT)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "health takes no arguments")
	}
	if *timeout <= 0 {
		return usageErrorf(fs, "--timeout %v: give a positive duration, e.g. 3s", *timeout)
	}
	if *configPath != "" && *url != "" {
		return usageErrorf(fs, "--config and --url: give one of them (--config reads the address from the file)")
	}
	target := *url
	if target == "" {
		target = defaultHealthURL
	}
	var pinCert string
	if *configPath != "" {
		cfg, err := config.Load(*configPath)
		if err != nil {
			return err
		}
		if target, err = healthURL(cfg.HTTP.Addr); err != nil {
			return fmt.Errorf("health: %s: %w", *configPath, err)
		}
		if cfg.HTTP.TLS.On() {
			target = "https://" + strings.TrimPrefix(target, "http://")
			pinCert = cfg.HTTP.TLS.CertFile
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	probe := func() error { return app.Probe(ctx, target) }
	if pinCert != "" {
		probe = func() error { return app.ProbeTLS(ctx, target, pinCert) }
	}
	if err := probe(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// healthURL is the /healthz URL of a service whose http.addr is addr. A
// wildcard address (0.0.0.0, [::] or no host) also listens on loopback,
// which is where a probe from the same box or container goes; a specific
// address or host name listens only there, so it is asked there.
func healthURL(addr string) (string, error) {
	if addr == "" {
		return "", fmt.Errorf("http.addr is empty: the health endpoint is disabled, there is nothing to probe (set http.addr, e.g. 127.0.0.1:9090)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("http.addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
