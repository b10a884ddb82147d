package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// idPattern keeps ids safe as MQTT topic levels and file names: no '/', no
// wildcards, no spaces.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LogLevels and LogFormats are the values log.level and log.format allow.
// edgeguard run's --log-level and --log-format check against the same
// lists, so a value the file refuses is not accepted on the command line.
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// validate is the one place where the rules of the file live. It reports
// through d so every message carries the position of the offending key.
func validate(d *yamlstrict.Decoder, c *Config) {
	switch {
	case c.Device == "":
		d.Errorf("device", "required: the id of this edge box, e.g. edge-01 (letters, digits, - and _)")
	case !idPattern.MatchString(c.Device):
		d.Errorf("device", "%s is not a valid id; allowed: 1 to 64 letters, digits, - and _ (it becomes part of MQTT topics)", yamlstrict.Quote(c.Device))
	}
	oneOf(d, "log.level", c.Log.Level, LogLevels...)
	oneOf(d, "log.format", c.Log.Format, LogFormats...)
	validateMQTT(d, &c.MQTT)
	validateCommands(d, &c.Commands)
	validateONVIFCameras(d, c)
	if c.HTTP.Addr != "" {
		if err := checkHostPort(c.HTTP.Addr); err != "" {
			d.Errorf("http.addr", "%s; expected host:port, e.g. 127.0.0.1:9090, or \"\" to disable", err)
		} else if c.HTTP.Console != nil && *c.HTTP.Console && !LoopbackAddr(c.HTTP.Addr) && !c.HTTP.Secured() {
			// Off the box, only behind a login, and the password and the
			// session cookie only encrypted.
			var missing []string
			if !c.HTTP.TLS.On() {
				missing = append(missing, "http.tls.cert_file and http.tls.key_file")
			}
			if c.HTTP.UsersFile == "" {
				missing = append(missing, "http.users_file")
			}
			d.Errorf("http.console", "the web console on http.addr %s (not a loopback address) needs TLS and a users file: set %s, or bind http.addr to 127.0.0.1, or set http.console: false (docs/console.md)", yamlstrict.Quote(c.HTTP.Addr), strings.Join(missing, " and "))
		}
	}
	validateHTTPTLS(d, c.HTTP)
	if c.Outbox.MaxMB < 1 || c.Outbox.MaxMB > 65536 {
		d.Errorf("outbox.max_mb", "%d is out of range; allowed: 1 to 65536 (MiB)", c.Outbox.MaxMB)
	}
	oneOf(d, "outbox.sync", c.Outbox.Sync, "always", "never")
	if c.Outbox.Memory && c.Outbox.Dir != "" {
		d.Errorf("outbox.memory", "contradicts outbox.dir: the outbox is either on disk (dir) or in memory only (memory: true, events lost on a crash); remove one of them")
	}
	if c.Audit.Dir != "" && c.Audit.Dir == c.Outbox.Dir {
		d.Errorf("audit.dir", "is outbox.dir: the audit trail needs a directory of its own")
	}
	validateSettings(d, "defaults", c.Defaults, true)

	if len(c.Cameras) == 0 && !d.HasError("cameras") {
		d.Errorf("cameras", "no cameras configured; add at least one with id: and url: (see configs/edgeguard.yaml)")
	}
	first := map[string]int{}
	for i, cam := range c.Cameras {
		p := yamlstrict.Index("cameras", i)
		switch {
		case cam.ID == "":
			d.Errorf(p+".id", "required: a short unique name for this camera, e.g. cam1 (letters, digits, - and _)")
		case !idPattern.MatchString(cam.ID):
			d.Errorf(p+".id", "%s is not a valid camera id; allowed: 1 to 64 letters, digits, - and _ (it becomes part of MQTT topics)", yamlstrict.Quote(cam.ID))
		default:
			if j, dup := first[cam.ID]; dup {
				d.Errorf(p+".id", "duplicate camera id %q (first at line %d)", cam.ID, d.Pos(yamlstrict.Index("cameras", j)+".id").Line)
			} else {
				first[cam.ID] = i
			}
		}
		if len([]rune(cam.Name)) > 100 || hasControl(cam.Name) {
			d.Errorf(p+".name", "must be at most 100 characters on one line")
		}
		validateCameraURL(d, p+".url", cam.URL)
		// Only keys the camera sets itself: inherited values were checked
		// under defaults and must not be reported once per camera.
		validateSettings(d, p, cam.CameraSettings, false)
		validatePatterns(d, p, &c.Cameras[i].Patterns)
	}
}

