package camera

import "time"

// AnalysisRate picks the pictures a camera analyses: every picture is
// decoded (references need it), and one is analysed once the analysis
// interval has passed since the last analysed one, less a tenth, so that
// arrival jitter does not halve the rate. pipeline/tools/evalreal picks a
// recorded clip's pictures with it, so that they are the ones the camera
// would analyse.
type AnalysisRate struct {
	due  time.Duration
	last time.Time
}

// NewAnalysisRate is the rate of fps analysed frames a second.
func NewAnalysisRate(fps float64) *AnalysisRate {
	return &AnalysisRate{due: time.Duration(float64(time.Second)/fps) * 9 / 10}
}

// Due reports whether a picture taken at at would be analysed.
func (r *AnalysisRate) Due(at time.Time) bool {
	return r.last.IsZero() || at.Sub(r.last) >= r.due
}

// Take reports whether the picture taken at at is analysed, and if so
// counts it as the last analysed.
func (r *AnalysisRate) Take(at time.Time) bool {
	if !r.Due(at) {
		return false
	}
	r.last = at
	return true
}

// AnalysisSize is the size a camera scales a srcW×srcH picture to for
// analysis at width: the aspect ratio kept, even dimensions, never scaled
// up.
func AnalysisSize(srcW, srcH, width int) (w, h int) { return analysisSize(srcW, srcH, width) }
