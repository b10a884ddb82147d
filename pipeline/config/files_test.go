package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFiles: a file the configuration names that is missing or cannot
// be read is reported at the key that names it, every one at once; a
// password file others can read is a warning naming the file, its mode
// and chmod 600 (issue 18 item 6).
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
		return p
	}
	file("pw600", 0o600)
	pw644 := file("pw644", 0o644)
	pw640 := file("pw640", 0o640)
	pol := file("policy.yaml", 0o644)
	ca := file("ca.pem", 0o644)
	aDir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(aDir, 0o700); err != nil { // unreadable as a file, also for root
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	credPW := filepath.Join(creds, "mqtt-password")
	if err := os.WriteFile(credPW, []byte("x\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	os.Chmod(credPW, 0o440) // as an ACL mask shows it
	missing := filepath.Join(dir, "missing")
	cfgFile := filepath.Join(dir, "edgeguard.yaml")
	const why = " (a relative path counts from the config file's directory)"

	tests := []struct {
		name     string
		yaml     string // after valid
		creds    string // $CREDENTIALS_DIRECTORY
		wantErr  []string
		wantWarn []string
	}{
		{name: "nothing named"},
		{name: "all there", yaml: "policy: policy.yaml\nmqtt: {username: u, password_file: pw600}\n"},
		{name: "missing policy", yaml: "policy: missing\n",
			wantErr: []string{cfgFile + ":5:1: policy: " + missing + " does not exist; it names the privacy policy file" + why}},
		{name: "missing password file", yaml: "mqtt:\n  username: u\n  password_file: missing\n",
			wantErr: []string{cfgFile + ":7:3: mqtt.password_file: " + missing + " does not exist; it names the file holding the broker password, readable only by edgeguard" + why}},
		{name: "every missing file at once, in file order",
			yaml: "mqtt:\n  broker: tls://broker.example.org:8883\n  tls:\n    ca_file: a-directory\n    cert_file: missing\n    key_file: " + missing + "\npolicy: " + pol + "\n",
			wantErr: []string{
				cfgFile + ":8:5: mqtt.tls.ca_file: " + aDir + " is a directory, not a file; it names the CA certificate (PEM) the broker's certificate must chain to" + why,
				cfgFile + ":9:5: mqtt.tls.cert_file: " + missing + " does not exist; it names the client certificate (PEM)" + why,
				cfgFile + ":10:5: mqtt.tls.key_file: " + missing + " does not exist; it names the client certificate's private key (PEM)" + why,
			}},
		{name: "embedded broker's TLS files",
			yaml: "mqtt:\n  embedded_tls:\n    addr: 0.0.0.0:8883\n    cert_file: missing\n    key_file: " + ca + "\n    client_ca_file: a-directory\n",
			wantErr: []string{
				cfgFile + ":8:5: mqtt.embedded_tls.cert_file: " + missing + " does not exist; it names the embedded broker's certificate (PEM)" + why,
				cfgFile + ":10:5: mqtt.embedded_tls.client_ca_file: " + aDir + " is a directory, not a file; it names the CA certificate(s) (PEM) clients' certificates must chain to" + why,
			}},
		{name: "TLS files present", yaml: "mqtt:\n  broker: tls://broker.example.org:8883\n  tls: {ca_file: " + ca + "}\n"},
		{name: "world-readable password file", yaml: "mqtt: {username: u, password_file: pw644}\n",
			wantWarn: []string{cfgFile + ":5:21: mqtt.password_file: " + pw644 + " has mode 0644: every user of this machine can read the broker password; make it readable only by edgeguard's user: chmod 600 " + pw644}},
		{name: "group-readable password file", yaml: "mqtt: {username: u, password_file: pw640}\n",
			wantWarn: []string{cfgFile + ":5:21: mqtt.password_file: " + pw640 + " has mode 0640: the file's group can read the broker password; make it readable only by edgeguard's user: chmod 600 " + pw640}},
		{name: "systemd credential", yaml: "mqtt: {username: u, password_file: " + credPW + "}\n", creds: creds},
		{name: "a credentials directory elsewhere does not exempt", yaml: "mqtt: {username: u, password_file: pw644}\n", creds: creds,
			wantWarn: []string{cfgFile + ":5:21: mqtt.password_file: " + pw644 + " has mode 0644: every user of this machine can read the broker password; make it readable only by edgeguard's user: chmod 600 " + pw644}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CREDENTIALS_DIRECTORY", tt.creds)
			cfg, err := Parse(cfgFile, []byte(valid+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := cfg.CheckFiles()
			var got []string
			if err != nil {
				var errs Errors
				if !errors.As(err, &errs) {
					t.Fatalf("error %T, want Errors: %v", err, err)
				}
				got = strings.Split(err.Error(), "\n")
				if len(errs) != len(got) {
					t.Errorf("%d entries for %d lines", len(errs), len(got))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantErr, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantErr, "\n"))
			}
			if strings.Join(warnings, "\n") != strings.Join(tt.wantWarn, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(tt.wantWarn, "\n"))
			}
		})
	}
}

// TestCheckFilesWithoutSource: a Config built in code has no positions;
// its problems still name the setting, without an empty file name.
func TestCheckFilesWithoutSource(t *testing.T) {
	cfg := Defaults()
	cfg.Policy = filepath.Join(t.TempDir(), "gone.yaml")
	_, err := cfg.CheckFiles()
	want := "policy: " + cfg.Policy + " does not exist; it names the privacy policy file (a relative path counts from the config file's directory)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestCameraURLsAccepted: real cameras' URLs, with escapes, queries and
// IPv6 hosts, pass the check for unescaped characters.
func TestCameraURLsAccepted(t *testing.T) {
	for _, u := range []string{
		"rtsp://admin:p%40ss%20w0rd@192.0.2.10:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1",
		"rtsp://admin:pw@192.0.2.11:554/cam/realmonitor?channel=1&subtype=0",
		"rtsp://192.0.2.12/axis-media/media.amp?videocodec=h264&resolution=1280x720",
		"rtsps://[2001:db8::1]:322/live%20stream",
		"rtsp://cam.example.org/einfahrt-s%C3%BCd",
		"rtsp://h/a;b=c,d~e!f$g'(h)*+",
	} {
		in := "device: e\ncameras:\n  - id: a\n    url: \"" + u + "\"\n"
		if _, err := Parse("e.yaml", []byte(in)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
