// Package anonymise makes a frame fit to leave the device: it finds faces
// and covers them (filled, coarsely pixelated or strongly blurred, with a
// safety margin), optionally covers whole moving persons, and encodes the
// result as a JPEG without metadata.
//
// It fails closed. Until the face detector is loaded and warmed up, and
// whenever detection fails or takes longer than the timeout, Apply fills the
// whole frame and returns an error wrapping ErrNotAnonymised: the caller
// must then not send the frame at all, and even if it did, nothing would be
// visible. Pixelation and blur have minimum strengths relative to the face
// size (the policy schema's limits, enforced again here) because a light
// blur or fine mosaic can be undone.
package anonymise

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeguard/edgeguard/policy"
	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/models"
)

// ErrNotAnonymised is wrapped by every Apply error: the frame has been
// filled completely and must not leave the device.
var ErrNotAnonymised = errors.New("anonymise: frame not anonymised")

// Methods of covering a face.
const (
	Fill     = "fill"
	Pixelate = "pixelate"
	Blur     = "blur"
)

// Defaults, the same as the policy's.
const (
	DefaultPixelateBlocks = 6
	DefaultBlurSigma      = 0.5
	DefaultMargin         = 0.25
	DefaultTimeout        = 5 * time.Second
)

// Config configures an Anonymiser.
type Config struct {
	// Method is fill (default), pixelate or blur.
	Method string
	// PixelateBlocks is the most blocks across a face, 1..policy.MaxPixelateBlocks; 0 → 6.
	PixelateBlocks int
	// BlurSigma is the Gaussian sigma relative to the face's larger side,
	// at least policy.MinBlurSigma; 0 → 0.5.
	BlurSigma float64
	// Margin extends each face and person box on every side by this
	// fraction of its size, at least policy.MinMargin; 0 → 0.25.
	Margin float64
	// Persons also fills the blobs passed to Apply (moving persons).
	Persons bool
	// Detector is used as is if set (the Anonymiser then owns and closes
	// it); nil → NewDetector(DetectorConfig), loaded in the background.
	Detector FaceDetector
	// DetectorConfig is used when Detector is nil.
	DetectorConfig DetectorConfig
	// Timeout bounds face detection on one frame; 0 → DefaultTimeout.
	Timeout time.Duration
	// Fault, if set, is called before each detection; an error is treated
	// as a detector failure. It exists to inject failures in tests of the
	// callers' fail-closed paths.
	Fault  func() error
	Logger *slog.Logger
}

// FromPolicy is the one place an anonymiser's configuration is made from a
// policy: the service's snapshots and the preview both anonymise with it,
// so a preview shows what a snapshot would be. It maps the policy's
// anonymisation section (cover method, its strength, margin, persons); the
// face detector is the default one (BlazeFace, its model from
// models.DefaultDirs). Callers set only Logger; tests adjust the result
// (model directories, a fake detector) rather than build their own.
func FromPolicy(a policy.Anonymisation) Config {
	return Config{
		Method:         a.Faces,
		PixelateBlocks: a.PixelateBlocks,
		BlurSigma:      a.BlurSigma,
		Margin:         a.Margin,
		Persons:        a.Persons,
	}
}