func validateMQTT(d *yamlstrict.Decoder, m *MQTT) {
	if m.Broker != "" {
		validateBroker(d, "mqtt.broker", m.Broker)
	} else if err := checkHostPort(m.EmbeddedAddr); err != "" {
		d.Errorf("mqtt.embedded_addr", "%s; expected host:port, e.g. 127.0.0.1:1883", err)
	}
	validateEmbeddedTLS(d, m)
	tp := m.TopicPrefix
	switch {
	case tp == "":
		d.Errorf("mqtt.topic_prefix", "must not be empty; e.g. edgeguard")
	case strings.ContainsAny(tp, "+#"):
		d.Errorf("mqtt.topic_prefix", "must not contain the MQTT wildcards + or #")
	case strings.HasPrefix(tp, "$"):
		d.Errorf("mqtt.topic_prefix", "must not start with $ (reserved for the broker)")
	case strings.HasPrefix(tp, "/") || strings.HasSuffix(tp, "/") || strings.Contains(tp, "//"):
		d.Errorf("mqtt.topic_prefix", "must not start or end with / or contain //; e.g. city/edgeguard")
	case len(tp) > 128 || hasControl(tp) || strings.ContainsRune(tp, ' '):
		d.Errorf("mqtt.topic_prefix", "must be at most 128 characters without spaces")
	}
	if len(m.ClientID) > 128 || hasControl(m.ClientID) {
		d.Errorf("mqtt.client_id", "must be at most 128 characters on one line")
	}
	if hasControl(m.Username) {
		d.Errorf("mqtt.username", "must be on one line")
	}
	if m.PasswordFile != "" && m.PasswordEnv != "" {
		d.Errorf("mqtt.password_env", "set only one of mqtt.password_file and mqtt.password_env")
	}
	if m.PasswordEnv != "" && !envPattern.MatchString(m.PasswordEnv) {
		d.Errorf("mqtt.password_env", "%s is not an environment variable name; allowed: letters, digits and _, not starting with a digit", yamlstrict.Quote(m.PasswordEnv))
	}
	if (m.PasswordFile != "" || m.PasswordEnv != "") && m.Username == "" {
		at := "mqtt.password_file"
		if m.PasswordFile == "" {
			at = "mqtt.password_env"
		}
		d.Errorf(at, "a password needs mqtt.username")
	}
	inRange(d, "mqtt.keepalive", m.KeepAlive, time.Second, time.Hour)
	oneOf(d, "mqtt.format", m.Format, MQTTFormats...)
	validateTLS(d, m)
}

// validateEmbeddedTLS checks mqtt.embedded_tls: all four settings, only
// for the embedded broker, and the plain listener then on loopback (it
// is the box's own; a client off the box comes through TLS with a
// certificate, or not at all).
func validateEmbeddedTLS(d *yamlstrict.Decoder, m *MQTT) {
	t := m.EmbeddedTLS
	if !t.On() {
		return
	}
	if m.Broker != "" {
		d.Errorf("mqtt.embedded_tls", "only applies to the embedded broker (mqtt.broker not set); for %s configure TLS on that broker (docs/oversight.md)", yamlstrict.Quote(m.Broker))
		return
	}
	if t.Addr == "" {
		d.Errorf("mqtt.embedded_tls.addr", "required: host:port the TLS listener binds, e.g. 0.0.0.0:8883")
	} else if err := checkHostPort(t.Addr); err != "" {
		d.Errorf("mqtt.embedded_tls.addr", "%s; expected host:port, e.g. 0.0.0.0:8883", err)
	} else if t.Addr == m.EmbeddedAddr {
		d.Errorf("mqtt.embedded_tls.addr", "is mqtt.embedded_addr too; the TLS listener needs an address of its own, e.g. 0.0.0.0:8883")
	}
	for _, f := range []struct{ key, val, what string }{
		{"cert_file", t.CertFile, "the broker's certificate (PEM)"},
		{"key_file", t.KeyFile, "the broker certificate's private key (PEM)"},
		{"client_ca_file", t.ClientCAFile, "the CA certificate(s) (PEM) clients' certificates must chain to"},
	} {
		if f.val == "" {
			d.Errorf("mqtt.embedded_tls."+f.key, "required with mqtt.embedded_tls: %s", f.what)
		}
	}
	if host, _, err := net.SplitHostPort(m.EmbeddedAddr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			d.Errorf("mqtt.embedded_addr", "%s is not a loopback address; with mqtt.embedded_tls the plain listener is for the box's own processes only (e.g. 127.0.0.1:1883), clients off the box use the TLS listener", yamlstrict.Quote(m.EmbeddedAddr))
		}
	}
}

