package camera

import (
	"os"
	"testing"

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
