package redact

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtsp://cam.local:554/stream", "rtsp://cam.local:554/stream"},
		{"rtsp://admin:secret@10.0.0.5:554/live", "rtsp://xxxxx@10.0.0.5:554/live"},
		// User only.
		{"rtsp://admin@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		{"rtsp://admin:@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		{"rtsp://admin:p%40ss@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		// Unescaped '@', ':', '/', '%', '#', '?' in a pasted password: all of
		// it goes, however a parser would split it.
		{"rtsp://admin:p@ss@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		{"rtsp://admin:p:ss@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:12/34@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://adm/in:pass@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:100%@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:a#b@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:a?b@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:a?pwd=b@cam/live", "rtsp://xxxxx@cam/live"},
		// One-letter passwords.
		{"rtsp://a:a@cam/live", "rtsp://xxxxx@cam/live"},
		{"RTSPS://u:p@cam/x", "RTSPS://xxxxx@cam/x"},
		// MQTT.
		{"mqtt://user:pw@broker:1883", "mqtt://xxxxx@broker:1883"},
		{"mqtts://user:p@ss/w0rd@broker.example.org:8883", "mqtts://xxxxx@broker.example.org:8883"},
		{"tls://broker.example.org:8883", "tls://broker.example.org:8883"},
		// Credentials in the query.
		{"rtsp://cam/videoMain?user=admin&pwd=hunter2&ch=1", "rtsp://cam/videoMain?user=xxxxx&pwd=xxxxx&ch=1"},
		{"rtsp://cam/x?Password=a&b#frag", "rtsp://cam/x?Password=xxxxx&b#frag"},
		{"rtsp://192.0.2.1/s?channel=1&password=s3cr3t", "rtsp://192.0.2.1/s?channel=1&password=xxxxx"},
		{"rtsp://cam/x?ch=1;pwd=abc", "rtsp://cam/x?ch=1;pwd=xxxxx"},
		{"rtsp://cam/x?api_key=k1&access_token=t2&%70wd=p3", "rtsp://cam/x?api_key=xxxxx&access_token=xxxxx&%70wd=xxxxx"},
		// Not a URL a parser accepts: still redacted, host kept.
		{"rtsp://admin:s3 cr3t@192.0.2.1/", "rtsp://xxxxx@192.0.2.1/"},
		{"admin:secret@cam/live", "xxxxx@cam/live"},
		// "://" inside a query is not a scheme.
		{"admin:secret@cam/x?u=http://y", "xxxxx@cam/x?u=http://y"},
		{"", ""},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := HasCredentials(tt.in); got != (tt.in != tt.want) {
			t.Errorf("HasCredentials(%q) = %v", tt.in, got)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"dial tcp 10.0.0.5:554: connection refused", "dial tcp 10.0.0.5:554: connection refused"},
		{`DESCRIBE rtsp://admin:hunter2@10.0.0.5:554/s1: 401`, `DESCRIBE rtsp://xxxxx@10.0.0.5:554/s1: 401`},
		{"rtsp://u@h/x and rtsps://a:b@c/d", "rtsp://xxxxx@h/x and rtsps://xxxxx@c/d"},
		{"rtsp://u:p@ss@host/x", "rtsp://xxxxx@host/x"},
		// A '@' in a path over-redacts: the safe way to be wrong.
		{"rtsp://host/path@weird", "rtsp://xxxxx@weird"},
		// Error strings that embed the URL: Go's quoting, brackets, a
		// password with a quote, a slash, a hash.
		{`parse "rtsp://admin:p@ss@cam/live": invalid userinfo`, `parse "rtsp://xxxxx@cam/live": invalid userinfo`},
		{`camera cam1: ingest: DESCRIBE (rtsp://u:pa"ss@cam/x): 401`, `camera cam1: ingest: DESCRIBE (rtsp://xxxxx@cam/x): 401`},
		{"dial rtsp://u:12/34@cam/x: refused", "dial rtsp://xxxxx@cam/x: refused"},
		{"dial rtsp://u:a#b@cam/x: refused", "dial rtsp://xxxxx@cam/x: refused"},
		{"broker mqtts://u:pw@broker:8883 refused", "broker mqtts://xxxxx@broker:8883 refused"},
		{"url=tcp://u:pw@broker:1883,next", "url=tcp://xxxxx@broker:1883,next"},
		{"GET rtsp://cam/x?user=admin&pwd=hunter2 failed", "GET rtsp://cam/x?user=xxxxx&pwd=xxxxx failed"},
		// A one-letter password: the rest of the message stays as it is.
		{"a camera at rtsp://a:a@cam/x failed after a while", "a camera at rtsp://xxxxx@cam/x failed after a while"},
		{"no url here @ all", "no url here @ all"},
		{"://@ and 1://u:p@h", "://@ and 1://u:p@h"},
		{"RTSP://U:P@H", "RTSP://xxxxx@H"},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Text(Text(tt.in)); again != Text(tt.in) {
			t.Errorf("Text not idempotent on %q", tt.in)
		}
	}
}

