package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain points the default state directory at a temporary one for the
// whole package: a test configuration that leaves outbox.dir unset must
// never write into the machine's /var/lib/edgeguard (tests run as root).
// testConfig gives every test a directory of its own anyway; this is the
// net under tests that build a configuration another way.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgeguard-service-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("STATE_DIRECTORY", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestOutboxPlaceIsLogged: without outbox.dir the outbox is on disk under
// $STATE_DIRECTORY/<device>/outbox and the start-up log says so, once, as
// a default; memory only must be asked for and is warned about at start.
func TestOutboxPlaceIsLogged(t *testing.T) {
	type line struct {
		Level, Msg, Dir, Why string
		Default              *bool
	}
	for _, tt := range []struct {
		name    string
		memory  bool
		wantMsg string
	}{
		{"default", false, "outbox location"},
		{"memory", true, "outbox in memory only (outbox.memory: true): a crash or restart loses events waiting for the broker"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			t.Setenv("STATE_DIRECTORY", state)
			cfg := testConfig(t, "", map[string]string{"cam1": "rtsp://127.0.0.1:1/x"})
			cfg.MQTT.EmbeddedAddr = "127.0.0.1:0" // the embedded broker: nothing to install
			cfg.Outbox.Dir = ""
			cfg.Outbox.Memory = tt.memory
			logs := &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			started := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Options{Config: cfg, Logger: jsonLogger(logs), PolicyPollInterval: -1,
					Started: func(string) { close(started) }})
			}()
			select {
			case <-started:
			case err := <-done:
				t.Fatalf("Run: %v\n%s", err, logs.String())
			case <-time.After(60 * time.Second): // hang guard
				t.Fatalf("not started\n%s", logs.String())
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}

			var found []line
			for _, l := range strings.Split(logs.String(), "\n") {
				var x line
				if json.Unmarshal([]byte(l), &x) == nil && (x.Msg == "outbox location" || strings.HasPrefix(x.Msg, "outbox in memory")) {
					found = append(found, x)
				}
			}
			if len(found) != 1 || found[0].Msg != tt.wantMsg {
				t.Fatalf("outbox lines in the log: %+v; want one %q", found, tt.wantMsg)
			}
			entries, _ := os.ReadDir(state)
			if tt.memory {
				if found[0].Level != "WARN" || len(entries) != 0 {
					t.Errorf("memory: level %s, state directory holds %d entries; want WARN and nothing written", found[0].Level, len(entries))
				}
				return
			}
			want := filepath.Join(state, "e2e", "outbox")
			if f := found[0]; f.Dir != want || f.Default == nil || !*f.Default || !strings.Contains(f.Why, "$STATE_DIRECTORY/e2e/outbox") {
				t.Errorf("logged %+v; want dir %s, default true, why naming $STATE_DIRECTORY", f, want)
			}
			if st, err := os.Stat(want); err != nil || !st.IsDir() {
				t.Errorf("outbox directory: %v", err)
			}
		})
	}
}
