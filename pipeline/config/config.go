// Package config reads the operator's config file (edgeguard.yaml): which
// cameras to pull, how to analyse them and where to publish.
//
// The file is written by people, so it is decoded strictly (unknown keys,
// wrong types and duplicate keys are errors, never ignored) and every problem
// is reported at once with its position, as FILE:LINE:COL: PATH: message.
// Defaults come from one place, Defaults(), and configs/edgeguard.yaml shows
// them all. Privacy rules are not here: they live in the separate policy file
// (package policy), owned by the privacy officer rather than the operator.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// FieldError is one problem in the file; see yamlstrict.FieldError.
type FieldError = yamlstrict.FieldError

// Errors is every problem in the file, one per line when printed. Load and
// Parse return it (as error) when the file is not valid.
type Errors = yamlstrict.Errors

// Config is the validated operator configuration, with defaults applied and
// relative paths resolved against the config file's directory.
type Config struct {
	// Device identifies this edge box in MQTT topics and events.
	Device string `yaml:"device"`
	Log    Log    `yaml:"log"`
	MQTT   MQTT   `yaml:"mqtt"`
	// HTTP is the metrics and health endpoint.
	HTTP HTTP `yaml:"http"`
	// Outbox is where events wait while the broker cannot be reached.
	Outbox Outbox `yaml:"outbox"`
	// Audit is where the signed audit trail is kept (docs/audit.md).
	Audit Audit `yaml:"audit"`
	// Commands are the operator's commands over MQTT (commands.go).
	Commands Commands `yaml:"commands"`
	// Policy is the absolute path of the privacy policy file; "" means the
	// built-in, most private policy (policy.Default()).
	Policy string `yaml:"policy"`
	// Defaults are the camera settings every camera starts from.
	Defaults CameraSettings `yaml:"defaults"`
	// Cameras are decoded separately, after Defaults, so each starts from
	// them wherever it appears in the file.
	Cameras []Camera `yaml:"-"`

	// src is where Parse found the keys naming other files, so that
	// CheckFiles reports a missing file at the key that names it; nil for
	// a Config built in code.
	src *source
}

// HTTP is the endpoint serving Prometheus metrics (/metrics) and health
// checks (/healthz, /readyz). It shows counters and camera ids, never video
// or events.
type HTTP struct {
	// Addr is host:port; "" disables the endpoint. Loopback by default, so
	// only the box itself (and an SSH tunnel) can reach it.
	Addr string `yaml:"addr"`
	// Console is the web console (/, /api/*) on Addr (docs/console.md).
	// Not set (nil, the default): on when Addr is a loopback address, or
	// elsewhere when TLS and UsersFile are set; off otherwise. true on any
	// other address without TLS and UsersFile is refused. false: metrics
	// and health only.
	Console *bool `yaml:"console"`
	// TLS serves the endpoint over HTTPS (both files or neither).
	TLS HTTPTLS `yaml:"tls"`
	// UsersFile lists who may log in to the console, with role and
	// password hash (docs/console.md); absolute after Parse. "" (the
	// default, loopback only): no logins, the console only reads.
	UsersFile string `yaml:"users_file"`
	// AllowEdit lets operators save zones and lines from the console into
	// this file (needs UsersFile). Default false.
	AllowEdit bool `yaml:"allow_edit"`
}

// HTTPTLS is the HTTP endpoint's certificate and key (PEM).
type HTTPTLS struct {
	CertFile string `yaml:"cert_file"` // absolute after Parse
	KeyFile  string `yaml:"key_file"`  // absolute after Parse
}

// On reports whether TLS is configured.
func (t HTTPTLS) On() bool { return t.CertFile != "" || t.KeyFile != "" }

// Secured reports whether the endpoint may serve the console off loopback:
// TLS and a users file.
func (h HTTP) Secured() bool { return h.TLS.On() && h.UsersFile != "" }

