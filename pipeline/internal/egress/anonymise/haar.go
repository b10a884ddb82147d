package anonymise

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

// HaarConfig configures the cascade detector.
type HaarConfig struct {
	// Cascade is the XML file's content, already verified (models.Read).
	Cascade []byte
	// Upscale enlarges the frame before detection so that faces smaller
	// than the cascade's 24-pixel window are found; 0 → 2 for frames up
	// to 640 pixels wide, 1.5 up to 1280, 1 above (the cost grows with
	// the square: a full-HD frame at 1.5× takes seconds).
	Upscale float64
	// MinNeighbors: 0 → 3 (OpenCV's default); lower finds more.
	MinNeighbors int
}

// Haar detects frontal faces with an OpenCV cascade (Haar or LBP). Not
// safe for concurrent use.
type Haar struct {
	cfg  HaarConfig
	cc   gocv.CascadeClassifier
	grey gocv.Mat
	big  gocv.Mat
	out  []image.Rectangle
}

// NewHaar loads the cascade. gocv loads cascades only from files, so the
// verified bytes are written to a private temporary file first: the
// cascade used is exactly the one whose checksum was checked.
func NewHaar(cfg HaarConfig) (*Haar, error) {
	if len(cfg.Cascade) == 0 {
		return nil, errors.New("anonymise: Haar: no cascade data")
	}
	if cfg.Upscale < 0 || cfg.Upscale > 4 {
		return nil, fmt.Errorf("anonymise: Haar: upscale %v outside 0..4", cfg.Upscale)
	}
	if cfg.MinNeighbors == 0 {
		cfg.MinNeighbors = 3
	}
	dir, err := os.MkdirTemp("", "edgeguard-cascade-")
	if err != nil {
		return nil, fmt.Errorf("anonymise: Haar: %w", err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "cascade.xml")
	if err := os.WriteFile(p, cfg.Cascade, 0o600); err != nil {
		return nil, fmt.Errorf("anonymise: Haar: %w", err)
	}
	cc := gocv.NewCascadeClassifier()
	if !cc.Load(p) {
		cc.Close()
		return nil, errors.New("anonymise: Haar: OpenCV cannot load the cascade")
	}
	return &Haar{cfg: cfg, cc: cc, grey: gocv.NewMat(), big: gocv.NewMat()}, nil
}

// Detect returns face boxes in frame pixels; the slice is reused by the
// next call.
func (d *Haar) Detect(bgr gocv.Mat) ([]image.Rectangle, error) {
	if bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("anonymise: Haar: need a non-empty BGR frame, got type %v", bgr.Type())
	}
	w, h := bgr.Cols(), bgr.Rows()
	up := d.cfg.Upscale
	if up == 0 {
		switch {
		case w <= 640:
			up = 2
		case w <= 1280:
			up = 1.5
		default:
			up = 1
		}
	}
	gocv.CvtColor(bgr, &d.grey, gocv.ColorBGRToGray)
	gocv.EqualizeHist(d.grey, &d.grey)
	img := d.grey
	if up != 1 {
		gocv.Resize(d.grey, &d.big, image.Pt(int(float64(w)*up), int(float64(h)*up)), 0, 0, gocv.InterpolationLinear)
		img = d.big
	}
	found := d.cc.DetectMultiScaleWithParams(img, 1.1, d.cfg.MinNeighbors, 0, image.Pt(24, 24), image.Point{})
	d.out = d.out[:0]
	for _, r := range found {
		fr := image.Rect(int(math.Floor(float64(r.Min.X)/up)), int(math.Floor(float64(r.Min.Y)/up)),
			int(math.Ceil(float64(r.Max.X)/up)), int(math.Ceil(float64(r.Max.Y)/up)))
		d.out = append(d.out, fr.Intersect(image.Rect(0, 0, w, h)))
	}
	return d.out, nil
}

// Close frees the cascade and buffers.
func (d *Haar) Close() error {
	d.grey.Close()
	d.big.Close()
	return d.cc.Close()
}
