package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// buildBinary builds edgeguard once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edgeguard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSIGTERM: a clean shutdown publishes "offline" (device and camera),
// exits 0, and no secret appears in anything the process printed.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	const mqttUser, mqttPass = "edge", "Mqtt-S3cret-77"
	mq := mosquittotest.StartWith(t, mosquittotest.Options{PasswordFile: mosquittotest.NewPasswordFile(t, mqttUser, mqttPass)})
	sub := mosquittotest.SubscribeWith(t, mq.URL(), "edgeguard/sigterm-box/#", mosquittotest.ClientOptions{Username: mqttUser, Password: mqttPass})
	const user, pass = "operator", "S3cret-Pa55"
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: simcam.H264,
		Scene: scene.Static(320, 180, 25), ClipSeconds: 4, Audio: true, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	dir := t.TempDir()
	writeFile(t, dir, "mqtt.pass", mqttPass+"\n")
	cfg := writeFile(t, dir, "edgeguard.yaml", fmt.Sprintf(`device: sigterm-box
mqtt:
  broker: %s
  username: %s
  password_file: mqtt.pass
http:
  addr: 127.0.0.1:0
outbox:
  dir: %s
cameras:
  - id: gate
    url: %s
`, mq.URL(), mqttUser, filepath.Join(dir, "outbox"), cam.URL()))
	if !strings.Contains(cam.URL(), pass) {
		t.Fatalf("camera URL %q carries no credentials", cam.URL())
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", cfg, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return last(m, "edgeguard/sigterm-box/gate/status", `"streaming"`)
	}, 30*time.Second)

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second): // hang guard, not a timing assertion
		cmd.Process.Kill()
		t.Fatalf("no exit after SIGTERM\n%s", stderr.String())
	}
	t.Logf("shutdown took %v", time.Since(sent).Round(time.Millisecond))
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		return last(m, "edgeguard/sigterm-box/status", "offline") && last(m, "edgeguard/sigterm-box/gate/status", `"offline"`)
	}, 10*time.Second)

	out := stdout.String() + stderr.String()
	for _, m := range msgs {
		out += m.Topic + string(m.Payload)
	}
	for _, secret := range []string{pass, mqttPass} {
		if strings.Contains(out, secret) {
			t.Errorf("a password leaked into the log or MQTT: %q", secret)
		}
	}
	if !strings.Contains(stderr.String(), "xxxxx") {
		t.Logf("log:\n%s", stderr.String())
	}
}

// last reports whether the last message on topic contains want.
func last(msgs []mosquittotest.Message, topic, want string) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Topic == topic {
			return strings.Contains(string(msgs[i].Payload), want)
		}
	}
	return false
}

// TestUsageAndErrors: exit codes and messages a person sees.
func TestUsageAndErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "device: x\ncameras:\n  - id: a\n    url: http://example.org/\n")
	// configs/policy.yaml lists cam1 and cam2; a third camera has no
	// recorded purpose, and the policy refuses cameras it does not list.
	policyPath, err := filepath.Abs("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	unlisted := writeFile(t, dir, "unlisted.yaml", "device: x\npolicy: "+policyPath+"\noutbox:\n  dir: "+filepath.Join(dir, "outbox")+
		"\ncameras:\n  - id: cam1\n    url: rtsp://127.0.0.1:1/a\n  - id: cam2\n    url: rtsp://127.0.0.1:1/b\n  - id: cam3\n    url: rtsp://127.0.0.1:1/c\n")
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"version"}, 0, "edgeguard"},
		{[]string{"run"}, 2, "run needs --config FILE"},
		{[]string{"run", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"run", "--config", filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml"},
		{[]string{"run", "--config", bad}, 1, "bad.yaml:4:5: cameras[0].url: unsupported scheme \"http\""},
		{[]string{"run", "--config", unlisted}, 1, `edgeguard: policy "hansaplatz" (` + policyPath + `) does not list camera "cam3" and refuses cameras it does not list (purpose limitation: unlisted_cameras: refuse); the privacy officer can add it under cameras: with a purpose, or set unlisted_cameras: allow; otherwise remove it from the configuration (or set enabled: false)`},
		{[]string{"policy"}, 2, "policy needs a subcommand"},
		{[]string{"policy", "preview"}, 2, "policy preview needs --config, --camera and --out"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code || !strings.Contains(out, tt.contains) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d containing %q", code, out, tt.code, tt.contains)
			}
		})
	}
}

// TestCommandLine: help goes to stdout, each error is printed once with
// the prefix on every line, mistakes get a suggestion, and arguments a
// command does not take are refused.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	twoErrors := writeFile(t, dir, "two.yaml", "device: x\ncameras:\n  - id: a\n    url: http://example.org/\n  - id: b\n    url: ftp://example.org/\n")
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string // each must be contained; "" for empty
	}{
		{[]string{"run", "--help"}, 0, "Usage: edgeguard run --config FILE", ""},
		{[]string{"help", "run"}, 0, "Usage: edgeguard run --config FILE", ""},
		{[]string{"help", "policy"}, 0, "edgeguard policy check FILE...", ""},
		{[]string{"help", "policy", "diff"}, 0, "Usage: edgeguard policy diff [--lang en|de] OLD NEW", ""},
		{[]string{"help", "rnu"}, 2, "", `edgeguard: help: unknown command "rnu"; did you mean "run"?`},
		{[]string{"rnu"}, 2, "", `edgeguard: unknown command "rnu"; did you mean "run"?`},
		{[]string{"polcy"}, 2, "", `did you mean "policy"?`},
		{[]string{"version", "extra"}, 2, "", "edgeguard: version takes no arguments"},
		{[]string{"health", "--timeout", "0s"}, 2, "", "edgeguard: --timeout 0s: give a positive duration"},
		{[]string{"run", "--config", twoErrors}, 1, "", "edgeguard: " + twoErrors + ":4:5: cameras[0].url: unsupported scheme \"http\""},
		{[]string{"run", "--config", twoErrors}, 1, "", "\nedgeguard: " + twoErrors + ":6:5: cameras[1].url: unsupported scheme \"ftp\""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) ||
				(tt.stdout == "" && stdout.Len() > 0 && code != 0) {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout containing %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	// A flag error is printed once, not by the flag package and again by us.
	var stdout, stderr bytes.Buffer
	run([]string{"run", "--bogus"}, &stdout, &stderr)
	if n := strings.Count(stderr.String(), "flag provided but not defined"); n != 1 {
		t.Errorf("flag error printed %d times:\n%s", n, stderr.String())
	}
}
