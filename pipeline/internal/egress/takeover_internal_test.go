package egress

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestTakeoverWatch: only connections lost by the broker closing them,
// right after they came up, several times in a row, are a takeover; it is
// said once per run of them, and again after a connection that lasted.
func TestTakeoverWatch(t *testing.T) {
	eof := fmt.Errorf("read: %w", io.EOF)
	reset := &net.OpError{Op: "read", Err: syscall.ECONNRESET}
	timeout := errors.New("pingresp not received, disconnecting")
	type loss struct {
		after time.Duration // connection's lifetime
		err   error
	}
	tests := []struct {
		name   string
		losses []loss
		want   []bool // the message is returned at each loss
	}{
		{"takeover loop", []loss{{time.Second, eof}, {2 * time.Second, eof}, {4 * time.Second, eof}, {8 * time.Second, eof}},
			[]bool{false, false, true, false}},
		{"resets count too", []loss{{time.Second, reset}, {time.Second, eof}, {time.Second, reset}}, []bool{false, false, true}},
		{"long-lived connections are not", []loss{{time.Hour, eof}, {time.Hour, eof}, {time.Hour, eof}}, []bool{false, false, false}},
		{"keepalive timeouts are not", []loss{{time.Second, timeout}, {time.Second, timeout}, {time.Second, timeout}}, []bool{false, false, false}},
		{"a lasting connection breaks the run", []loss{{time.Second, eof}, {time.Second, eof}, {time.Hour, eof}, {time.Second, eof}, {time.Second, eof}},
			[]bool{false, false, false, false, false}},
		{"said again after a new run", []loss{{time.Second, eof}, {time.Second, eof}, {time.Second, eof}, {time.Hour, eof},
			{time.Second, eof}, {time.Second, eof}, {time.Second, eof}}, []bool{false, false, true, false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			w := newTakeoverWatch("edgeguard-x", 30*time.Second)
			w.now = func() time.Time { return now }
			for i, l := range tt.losses {
				w.connected()
				now = now.Add(l.after)
				msg := w.lost(l.err)
				if (msg != "") != tt.want[i] {
					t.Fatalf("loss %d (%v after %s): message %q, want one: %v", i, l.err, l.after, msg, tt.want[i])
				}
				now = now.Add(time.Second) // reconnect back-off
			}
		})
	}
	// A loss without a connection (paho reports none, but be safe).
	if msg := newTakeoverWatch("x", time.Second).lost(io.EOF); msg != "" {
		t.Errorf("loss before any connect: %q", msg)
	}
}
