package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/policy"
)

// TestPolicyFileDeletedAndRestored with a real broker (issue 18 item 9c):
// the policy file is deleted, which the watch notices by itself or a
// SIGHUP finds; the rejection is published retained on policy/error; the
// same file put back clears it without another SIGHUP, although its
// content is that of the policy in force.
func TestPolicyFileDeletedAndRestored(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker")
	}
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		sighup bool
	}{
		{"the watch notices", false},
		{"SIGHUP finds it", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mq := mosquittotest.Start(t)
			sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
			path := filepath.Join(t.TempDir(), "policy.yaml")
			restore := func() {
				tmp := path + ".tmp" // write then rename, as configuration management does
				if err := os.WriteFile(tmp, example, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			}
			restore()
			first, err := policy.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			// The camera need not answer: this is about the policy.
			cfg := testConfig(t, mq.URL(), map[string]string{"cam1": "rtsp://127.0.0.1:1/x"})
			cfg.Policy = path
			reload := make(chan struct{}, 1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), Reload: reload, PolicyPollInterval: 50 * time.Millisecond})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			sub.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == first.SHA256 }, 30*time.Second)

			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if tt.sighup {
				reload <- struct{}{}
			}
			msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
				p, ok := lastPayload(m, "edgeguard/e2e/policy/error")
				return ok && !strings.Contains(p, `"error":""`)
			}, 30*time.Second)
			perr, _ := lastPayload(msgs, "edgeguard/e2e/policy/error")
			if !strings.Contains(perr, "policy.yaml") || !strings.Contains(perr, "no such file") {
				t.Errorf("rejection %s does not say which file is missing", perr)
			}

			restore()
			msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
				p, _ := lastPayload(m, "edgeguard/e2e/policy/error")
				return strings.Contains(p, `"error":""`)
			}, 30*time.Second)
			if p, _ := lastPayload(msgs, "edgeguard/e2e/policy/error"); !strings.Contains(p, first.SHA256) {
				t.Errorf("cleared by %s, want resolved_by_sha256 %s", p, first.SHA256)
			}
			if got := auditSHA(t, msgs); got != first.SHA256 {
				t.Errorf("audit sha %s, want %s", got, first.SHA256)
			}
			// A late subscriber reads no stale error.
			late := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/policy/error")
			late.WaitFor(t, func(m []mosquittotest.Message) bool {
				p, ok := lastPayload(m, "edgeguard/e2e/policy/error")
				return ok && strings.Contains(p, `"error":""`)
			}, 10*time.Second)
		})
	}
}