// MQTTFormats are the values of mqtt.format (egress.FormatNames; a test
// there keeps the two lists equal).
var MQTTFormats = []string{"edgeguard", "onvif", "both"}

// validateONVIFCameras refuses the camera id "onvif-ej" when events also
// leave in ONVIF's format: its topics would lie under the ONVIF payload
// prefix, <topic_prefix>/<device>/onvif-ej/, which a Profile M VMS
// subscribes to whole.
func validateONVIFCameras(d *yamlstrict.Decoder, c *Config) {
	if c.MQTT.Format != "onvif" && c.MQTT.Format != "both" {
		return
	}
	for i, cam := range c.Cameras {
		if cam.ID == "onvif-ej" {
			d.Errorf(yamlstrict.Index("cameras", i)+".id", "camera id \"onvif-ej\" is the ONVIF payload prefix (mqtt.format %s); choose another id", c.MQTT.Format)
		}
	}
}

func validateTLS(d *yamlstrict.Decoder, m *MQTT) {
	t := m.TLS
	if t.IsZero() {
		return
	}
	if !m.UsesTLS() {
		d.Errorf("mqtt.tls", "only applies to a broker URL with tls:// or ssl://; the embedded broker and tcp:// or mqtt:// brokers are not encrypted")
		return
	}
	if t.CertFile != "" && t.KeyFile == "" {
		d.Errorf("mqtt.tls.cert_file", "needs mqtt.tls.key_file, the client certificate's key")
	}
	if t.KeyFile != "" && t.CertFile == "" {
		d.Errorf("mqtt.tls.key_file", "needs mqtt.tls.cert_file, the client certificate")
	}
	if t.InsecureSkipVerify && t.CAFile != "" {
		d.Errorf("mqtt.tls.insecure_skip_verify", "contradicts mqtt.tls.ca_file: without verification the CA is not used; remove one of them")
	}
	if sn := t.ServerName; sn != "" && (len(sn) > 253 || hasControl(sn) || strings.ContainsAny(sn, " /:@")) {
		d.Errorf("mqtt.tls.server_name", "%s is not a host name; e.g. broker.example.org", yamlstrict.Quote(sn))
	}
}

func validateBroker(d *yamlstrict.Decoder, path, raw string) {
	const eg = "e.g. tcp://192.0.2.20:1883 or tls://broker.example.org:8883"
	u, err := url.Parse(raw)
	if err != nil || !strings.Contains(raw, "://") {
		d.Errorf(path, "not a valid URL (%s); %s", urlProblem(err), eg)
		return
	}
	switch {
	case u.Scheme != "tcp" && u.Scheme != "mqtt" && u.Scheme != "ssl" && u.Scheme != "tls":
		d.Errorf(path, "unsupported scheme %q; allowed: tcp, mqtt, ssl, tls (%s)", u.Scheme, eg)
	case u.User != nil:
		d.Errorf(path, "must not contain a user name or password; set mqtt.username and mqtt.password_file or mqtt.password_env")
	case u.Hostname() == "":
		d.Errorf(path, "has no host; %s", eg)
	case u.Port() == "":
		d.Errorf(path, "has no port; %s", eg)
	case !validPort(u.Port()):
		d.Errorf(path, "port %s is out of range; allowed: 1 to 65535", u.Port())
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		d.Errorf(path, "must be only scheme://host:port; %s", eg)
	}
}

