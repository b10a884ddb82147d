package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/policy"
)

// lastPayload returns the payload of the last message on topic.
func lastPayload(msgs []mosquittotest.Message, topic string) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Topic == topic {
			return string(msgs[i].Payload), true
		}
	}
	return "", false
}

func auditSHA(t *testing.T, msgs []mosquittotest.Message) string {
	p, ok := lastPayload(msgs, "edgeguard/e2e/policy")
	if !ok {
		return ""
	}
	var a struct{ SHA256 string }
	if err := json.Unmarshal([]byte(p), &a); err != nil {
		t.Fatalf("policy audit %q: %v", p, err)
	}
	return a.SHA256
}

// TestPolicyHotReload with a real broker: an invalid edit keeps the old
// policy and publishes the rejection; a valid edit changes the retained
// sha256 on the audit topic.
func TestPolicyHotReload(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and camera")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	cam := startCamera(t, codec.H264, scene.Static(320, 180, 25), 2)
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write := func(b []byte) {
		// Write then rename, as configuration management does.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(example)
	first, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": cam.URL()})
	cfg.Policy = path

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), PolicyPollInterval: 50 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	sub.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == first.SHA256 }, 30*time.Second)

	// Invalid: an identity feature. Rejected, published, old policy stays.
	write(append(append([]byte{}, example...), []byte("face_recognition: true\n")...))
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		_, ok := lastPayload(m, "edgeguard/e2e/policy/error")
		return ok
	}, 30*time.Second)
	perr, _ := lastPayload(msgs, "edgeguard/e2e/policy/error")
	if !strings.Contains(perr, "face_recognition") || !strings.Contains(perr, "policy.yaml") {
		t.Errorf("rejection %s does not say what and where", perr)
	}
	if got := auditSHA(t, msgs); got != first.SHA256 {
		t.Errorf("audit sha changed to %s after a rejected edit", got)
	}

	// Valid: a new version. The retained audit changes, the error clears.
	second := []byte(strings.Replace(string(example), `version: "2026-11"`, `version: "2026-12"`, 1))
	if string(second) == string(example) {
		t.Fatal("test edit did not change the example policy")
	}
	write(second)
	want, err := policy.Parse(path, second)
	if err != nil {
		t.Fatal(err)
	}
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == want.SHA256 }, 30*time.Second)
	if p, _ := lastPayload(msgs, "edgeguard/e2e/policy/error"); !strings.Contains(p, `"error":""`) {
		t.Errorf("rejection not cleared after a valid policy: %s", p)
	}
	// A late subscriber sees the new policy retained.
	late := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/policy")
	late.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == want.SHA256 }, 10*time.Second)
}

// TestPolicyReloadOnSIGHUP: with the file watch off, the reload request
// (what SIGHUP sends in cmd/edgeguard) alone loads the edited policy.
func TestPolicyReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and camera")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/policy")
	cam := startCamera(t, codec.H264, scene.Static(320, 180, 25), 2)
	example, err := os.ReadFile("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, example, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": cam.URL()})
	cfg.Policy = path
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), Reload: reload, PolicyPollInterval: -1})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	first, _ := policy.Parse(path, example)
	sub.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == first.SHA256 }, 30*time.Second)
	second := []byte(strings.Replace(string(example), `version: "2026-11"`, `version: "2026-12"`, 1))
	if err := os.WriteFile(path, second, 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := policy.Parse(path, second)
	reload <- struct{}{}
	sub.WaitFor(t, func(m []mosquittotest.Message) bool { return auditSHA(t, m) == want.SHA256 }, 30*time.Second)
}
