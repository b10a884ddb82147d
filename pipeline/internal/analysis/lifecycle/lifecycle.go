// Package lifecycle turns a per-frame "is it happening?" signal into one
// situation with a start, rate-limited updates and an end, so that a control
// room sees one event per situation instead of one per frame.
package lifecycle

import (
	"errors"
	"time"
)

// Config tunes when a situation starts, how often it is updated and when it
// ends.
type Config struct {
	// MinDuration is how long the signal must hold before the situation
	// starts; it filters out flickers.
	MinDuration time.Duration
	// QuietTime is how long the signal must be absent before the situation
	// ends; it bridges short gaps (hysteresis), e.g. a person pausing.
	QuietTime time.Duration
	// UpdateInterval is the minimum time between updates of a running
	// situation; zero disables updates.
	UpdateInterval time.Duration
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MinDuration < 0:
		return errors.New("min_duration must not be negative")
	case c.QuietTime <= 0:
		return errors.New("quiet_time must be positive")
	case c.UpdateInterval < 0:
		return errors.New("update_interval must not be negative")
	}
	return nil
}

// Phase of a transition.
type Phase int

// Transitions a Tracker reports.
const (
	None Phase = iota
	Start
	Update
	End
)

func (p Phase) String() string {
	switch p {
	case Start:
		return "start"
	case Update:
		return "update"
	case End:
		return "end"
	}
	return "none"
}

// Transition is what Observe reports when a message is due.
type Transition struct {
	Phase     Phase
	StartedAt time.Time
	// At is the time of the observation that caused the transition; for an
	// end it is the time of the last active observation.
	At time.Time
	// Score is the peak score since the previous message of this situation;
	// for an end, the peak of the whole situation.
	Score float64
}

// Tracker follows one situation at a time. It is not safe for concurrent use;
// each camera worker owns its own.
type Tracker struct {
	cfg Config

	pendingSince time.Time // first active observation not yet started
	active       bool
	startedAt    time.Time
	lastActive   time.Time
	lastMessage  time.Time
	peak         float64 // since the last message
	overallPeak  float64 // of the whole situation
}

// New returns a Tracker; cfg must be valid.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg}, nil
}

// Active reports whether a situation is running.
func (t *Tracker) Active() bool { return t.active }

// Observe feeds one observation; observations must come in time order.
func (t *Tracker) Observe(now time.Time, on bool, score float64) (Transition, bool) {
	if !t.active {
		if !on {
			t.pendingSince = time.Time{}
			t.peak = 0
			return Transition{}, false
		}
		if t.pendingSince.IsZero() {
			t.pendingSince = now
		}
		t.peak = max(t.peak, score)
		if now.Sub(t.pendingSince) < t.cfg.MinDuration {
			return Transition{}, false
		}
		t.active = true
		t.startedAt = t.pendingSince
		t.pendingSince = time.Time{}
		t.lastActive = now
		t.overallPeak = t.peak
		return t.emit(Start, now), true
	}
	if on {
		t.lastActive = now
		t.peak = max(t.peak, score)
		t.overallPeak = max(t.overallPeak, score)
		if t.cfg.UpdateInterval > 0 && now.Sub(t.lastMessage) >= t.cfg.UpdateInterval {
			return t.emit(Update, now), true
		}
		return Transition{}, false
	}
	if now.Sub(t.lastActive) >= t.cfg.QuietTime {
		return t.Flush(), true
	}
	return Transition{}, false
}

// Flush ends a running situation now (e.g. when the stream stops), so no
// start is ever left without its end. It returns a zero Transition when
// nothing is running.
func (t *Tracker) Flush() Transition {
	if !t.active {
		t.pendingSince = time.Time{}
		t.peak = 0
		return Transition{}
	}
	tr := t.emit(End, t.lastActive)
	tr.Score = t.overallPeak
	t.active = false
	t.overallPeak = 0
	return tr
}

func (t *Tracker) emit(p Phase, at time.Time) Transition {
	tr := Transition{Phase: p, StartedAt: t.startedAt, At: at, Score: t.peak}
	t.lastMessage = at
	t.peak = 0
	return tr
}
