package camera

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
)

// Backoff is the restart policy of a Supervisor.
type Backoff struct {
	Initial time.Duration // first wait after a failure
	Max     time.Duration // cap
	// Healthy is how long a run must last for the next failure to start
	// from Initial again.
	Healthy time.Duration
}

// DefaultBackoff suits cameras that reboot or drop off the network: retry
// quickly, then back off to once every 30 s.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second, Healthy: time.Minute}

// withDefaults fills zero fields from DefaultBackoff: a zero Backoff would
// otherwise retry in a tight loop.
func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max < b.Initial {
		b.Max = max(DefaultBackoff.Max, b.Initial)
	}
	if b.Healthy <= 0 {
		b.Healthy = DefaultBackoff.Healthy
	}
	return b
}

// delay is the actual wait for a nominal wait w: uniformly in [w/2, w].
// The jitter keeps many cameras from reconnecting in lock-step after a
// shared outage (a switch reboot takes down a whole square).
func (b Backoff) delay(w time.Duration, rnd func(int64) int64) time.Duration {
	return w/2 + time.Duration(rnd(int64(w/2)+1))
}

// grow is the nominal wait after w: doubled, capped at Max.
func (b Backoff) grow(w time.Duration) time.Duration { return min(w*2, b.Max) }

// Supervise runs cam until ctx is cancelled, restarting it with exponential
// back-off and jitter after each failure, and publishes why it stopped on
// the camera's status topic. It returns nil when ctx is cancelled.
func Supervise(ctx context.Context, cam *Camera, b Backoff) error {
	b = b.withDefaults()
	if vl, ok := videoLossRule(cam.cfg.Rules); ok {
		wctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			cam.watchVideoLoss(wctx, vl)
		}()
		defer func() { stop(); <-done }()
	}
	wait := b.Initial
	var lastState event.CameraState
	var lastReason string
	for {
		started := time.Now()
		err := cam.Run(ctx)
		if ctx.Err() != nil {
			cam.status(context.WithoutCancel(ctx), event.CameraStatus{State: event.StateOffline})
			return nil
		}
		if time.Since(started) >= b.Healthy {
			wait = b.Initial
		}
		// The status carries the generic reason only; the detail (which
		// RTSP step, which address) is for the local log.
		st := event.CameraStatus{State: event.StateOffline, Error: Reason(err)}
		next := wait
		switch {
		case errors.Is(err, ingest.ErrUnauthorized), errors.Is(err, ingest.ErrUnsupportedCodec):
			// A wrong password or codec does not fix itself quickly; do
			// not hammer the camera (some lock accounts after a few
			// failures).
			st.State = event.StateError
			next = b.Max
		}
		cam.status(ctx, st)
		// One line per change of state or reason, not one per attempt: a
		// camera that stays unreachable for a week must not flood the log.
		level := slog.LevelDebug
		if st.State != lastState || st.Error != lastReason {
			level = slog.LevelWarn
		}
		lastState, lastReason = st.State, st.Error
		detail := ""
		if err != nil {
			detail = err.Error() // ingest's errors are redacted
		}
		cam.log.Log(ctx, level, "camera stopped; retrying", "state", st.State, "reason", st.Error, "err", detail,
			"attempts", cam.sessions.Load(), "retry_in", next.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			cam.status(context.WithoutCancel(ctx), event.CameraStatus{State: event.StateOffline})
			return nil
		case <-time.After(b.delay(next, rand.Int64N)):
		}
		wait = b.grow(wait)
	}
}