// ConsoleOn reports whether the web console is served on Addr: Console
// when set, else whether Addr is a loopback address.
func (h HTTP) ConsoleOn() bool {
	if h.Addr == "" {
		return false
	}
	if h.Console != nil {
		return *h.Console
	}
	return LoopbackAddr(h.Addr) || h.Secured()
}

// LoopbackAddr reports whether the host of the listen address addr can
// only be reached from the box itself: localhost, 127.0.0.0/8 or ::1. An
// empty host (":9090") listens on every interface and is not loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Log selects the service's log output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// MQTT is where events go. Secrets are never part of the file itself: the
// password is read from PasswordFile or the environment variable PasswordEnv
// when connecting (see Password).
type MQTT struct {
	// Broker is the broker URL (tcp|mqtt|ssl|tls://host:port); "" means the
	// embedded broker listening on EmbeddedAddr.
	Broker       string `yaml:"broker"`
	EmbeddedAddr string `yaml:"embedded_addr"`
	TopicPrefix  string `yaml:"topic_prefix"`
	// ClientID defaults to "edgeguard-<device>".
	ClientID     string        `yaml:"client_id"`
	Username     string        `yaml:"username"`
	PasswordFile string        `yaml:"password_file"` // absolute after Parse
	PasswordEnv  string        `yaml:"password_env"`
	KeepAlive    time.Duration `yaml:"keepalive"`
	// CleanSession false (the default) asks the broker for a persistent
	// session: it keeps the device's session under ClientID across
	// reconnects, and edgeguard resends what the broker had not yet
	// acknowledged. true starts afresh on every connect.
	CleanSession bool `yaml:"clean_session"`
	// Format is how events leave: "edgeguard" (the edgeguard.event/v1
	// messages), "onvif" (ONVIF's JSON event format on
	// <topic_prefix>/<device>/onvif-ej/..., for a VMS that speaks Profile
	// M; docs/onvif.md) or "both". Either way through the egress guard.
	Format string `yaml:"format"`
	// TLS applies to tls:// and ssl:// brokers (see TLSConfig).
	TLS TLS `yaml:"tls"`
	// EmbeddedTLS adds a mutual-TLS listener to the embedded broker, for
	// clients off the box (docs/oversight.md#the-embedded-broker): only
	// clients with a certificate of ClientCAFile connect there, and only
	// they may send commands; the certificate's subject is the operator
	// the box records. The plain listener (EmbeddedAddr) stays, on
	// loopback, for the box's own processes.
	EmbeddedTLS EmbeddedTLS `yaml:"embedded_tls"`
}

// EmbeddedTLS is the embedded broker's TLS listener. All four settings or
// none.
type EmbeddedTLS struct {
	// Addr is host:port to listen on, e.g. 0.0.0.0:8883.
	Addr string `yaml:"addr"`
	// CertFile and KeyFile are the broker's certificate and key (PEM).
	CertFile string `yaml:"cert_file"` // absolute after Parse
	KeyFile  string `yaml:"key_file"`  // absolute after Parse
	// ClientCAFile holds the CA certificate(s) (PEM) a client's certificate
	// must chain to; a client without one is refused at the handshake.
	ClientCAFile string `yaml:"client_ca_file"` // absolute after Parse
}

// On reports whether the TLS listener is configured.
func (t EmbeddedTLS) On() bool { return t != EmbeddedTLS{} }

