package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyThatCannotBeLoadedStopsTheService (invariant 4): nothing starts
// — no broker, no camera, no MQTT connection — when the policy is missing or
// invalid, or forbids what the configuration needs.
func TestPolicyThatCannotBeLoadedStopsTheService(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: edgeguard/v1\nkind: Policy\naudio: keep\n"), 0o644)
	noMotion := filepath.Join(dir, "nomotion.yaml")
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(noMotion, []byte(strings.Replace(string(example), "events: [motion, person_down]", "events: [person_down]", 1)), 0o644)
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.yaml"), "missing.yaml"},
		{bad, `bad.yaml:3:1: audio: unknown value "keep"; allowed: discard`},
		{noMotion, `does not allow event type "motion"`},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			// An unreachable broker: reaching it would mean the service started.
			cfg := testConfig(t, "tcp://127.0.0.1:1", map[string]string{"cam1": "rtsp://127.0.0.1:1/x"})
			cfg.Policy = tt.path
			err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
