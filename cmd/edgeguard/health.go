package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/observe"
)

// cmdHealth is the container's HEALTHCHECK: the runtime image has no curl,
// so the binary asks its own endpoint. Exit 0 when it answers 200.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", "health [--url URL] [--timeout DURATION]", stdout, stderr)
	url := fs.String("url", "http://127.0.0.1:9090/healthz", "health endpoint: /healthz (alive) or /readyz (ready)")
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
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := observe.Probe(ctx, *url); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
