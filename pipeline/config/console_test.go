package config

import (
	"strings"
	"testing"
)

// TestHTTPConsole: the web console is on by default on loopback, off by
// default elsewhere, and asked for off loopback without TLS and a users
// file it is refused naming the fields that are missing.
func TestHTTPConsole(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		on       bool
		err      string
	}{
		{"default", "", true, ""},
		{"loopback v6", "http: {addr: \"[::1]:9090\"}\n", true, ""},
		{"localhost", "http: {addr: \"localhost:9090\"}\n", true, ""},
		{"off", "http: {addr: \"127.0.0.1:9090\", console: false}\n", false, ""},
		{"all interfaces: off by default", "http: {addr: \"0.0.0.0:9090\"}\n", false, ""},
		{"empty host: off by default", "http: {addr: \":9090\"}\n", false, ""},
		{"all interfaces, console off", "http: {addr: \"0.0.0.0:9090\", console: false}\n", false, ""},
		{"disabled endpoint", "http: {addr: \"\"}\n", false, ""},
		{"asked for off loopback", "http: {addr: \"0.0.0.0:9090\", console: true}\n", false,
			`http.console: the web console on http.addr "0.0.0.0:9090" (not a loopback address) needs TLS and a users file: set http.tls.cert_file and http.tls.key_file and http.users_file`},
		{"off loopback, users file only", "http: {addr: \"0.0.0.0:9090\", console: true, users_file: /u}\n", false,
			`needs TLS and a users file: set http.tls.cert_file and http.tls.key_file, or bind`},
		{"tls key without cert", "http: {tls: {key_file: /k}}\n", false, `http.tls.cert_file: required with http.tls.key_file`},
		{"tls cert without key", "http: {tls: {cert_file: /c}}\n", false, `http.tls.key_file: required with http.tls.cert_file`},
		{"tls on loopback", "http: {tls: {cert_file: /c, key_file: /k}}\n", true, ""},
		{"off loopback with tls and users", "http: {addr: \"0.0.0.0:9090\", tls: {cert_file: /c, key_file: /k}, users_file: /u}\n", true, ""},
		{"users file on loopback", "http: {users_file: u.txt, allow_edit: true}\n", true, ""},
		{"asked for on a LAN address", "http: {addr: \"192.0.2.5:9090\", console: true}\n", false, `http.addr "192.0.2.5:9090"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("e.yaml", []byte(valid+tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.HTTP.ConsoleOn(); got != tt.on {
				t.Errorf("ConsoleOn = %v, want %v", got, tt.on)
			}
		})
	}
}
