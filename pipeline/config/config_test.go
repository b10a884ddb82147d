package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// valid is the smallest valid file; cases append to or replace parts of it.
const valid = "device: edge-01\ncameras:\n  - id: cam1\n    url: rtsp://192.0.2.10/stream\n"

func TestExampleFileMatchesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "configs", "edgeguard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults()
	if cfg.Log != def.Log {
		t.Errorf("log = %+v, Defaults() has %+v", cfg.Log, def.Log)
	}
	if cfg.HTTP != def.HTTP || def.HTTP.Addr != "127.0.0.1:9090" {
		t.Errorf("http = %+v, Defaults() has %+v; want loopback 127.0.0.1:9090", cfg.HTTP, def.HTTP)
	}
	wantMQTT := def.MQTT
	wantMQTT.ClientID = "edgeguard-" + cfg.Device // derived default
	if cfg.MQTT != wantMQTT {
		t.Errorf("mqtt = %+v, Defaults() has %+v", cfg.MQTT, wantMQTT)
	}
	if cfg.Defaults != def.Defaults {
		t.Errorf("defaults = %+v, Defaults() has %+v", cfg.Defaults, def.Defaults)
	}
	// The outbox too: without outbox.dir it goes to the durable state
	// directory (Outbox.Resolve), never to memory, so Defaults() names
	// neither a directory nor memory.
	wantOutbox := def.Outbox
	if cfg.Outbox != wantOutbox || def.Outbox.Dir != "" || def.Outbox.Memory {
		t.Errorf("outbox = %+v, want %+v; Defaults() has %+v", cfg.Outbox, wantOutbox, def.Outbox)
	}
	if cfg.Cameras[0].CameraSettings != def.Defaults || !cfg.Cameras[0].Enabled {
		t.Errorf("cam1 (no overrides) = %+v, want the defaults, enabled", cfg.Cameras[0])
	}
	if want, _ := filepath.Abs(filepath.Join("..", "..", "configs", "policy.yaml")); cfg.Policy != want {
		t.Errorf("policy = %q, want %q (resolved against the config's directory)", cfg.Policy, want)
	}
}

