package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	resp, err := http.DefaultClient.Do(req)
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
