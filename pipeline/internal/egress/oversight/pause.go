package oversight

import (
	"maps"
	"slices"
	"time"
)

// Pause is one pause in force: of a camera, or of the whole device.
type Pause struct {
	Reason   string    `json:"reason"`
	Operator string    `json:"operator"`
	Since    time.Time `json:"since"`
	// Until is when the pause ends by itself; zero: when resumed.
	Until time.Time `json:"until,omitzero"`
}

// Expired: the pause has ended by itself at now.
func (p Pause) Expired(now time.Time) bool { return !p.Until.IsZero() && !now.Before(p.Until) }

// State is every pause in force. A camera is paused when the device or
// the camera is (the device's pause wins when both are: it is the stop
// button). The zero value has nothing paused.
type State struct {
	Device  *Pause           `json:"device,omitempty"`
	Cameras map[string]Pause `json:"cameras,omitempty"`
}

// Clone is a deep copy.
func (s State) Clone() State {
	out := State{Cameras: maps.Clone(s.Cameras)}
	if s.Device != nil {
		d := *s.Device
		out.Device = &d
	}
	return out
}

// Paused is the pause camera is under at now, if any.
func (s State) Paused(camera string, now time.Time) (Pause, bool) {
	if s.Device != nil && !s.Device.Expired(now) {
		return *s.Device, true
	}
	if p, ok := s.Cameras[camera]; ok && !p.Expired(now) {
		return p, true
	}
	return Pause{}, false
}

// Apply returns s with c applied at now to camera ("" the device).
func (s State) Apply(camera string, c AnalysisCommand, now time.Time) State {
	out := s.Clone()
	var p *Pause
	if c.State == Paused {
		p = &Pause{Reason: c.Reason, Operator: c.Operator, Since: now.UTC(), Until: c.Until.UTC()}
	}
	if camera == "" {
		out.Device = p
		return out
	}
	if p == nil {
		delete(out.Cameras, camera)
		return out
	}
	if out.Cameras == nil {
		out.Cameras = map[string]Pause{}
	}
	out.Cameras[camera] = *p
	return out
}

// Expire drops the pauses that ended by themselves at now and says which
// ("" the device).
func (s State) Expire(now time.Time) (State, []string) {
	out := s.Clone()
	var gone []string
	if out.Device != nil && out.Device.Expired(now) {
		out.Device = nil
		gone = append(gone, "")
	}
	for _, c := range slices.Sorted(maps.Keys(out.Cameras)) {
		if out.Cameras[c].Expired(now) {
			delete(out.Cameras, c)
			gone = append(gone, c)
		}
	}
	return out, gone
}

// NextExpiry is the earliest until of the pauses in s; zero when none
// ends by itself.
func (s State) NextExpiry() time.Time {
	var next time.Time
	consider := func(p Pause) {
		if !p.Until.IsZero() && (next.IsZero() || p.Until.Before(next)) {
			next = p.Until
		}
	}
	if s.Device != nil {
		consider(*s.Device)
	}
	for _, p := range s.Cameras {
		consider(p)
	}
	return next
}
