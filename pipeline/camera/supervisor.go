package camera

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/ingest"
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

// Supervise runs cam until ctx is cancelled, restarting it with exponential
// back-off and jitter after each failure, and publishes why it stopped on
// the camera's status topic. It returns nil when ctx is cancelled.
func Supervise(ctx context.Context, cam *Camera, b Backoff) error {
	wait := b.Initial
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
		st := event.CameraStatus{State: event.StateOffline}
		if err != nil {
			st.Error = err.Error()
		}
		next := wait
		switch {
		case errors.Is(err, ingest.ErrUnauthorized):
			// A wrong password does not fix itself quickly; do not hammer
			// the camera (some lock accounts after a few failures).
			st.State, st.Error = event.StateError, "unauthorized"
			next = b.Max
		case errors.Is(err, ingest.ErrUnsupportedCodec):
			st.State = event.StateError
			next = b.Max
		}
		cam.status(ctx, st)
		cam.log.Warn("camera stopped; retrying", "state", st.State, "err", st.Error, "retry_in", next.Round(time.Millisecond))
		// Full jitter around the wait keeps many cameras from reconnecting
		// in lock-step after a shared outage.
		d := next/2 + time.Duration(rand.Int64N(int64(next/2)+1))
		select {
		case <-ctx.Done():
			cam.status(context.WithoutCancel(ctx), event.CameraStatus{State: event.StateOffline})
			return nil
		case <-time.After(d):
		}
		wait = min(wait*2, b.Max)
	}
}
