package anonymise

import (
	"fmt"
	"image"
	"log/slog"
	"math"
	"slices"

	"github.com/edgeguard/edgeguard/models"
	"gocv.io/x/gocv"
)

// FaceDetector finds faces in a BGR frame. The returned slice may be reused
// by the next call. Implementations need not be safe for concurrent use:
// the Anonymiser calls one from a single goroutine.
type FaceDetector interface {
	Detect(bgr gocv.Mat) ([]image.Rectangle, error)
	Close() error
}

// DetectorConfig says which face detector to build.
type DetectorConfig struct {
	// ModelDirs are searched for model files; nil → models.DefaultDirs().
	ModelDirs []string
	// BlazeFace tunes the DNN (Model is filled in from ModelDirs).
	BlazeFace BlazeFaceConfig
	Logger    *slog.Logger
}

// DetectorBlazeFace names the one face detector the service anonymises
// with; DetectorNone is reported while there is none.
const (
	DetectorBlazeFace = "blazeface"
	DetectorNone      = "none"
)

// NewDetector builds the face detector images are anonymised with:
// BlazeFace, from its verified model. There is deliberately no fallback to
// the Haar cascade alone: measured on real photographs it misses faces
// that then leave recognisable (issue 13), so without the DNN there is no
// face detector and every image is withheld. Haar only ever adds to the
// DNN (the Anonymiser's verifier). The error names the model, every path
// searched and the command that installs it.
func NewDetector(cfg DetectorConfig) (FaceDetector, string, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	data, path, err := models.Read(models.BlazeFace, cfg.ModelDirs...)
	if err != nil {
		return nil, "", fmt.Errorf("anonymise: no face detector: %w", err)
	}
	bc := cfg.BlazeFace
	bc.Model = data
	d, err := NewBlazeFace(bc)
	if err != nil {
		return nil, "", fmt.Errorf("anonymise: no face detector: %s (%s) does not load: %w; reinstall it: %s",
			models.BlazeFace.Name, path, err, models.BlazeFace.Install)
	}
	log.Info("anonymise: face detector loaded", "detector", DetectorBlazeFace, "model", path)
	return d, DetectorBlazeFace, nil
}

// mergeBoxes merges overlapping candidates (the same face seen by several
// anchors and tiles) into their union, highest score first, and clips to
// the frame. A union rather than the best box: for privacy, a box a little
// too large is harmless and one a little too small is not.
func mergeBoxes(c []candidate, w, h int, out []image.Rectangle) []image.Rectangle {
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	for i := range c {
		if c[i].score < 0 {
			continue // absorbed
		}
		u := c[i].r
		for changed := true; changed; {
			changed = false
			for j := i + 1; j < len(c); j++ {
				if c[j].score >= 0 && overlaps(u, c[j].r) {
					u = union(u, c[j].r)
					c[j].score = -1
					changed = true
				}
			}
		}
		r := image.Rect(int(math.Floor(u.x0)), int(math.Floor(u.y0)), int(math.Ceil(u.x1)), int(math.Ceil(u.y1)))
		r = r.Intersect(image.Rect(0, 0, w, h))
		if !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}

// overlaps: IoU ≥ 0.3 (MediaPipe's suppression threshold) or one box mostly
// inside the other (a face found whole in one tile and cut in another).
func overlaps(a, b rect) bool {
	ix := min(a.x1, b.x1) - max(a.x0, b.x0)
	iy := min(a.y1, b.y1) - max(a.y0, b.y0)
	if ix <= 0 || iy <= 0 {
		return false
	}
	inter := ix * iy
	aa := (a.x1 - a.x0) * (a.y1 - a.y0)
	ab := (b.x1 - b.x0) * (b.y1 - b.y0)
	return inter/(aa+ab-inter) >= 0.3 || inter/min(aa, ab) >= 0.5
}

func union(a, b rect) rect {
	return rect{min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1)}
}
