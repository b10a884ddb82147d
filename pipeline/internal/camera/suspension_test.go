package camera

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
)

// TestRulesSuspendedAccount: the camera shows why its rules are suspended
// now and how long they were under each reason, and logs each change of
// reason once, never each frame.
func TestRulesSuspendedAccount(t *testing.T) {
	var logs bytes.Buffer
	cam, err := New(Config{Device: "d", ID: "c", URL: "rtsp://127.0.0.1:1/x", Sink: newRecorder(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a := &analyser{cam: cam}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	frame := func(i int) time.Time { return t0.Add(time.Duration(i) * 200 * time.Millisecond) }
	// 3 s of warm-up, 2 s judged, 4 s of a view without texture, a 10-s
	// pause in the stream during a light change, then judged again.
	var seq []pattern.Suspension
	for range 15 {
		seq = append(seq, pattern.SuspendedWarmup)
	}
	for range 10 {
		seq = append(seq, pattern.NotSuspended)
	}
	for range 20 {
		seq = append(seq, pattern.SuspendedLowTexture)
	}
	seq = append(seq, pattern.SuspendedLightChange)
	i := 0
	for _, s := range seq {
		a.suspension(frame(i), s)
		i++
	}
	if got := cam.Stats().RulesSuspended; got != pattern.SuspendedLightChange {
		t.Errorf("suspended now: %v, want light_change", got)
	}
	i += 50 // the stream pauses 10 s
	a.suspension(frame(i), pattern.NotSuspended)

	st := cam.Stats()
	if st.RulesSuspended != pattern.NotSuspended {
		t.Errorf("suspended after the light change: %v", st.RulesSuspended)
	}
	want := map[pattern.Suspension]time.Duration{
		pattern.SuspendedWarmup:      3 * time.Second,
		pattern.SuspendedLowTexture:  4 * time.Second,
		pattern.SuspendedLightChange: maxFrameGap,
		pattern.SuspendedViewMoved:   0,
	}
	for s, d := range want {
		if got := st.RulesSuspendedFor[s]; got != d {
			t.Errorf("time under %s: %v, want %v", s, got, d)
		}
	}
	// One line per change but warm-up's (every session starts with it):
	// low_texture, light_change, resumed.
	if n := strings.Count(logs.String(), "\n"); n != 3 {
		t.Errorf("%d log lines, want 3:\n%s", n, logs.String())
	}
}
