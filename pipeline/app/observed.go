package app

import (
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
)

// observedCamera is a camera as observe reads it (observe does not import
// package camera): its counters, by the same names, and its last status.
type observedCamera struct{ *camera.Camera }

func (c observedCamera) Stats() observe.CameraStats {
	st := c.Camera.Stats()
	return observe.CameraStats{
		AccessUnits: st.AccessUnits, DroppedAUs: st.DroppedAUs,
		Decoded: st.Decoded, DecodeErrors: st.DecodeErrors,
		Analysed: st.Analysed, DroppedFrames: st.DroppedFrames,
		SkippedAUs: st.SkippedAUs, NotDecoded: st.NotDecoded,
		SessionsStarted: st.SessionsStarted, DecodeCPU: st.DecodeCPU,
		RulesSuspended: st.RulesSuspended, RulesSuspendedFor: st.RulesSuspendedFor,
	}
}