// TLS secures the connection to an external broker. The broker's
// certificate is always verified, against CAFile or the system's CAs,
// unless InsecureSkipVerify says otherwise (then edgeguard logs a warning
// at every start).
type TLS struct {
	// CAFile is a PEM file with the CA certificate(s) the broker's
	// certificate must chain to; "" uses the system's CAs.
	CAFile string `yaml:"ca_file"` // absolute after Parse
	// CertFile and KeyFile are the client certificate and its key (PEM),
	// for brokers that require one; both or neither.
	CertFile string `yaml:"cert_file"` // absolute after Parse
	KeyFile  string `yaml:"key_file"`  // absolute after Parse
	// ServerName is the name the broker's certificate must carry; "" means
	// the host of mqtt.broker.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any broker certificate: the connection is
	// encrypted but anyone in the network path can read it. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// IsZero reports whether no TLS setting is given.
func (t TLS) IsZero() bool { return t == TLS{} }

// Outbox is the store-and-forward queue of events waiting for the broker.
// How long events may wait is not set here: it is the privacy policy's
// retention.outbox.
type Outbox struct {
	// Dir holds the outbox on disk (absolute after Parse). "" means the
	// default state directory, chosen at start by Resolve
	// ($STATE_DIRECTORY, /var/lib/edgeguard or the user's XDG state
	// directory, then <device>/outbox), so that a file that never mentions
	// the outbox still loses no event.
	Dir string `yaml:"dir"`
	// Memory true keeps the outbox in memory only, so a crash or power cut
	// loses events not yet delivered: for the demo and tests, never the
	// default. It must be asked for because it gives up the guarantee;
	// setting it together with Dir is an error.
	Memory bool `yaml:"memory"`
	// MaxMB bounds the outbox in MiB; beyond it the oldest events are
	// dropped (counted and logged).
	MaxMB int `yaml:"max_mb"`
	// Sync is "always" (fsync each event before it counts as queued: it
	// survives a power cut) or "never" (it survives a crash of edgeguard,
	// not of the machine).
	Sync string `yaml:"sync"`
}

// Audit is the signed, hash-chained audit trail (docs/audit.md). How long
// it is kept is not set here: it is the privacy policy's retention.audit.
type Audit struct {
	// Dir holds the trail and its device key (absolute after Parse). ""
	// means beside the outbox (see ResolveDir): <state>/<device>/audit
	// for the default outbox. With outbox.memory: true and no dir there
	// is no trail (the demo, tests).
	Dir string `yaml:"dir"`
}

// ResolveDir is the trail's directory for an outbox in outboxDir ("": in
// memory); "" means no trail, and why says which rule decided. Without
// audit.dir the trail is beside the outbox: .../audit for an outbox
// directory named outbox (the default <state>/<device>/outbox), else
// <outbox directory>.audit, so that two outboxes never share a trail.
func (a Audit) ResolveDir(outboxDir string) (dir, why string) {
	switch {
	case a.Dir != "":
		return a.Dir, "audit.dir is set"
	case outboxDir == "":
		return "", "audit.dir not set and outbox.memory is true: no audit trail"
	case filepath.Base(outboxDir) == "outbox":
		return filepath.Join(filepath.Dir(outboxDir), "audit"), "audit.dir not set; beside the outbox"
	}
	return filepath.Clean(outboxDir) + ".audit", "audit.dir not set; beside the outbox"
}

// CameraSettings are the analysis settings of one camera. The defaults:
// section sets them for all cameras; a camera overrides single keys.
type CameraSettings struct {
	Transport string   `yaml:"transport"` // RTSP transport: tcp | udp
	Analysis  Analysis `yaml:"analysis"`
	Motion    Motion   `yaml:"motion"`
}

// Analysis is the rate and size frames are analysed at (the stream is
// decoded in full; only these frames are scaled and analysed).
type Analysis struct {
	FPS float64 `yaml:"fps"`
	// Width in pixels; the height follows the stream's aspect ratio.
	Width int `yaml:"width"`
}

// Motion tunes motion detection and how detections become events.
type Motion struct {
	// Enabled false sends no motion events; motion is still detected,
	// because the pattern rules are built on its blobs. For cameras whose
	// purpose is a pattern (e.g. person_down) under a policy that does not
	// allow motion events.
	Enabled bool `yaml:"enabled"`
	// MinArea is the smallest moving area that counts, as a fraction of the
	// frame (0.002 = 0.2 %).
	MinArea float64 `yaml:"min_area"`
	// Sensitivity is the background model's variance threshold (MOG2
	// varThreshold): lower values react to smaller changes.
	Sensitivity float64 `yaml:"sensitivity"`
	// Warmup is how long the background model learns before detecting.
	Warmup time.Duration `yaml:"warmup"`
	// QuietTime without motion ends a situation.
	QuietTime time.Duration `yaml:"quiet_time"`
	// MinDuration is how long motion must last before a situation starts.
	MinDuration time.Duration `yaml:"min_duration"`
	// UpdateInterval between update messages of an ongoing situation; 0
	// sends none.
	UpdateInterval time.Duration `yaml:"update_interval"`
}

// Camera is one stream to analyse.
type Camera struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// URL is rtsp:// or rtsps://, possibly with credentials: log it only
	// through RedactedURL.
	URL            string `yaml:"url"`
	Enabled        bool   `yaml:"enabled"`
	CameraSettings `yaml:",inline"`
	// Patterns are this camera's behaviour-pattern rules (zones, lines,
	// perspective, rules); they are per camera, never under defaults:
	// zones are drawn on one camera's image.
	Patterns `yaml:",inline"`
}

