package camera

import (
	"os"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/cruntime"
)

// TestMain sets the C libraries as the service does, so that the
// benchmarks here (BenchmarkAnalyse) measure what the service runs.
func TestMain(m *testing.M) {
	if err := cruntime.Apply(cruntime.Defaults); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// withMotion puts the motion rule the camera tests run with (a situation
// ends after 1 s without motion, no updates) in front of rules (nil: none).
func withMotion(rules func() ([]pattern.Rule, error)) func() ([]pattern.Rule, error) {
	return func() ([]pattern.Rule, error) {
		m, err := pattern.NewMotion(pattern.MotionConfig{Name: pattern.TypeMotion, QuietTime: time.Second})
		if err != nil {
			return nil, err
		}
		var more []pattern.Rule
		if rules != nil {
			if more, err = rules(); err != nil {
				return nil, err
			}
		}
		return append([]pattern.Rule{m}, more...), nil
	}
}
