package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// TestConfigCheck: `edgeguard config check FILE` says ok with what would
// run, or every problem run would refuse on its own prefixed line, exit 1;
// warnings come with both (issue 18 item 6).
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	policyPath, err := filepath.Abs("../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pw := writeFile(t, dir, "pw", "secret\n")
	open := filepath.Join(dir, "open-pw")
	if err := os.WriteFile(open, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o644)
	body := func(pwFile, url string) string {
		return "device: box\npolicy: " + policyPath + "\noutbox: {dir: " + filepath.Join(dir, "outbox") +
			"}\nmqtt: {username: u, password_file: " + pwFile + "}\ncameras:\n  - {id: cam1, url: \"" + url + "\"}\n  - {id: cam2, url: rtsp://192.0.2.2/s, enabled: false}\n"
	}
	good := writeFile(t, dir, "good.yaml", body(pw, "rtsp://192.0.2.1/live"))
	warn := writeFile(t, dir, "warn.yaml", body(open, "rtsp://192.0.2.1/live"))
	broken := writeFile(t, dir, "broken.yaml", body(filepath.Join(dir, "nope"), "rtsp://192.0.2.1/live"))
	space := writeFile(t, dir, "space.yaml", body(pw, "rtsp://192.0.2.1/live stream"))
	tests := []struct {
		args           []string
		code           int
		stdout, stderr []string // each must be contained
	}{
		{[]string{"config", "check", good}, 0,
			[]string{good + `: ok (device box, 1 camera (1 disabled), policy "hansaplatz" version "2026-11" sha256 `, "outbox: " + filepath.Join(dir, "outbox") + " (outbox.dir is set)"}, nil},
		{[]string{"config", "check", warn}, 0, []string{warn + ": ok ("},
			[]string{"edgeguard: warning: " + warn + ":4:21: mqtt.password_file: " + open + " has mode 0644", "chmod 600 " + open}},
		{[]string{"config", "check", broken}, 1, nil,
			[]string{"edgeguard: " + broken + ":4:21: mqtt.password_file: " + filepath.Join(dir, "nope") + " does not exist"}},
		// run refuses the same, through the same check, before it starts anything.
		{[]string{"run", "--config", broken}, 1, nil,
			[]string{"edgeguard: " + broken + ":4:21: mqtt.password_file: " + filepath.Join(dir, "nope") + " does not exist"}},
		{[]string{"config", "check", space}, 1, nil,
			[]string{"edgeguard: " + space + ":6:16: cameras[0].url: the path contains a space, which an RTSP URL cannot carry unescaped; write it as %20"}},
		{[]string{"config", "check"}, 2, nil, []string{"edgeguard: config check needs exactly one FILE"}},
		{[]string{"config", "chek", good}, 2, nil, []string{`edgeguard: unknown config subcommand "chek"; did you mean "check"?`}},
		{[]string{"config"}, 2, nil, []string{"edgeguard: config needs a subcommand"}},
		{[]string{"help", "config"}, 0, []string{"edgeguard config check FILE"}, nil},
		{[]string{"help", "config", "check"}, 0, []string{"Usage: edgeguard config check FILE"}, nil},
		{[]string{"help"}, 0, []string{"edgeguard config check FILE"}, nil},
		{[]string{"confg"}, 2, nil, []string{`did you mean "config"?`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			ok := code == tt.code
			for _, w := range tt.stdout {
				ok = ok && strings.Contains(stdout.String(), w)
			}
			for _, w := range tt.stderr {
				ok = ok && strings.Contains(stderr.String(), w)
			}
			// Every line on stderr carries the prefix (usage text aside).
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if code == 1 && l != "" && !strings.HasPrefix(l, "edgeguard: ") {
					ok = false
				}
			}
			if !ok {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout containing %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestRunLogFlags: --log-level and --log-format take the values the file
// does, and refuse the rest as a usage error before the config is read
// (issue 18 item 6): a typo must not start the service at a log level or
// format the operator did not ask for.
func TestRunLogFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "bogus"}, `edgeguard: --log-level: unknown value "bogus"; allowed: debug, info, warn, error`},
		{[]string{"--log-format", "xml"}, `edgeguard: --log-format: unknown value "xml"; allowed: text, json`},
		{[]string{"--log-level", "INFO"}, `edgeguard: --log-level: unknown value "INFO"; allowed: debug, info, warn, error`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"run", "--config", missing}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "Usage: edgeguard run") {
				t.Errorf("exit %d\nstderr:\n%s\nwant exit 2 with usage and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

// TestPolicyPreviewNamesTheFaceDetector (issue 18 item 10): the preview
// says which face detector covered the faces, as /readyz does, or that
// there is none and why.
func TestPolicyPreviewNamesTheFaceDetector(t *testing.T) {
	sim, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: simcam.H264,
		Scene: scene.Static(320, 180, 25), ClipSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "edgeguard.yaml", "device: box\ncameras:\n  - id: cam1\n    url: "+sim.URL()+"\n")
	var stdout, stderr bytes.Buffer
	code := run([]string{"policy", "preview", "--config", cfg, "--camera", "cam1", "--out", filepath.Join(dir, "p.png")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !regexp.MustCompile(`(?m)^face detector: (blazeface|none \(.*blazeface.*\))$`).MatchString(stdout.String()) {
		t.Errorf("output does not name the face detector:\n%s", stdout.String())
	}
}