func TestCameraOverridesSingleKeys(t *testing.T) {
	in := `device: e
cameras:
  - id: a
    url: rtsp://h/1
    motion: {quiet_time: 20s}
  - id: b
    url: rtsp://h/2
defaults:           # after the cameras: order in the file does not matter
  transport: udp
  motion: {warmup: 1m}
`
	cfg, err := Parse("e.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults().Defaults
	want.Transport = "udp"
	want.Motion.Warmup = time.Minute
	if cfg.Defaults != want {
		t.Errorf("defaults = %+v, want %+v", cfg.Defaults, want)
	}
	if cfg.Cameras[1].CameraSettings != want {
		t.Errorf("camera b = %+v, want the defaults %+v", cfg.Cameras[1].CameraSettings, want)
	}
	wantA := want
	wantA.Motion.QuietTime = 20 * time.Second
	if cfg.Cameras[0].CameraSettings != wantA {
		t.Errorf("camera a = %+v, want %+v", cfg.Cameras[0].CameraSettings, wantA)
	}
	if !cfg.Cameras[0].Enabled || cfg.MQTT.ClientID != "edgeguard-e" {
		t.Errorf("enabled=%v client_id=%q; want true, edgeguard-e", cfg.Cameras[0].Enabled, cfg.MQTT.ClientID)
	}
}

func TestParseErrors(t *testing.T) {
	const eg = "e.g. rtsp://user:password@192.0.2.10:554/stream"
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "e.yaml:1:1: the file is empty; it needs at least device: and cameras: (see configs/edgeguard.yaml)"},
		{"only comments", "# nothing\n", "e.yaml:1:1: the file is empty; it needs at least device: and cameras: (see configs/edgeguard.yaml)"},
		{"not a mapping", "- cam1\n", "e.yaml:1:1: expected settings as key: value lines at the top level, got a list"},
		{"syntax error", "device: e\n  cameras: x\n", "e.yaml:2: syntax error: mapping values are not allowed in this context (check indentation, colons and quotes)"},
		{"tab indentation", "mqtt:\n\tbroker: x\n", "e.yaml:2: syntax error: found character that cannot start any token (tabs are not allowed for indentation; use spaces)"},
		{"two documents", valid + "---\ndevice: x\n", "e.yaml:5:1: only one document is allowed; remove the line with --- and what follows it, or put it in a separate file"},
		{"unknown top-level field", valid + "camera: x\n",
			"e.yaml:5:1: camera: unknown field; did you mean \"cameras\"? allowed: device, log, mqtt, http, outbox, audit, commands, policy, defaults, cameras"},
		{"unknown nested field", valid + "mqtt:\n  keep_alive: 10s\n",
			"e.yaml:6:3: mqtt.keep_alive: unknown field; did you mean \"keepalive\"? allowed: broker, embedded_addr, topic_prefix, client_id, username, password_file, password_env, keepalive, clean_session, format, tls, embedded_tls"},
		{"unknown field without suggestion", valid + "log: {colour: true}\n",
			"e.yaml:5:7: log.colour: unknown field; allowed: level, format"},
		{"unknown camera field", valid + "    fps: 5\n",
			"e.yaml:5:5: cameras[0].fps: unknown field; allowed: id, name, url, enabled, transport, analysis, motion, zones, lines, perspective, rules, person_detector"},
		{"duplicate key", valid + "device: edge-02\n", "e.yaml:5:1: device: duplicate key (first at line 1)"},
		{"duplicate key in flow mapping", valid + "log: {level: info, level: debug}\n", "e.yaml:5:20: log.level: duplicate key (first at line 5, column 7)"},
		{"anchor and alias", "device: e\ndefaults: &d {transport: tcp}\ncameras:\n  - id: a\n    url: rtsp://h/\n    analysis: *d\n",
			"e.yaml:2:11: defaults: anchors (&d) are not allowed; write the value out in full\n" +
				"e.yaml:6:15: cameras[0].analysis: aliases (*d) are not allowed; write the value out in full"},
		{"merge key", valid + "    <<: {name: x}\n", "e.yaml:5:5: cameras[0][\"<<\"]: merge keys (<<) are not allowed; write the values out in full"},
		{"wrong type: text for number", valid + "defaults: {analysis: {fps: fast}}\n", "e.yaml:5:23: defaults.analysis.fps: expected a number, got \"fast\""},
		{"wrong type: fraction for whole number", valid + "defaults: {analysis: {width: 640.5}}\n", "e.yaml:5:23: defaults.analysis.width: expected a whole number, got 640.5"},
		{"wrong type: yes is not a bool", valid + "    enabled: yes\n", "e.yaml:5:5: cameras[0].enabled: expected true or false, got \"yes\""},
		{"wrong type: bool for text", "device: true\ncameras: [{id: a, url: rtsp://h/}]\n", "e.yaml:1:1: device: expected text, got true (if you mean the text, put it in quotes: \"true\")"},
		{"wrong type: list for section", valid + "mqtt: [a]\n", "e.yaml:5:1: mqtt: expected key: value settings, got a list"},
		{"empty value", valid + "    name:\n", "e.yaml:5:5: cameras[0].name: has no value; write text or delete the line"},
		{"bad duration", valid + "mqtt: {keepalive: 30 seconds}\n", "e.yaml:5:8: mqtt.keepalive: expected a duration such as 30s, 500ms, 5m, 24h or 7d, got \"30 seconds\""},
		{"duration without unit", valid + "mqtt: {keepalive: 30}\n", "e.yaml:5:8: mqtt.keepalive: expected a duration such as 30s, 500ms, 5m, 24h or 7d, got 30 (add a unit, e.g. 30s)"},
		{"duration out of range", valid + "mqtt: {keepalive: 2h}\n", "e.yaml:5:8: mqtt.keepalive: 2h is out of range; allowed: 1s to 1h"},
		{"negative duration", valid + "defaults: {motion: {quiet_time: -5s}}\n", "e.yaml:5:21: defaults.motion.quiet_time: -5s is out of range; allowed: 0s to 1h"},
		{"update interval below 1s", valid + "defaults: {motion: {update_interval: 500ms}}\n", "e.yaml:5:21: defaults.motion.update_interval: 500ms is too short; allowed: 0s (no updates) or 1s to 1h"},
		{"duplicate camera id", "device: e\ncameras:\n  - id: cam1\n    url: rtsp://h/1\n  - id: cam2\n    url: rtsp://h/2\n  - id: cam1\n    url: rtsp://h/3\n",
			"e.yaml:7:5: cameras[2].id: duplicate camera id \"cam1\" (first at line 3)"},
		{"missing camera id", "device: e\ncameras:\n  - url: rtsp://h/1\n",
			"e.yaml:3:5: cameras[0].id: required: a short unique name for this camera, e.g. cam1 (letters, digits, - and _)"},
		{"bad camera id", "device: e\ncameras:\n  - id: cam 1\n    url: rtsp://h/1\n",
			"e.yaml:3:5: cameras[0].id: \"cam 1\" is not a valid camera id; allowed: 1 to 64 letters, digits, - and _ (it becomes part of MQTT topics)"},
		{"missing url", "device: e\ncameras:\n  - id: a\n", "e.yaml:3:5: cameras[0].url: required: the camera's RTSP address, " + eg},
		{"bad url scheme", "device: e\ncameras:\n  - id: a\n    url: http://admin:s3cr3t@192.0.2.1/\n",
			"e.yaml:4:5: cameras[0].url: unsupported scheme \"http\"; allowed: rtsp, rtsps (" + eg + ")"},
		{"url without host", "device: e\ncameras:\n  - id: a\n    url: rtsp://admin:s3cr3t@/stream\n",
			"e.yaml:4:5: cameras[0].url: has no host; " + eg},
		{"url without scheme", "device: e\ncameras:\n  - id: a\n    url: admin:s3cr3t@192.0.2.1/stream\n",
			"e.yaml:4:5: cameras[0].url: not a valid URL (it must start with a scheme such as rtsp://); " + eg},
		{"url with unescaped password", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://admin:s3 cr3t@192.0.2.1/\"\n",
			"e.yaml:4:5: cameras[0].url: not a valid URL (the user name or password contains characters that must be %-escaped, e.g. a space as %20); " + eg},
		// An RTSP URL cannot carry these unescaped; accepted, the camera
		// would answer 404 for ever (issue 18 item 6).
		{"url with a space in the path", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://admin:s3cr3t@192.0.2.1/live stream\"\n",
			"e.yaml:4:5: cameras[0].url: the path contains a space, which an RTSP URL cannot carry unescaped; write it as %20"},
		{"url with several unescaped characters", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://192.0.2.1/a b|c{d} e\"\n",
			"e.yaml:4:5: cameras[0].url: the path contains a space, \"|\", \"{\" and \"}\", which an RTSP URL cannot carry unescaped; write them as %20, %7C, %7B and %7D"},
		{"url with a non-ASCII path", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://192.0.2.1/einfahrt-süd\"\n",
			"e.yaml:4:5: cameras[0].url: the path contains \"ü\", which an RTSP URL cannot carry unescaped; write it as %C3%BC"},
		{"url with a pasted no-break space", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://192.0.2.1/live\u00a0stream\"\n",
			"e.yaml:4:5: cameras[0].url: the path contains the invisible character U+00A0, which an RTSP URL cannot carry unescaped; write it as %C2%A0"},
		{"url with a space in the query", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://192.0.2.1/s?user=admin&password=s3 cr3t\"\n",
			"e.yaml:4:5: cameras[0].url: the query contains characters an RTSP URL cannot carry unescaped; %-escape each, e.g. a space as %20, | as %7C, ä as %C3%A4"},
		{"url with # in the password", "device: e\ncameras:\n  - id: a\n    url: \"rtsp://admin:s3cr3t#1@192.0.2.1/\"\n",
			"e.yaml:4:5: cameras[0].url: contains #, which ends an RTSP address (what follows would never reach the camera); where it is part of the password or the path, write it as %23"},
		{"url with bad port", "device: e\ncameras:\n  - id: a\n    url: rtsp://admin:s3cr3t@192.0.2.1:99999/\n",
			"e.yaml:4:5: cameras[0].url: port 99999 is out of range; allowed: 1 to 65535"},
		{"camera credentials as keys", valid + "    password: s3cr3t\n",
			"e.yaml:5:5: cameras[0].password: camera credentials are part of the url: rtsp://user:password@host:554/path"},
		{"inline mqtt password", valid + "mqtt:\n  username: u\n  password: s3cr3t\n",
			"e.yaml:7:3: mqtt.password: passwords are never written into the config file; put the password in a file only edgeguard can read and set mqtt.password_file to its path, or set mqtt.password_env to the name of an environment variable that holds it"},
		{"password file and env", valid + "mqtt: {username: u, password_file: pw, password_env: PW}\n",
			"e.yaml:5:40: mqtt.password_env: set only one of mqtt.password_file and mqtt.password_env"},
		{"password without username", valid + "mqtt: {password_env: PW}\n", "e.yaml:5:8: mqtt.password_env: a password needs mqtt.username"},
		{"bad env name", valid + "mqtt: {username: u, password_env: 1PW}\n",
			"e.yaml:5:21: mqtt.password_env: \"1PW\" is not an environment variable name; allowed: letters, digits and _, not starting with a digit"},
		{"broker with credentials", valid + "mqtt: {broker: \"tcp://u:s3cr3t@h:1883\"}\n",
			"e.yaml:5:8: mqtt.broker: must not contain a user name or password; set mqtt.username and mqtt.password_file or mqtt.password_env"},
		{"broker bad scheme", valid + "mqtt: {broker: \"ws://h:1883\"}\n",
			"e.yaml:5:8: mqtt.broker: unsupported scheme \"ws\"; allowed: tcp, mqtt, ssl, tls (e.g. tcp://192.0.2.20:1883 or tls://broker.example.org:8883)"},
		{"broker without port", valid + "mqtt: {broker: \"tcp://h\"}\n",
			"e.yaml:5:8: mqtt.broker: has no port; e.g. tcp://192.0.2.20:1883 or tls://broker.example.org:8883"},
		{"bad embedded addr", valid + "mqtt: {embedded_addr: localhost}\n",
			"e.yaml:5:8: mqtt.embedded_addr: \"localhost\" is not a listen address; expected host:port, e.g. 127.0.0.1:1883"},
		{"embedded TLS with an external broker", valid + "mqtt:\n  broker: tcp://h:1883\n  embedded_tls: {addr: \"0.0.0.0:8883\", cert_file: c, key_file: k, client_ca_file: ca}\n",
			"e.yaml:7:3: mqtt.embedded_tls: only applies to the embedded broker (mqtt.broker not set); for \"tcp://h:1883\" configure TLS on that broker (docs/oversight.md)"},
		{"embedded TLS incomplete", valid + "mqtt:\n  embedded_tls: {cert_file: c}\n",
			"e.yaml:6:3: mqtt.embedded_tls.addr: required: host:port the TLS listener binds, e.g. 0.0.0.0:8883\n" +
				"e.yaml:6:3: mqtt.embedded_tls.key_file: required with mqtt.embedded_tls: the broker certificate's private key (PEM)\n" +
				"e.yaml:6:3: mqtt.embedded_tls.client_ca_file: required with mqtt.embedded_tls: the CA certificate(s) (PEM) clients' certificates must chain to"},
		{"embedded TLS on the plain address", valid + "mqtt:\n  embedded_tls: {addr: \"127.0.0.1:1883\", cert_file: c, key_file: k, client_ca_file: ca}\n",
			"e.yaml:6:18: mqtt.embedded_tls.addr: is mqtt.embedded_addr too; the TLS listener needs an address of its own, e.g. 0.0.0.0:8883"},
		{"embedded TLS with a plain listener off loopback", valid + "mqtt:\n  embedded_addr: \"0.0.0.0:1883\"\n  embedded_tls: {addr: \"0.0.0.0:8883\", cert_file: c, key_file: k, client_ca_file: ca}\n",
			"e.yaml:6:3: mqtt.embedded_addr: \"0.0.0.0:1883\" is not a loopback address; with mqtt.embedded_tls the plain listener is for the box's own processes only (e.g. 127.0.0.1:1883), clients off the box use the TLS listener"},
		{"outbox max_mb out of range", valid + "outbox: {max_mb: 0}\n", "e.yaml:5:10: outbox.max_mb: 0 is out of range; allowed: 1 to 65536 (MiB)"},
		{"outbox sync unknown", valid + "outbox: {sync: sometimes}\n", "e.yaml:5:10: outbox.sync: unknown value \"sometimes\"; allowed: always, never"},
		{"outbox memory and dir", valid + "outbox:\n  dir: /var/lib/x\n  memory: true\n", "e.yaml:7:3: outbox.memory: contradicts outbox.dir: the outbox is either on disk (dir) or in memory only (memory: true, events lost on a crash); remove one of them"},
		{"outbox memory not a bool", valid + "outbox: {memory: yes please}\n", "e.yaml:5:10: outbox.memory: expected true or false, got \"yes please\""},
		{"topic prefix wildcard", valid + "mqtt: {topic_prefix: \"city/#\"}\n", "e.yaml:5:8: mqtt.topic_prefix: must not contain the MQTT wildcards + or #"},
		{"tls with the embedded broker", valid + "mqtt:\n  tls: {ca_file: ca.pem}\n",
			"e.yaml:6:3: mqtt.tls: only applies to a broker URL with tls:// or ssl://; the embedded broker and tcp:// or mqtt:// brokers are not encrypted"},
		{"tls with a tcp broker", valid + "mqtt:\n  broker: \"tcp://h:1883\"\n  tls: {insecure_skip_verify: true}\n",
			"e.yaml:7:3: mqtt.tls: only applies to a broker URL with tls:// or ssl://; the embedded broker and tcp:// or mqtt:// brokers are not encrypted"},
		{"client cert without key", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls: {cert_file: client.pem}\n",
			"e.yaml:7:9: mqtt.tls.cert_file: needs mqtt.tls.key_file, the client certificate's key"},
		{"client key without cert", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls: {key_file: client.key}\n",
			"e.yaml:7:9: mqtt.tls.key_file: needs mqtt.tls.cert_file, the client certificate"},
		{"insecure with a CA", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls:\n    ca_file: ca.pem\n    insecure_skip_verify: true\n",
			"e.yaml:9:5: mqtt.tls.insecure_skip_verify: contradicts mqtt.tls.ca_file: without verification the CA is not used; remove one of them"},
		{"bad server name", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls: {server_name: \"broker example\"}\n",
			"e.yaml:7:9: mqtt.tls.server_name: \"broker example\" is not a host name; e.g. broker.example.org"},
		{"unknown tls field", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls: {cafile: ca.pem}\n",
			"e.yaml:7:9: mqtt.tls.cafile: unknown field; did you mean \"ca_file\"? allowed: ca_file, cert_file, key_file, server_name, insecure_skip_verify"},
		{"tls password is no field", valid + "mqtt:\n  broker: \"tls://broker.example.org:8883\"\n  tls: {key_password: s3cr3t}\n",
			"e.yaml:7:9: mqtt.tls.key_password: unknown field; allowed: ca_file, cert_file, key_file, server_name, insecure_skip_verify"},
		{"clean_session is a bool", valid + "mqtt: {clean_session: yes}\n", "e.yaml:5:8: mqtt.clean_session: expected true or false, got \"yes\""},
		{"bad http addr", valid + "http: {addr: 9090}\n",
			"e.yaml:5:8: http.addr: \"9090\" is not a listen address; expected host:port, e.g. 127.0.0.1:9090, or \"\" to disable"},
		{"unknown http field", valid + "http: {port: 9090}\n",
			"e.yaml:5:8: http.port: unknown field; allowed: addr, console, tls, users_file, allow_edit"},
		{"missing device", "cameras: [{id: a, url: rtsp://h/}]\n", "e.yaml:1:1: device: required: the id of this edge box, e.g. edge-01 (letters, digits, - and _)"},
		{"bad device id", "device: edge/01\ncameras: [{id: a, url: rtsp://h/}]\n",
			"e.yaml:1:1: device: \"edge/01\" is not a valid id; allowed: 1 to 64 letters, digits, - and _ (it becomes part of MQTT topics)"},
		{"device with MQTT wildcard", "device: \"edge+\"\ncameras: [{id: a, url: rtsp://h/}]\n",
			"e.yaml:1:1: device: \"edge+\" is not a valid id; allowed: 1 to 64 letters, digits, - and _ (it becomes part of MQTT topics)"},
		{"bad log level", valid + "log: {level: verbose}\n", "e.yaml:5:7: log.level: unknown value \"verbose\"; allowed: debug, info, warn, error"},
		{"bad transport", valid + "    transport: http\n", "e.yaml:5:5: cameras[0].transport: unknown value \"http\"; allowed: tcp, udp"},
		{"fps too high", valid + "    analysis: {fps: 60}\n", "e.yaml:5:16: cameras[0].analysis.fps: 60 is out of range; allowed: 0.5 to 30 frames per second"},
		{"fps too low", valid + "defaults: {analysis: {fps: 0.1}}\n", "e.yaml:5:23: defaults.analysis.fps: 0.1 is out of range; allowed: 0.5 to 30 frames per second"},
		{"width too small", valid + "    analysis: {width: 32}\n", "e.yaml:5:16: cameras[0].analysis.width: 32 is out of range; allowed: 64 to 1920 pixels"},
		{"width too large", valid + "defaults: {analysis: {width: 3840}}\n", "e.yaml:5:23: defaults.analysis.width: 3840 is out of range; allowed: 64 to 1920 pixels"},
		{"min_area out of range", valid + "defaults: {motion: {min_area: 2}}\n",
			"e.yaml:5:21: defaults.motion.min_area: 2 is out of range; allowed: 0.0001 to 1 (a fraction of the frame; 0.002 = 0.2 %)"},
		{"no cameras", "device: e\ncameras: []\n", "e.yaml:2:1: cameras: no cameras configured; add at least one with id: and url: (see configs/edgeguard.yaml)"},
		{"cameras missing", "device: e\n", "e.yaml:1:1: cameras: no cameras configured; add at least one with id: and url: (see configs/edgeguard.yaml)"},
		{"cameras wrong type", "device: e\ncameras: cam1\n", "e.yaml:2:1: cameras: expected a list, e.g. [a, b], got \"cam1\""},
		{"all errors at once, sorted by line", "log: {level: loud}\ndevice: \"\"\ncameras:\n  - {id: a, url: \"ftp://h\"}\nmqtt: {brokr: x}\n",
			"e.yaml:1:7: log.level: unknown value \"loud\"; allowed: debug, info, warn, error\n" +
				"e.yaml:2:1: device: required: the id of this edge box, e.g. edge-01 (letters, digits, - and _)\n" +
				"e.yaml:4:13: cameras[0].url: unsupported scheme \"ftp\"; allowed: rtsp, rtsps (" + eg + ")\n" +
				"e.yaml:5:8: mqtt.brokr: unknown field; did you mean \"broker\"? allowed: broker, embedded_addr, topic_prefix, client_id, username, password_file, password_env, keepalive, clean_session, format, tls, embedded_tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("e.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("config returned with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != strings.Count(tt.want, "\n")+1 {
				t.Errorf("error is %T with %d entries, want Errors with one per line", err, len(errs))
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("message shows the password: %s", err)
			}
		})
	}
}

func TestErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(valid)
	for i := 0; i < 30; i++ {
		b.WriteString("    x" + strings.Repeat("y", i) + ": 1\n")
	}
	_, err := Parse("e.yaml", []byte(b.String()))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T, want Errors", err)
	}
	if len(errs) != 21 || errs[20].Error() != "e.yaml: 10 more problems not shown; fix the ones above first" {
		t.Errorf("got %d entries, last %q; want 20 and a note on the 10 left out", len(errs), errs[len(errs)-1])
	}
}

func TestRelativePathsResolveAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgeguard.yaml")
	in := valid + "policy: p/policy.yaml\nmqtt: {username: u, password_file: secret/pw}\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "p", "policy.yaml"); cfg.Policy != want {
		t.Errorf("policy = %q, want %q", cfg.Policy, want)
	}
	if want := filepath.Join(dir, "secret", "pw"); cfg.MQTT.PasswordFile != want {
		t.Errorf("password_file = %q, want %q", cfg.MQTT.PasswordFile, want)
	}
	if cfg, err := Parse(path, []byte(valid)); err != nil || cfg.Policy != "" {
		t.Errorf("without policy: %q, %v; want \"\" (built-in policy)", cfg.Policy, err)
	}
}

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("  s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDGEGUARD_TEST_PW", "from-env")
	tests := []struct {
		name    string
		m       MQTT
		want    string
		wantErr string
	}{
		{"none", MQTT{}, "", ""},
		{"file, trimmed", MQTT{PasswordFile: pwFile}, "s3cr3t", ""},
		{"env", MQTT{PasswordEnv: "EDGEGUARD_TEST_PW"}, "from-env", ""},
		{"missing file", MQTT{PasswordFile: filepath.Join(dir, "nope")}, "", "mqtt.password_file: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty file", MQTT{PasswordFile: empty}, "", "mqtt.password_file: " + empty + " is empty"},
		{"unset env", MQTT{PasswordEnv: "EDGEGUARD_TEST_UNSET"}, "", "mqtt.password_env: environment variable EDGEGUARD_TEST_UNSET is not set or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.Password()
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Password() = %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRedactedURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtsp://admin:s3cr3t@192.0.2.1:554/s", "rtsp://xxxxx@192.0.2.1:554/s"},
		{"rtsp://192.0.2.1/s?channel=1&password=s3cr3t", "rtsp://192.0.2.1/s?channel=1&password=xxxxx"},
		// Not parsable, still redacted as a URL: the host stays.
		{"rtsp://admin:s3 cr3t@192.0.2.1/", "rtsp://xxxxx@192.0.2.1/"},
		{"admin:s3cr3t@192.0.2.1", "xxxxx@192.0.2.1"},
		// net/url reads "adm" as the host and keeps the password in the path.
		{"rtsp://adm/in:s3cr3t@192.0.2.1/s", "rtsp://xxxxx@192.0.2.1/s"},
		{"rtsp://192.0.2.1/s", "rtsp://192.0.2.1/s"},
	}
	for _, tt := range tests {
		if got := (Camera{URL: tt.in}).RedactedURL(); got != tt.want {
			t.Errorf("RedactedURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLogger(t *testing.T) {
	var b strings.Builder
	Log{Level: "warn", Format: "json"}.NewLogger(&b).Info("hidden")
	Log{Level: "warn", Format: "json"}.NewLogger(&b).Warn("shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) {
		t.Errorf("log output %q: want only the warning, as JSON", got)
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "edgeguard.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(example), valid, "", "- a\n", "device: e\ncameras: [{id: a, url: rtsp://h/}, {id: a, url: 'rtsp://u:p@/'}]\n",
		"a: &x [1]\nb: *x\n", "device: e\n---\nx: 1\n", valid + "    analysis: {fps: .nan, width: 0x100}\n", valid + "mqtt: {password: x, keepalive: 1d}\n",
		valid + "mqtt: {broker: \"tls://h:8883\", clean_session: true, tls: {ca_file: ca.pem, cert_file: c.pem, insecure_skip_verify: true, server_name: \"a b\"}}\n",
		withRules + "      - {type: intrusion, zone: entrance}\n      - {type: line_crossing, line: gate}\n      - {type: crowd, zone: door, min_count: 0, dwell: 1s}\n",
		valid + "    zones: {a: [[0, 0], [1, 0], [0, 1], [1, 1]]}\n    perspective: {row1: 0.5}\n    rules: [{type: tamper, shift: .inf}, {type: running, speed: 2}]\n",
		valid + "    person_detector: hog\n    rules: [{type: crowd, class: person}]\n", valid + "    person_detector: [hog]\n",
		withRules + "      - {type: abandoned_object, zone: platform, min_size: 0.002, duration: 90s, radius: 2}\n      - {type: object_removed, min_size: .nan, radius: 1}\n",
		withRules + "      - {type: violent_motion, zone: platform, energy: .nan, spread: -1, min_duration: 1ms}\n      - {type: violent_motion, class: person}\n",
		"device: e\ncameras: [{id: a, url: \"rtsp://u:p@h/a b?c=d e#f\"}, {id: b, url: \"rtsp://h/s\u00fcd|x\"}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 || len(errs) > 21 {
				t.Fatalf("error %T (%d entries), want 1 to 21 Errors: %v", err, len(errs), err)
			}
			for _, e := range errs {
				if e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("entry without file or message: %#v", e)
				}
			}
			return
		}
		// Whatever was accepted satisfies the rules the rest of edgeguard relies on.
		if len(cfg.Cameras) == 0 || !idPattern.MatchString(cfg.Device) {
			t.Fatalf("accepted an invalid config: %+v", cfg)
		}
		seen := map[string]bool{}
		for _, c := range cfg.Cameras {
			if seen[c.ID] || !idPattern.MatchString(c.ID) || c.Analysis.FPS < 0.5 || c.Analysis.FPS > 30 ||
				c.Analysis.Width < 64 || c.Analysis.Width > 1920 || (c.Transport != "tcp" && c.Transport != "udp") {
				t.Fatalf("accepted an invalid camera: %+v", c)
			}
			seen[c.ID] = true
			// An accepted URL reaches the camera as written: nothing to escape.
			if strings.ContainsRune(c.URL, '#') || strings.ContainsFunc(c.URL, mustEscapeInURL) {
				t.Fatalf("accepted a camera URL with unescaped characters: %s", c.RedactedURL())
			}
			// Accepted rules always build.
			if _, err := c.NewRules(); err != nil {
				t.Fatalf("accepted rules that do not build: %v", err)
			}
		}
		again, err := Parse("f.yaml", data)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("parsing twice differs: %v", err)
		}
	})
}

func TestHTTPAddr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "127.0.0.1:9090"},
		{"http: {addr: \"\"}\n", ""}, // disabled
		{"http: {addr: \"0.0.0.0:9100\"}\n", "0.0.0.0:9100"},
	} {
		cfg, err := Parse("e.yaml", []byte(valid+tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTP.Addr != tt.want {
			t.Errorf("%q: http.addr = %q, want %q", tt.in, cfg.HTTP.Addr, tt.want)
		}
	}
}
