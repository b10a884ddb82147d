package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the demo long enough for the first person to cross and
// checks what a user would see: the camera streaming, the audio track
// offered but never set up, and a motion event under the default policy.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 15 s")
	}
	var out bytes.Buffer
	// The figure appears 6 s into the clip; 15 s leaves room for a loaded machine.
	if err := Run(context.Background(), Options{Out: &out, Duration: 15 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"CAMERA  square-north  streaming  h264 640x360 @ 25 fps",
		"RTSP SETUP requests the camera saw: [video] (audio offered, never set up)",
		"EVENT   square-north  motion  START",
		"policy builtin-default",
		"demo-box/status = offline",
		// A hint that works when pasted: mosquitto_sub -L wants mqtt://.
		"subscribe with: mosquitto_sub -L 'mqtt://127.0.0.1:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
}
