package ingest

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtsp://cam.local:554/stream", "rtsp://cam.local:554/stream"},
		{"rtsp://admin:secret@10.0.0.5:554/live", "rtsp://xxxxx@10.0.0.5:554/live"},
		{"rtsp://admin@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		{"rtsp://admin:p%40ss@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		// Unescaped '@', '/', '#', '?' in a pasted password: all of it goes.
		{"rtsp://admin:p@ss@10.0.0.5/live", "rtsp://xxxxx@10.0.0.5/live"},
		{"rtsp://admin:12/34@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:a#b@cam/live", "rtsp://xxxxx@cam/live"},
		{"rtsp://admin:a?b@cam/live", "rtsp://xxxxx@cam/live"},
		{"RTSPS://u:p@cam/x", "RTSPS://xxxxx@cam/x"},
		{"rtsp://cam/videoMain?user=admin&pwd=hunter2&ch=1", "rtsp://cam/videoMain?user=xxxxx&pwd=xxxxx&ch=1"},
		{"rtsp://cam/x?Password=a&b#frag", "rtsp://cam/x?Password=xxxxx&b#frag"},
		{"admin:secret@cam/live", "xxxxx@cam/live"},
		// "://" inside a query is not a scheme.
		{"admin:secret@cam/x?u=http://y", "xxxxx@cam/x?u=http://y"},
		{"", ""},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// userInfoRedacted reports whether everything between the scheme and the
// last '@' of out is the placeholder.
func userInfoRedacted(out string) bool {
	_, rest := splitScheme(out)
	j := strings.LastIndexByte(rest, '@')
	return j < 0 || rest[:j] == redacted
}

func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"rtsp://admin:secret@10.0.0.5:554/live",
		"rtsp://admin:p@ss@cam/live?x=1",
		"rtsp://cam/videoMain?user=admin&pwd=hunter2",
		"rtsp://[::1]:8554/a",
		"rtsps://u@h",
		"u:p@h",
		"rtsp://cam/x?%70wd=a",
		"://@",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := RedactURL(in)
		if !userInfoRedacted(out) {
			t.Fatalf("user info survives: %q → %q", in, out)
		}
		if again := RedactURL(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		if !strings.Contains(in, "@") && !strings.Contains(in, "?") && out != in {
			t.Fatalf("changed a URL without user info or query: %q → %q", in, out)
		}
		if u, err := url.Parse(in); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Contains(out, u.User.String()+"@") {
				t.Fatalf("password kept: %q → %q", in, out)
			}
		}
		// The scrubber must remove the user info from any text quoting the
		// URL. (User info made only of 'x' is skipped: the placeholder
		// itself would look like it.)
		_, rest := splitScheme(in)
		if j := strings.LastIndexByte(rest, '@'); j > 0 && !strings.Contains(rest[:j], "x") {
			ui := rest[:j]
			if s := newScrubber(in).scrub("dial " + in + ": refused"); strings.Contains(s, ui+"@") {
				t.Fatalf("scrub kept the user info %q: %q", ui, s)
			}
		}
	})
}

func TestScrubber(t *testing.T) {
	raw := "rtsp://camuser:Pa%2Fss@cam.local/live?pwd=q1w2e3"
	sc := newScrubber(raw)
	msg := sc.scrub(`DESCRIBE ` + raw + ` failed; user camuser pass Pa/ss or Pa%2Fss, token q1w2e3, control 'rtsp://x:y@other/track'`)
	for _, secret := range []string{"camuser", "Pa/ss", "Pa%2Fss", "q1w2e3", "x:y"} {
		if strings.Contains(msg, secret) {
			t.Errorf("scrubbed message contains %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, "cam.local") {
		t.Errorf("host should survive: %s", msg)
	}
}

func TestSafeErrorIs(t *testing.T) {
	e := &safeError{msg: "x", sentinel: ErrUnauthorized, cause: context.DeadlineExceeded}
	if !errors.Is(e, ErrUnauthorized) || !errors.Is(e, context.DeadlineExceeded) || errors.Is(e, ErrNoVideo) {
		t.Fatal("Is does not see sentinel and cause")
	}
	if errors.Unwrap(e) != nil {
		t.Fatal("safeError must not expose the unscrubbed cause")
	}
}

func TestRateLimit(t *testing.T) {
	r := rateLimit{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {time.Second, false}, {9 * time.Second, false}, {10 * time.Second, true}, {15 * time.Second, false}, {21 * time.Second, true},
	}
	for _, s := range steps {
		if got := r.allow(t0.Add(s.at)); got != s.want {
			t.Errorf("allow(+%v) = %v, want %v", s.at, got, s.want)
		}
	}
}

func TestPTSDuration(t *testing.T) {
	tests := []struct {
		pts, rate int64
		want      time.Duration
	}{
		{0, 90000, 0},
		{90000, 90000, time.Second},
		{3600, 90000, 40 * time.Millisecond},
		{90000 * 3600 * 24 * 365, 90000, 365 * 24 * time.Hour},
		{8000, 0, 8000 * time.Second / 90000},
	}
	for _, tt := range tests {
		if got := ptsDuration(tt.pts, tt.rate); got != tt.want {
			t.Errorf("ptsDuration(%d, %d) = %v, want %v", tt.pts, tt.rate, got, tt.want)
		}
	}
}

func TestDropEmpty(t *testing.T) {
	a, b := []byte{1}, []byte{2}
	tests := []struct {
		in   [][]byte
		want int
	}{
		{nil, 0}, {[][]byte{a, b}, 2}, {[][]byte{{}, a, {}, b, {}}, 2}, {[][]byte{{}}, 0},
	}
	for _, tt := range tests {
		if got := dropEmpty(tt.in); len(got) != tt.want {
			t.Errorf("dropEmpty(%v) has %d NALUs, want %d", tt.in, len(got), tt.want)
		}
	}
}