func validateCameraURL(d *yamlstrict.Decoder, path, raw string) {
	const eg = "e.g. rtsp://user:password@192.0.2.10:554/stream"
	if raw == "" {
		d.Errorf(path, "required: the camera's RTSP address, %s", eg)
		return
	}
	// Before parsing: a # in a password makes the parser see a bad port,
	// which would send the operator looking in the wrong place.
	if strings.Contains(raw, "#") {
		d.Errorf(path, "contains #, which ends an RTSP address (what follows would never reach the camera); where it is part of the password or the path, write it as %%23")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.Contains(raw, "://") {
		// Never echo the raw value: it may hold a password.
		d.Errorf(path, "not a valid URL (%s); %s", urlProblem(err), eg)
		return
	}
	switch {
	case u.Scheme != "rtsp" && u.Scheme != "rtsps":
		d.Errorf(path, "unsupported scheme %q; allowed: rtsp, rtsps (%s)", u.Scheme, eg)
	case u.Hostname() == "":
		d.Errorf(path, "has no host; %s", eg)
	case u.Port() != "" && !validPort(u.Port()):
		d.Errorf(path, "port %s is out of range; allowed: 1 to 65535", u.Port())
	default:
		if msg := unescapedInURL(raw); msg != "" {
			d.Errorf(path, "%s", msg)
		}
	}
}

// unescapedInURL says where raw, an RTSP URL that Go's parser accepted,
// holds characters a URL cannot carry as they are (RFC 3986: space,
// control characters, " < > \ ^ ` { | } and anything not ASCII), and how
// to escape them; "" if there are none. The parser lets them through in
// the path and query, the RTSP client sends them as they are, and the
// camera answers 404 for a stream it does not know, for ever: so they are
// refused here. The characters are named only for the host and the path:
// in the user name, password or query they would show part of a secret.
func unescapedInURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return ""
	}
	rest := raw[i+3:]
	authEnd := len(rest)
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		authEnd = j
	}
	at := strings.LastIndex(rest[:authEnd], "@")
	query := len(rest)
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		query = j
	}
	part := ""
	var names, escapes []string
	for j, r := range rest {
		if !mustEscapeInURL(r) {
			continue
		}
		where := "the path"
		switch {
		case j < at:
			where = "the user name or password"
		case j < authEnd:
			where = "the host"
		case j > query:
			where = "the query"
		}
		if part == "" {
			part = where
		}
		if where != part {
			continue
		}
		name, esc := describeRune(r)
		if !slices.Contains(names, name) {
			names, escapes = append(names, name), append(escapes, esc)
		}
	}
	switch part {
	case "":
		return ""
	case "the user name or password", "the query":
		return part + " contains characters an RTSP URL cannot carry unescaped; %-escape each, e.g. a space as %20, | as %7C, ä as %C3%A4"
	}
	them := "it"
	if len(names) > 1 {
		them = "them"
	}
	return fmt.Sprintf("%s contains %s, which an RTSP URL cannot carry unescaped; write %s as %s", part,
		joinAnd(names), them, joinAnd(escapes))
}

func mustEscapeInURL(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"<>\\^`{|}", r)
}

