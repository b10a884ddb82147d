package observe

import (
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
)

// TestRulesSuspended: a camera whose rules do not fully judge its frames
// says why in /readyz and in a gauge by reason, and the time under each
// reason is a counter; the reason alone does not make the box unready.
func TestRulesSuspended(t *testing.T) {
	eg, ob, _ := readySources()
	cam := &fakeCam{id: "cam1", st: CameraStats{Analysed: 100, RulesSuspended: pattern.SuspendedLowTexture}}
	cam.st.RulesSuspendedFor[pattern.SuspendedWarmup] = 3 * time.Second
	cam.st.RulesSuspendedFor[pattern.SuspendedLowTexture] = 1500 * time.Millisecond
	s := newServer(t, Config{Addr: "127.0.0.1:0", Device: "edge-01", Egress: eg, Outbox: ob})
	s.AddCamera(cam)
	s.SetPolicy("p", "abc")
	cam.publish(event.CameraStatus{State: event.StateStreaming})

	r := s.Readiness()
	if !r.Ready() || len(r.Cameras) != 1 || r.Cameras[0].RulesSuspended != "low_texture" {
		t.Errorf("readiness: ready %v, cameras %+v; want ready with rules_suspended low_texture", r.Ready(), r.Cameras)
	}
	mfs := scrape(t, start(t, s))
	for _, tt := range []struct {
		name, reason string
		want         float64
	}{
		{"edgeguard_camera_rules_suspended", "low_texture", 1},
		{"edgeguard_camera_rules_suspended", "warmup", 0},
		{"edgeguard_camera_rules_suspended", "light_change", 0},
		{"edgeguard_camera_rules_suspended", "view_moved", 0},
		{"edgeguard_camera_rules_suspended_seconds_total", "warmup", 3},
		{"edgeguard_camera_rules_suspended_seconds_total", "low_texture", 1.5},
		{"edgeguard_camera_rules_suspended_seconds_total", "view_moved", 0},
	} {
		if got, ok := value(mfs, tt.name, "camera=cam1", "reason="+tt.reason); !ok || got != tt.want {
			t.Errorf("%s{reason=%s} = %v (present %v), want %v", tt.name, tt.reason, got, ok, tt.want)
		}
	}
}