func TestScrubber(t *testing.T) {
	raw := "rtsp://camuser:Pa%2Fss@cam.local/live?pwd=q1w2e3"
	sc := NewScrubber(raw)
	msg := sc.Text(`DESCRIBE ` + raw + ` failed; user camuser pass Pa/ss or Pa%2Fss, token q1w2e3, control 'rtsp://x:y@other/track'`)
	for _, secret := range []string{"camuser", "Pa/ss", "Pa%2Fss", "q1w2e3", "x:y"} {
		if strings.Contains(msg, secret) {
			t.Errorf("scrubbed message contains %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, "cam.local") {
		t.Errorf("host should survive: %s", msg)
	}

	tests := []struct{ raw, msg, want string }{
		// One-letter password (and user): only the URL is touched.
		{"rtsp://u:a@cam/x", "a session at rtsp://u:a@cam/x: a 401", "a session at rtsp://xxxxx@cam/x: a 401"},
		// The password alone, as a library might print it.
		{"rtsp://admin:hunter2@cam/x", "auth hunter2 rejected for admin", "auth xxxxx rejected for xxxxx"},
		// %-encoded in the URL, decoded in the message, and back.
		{"rtsp://admin:p%40ss%3Aw0rd@cam/x", "password p@ss:w0rd or p%40ss%3Aw0rd", "password xxxxx or xxxxx"},
		// Go-quoted (%q) in the message.
		{`rtsp://admin:pa"ss"word@cam/x`, `parse "rtsp://admin:pa\"ss\"word@cam/x": bad`, `parse "rtsp://xxxxx@cam/x": bad`},
		// Characters a parser splits at.
		{"rtsp://admin:p@ss#w/rd?@cam/x", "DESCRIBE rtsp://admin:p@ss#w/rd?@cam/x: 404", "DESCRIBE rtsp://xxxxx@cam/x: 404"},
		// A URL without user info; a nil Scrubber only applies Text.
		{"rtsp://cam/x", "DESCRIBE rtsp://cam/x: 404", "DESCRIBE rtsp://cam/x: 404"},
	}
	for _, tt := range tests {
		if got := NewScrubber(tt.raw).Text(tt.msg); got != tt.want {
			t.Errorf("NewScrubber(%q).Text(%q) = %q, want %q", tt.raw, tt.msg, got, tt.want)
		}
	}
	if got := (*Scrubber)(nil).Text("rtsp://u:p@h"); got != "rtsp://xxxxx@h" {
		t.Errorf("nil Scrubber: %q", got)
	}
}

// userInfoRedacted reports whether everything between the scheme and the
// last '@' of out is the placeholder.
func userInfoRedacted(out string) bool {
	_, rest := splitScheme(out)
	j := strings.LastIndexByte(rest, '@')
	return j < 0 || rest[:j] == Mask
}

// FuzzRedactURL: URL leaves no user info, is idempotent, changes nothing
// without '@' or '?', and keeps no password a parser would find.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"rtsp://admin:secret@10.0.0.5:554/live",
		"rtsp://admin:p@ss@cam/live?x=1",
		"rtsp://cam/videoMain?user=admin&pwd=hunter2",
		"rtsp://[::1]:8554/a",
		"rtsps://u@h",
		"mqtts://u:p@broker:8883",
		"u:p@h",
		"rtsp://cam/x?%70wd=a",
		"://@",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := URL(in)
		if !userInfoRedacted(out) {
			t.Fatalf("user info survives: %q → %q", in, out)
		}
		if again := URL(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		if !strings.Contains(in, "@") && !strings.Contains(in, "?") && out != in {
			t.Fatalf("changed a URL without user info or query: %q → %q", in, out)
		}
		if u, err := url.Parse(in); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" && strings.Contains(out, ":"+p+"@") {
				t.Fatalf("password kept: %q → %q", in, out)
			}
		}
		if again := Text(Text(in)); again != Text(in) {
			t.Fatalf("Text not idempotent on %q", in)
		}
	})
}

// FuzzRedactText: whatever surrounds it, a URL's password never appears in
// what Text or a Scrubber for that URL make of a text containing the URL —
// for a password of any length, one letter included, and with any of the
// characters that break URL parsers. The password must not occur in the
// rest of the text (nothing could tell the two apart), nor be a part of
// what the redacted URL itself spells ("x" is in the mask), and contain no
// white space, which ends a URL in free text.
func FuzzRedactText(f *testing.F) {
	f.Add("error at ", "rtsp", "admin", "s3cret", "10.0.0.5:554/x", ": 401")
	f.Add("", "mqtts", "", "p", "h", "")
	f.Add(`parse "`, "rtsp", "u", `p@ss"w:/%#?`, "cam/live", `": invalid`)
	f.Add("a ", "rtsps", "a", "a", "cam", " a")
	f.Fuzz(func(t *testing.T, prefix, scheme, user, pass, rest, suffix string) {
		if pass == "" || !validScheme(scheme) || strings.ContainsAny(pass, " \t\n\v\f\r") ||
			strings.ContainsAny(user, " \t\n\v\f\r") || strings.ContainsAny(rest, " \t\n\v\f\r@") {
			return
		}
		ui := pass
		if user != "" || strings.HasPrefix(pass, ":") {
			ui = user + ":" + pass
		}
		u := scheme + "://" + ui + "@" + rest
		in := prefix + " " + u + " " + suffix
		red := URL(u)
		if strings.Contains(prefix, pass) || strings.Contains(suffix, pass) || strings.Contains(" "+red+" ", pass) {
			return
		}
		if out := Text(in); strings.Contains(out, pass) {
			t.Fatalf("Text: password %q survives in %q", pass, out)
		}
		if out := NewScrubber(u).Text(in); strings.Contains(out, pass) {
			t.Fatalf("Scrubber: password %q survives in %q", pass, out)
		}
		// Quoted as Go quotes a URL in an error.
		q := prefix + fmt.Sprintf(" %q ", u) + suffix
		if out := NewScrubber(u).Text(q); strings.Contains(out, pass) && !strings.Contains(fmt.Sprintf(" %q ", red), pass) {
			t.Fatalf("Scrubber: password %q survives in quoted %q", pass, out)
		}
	})
}