// RedactedURL is the camera URL with any user name and password replaced by
// "xxxxx", for logs, status and errors.
func (c Camera) RedactedURL() string { return redact.URL(c.URL) }

// Defaults returns the value every setting has when the file does not set
// it. configs/edgeguard.yaml spells out the same values.
func Defaults() Config {
	return Config{
		Log:    Log{Level: "info", Format: "text"},
		HTTP:   HTTP{Addr: "127.0.0.1:9090"},
		Outbox: Outbox{MaxMB: 64, Sync: "always"},
		// prefix "": mqtt.topic_prefix (Commands.ResolvePrefix).
		Commands: Commands{Enabled: true},
		MQTT: MQTT{
			EmbeddedAddr: "127.0.0.1:1883",
			TopicPrefix:  "edgeguard",
			KeepAlive:    30 * time.Second,
			Format:       "edgeguard",
		},
		Defaults: CameraSettings{
			Transport: "tcp",
			Analysis:  Analysis{FPS: 5, Width: 640},
			Motion: Motion{
				Enabled:     true,
				MinArea:     0.002,
				Sensitivity: 16,
				Warmup:      5 * time.Second,
				// The motion rule's own keys: the registry's defaults.
				QuietTime:      motionDefault("quiet_time"),
				MinDuration:    motionDefault("min_duration"),
				UpdateInterval: motionDefault("update_interval"),
			},
		},
	}
}

// file is the document's shape: Config plus the cameras, kept raw until the
// defaults they start from are known.
type file struct {
	Config  `yaml:",inline"`
	Cameras []yamlstrict.Raw `yaml:"cameras"`
}

// Load reads, decodes and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data; filename is used in messages and to
// resolve relative paths (policy, mqtt.password_file). On failure the error
// is Errors, listing every problem found.
func Parse(filename string, data []byte) (*Config, error) {
	d := yamlstrict.New(filename, data, yamlstrict.Options{
		KeyCheck: keyCheck,
		Empty:    "the file is empty; it needs at least device: and cameras: (see configs/edgeguard.yaml)",
	})
	if !d.HasDocument() {
		return nil, d.Err()
	}
	f := file{Config: Defaults()}
	d.Decode(&f)
	cfg := f.Config
	for _, raw := range f.Cameras {
		c := Camera{Enabled: true, CameraSettings: cfg.Defaults}
		d.DecodeRaw(raw, &c)
		cfg.Cameras = append(cfg.Cameras, c)
	}
	dir := filepath.Dir(filename)
	cfg.Policy = resolvePath(dir, cfg.Policy)
	cfg.Outbox.Dir = resolvePath(dir, cfg.Outbox.Dir)
	cfg.Audit.Dir = resolvePath(dir, cfg.Audit.Dir)
	cfg.MQTT.PasswordFile = resolvePath(dir, cfg.MQTT.PasswordFile)
	cfg.MQTT.TLS.CAFile = resolvePath(dir, cfg.MQTT.TLS.CAFile)
	cfg.MQTT.TLS.CertFile = resolvePath(dir, cfg.MQTT.TLS.CertFile)
	cfg.MQTT.TLS.KeyFile = resolvePath(dir, cfg.MQTT.TLS.KeyFile)
	cfg.HTTP.TLS.CertFile = resolvePath(dir, cfg.HTTP.TLS.CertFile)
	cfg.MQTT.EmbeddedTLS.CertFile = resolvePath(dir, cfg.MQTT.EmbeddedTLS.CertFile)
	cfg.MQTT.EmbeddedTLS.KeyFile = resolvePath(dir, cfg.MQTT.EmbeddedTLS.KeyFile)
	cfg.MQTT.EmbeddedTLS.ClientCAFile = resolvePath(dir, cfg.MQTT.EmbeddedTLS.ClientCAFile)
	cfg.HTTP.TLS.KeyFile = resolvePath(dir, cfg.HTTP.TLS.KeyFile)
	cfg.HTTP.UsersFile = resolvePath(dir, cfg.HTTP.UsersFile)
	if cfg.MQTT.ClientID == "" && cfg.Device != "" {
		cfg.MQTT.ClientID = "edgeguard-" + cfg.Device
	}
	validate(d, &cfg)
	if err := d.Err(); err != nil {
		return nil, err
	}
	cfg.src = newSource(filename, d)
	return &cfg, nil
}

func resolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// keyCheck explains keys that must not be there instead of calling them
// unknown.
func keyCheck(path, key string) string {
	switch {
	case path == "mqtt.password" || path == "mqtt.pass" || path == "mqtt.passwd":
		return "passwords are never written into the config file; put the password in a file only edgeguard can read and set mqtt.password_file to its path, or set mqtt.password_env to the name of an environment variable that holds it"
	case strings.HasPrefix(path, "cameras[") && (key == "password" || key == "username" || key == "user"):
		return "camera credentials are part of the url: rtsp://user:password@host:554/path"
	}
	return ""
}

// Embedded reports whether edgeguard runs its own broker.
func (m MQTT) Embedded() bool { return m.Broker == "" }

// Password reads the broker password from PasswordFile (surrounding white
// space trimmed) or the environment variable PasswordEnv; "" if neither is
// set. It is read at connect time, not at load, so that a rotated secret is
// picked up on reconnect or reload without a config change.
func (m MQTT) Password() (string, error) {
	switch {
	case m.PasswordFile != "":
		b, err := os.ReadFile(m.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("mqtt.password_file: %w", err)
		}
		pw := strings.TrimSpace(string(b))
		if pw == "" {
			return "", fmt.Errorf("mqtt.password_file: %s is empty", m.PasswordFile)
		}
		return pw, nil
	case m.PasswordEnv != "":
		pw, ok := os.LookupEnv(m.PasswordEnv)
		if !ok || pw == "" {
			return "", fmt.Errorf("mqtt.password_env: environment variable %s is not set or empty", m.PasswordEnv)
		}
		return pw, nil
	}
	return "", nil
}

// UsesTLS reports whether the broker URL asks for TLS (tls:// or ssl://).
func (m MQTT) UsesTLS() bool {
	return strings.HasPrefix(m.Broker, "tls://") || strings.HasPrefix(m.Broker, "ssl://")
}

// TLSConfig returns the TLS settings for the broker connection, or nil if
// the broker URL does not use TLS. It reads the CA and client certificate
// files now, like Password, so call it at start: a renewed certificate is
// picked up on the next start. Errors name the setting at fault and never
// contain key material.
func (m MQTT) TLSConfig() (*tls.Config, error) {
	if !m.UsesTLS() {
		return nil, nil
	}
	t := m.TLS
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // the operator's explicit choice; the egress guard logs a warning
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file: %w", err)
		}
		keyPEM, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.key_file: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// crypto/tls says which input is wrong and quotes none of it.
			return nil, fmt.Errorf("mqtt.tls.cert_file, mqtt.tls.key_file: %s and %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// SlogLevel is Level as a slog.Level (info if unknown; Parse has validated it).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// NewLogger returns a logger writing to w in the configured format and level.
func (l Log) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