// describeRune names r for a message and gives its %-escape (of its UTF-8
// bytes).
func describeRune(r rune) (name, escape string) {
	var b strings.Builder
	for _, c := range []byte(string(r)) {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	switch {
	case r == ' ':
		name = "a space"
	case !unicode.IsPrint(r): // e.g. a no-break space pasted from a document
		name = fmt.Sprintf("the invisible character U+%04X", r)
	default:
		name = strconv.Quote(string(r))
	}
	return name, b.String()
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// validateSettings checks one set of camera settings. all=false checks only
// the keys present under prefix in the file.
func validateSettings(d *yamlstrict.Decoder, prefix string, s CameraSettings, all bool) {
	has := func(p string) bool { return all || d.Has(prefix+"."+p) }
	p := func(s string) string { return prefix + "." + s }
	if has("transport") {
		oneOf(d, p("transport"), s.Transport, "tcp", "udp")
	}
	if has("analysis.fps") && (s.Analysis.FPS < 0.5 || s.Analysis.FPS > 30) {
		d.Errorf(p("analysis.fps"), "%s is out of range; allowed: 0.5 to 30 frames per second", fmtFloat(s.Analysis.FPS))
	}
	if has("analysis.width") && (s.Analysis.Width < 64 || s.Analysis.Width > 1920) {
		d.Errorf(p("analysis.width"), "%d is out of range; allowed: 64 to 1920 pixels", s.Analysis.Width)
	}
	m := s.Motion
	if has("motion.min_area") && (m.MinArea < 0.0001 || m.MinArea > 1) {
		d.Errorf(p("motion.min_area"), "%s is out of range; allowed: 0.0001 to 1 (a fraction of the frame; 0.002 = 0.2 %%)", fmtFloat(m.MinArea))
	}
	if has("motion.sensitivity") && (m.Sensitivity < 2 || m.Sensitivity > 100) {
		d.Errorf(p("motion.sensitivity"), "%s is out of range; allowed: 2 to 100 (lower reacts to smaller changes)", fmtFloat(m.Sensitivity))
	}
	if has("motion.warmup") {
		inRange(d, p("motion.warmup"), m.Warmup, 0, 10*time.Minute)
	}
	// The motion rule's keys, with the registry's ranges. In this section
	// 0 is a value, never "the default".
	spec, _ := pattern.Lookup(pattern.TypeMotion)
	set := m.settings()
	for _, k := range spec.Keys {
		key := "motion." + k.Name
		if !has(key) {
			continue
		}
		v, ok := set[k.Name].(time.Duration)
		if !ok || k.Kind != pattern.Duration {
			panic("config: motion section has no duration for key " + k.Name)
		}
		lo, hi := time.Duration(k.Min), time.Duration(k.Max)
		switch {
		case k.Zero == "":
			inRange(d, p(key), v, 0, hi) // 0 takes the rule's default
		case v < 0 || v > hi:
			inRange(d, p(key), v, 0, hi)
		case v > 0 && v < lo:
			d.Errorf(p(key), "%s is too short; allowed: 0s (%s) or %s to %s", v, k.Zero, fmtDuration(lo), fmtDuration(hi))
		}
	}
}

func oneOf(d *yamlstrict.Decoder, path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	d.Errorf(path, "unknown value %s; allowed: %s", yamlstrict.Quote(v), strings.Join(allowed, ", "))
}

func inRange(d *yamlstrict.Decoder, path string, v, min, max time.Duration) {
	if v < min || v > max {
		d.Errorf(path, "%s is out of range; allowed: %s to %s", fmtDuration(v), fmtDuration(min), fmtDuration(max))
	}
}

// fmtDuration prints durations the way people write them: 1h, not 1h0m0s.
func fmtDuration(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func checkHostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%s is not a listen address", yamlstrict.Quote(addr))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("port %s is out of range", yamlstrict.Quote(port))
	}
	if hasControl(host) || strings.ContainsRune(host, ' ') {
		return fmt.Sprintf("%s is not a host name", yamlstrict.Quote(host))
	}
	return ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// urlProblem says what is wrong with a URL without quoting any part that
// could be a credential.
func urlProblem(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "it must start with a scheme such as rtsp://"
	}
	var host url.InvalidHostError
	var esc url.EscapeError
	switch {
	case errors.As(ue.Err, &host):
		return host.Error()
	case errors.As(ue.Err, &esc):
		return "invalid %-escape; write a literal % as %25"
	case strings.Contains(ue.Err.Error(), "invalid userinfo"):
		return "the user name or password contains characters that must be %-escaped, e.g. a space as %20"
	case strings.Contains(ue.Err.Error(), "invalid port"):
		return "invalid port"
	case strings.Contains(ue.Err.Error(), "control character"):
		return "it contains a control character"
	case strings.Contains(ue.Err.Error(), "missing protocol scheme"):
		return "it must start with a scheme such as rtsp://"
	}
	return "it cannot be parsed"
}

// validateHTTPTLS: both files or neither.
func validateHTTPTLS(d *yamlstrict.Decoder, h HTTP) {
	switch {
	case h.TLS.CertFile != "" && h.TLS.KeyFile == "":
		d.Errorf("http.tls.key_file", "required with http.tls.cert_file: the certificate's private key (PEM)")
	case h.TLS.KeyFile != "" && h.TLS.CertFile == "":
		d.Errorf("http.tls.cert_file", "required with http.tls.key_file: the certificate (PEM) of that key")
	}
}
