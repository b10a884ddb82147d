package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/policy"
)

// brokerSpy is a TCP listener standing in for the broker; it counts the
// connections it was offered.
func brokerSpy(t *testing.T) (url string, connections *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	connections = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	return "tcp://" + ln.Addr().String(), connections
}

// TestCheck: Check reports every problem Run would refuse at once, each on
// its own line and, for a file the configuration names, at the key that
// names it; and a config that passes comes back with its policy, outbox
// and warnings. It connects to nothing.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	policyPath, err := filepath.Abs("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(pw, 0o644)
	blocker := filepath.Join(dir, "a-file") // a directory cannot be made under it, also as root
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	broker, connections := brokerSpy(t)
	cfgFile := filepath.Join(dir, "edgeguard.yaml")
	head := "device: box\nmqtt:\n  broker: " + broker + "\n  username: u\n"
	tests := []struct {
		name     string
		yaml     string
		want     []string // lines of the error, each contained in one line, in order
		wantWarn string
	}{
		{name: "ok", yaml: head + "  password_file: pw\npolicy: " + policyPath + "\noutbox: {dir: outbox}\ncameras: [{id: cam1, url: rtsp://192.0.2.1/s}]\n",
			wantWarn: cfgFile + ":5:3: mqtt.password_file: " + pw + " has mode 0644"},
		{name: "every problem at once",
			yaml: head + "  password_file: nope\npolicy: missing.yaml\noutbox: {dir: a-file/outbox}\ncameras: [{id: cam1, url: rtsp://192.0.2.1/s}]\n",
			want: []string{
				cfgFile + ":5:3: mqtt.password_file: " + filepath.Join(dir, "nope") + " does not exist",
				cfgFile + ":6:1: policy: " + filepath.Join(dir, "missing.yaml") + " does not exist",
				"outbox.dir: " + filepath.Join(blocker, "outbox") + " cannot be used",
			}},
		{name: "the policy against the config",
			yaml: head + "  password_file: pw\npolicy: " + policyPath + "\noutbox: {dir: outbox}\ncameras: [{id: cam3, url: rtsp://192.0.2.1/s}]\n",
			want: []string{`does not list camera "cam3"`}},
		{name: "no enabled camera",
			yaml: head + "  password_file: pw\noutbox: {dir: outbox}\ncameras: [{id: cam1, url: rtsp://192.0.2.1/s, enabled: false}]\n",
			want: []string{"no enabled cameras in the configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(cfgFile, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(cfgFile)
			if err != nil {
				t.Fatal(err)
			}
			chk, err := Check(cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if chk.Policy.Name != "hansaplatz" || chk.Cameras != 1 || chk.Outbox.Dir != filepath.Join(dir, "outbox") {
					t.Errorf("checked %+v, want policy hansaplatz, 1 camera, outbox %s", chk, filepath.Join(dir, "outbox"))
				}
				if len(chk.Warnings) == 0 || !strings.HasPrefix(chk.Warnings[0], tt.wantWarn) || !strings.Contains(chk.Warnings[0], "chmod 600 "+pw) {
					t.Errorf("warnings %q, want one starting %q and saying chmod 600", chk.Warnings, tt.wantWarn)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d: %s\nwant it to contain %q", i+1, lines[i], w)
				}
			}
		})
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("Check connected to the broker %d times", n)
	}
}

// TestUnusableOutboxStopsTheStartBeforeAnyConnection: an outbox directory
// that cannot be used stops Run before it contacts the broker or starts
// the embedded one: the operator learns of the bad directory without a
// half-started service.
func TestUnusableOutboxStopsTheStartBeforeAnyConnection(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, embedded := range []bool{false, true} {
		name := "external broker"
		if embedded {
			name = "embedded broker"
		}
		t.Run(name, func(t *testing.T) {
			broker, connections := brokerSpy(t)
			if embedded {
				broker = ""
			}
			cfg := testConfig(t, broker, map[string]string{"cam1": "rtsp://127.0.0.1:1/x"})
			cfg.MQTT.EmbeddedAddr = "127.0.0.1:0"
			cfg.Outbox.Dir = filepath.Join(blocker, "outbox")
			logs := &syncBuffer{}
			err := Run(context.Background(), Options{Config: cfg, Policy: policy.Default(), Logger: jsonLogger(logs)})
			if err == nil || !strings.Contains(err.Error(), "outbox.dir: "+cfg.Outbox.Dir+" cannot be used") {
				t.Fatalf("Run = %v, want the outbox directory refused", err)
			}
			if n := connections.Load(); n != 0 {
				t.Errorf("connected to the broker %d times before refusing the outbox", n)
			}
			if strings.Contains(logs.String(), "embedded MQTT broker listening") {
				t.Errorf("embedded broker started before refusing the outbox:\n%s", logs.String())
			}
		})
	}
}

// TestCheckModels: a camera that asks for the neural person detector
// cannot start without its model, one that leaves the default is warned
// that it falls back to shape, and a policy that lets snapshots out is
// warned that every image would be withheld without the face detector.
func TestCheckModels(t *testing.T) {
	empty := []string{t.TempDir()}
	snapshots := &policy.Policy{Egress: policy.Egress{Snapshots: true}}
	tests := []struct {
		name      string
		cameras   []config.Camera
		pol       *policy.Policy
		dirs      []string
		wantErr   string
		wantWarns []string
	}{
		{name: "explicit dnn without the model", dirs: empty,
			cameras: []config.Camera{{ID: "cam1", Enabled: true, Patterns: config.Patterns{PersonDetector: "dnn"}}},
			wantErr: "cameras[0].person_detector (camera cam1): dnn needs the NanoDet model"},
		{name: "the default without the model", dirs: empty,
			cameras:   []config.Camera{{ID: "cam1", Enabled: true}, {ID: "cam2", Enabled: true, Patterns: config.Patterns{PersonDetector: "hog"}}},
			wantWarns: []string{"cameras [cam1] use the shape heuristic"}},
		{name: "snapshots without the face model", dirs: empty, pol: snapshots,
			cameras:   []config.Camera{{ID: "cam1", Enabled: true, Patterns: config.Patterns{PersonDetector: "shape"}}},
			wantWarns: []string{"every image will be withheld without the face detector"}},
		{name: "a disabled camera needs nothing", dirs: empty,
			cameras: []config.Camera{{ID: "cam1", Patterns: config.Patterns{PersonDetector: "dnn"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warns, err := checkModels(&config.Config{Cameras: tt.cameras}, tt.pol, tt.dirs)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
			if len(warns) != len(tt.wantWarns) {
				t.Fatalf("warnings %q, want %q", warns, tt.wantWarns)
			}
			for i, w := range tt.wantWarns {
				if !strings.Contains(warns[i], w) || !strings.Contains(warns[i], "install it") {
					t.Errorf("warning %q, want it to contain %q and the install command", warns[i], w)
				}
			}
		})
	}
}
