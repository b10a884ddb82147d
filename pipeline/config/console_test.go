package config

import (
	"strings"
	"testing"
)

// TestHTTPConsole: the web console is on by default on loopback, off by
// default elsewhere, and asked for off loopback it is refused with a
// "not yet" naming http.addr (login, TLS and users come later).
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
			`http.console: not yet: the web console on http.addr "0.0.0.0:9090" (not a loopback address) needs TLS and a users file, which are not implemented yet`},
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
