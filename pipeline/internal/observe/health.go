package observe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// Status values of the health bodies.
const (
	StatusAlive    = "alive"
	StatusReady    = "ready"
	StatusNotReady = "not_ready"
)

// Health is the body of /healthz: the process runs and serves.
type Health struct {
	Status        string  `json:"status"`
	Device        string  `json:"device,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// Readiness is the body of /readyz (status 200 when ready, 503 otherwise).
type Readiness struct {
	Status string `json:"status"`
	Device string `json:"device,omitempty"`
	// Reasons say, one per line, why the box is not ready; empty when it is.
	Reasons []string `json:"reasons,omitempty"`
	// Degraded says, one per line, what works with a lesser guarantee
	// while the box is still ready: events leave, but (for now) a crash
	// would lose those waiting, because the outbox's disk refuses writes.
	// Not a readiness condition on its own: restarting does not free the
	// disk, and the events are delivered. Together with an unreachable
	// broker it is (then nothing holds the events but memory).
	Degraded []string `json:"degraded,omitempty"`
	// ConfigError says why the last reload of the configuration file was
	// rejected (with FILE:LINE when the file did not load); the box runs
	// the configuration in force before it. Empty after a reload that was
	// applied. Not a readiness condition: what runs is unchanged.
	ConfigError string        `json:"config_error,omitempty"`
	Policy      *PolicyReport `json:"policy"`
	Broker      *BrokerReport `json:"broker,omitempty"`
	Outbox      *OutboxReport `json:"outbox,omitempty"`
	// Snapshots says which face detector anonymises images and why they
	// are withheld. Not a readiness condition: events still leave while
	// images are withheld (fail closed), and restarting does not install
	// a model.
	Snapshots *SnapshotReport `json:"snapshots,omitempty"`
	Cameras   []CameraReport  `json:"cameras"`
}

// SnapshotReport is the snapshot path's state.
type SnapshotReport struct {
	// FaceDetector is "blazeface", or "none" while no image can leave.
	FaceDetector string `json:"face_detector"`
	Withheld     uint64 `json:"withheld"`
	// WithheldReason says why every image is withheld now (e.g. the face
	// model is missing, and how to install it); empty when none is.
	WithheldReason string `json:"withheld_reason,omitempty"`
}

// Ready reports whether r says ready.
func (r Readiness) Ready() bool { return r.Status == StatusReady }

// PolicyReport names the policy in force, as on the retained audit topic.
type PolicyReport struct {
	Name     string     `json:"name"`
	SHA256   string     `json:"sha256"`
	LoadedAt event.Time `json:"loaded_at"`
}

// BrokerReport is the MQTT session's state.
type BrokerReport struct {
	Connected bool `json:"connected"`
}

// OutboxReport is the outbox's backlog.
type OutboxReport struct {
	Depth            int      `json:"depth"`
	OldestAgeSeconds *float64 `json:"oldest_age_seconds,omitempty"`
	// Healthy: it can absorb an outage of the broker (not too deep, not too
	// old, and storing on disk).
	Healthy bool `json:"healthy"`
	// Durable: events are stored on disk now; DurableReason says why not
	// (in memory by configuration, or the disk refuses writes).
	Durable       bool   `json:"durable"`
	DurableReason string `json:"durable_reason,omitempty"`
}

// CameraReport is one camera's last reported state.
type CameraReport struct {
	ID    string            `json:"id"`
	State event.CameraState `json:"state"`
	Since event.Time        `json:"since"`
	Error string            `json:"error,omitempty"`
	// RulesSuspended says why the camera's rules do not fully judge its
	// frames now (warmup, light_change, view_moved, low_texture); empty
	// while they do. Not a readiness condition: each passes on its own
	// (a start, a cloud), and low_texture is the scene itself.
	RulesSuspended string `json:"rules_suspended,omitempty"`
}

// sample is everything readiness and the collector read, taken once.
type sample struct {
	policyName, policySHA string
	policyAt              time.Time
	configError           string
	egress                *egress.Stats
	outbox                *outboxSnap
	snapshots             *snapshot.Stats
	cameras               []cameraSnap
}

// outboxSnap is the outbox's stats and, when it knows it (OutboxAger),
// the age of its oldest message.
type outboxSnap struct {
	outbox.Stats
	age    time.Duration
	hasAge bool
}

type cameraSnap struct {
	id     string
	stats  CameraStats
	state  cameraState
	events outbox.CameraEvents
}

// cameraState is a camera's state as readiness reports it.
type cameraState struct {
	State event.CameraState
	Since time.Time
	Error string
}

// stateOf is what c says of its state: connecting since it was added
// until it publishes a status. Error texts from RTSP libraries may quote
// the camera URL, and /readyz shows them: they are masked here too, as the
// egress guard does for MQTT.
func stateOf(c addedCamera) cameraState {
	st := c.src.LastStatus()
	if st.State == "" {
		return cameraState{State: event.StateConnecting, Since: c.added}
	}
	since := st.Since.Time
	if since.IsZero() {
		since = c.added
	}
	return cameraState{State: st.State, Since: since, Error: redact.Text(st.Error)}
}

func (s *Server) sample() sample {
	s.mu.Lock()
	snap := sample{policyName: s.polName, policySHA: s.polSum, policyAt: s.polAt, configError: s.cfgErr}
	cams := slices.Clone(s.cameras)
	s.mu.Unlock()
	// The sources outside the lock: their stats are atomic loads, but the
	// guard and the outbox take their own locks.
	for _, c := range cams {
		cs := cameraSnap{id: c.src.ID(), stats: c.src.Stats(), state: stateOf(c)}
		if s.cfg.Outbox != nil {
			cs.events = s.cfg.Outbox.CameraEvents(cs.id)
		}
		snap.cameras = append(snap.cameras, cs)
	}
	if s.cfg.Egress != nil {
		st := s.cfg.Egress.Stats()
		snap.egress = &st
	}
	if s.cfg.Outbox != nil {
		snap.outbox = &outboxSnap{Stats: s.cfg.Outbox.Stats()}
		if a, ok := s.cfg.Outbox.(OutboxAger); ok {
			snap.outbox.age, snap.outbox.hasAge = a.OldestAge(), true
		}
	}
	if s.cfg.Snapshots != nil {
		st := s.cfg.Snapshots.Stats()
		snap.snapshots = &st
	}
	return snap
}

// ready decides readiness: a policy is in force, events can leave (the
// broker is connected, or the outbox absorbs the outage without backing
// up), and every camera streams. Pure logic over a snapshot.
func (cfg Config) ready(snap sample) Readiness {
	r := Readiness{Device: cfg.Device, Cameras: []CameraReport{}, ConfigError: snap.configError}
	if snap.policySHA == "" {
		r.Reasons = append(r.Reasons, "no privacy policy loaded")
	} else {
		r.Policy = &PolicyReport{Name: snap.policyName, SHA256: snap.policySHA, LoadedAt: event.Time{Time: snap.policyAt}}
	}
	connected := false
	if snap.egress == nil {
		r.Reasons = append(r.Reasons, "egress guard not running")
	} else {
		connected = snap.egress.Connected
		r.Broker = &BrokerReport{Connected: connected}
	}
	if snap.outbox != nil {
		ob := &OutboxReport{Depth: snap.outbox.Depth, Healthy: true, Durable: snap.outbox.Durable, DurableReason: snap.outbox.DurableReason}
		var why []string
		if snap.outbox.WriteFailing {
			// Events wait in memory only: with the broker up they still
			// leave (degraded); with it down, nothing durable holds them.
			ob.Healthy = false
			why = append(why, "outbox not durable ("+snap.outbox.DurableReason+")")
			if connected {
				r.Degraded = append(r.Degraded, "outbox not durable ("+snap.outbox.DurableReason+")")
			}
		}
		if ob.Depth >= cfg.OutboxMaxDepth {
			ob.Healthy = false
			why = append(why, fmt.Sprintf("outbox holds %d messages (limit %d)", ob.Depth, cfg.OutboxMaxDepth))
		}
		if snap.outbox.hasAge {
			age := snap.outbox.age.Seconds()
			ob.OldestAgeSeconds = &age
			if snap.outbox.age >= cfg.OutboxMaxAge {
				ob.Healthy = false
				why = append(why, fmt.Sprintf("oldest outbox message waits %s (limit %s)", snap.outbox.age.Round(time.Second), cfg.OutboxMaxAge))
			}
		}
		r.Outbox = ob
		if snap.egress != nil && !connected && !ob.Healthy {
			r.Reasons = append(r.Reasons, "MQTT broker not reachable and "+strings.Join(why, " and "))
		}
	} else if snap.egress != nil && !connected {
		r.Reasons = append(r.Reasons, "MQTT broker not reachable and no outbox")
	}
	if sn := snap.snapshots; sn != nil {
		r.Snapshots = &SnapshotReport{FaceDetector: sn.Detector, Withheld: sn.Withheld, WithheldReason: sn.WithheldReason}
	}
	if len(snap.cameras) == 0 {
		r.Reasons = append(r.Reasons, "no cameras")
	}
	for _, c := range snap.cameras {
		r.Cameras = append(r.Cameras, CameraReport{ID: c.id, State: c.state.State, Since: event.Time{Time: c.state.Since}, Error: c.state.Error,
			RulesSuspended: c.stats.RulesSuspended.String()})
		if c.state.State != event.StateStreaming {
			msg := fmt.Sprintf("camera %s is %s", c.id, c.state.State)
			if c.state.Error != "" {
				msg += ": " + c.state.Error
			}
			r.Reasons = append(r.Reasons, msg)
		}
	}
	r.Status = StatusReady
	if len(r.Reasons) > 0 {
		r.Status = StatusNotReady
	}
	return r
}

// Readiness returns what /readyz would answer now.
func (s *Server) Readiness() Readiness { return s.cfg.ready(s.sample()) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: StatusAlive, Device: s.cfg.Device, UptimeSeconds: time.Since(s.started).Seconds()})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	r := s.Readiness()
	code := http.StatusOK
	if !r.Ready() {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
