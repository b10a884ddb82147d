package egress_test

import (
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

func TestValidSegment(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"cam1", true}, {"front-door_2", true}, {"Eingang Süd", true},
		{"", false}, {"a/b", false}, {"+", false}, {"cam#", false}, {"a\x00b", false},
		{"\xff", false}, {strings.Repeat("x", 129), false}, {strings.Repeat("x", 128), true},
	}
	for _, tc := range tests {
		if err := egress.ValidSegment(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidSegment(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"edgeguard", true}, {"site1/edgeguard", true},
		{"", false}, {"/edgeguard", false}, {"edgeguard/", false}, {"a//b", false},
		{"$SYS", false}, {"a/+/b", false}, {"#", false},
	}
	for _, tc := range tests {
		if err := egress.ValidPrefix(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidPrefix(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// FuzzValidPrefix checks the property the topic checks exist for: whatever
// they accept, joined with a valid device and camera, is a concrete topic
// with exactly the expected levels and no wildcard.
func FuzzValidPrefix(f *testing.F) {
	for _, s := range []string{"edgeguard", "a/b", "a/+", "#", "", "$SYS/x", "a\x00", "ü/ß"} {
		f.Add(s, "cam1")
	}
	f.Fuzz(func(t *testing.T, prefix, camera string) {
		if egress.ValidPrefix(prefix) != nil || egress.ValidSegment(camera) != nil {
			return
		}
		topic := prefix + "/box1/" + camera + "/events"
		if strings.ContainsAny(topic, "+#\x00") || strings.HasPrefix(topic, "$") {
			t.Fatalf("accepted topic %q contains a wildcard or reserved start", topic)
		}
		levels := strings.Split(topic, "/")
		if want := strings.Count(prefix, "/") + 4; len(levels) != want {
			t.Fatalf("topic %q has %d levels, want %d", topic, len(levels), want)
		}
		for _, l := range levels {
			if l == "" {
				t.Fatalf("topic %q has an empty level", topic)
			}
		}
	})
}

func TestRedactUserinfo(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"dial tcp 10.0.0.5:554: connection refused", "dial tcp 10.0.0.5:554: connection refused"},
		{`DESCRIBE rtsp://admin:hunter2@10.0.0.5:554/s1: 401`, `DESCRIBE rtsp://xxxxx@10.0.0.5:554/s1: 401`},
		{"rtsp://u@h/x and rtsps://a:b@c/d", "rtsp://xxxxx@h/x and rtsps://xxxxx@c/d"},
		{"rtsp://host/path@weird", "rtsp://host/path@weird"},
		{"rtsp://u:p@ss@host/x", "rtsp://xxxxx@host/x"},
	}
	for _, tc := range tests {
		if got := egress.RedactUserinfo(tc.in); got != tc.want {
			t.Errorf("RedactUserinfo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRedactUserinfo: a password placed in a URL never survives redaction.
func FuzzRedactUserinfo(f *testing.F) {
	f.Add("error at ", "admin", "s3cret", "10.0.0.5:554/x")
	f.Add("", "", "p", "h")
	f.Fuzz(func(t *testing.T, prefix, user, pass, rest string) {
		if len(pass) < 4 || strings.ContainsAny(user+pass, "/?# \t\n\r\v\f\u0085\u00a0") ||
			strings.Contains(prefix, pass) || strings.Contains("rtsp://xxxxx@"+rest, pass) {
			// Also skipped: a password that the redacted text itself spells,
			// e.g. "@abc" before a rest of "abc".
			return
		}
		in := prefix + " rtsp://" + user + ":" + pass + "@" + rest
		if out := egress.RedactUserinfo(in); strings.Contains(out, pass) {
			t.Fatalf("password %q survives in %q", pass, out)
		}
	})
}