func (c *Config) validate() error {
	switch c.Method {
	case "":
		c.Method = Fill
	case Fill, Pixelate, Blur:
	default:
		return fmt.Errorf("anonymise: method %q, want fill, pixelate or blur", c.Method)
	}
	if c.PixelateBlocks == 0 {
		c.PixelateBlocks = DefaultPixelateBlocks
	}
	if c.PixelateBlocks < 1 || c.PixelateBlocks > policy.MaxPixelateBlocks {
		return fmt.Errorf("anonymise: pixelate blocks %d outside 1..%d", c.PixelateBlocks, policy.MaxPixelateBlocks)
	}
	if c.BlurSigma == 0 {
		c.BlurSigma = DefaultBlurSigma
	}
	if !(c.BlurSigma >= policy.MinBlurSigma && c.BlurSigma <= 5) {
		return fmt.Errorf("anonymise: blur sigma %v outside %v..5", c.BlurSigma, policy.MinBlurSigma)
	}
	if c.Margin == 0 {
		c.Margin = DefaultMargin
	}
	if !(c.Margin >= policy.MinMargin && c.Margin <= 1) {
		return fmt.Errorf("anonymise: margin %v outside %v..1", c.Margin, policy.MinMargin)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("anonymise: negative timeout %v", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

type result struct {
	faces []image.Rectangle
	err   error
}

// Anonymiser covers faces in frames. Apply may be called from several
// goroutines; calls are serialised.
type Anonymiser struct {
	cfg Config
	log *slog.Logger

	// The detector runs in its own goroutine on a private copy of the
	// frame, so that Apply can give up on a slow detection without the
	// detector reading a frame the caller has already reused or freed.
	req         chan struct{}
	res         chan result
	done        chan struct{}
	wg          sync.WaitGroup
	ready       atomic.Bool
	escalations atomic.Uint64
	loaded      chan struct{}
	loadErr     error  // set before loaded is closed
	detName     string // set before ready is stored

	mu      sync.Mutex // serialises Apply and Close
	closed  bool
	pending bool     // a request whose result has not been received (it timed out)
	failing bool     // the last frame could not be anonymised (logged once per state change)
	work    gocv.Mat // the worker's copy of the frame
	small   gocv.Mat
	timer   *time.Timer
	boxes   []image.Rectangle
	// verifier is a second, independent detector (Haar) that checks the
	// covered regions after pixelation or blur; nil when it cannot be
	// loaded (then only the primary detector verifies).
	verifier *Haar
	covered  []image.Rectangle
}

// New validates cfg and starts loading and warming up the face detector
// in the background; until that is done, Apply fills every frame.
func New(cfg Config) (*Anonymiser, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	a := &Anonymiser{
		cfg:    cfg,
		log:    cfg.Logger,
		req:    make(chan struct{}),
		res:    make(chan result, 1),
		done:   make(chan struct{}),
		loaded: make(chan struct{}),
		work:   gocv.NewMat(),
		small:  gocv.NewMat(),
		timer:  t,
	}
	if cfg.Method != Fill && cfg.Detector == nil {
		dirs := cfg.DetectorConfig.ModelDirs
		if data, _, err := models.Read(models.HaarFrontalFace, dirs...); err == nil {
			if v, err := NewHaar(HaarConfig{Cascade: data}); err == nil {
				a.verifier = v
			}
		}
		if a.verifier == nil {
			a.log.Warn("anonymise: no second detector to verify pixelation/blur; only the primary detector verifies")
		}
	}
	a.wg.Go(a.run)
	return a, nil
}

// run loads and warms up the detector, then serves detection requests
// until Close.
func (a *Anonymiser) run() {
	det, name := a.cfg.Detector, DetectorInjected
	if det == nil {
		dc := a.cfg.DetectorConfig
		if dc.Logger == nil {
			dc.Logger = a.log
		}
		var err error
		if det, name, err = NewDetector(dc); err != nil {
			a.loadErr = err
			// The one line an operator needs: err names the model, every
			// path searched and the install command. Per-image messages
			// are the snapshot worker's, throttled.
			a.log.Error("anonymise: no face detector; every image is filled and withheld",
				"model", models.BlazeFace.Name, "err", err)
			close(a.loaded)
			<-a.done
			return
		}
	}
	a.detName = name
	defer det.Close()
	if err := warmUp(det); err != nil {
		a.loadErr = fmt.Errorf("anonymise: face detector warm-up: %w", err)
		a.log.Error("anonymise: face detector failed to warm up; every image is filled and withheld", "err", err)
		close(a.loaded)
		<-a.done
		return
	}
	a.ready.Store(true)
	close(a.loaded)
	a.log.Info("anonymise: face detector ready")
	for {
		select {
		case <-a.done:
			return
		case <-a.req:
		}
		faces, err := det.Detect(a.work)
		a.res <- result{faces: faces, err: err} // buffered: at most one request is outstanding
	}
}

// warmUp runs the detector twice on a synthetic frame: the first runs
// allocate the network's buffers and are several times slower, and must not
// count against the first real frame's timeout.
func warmUp(det FaceDetector) error {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(96, 128, 160, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer m.Close()
	for range 2 {
		if _, err := det.Detect(m); err != nil {
			return err
		}
	}
	return nil
}

// Ready reports whether the face detector is loaded and warmed up.
func (a *Anonymiser) Ready() bool { return a.ready.Load() }

// DetectorInjected is what Detector reports for a Config.Detector.
const DetectorInjected = "injected"

// Detector says which face detector anonymises (DetectorBlazeFace, or
// DetectorInjected for Config.Detector) and, while none does, DetectorNone
// and why every image is withheld: still loading, or the load error, which
// names the missing model and how to install it. Health reports show it so
// that withheld images are explained where operators look.
func (a *Anonymiser) Detector() (name, withheld string) {
	if a.ready.Load() {
		return a.detName, ""
	}
	select {
	case <-a.loaded:
		if a.loadErr != nil {
			return DetectorNone, a.loadErr.Error()
		}
		return DetectorNone, "anonymiser closed"
	default:
		return DetectorNone, "face detector loading"
	}
}

// WaitReady waits until the detector is ready, loading failed (the error)
// or ctx ends.
func (a *Anonymiser) WaitReady(ctx context.Context) error {
	select {
	case <-a.loaded:
		return a.loadErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Apply anonymises bgr (CV_8UC3) in place: every detected face plus margin
// covered by the configured method, and, with Persons, every blob (frame
// pixels, e.g. motion boxes) filled. On any failure the whole frame is
// filled and the error wraps ErrNotAnonymised: do not send the frame.
func (a *Anonymiser) Apply(bgr *gocv.Mat, blobs []image.Rectangle) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	faces, err := a.detect(bgr)
	if err != nil {
		if !bgr.Empty() {
			bgr.SetTo(gocv.Scalar{})
		}
		if !a.failing && a.ready.Load() {
			a.log.Warn("anonymise: frames withheld: cannot anonymise", "err", err)
		}
		a.failing = true
		return fmt.Errorf("%w: %w", ErrNotAnonymised, err)
	}
	if a.failing {
		a.log.Info("anonymise: anonymising again")
		a.failing = false
	}
	frame := image.Rect(0, 0, bgr.Cols(), bgr.Rows())
	a.covered = a.covered[:0]
	for _, f := range faces {
		r := expand(f, a.cfg.Margin).Intersect(frame)
		if r.Empty() {
			continue
		}
		a.cover(bgr, r, f)
		a.covered = append(a.covered, r)
	}
	if a.cfg.Method != Fill && len(a.covered) > 0 {
		if err := a.verify(bgr, frame); err != nil {
			bgr.SetTo(gocv.Scalar{})
			return fmt.Errorf("%w: %w", ErrNotAnonymised, err)
		}
	}
	if a.cfg.Persons {
		for _, b := range blobs {
			r := expand(b, a.cfg.Margin).Intersect(frame)
			if !r.Empty() {
				fill(bgr, r)
			}
		}
	}
	return nil
}

func (a *Anonymiser) detect(bgr *gocv.Mat) ([]image.Rectangle, error) {
	switch {
	case a.closed:
		return nil, errors.New("anonymiser closed")
	case bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3:
		return nil, errors.New("not a BGR frame")
	case !a.ready.Load():
		select {
		case <-a.loaded:
			if a.loadErr != nil {
				return nil, a.loadErr // names the missing model and how to install it
			}
		default:
		}
		return nil, errors.New("face detector not ready")
	}
	if a.pending {
		select {
		case <-a.res: // the late result of a detection that timed out: discard
			a.pending = false
		default:
			return nil, errors.New("face detector still busy with an earlier frame that timed out")
		}
	}
	if a.cfg.Fault != nil {
		if err := a.cfg.Fault(); err != nil {
			return nil, fmt.Errorf("injected fault: %w", err)
		}
	}
	bgr.CopyTo(&a.work)
	a.pending = true
	a.req <- struct{}{}
	a.timer.Reset(a.cfg.Timeout)
	defer a.timer.Stop()
	select {
	case r := <-a.res:
		a.pending = false
		if r.err != nil {
			return nil, fmt.Errorf("face detection: %w", r.err)
		}
		a.boxes = append(a.boxes[:0], r.faces...)
		return a.boxes, nil
	case <-a.timer.C:
		return nil, fmt.Errorf("face detection took longer than %v", a.cfg.Timeout)
	}
}

// verify looks for faces again in what pixelation or blur left: a mosaic
// can still show a head from hair, skin and shoulders, and detectors find
// it (measured: BlazeFace on 2–8 blocks, docs/privacy.md). Every covered
// region in which the primary detector (whole frame) or the independent
// Haar cascade (on the region and its surroundings) still finds a face is
// filled instead. Fill cannot be undone or recognised, so one round
// settles it; a second round checks that.
func (a *Anonymiser) verify(bgr *gocv.Mat, frame image.Rectangle) error {
	for round := 0; round < 2; round++ {
		hits, err := a.detect(bgr)
		if err != nil {
			return fmt.Errorf("verification: %w", err)
		}
		hits = slices.Clone(hits)
		if a.verifier != nil {
			for _, r := range a.covered {
				around := expand(r, 0.5).Intersect(frame)
				roi := bgr.Region(around)
				boxes, err := a.verifier.Detect(roi)
				roi.Close()
				if err != nil {
					return fmt.Errorf("verification: %w", err)
				}
				for _, b := range boxes {
					hits = append(hits, b.Add(around.Min))
				}
			}
		}
		escalated := false
		for i, r := range a.covered {
			for _, h := range hits {
				if !h.Overlaps(r) {
					continue
				}
				// Fill the region and the hit with its margin.
				u := r.Union(expand(h, a.cfg.Margin)).Intersect(frame)
				fill(bgr, u)
				a.covered[i] = u
				r = u
				escalated = true
			}
		}
		if !escalated {
			return nil
		}
		a.escalations.Add(1)
	}
	return nil
}

// Escalations counts frames in which a pixelated or blurred face was still
// detectable and was filled instead.
func (a *Anonymiser) Escalations() uint64 { return a.escalations.Load() }

// expand grows r by m times its width and height on each side.
func expand(r image.Rectangle, m float64) image.Rectangle {
	dx := int(float64(r.Dx())*m + 0.999)
	dy := int(float64(r.Dy())*m + 0.999)
	return image.Rect(r.Min.X-dx, r.Min.Y-dy, r.Max.X+dx, r.Max.Y+dy)
}

func fill(bgr *gocv.Mat, r image.Rectangle) {
	roi := bgr.Region(r)
	roi.SetTo(gocv.Scalar{})
	roi.Close()
}

// cover hides region r (the face box f plus margin).
func (a *Anonymiser) cover(bgr *gocv.Mat, r, f image.Rectangle) {
	switch a.cfg.Method {
	case Pixelate:
		// Block size from the face, not the margin: at most
		// PixelateBlocks blocks across the face itself.
		bs := (max(f.Dx(), f.Dy()) + a.cfg.PixelateBlocks - 1) / a.cfg.PixelateBlocks
		bs = max(bs, 1)
		nx := max(1, (r.Dx()+bs-1)/bs)
		ny := max(1, (r.Dy()+bs-1)/bs)
		roi := bgr.Region(r)
		gocv.Resize(roi, &a.small, image.Pt(nx, ny), 0, 0, gocv.InterpolationArea)
		gocv.Resize(a.small, &roi, image.Pt(r.Dx(), r.Dy()), 0, 0, gocv.InterpolationNearestNeighbor)
		roi.Close()
	case Blur:
		// A Gaussian of sigma·face size at full resolution would need
		// kernels hundreds of pixels wide; blurring a downscaled copy
		// (area averaging, then sigma 2 px) and scaling back is as strong
		// and costs little.
		sigma := a.cfg.BlurSigma * float64(max(f.Dx(), f.Dy()))
		scale := min(1, 2/sigma)
		sw := max(1, int(float64(r.Dx())*scale+0.5))
		sh := max(1, int(float64(r.Dy())*scale+0.5))
		roi := bgr.Region(r)
		gocv.Resize(roi, &a.small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
		gocv.GaussianBlur(a.small, &a.small, image.Point{}, sigma*scale, sigma*scale, gocv.BorderReplicate)
		gocv.Resize(a.small, &roi, image.Pt(r.Dx(), r.Dy()), 0, 0, gocv.InterpolationLinear)
		roi.Close()
	default:
		fill(bgr, r)
	}
}

// Close stops the detector goroutine (after any detection in flight) and
// frees everything. Apply after Close fills and fails.
func (a *Anonymiser) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	close(a.done)
	a.wg.Wait()
	a.ready.Store(false)
	a.work.Close()
	a.small.Close()
	if a.verifier != nil {
		a.verifier.Close()
	}
	return nil
}
