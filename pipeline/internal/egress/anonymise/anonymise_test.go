package anonymise

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/policy"
	"gocv.io/x/gocv"
)

func newReady(t testing.TB, cfg Config) *Anonymiser {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute // tests never depend on speed
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// lapVar is the variance of the Laplacian of a region's grey image: a
// standard measure of detail (focus) that covering a face must destroy.
func lapVar(bgr gocv.Mat, r image.Rectangle) float64 {
	roi := bgr.Region(r)
	defer roi.Close()
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(roi, &grey, gocv.ColorBGRToGray)
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.Laplacian(grey, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderReplicate)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s
}

// distinctColours counts the different BGR values in a region.
func distinctColours(bgr gocv.Mat, r image.Rectangle) int {
	roi := bgr.Region(r)
	c := roi.Clone()
	roi.Close()
	defer c.Close()
	b := c.ToBytes()
	seen := map[[3]byte]bool{}
	for i := 0; i+2 < len(b); i += 3 {
		seen[[3]byte{b[i], b[i+1], b[i+2]}] = true
	}
	return len(seen)
}

// matches: the detector has found this face: IoU ≥ 0.5 (the usual
// detection-benchmark criterion), or, for detectors such as the LBP cascade
// whose boxes cover only the inner face, a box at least a quarter of the
// face's size lying (80%) inside it.
func matches(face, d image.Rectangle) bool {
	if iou(face, d) >= 0.5 {
		return true
	}
	in := face.Intersect(d)
	ai, ad, af := in.Dx()*in.Dy(), d.Dx()*d.Dy(), face.Dx()*face.Dy()
	return !in.Empty() && ai*10 >= ad*8 && ad*4 >= af
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

// Methods at the policy's default and at its weakest allowed strength.
var methods = []struct {
	name string
	cfg  Config
	// minDrop is the factor by which the face's Laplacian variance must at
	// least drop (fill and blur).
	minDrop float64
	// pixelated: instead, the face region holds at most (blocks+2)² colours.
	pixelated bool
}{
	{"fill", Config{Method: Fill}, 1e6, false},
	{"pixelate default (6 blocks)", Config{Method: Pixelate, PixelateBlocks: 6}, 0, true},
	{"pixelate weakest (8 blocks)", Config{Method: Pixelate, PixelateBlocks: policy.MaxPixelateBlocks, Margin: policy.MinMargin}, 0, true},
	{"blur default (sigma 0.5)", Config{Method: Blur, BlurSigma: 0.5}, 50, false},
	{"blur weakest (sigma 0.25)", Config{Method: Blur, BlurSigma: policy.MinBlurSigma, Margin: policy.MinMargin}, 50, false},
}

// TestAnonymisedFacesAreGone runs real photographs, and far/small variants
// of them, through the anonymiser (default detector chain) with every
// method. Afterwards, for fill and blur, none of the three detectors
// (BlazeFace, Haar, LBP) finds any of the faces (see matches; each detector's
// finds on the untouched input are logged, to show the check has teeth) and
// the detail in each face region (variance of the Laplacian) drops by a
// factor of at least 50.
//
// Pixelation alone is not enough: BlazeFace localises a head in a mosaic of
// as few as 2 blocks across (from the hair, skin and shoulders around it).
// The anonymiser therefore verifies its output with the primary detector
// and an independent Haar cascade and fills every face still found; the
// test asserts that neither BlazeFace nor Haar finds a face afterwards
// (LBP is logged only), and that the rest is a coarse mosaic (at most
// (blocks+2)² distinct colours in the face box).
func TestAnonymisedFacesAreGone(t *testing.T) {
	ds := loadDetectors(t)
	type input struct {
		name  string
		frame func() (gocv.Mat, []image.Rectangle)
	}
	var inputs []input
	for _, p := range photos {
		inputs = append(inputs, input{p.name, func() (gocv.Mat, []image.Rectangle) { return loadPhoto(t, p), p.faces }})
	}
	if !testing.Short() {
		for i, s := range scenes() {
			// One layout per size: 96 px with a face on the tile seams, 32 px.
			if s.faceW == 96 && i%2 == 1 || s.faceW == 32 && i%2 == 0 {
				inputs = append(inputs, input{s.String(), func() (gocv.Mat, []image.Rectangle) { return s.render(t) }})
			}
		}
	}
	nfaces := 0
	for _, in := range inputs {
		f, faces := in.frame()
		f.Close()
		nfaces += len(faces)
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			a := newReady(t, m.cfg)
			checked := map[string]int{}
			defer func() {
				t.Logf("faces the detectors found before anonymisation (out of %d): %v", nfaces, checked)
			}()
			for _, in := range inputs {
				frame, faces := in.frame()
				before := make([]float64, len(faces))
				for i, f := range faces {
					before[i] = lapVar(frame, f)
				}
				// Which faces each detector finds before: only those make
				// "not found after" meaningful.
				foundBefore := map[string][]bool{}
				for _, d := range ds.each() {
					boxes, err := d.det.Detect(frame)
					if err != nil {
						t.Fatal(err)
					}
					for _, f := range faces {
						foundBefore[d.name] = append(foundBefore[d.name], slices.ContainsFunc(boxes, func(b image.Rectangle) bool { return matches(f, b) }))
					}
				}
				if err := a.Apply(&frame, nil); err != nil {
					t.Fatalf("%s: Apply: %v", in.name, err)
				}
				for _, d := range ds.each() {
					boxes, err := d.det.Detect(frame)
					if err != nil {
						t.Fatal(err)
					}
					for i, f := range faces {
						for _, b := range boxes {
							if !matches(f, b) {
								continue
							}
							if m.pixelated && d.name == "lbp" {
								// LBP is a third check only; its boxes cover the inner face.
								t.Logf("%s: %s still localises the head %v in the mosaic at %v (IoU %.2f)", in.name, d.name, f, b, iou(f, b))
							} else {
								t.Errorf("%s: %s finds face %v at %v (IoU %.2f) after anonymisation", in.name, d.name, f, b, iou(f, b))
							}
						}
						checked[d.name] += boolInt(foundBefore[d.name][i])
					}
				}
				for i, f := range faces {
					after := lapVar(frame, f)
					drop := before[i] / max(after, 1e-9)
					t.Logf("%s: face %v Laplacian variance %.1f → %.3f (÷%.0f)", in.name, f, before[i], after, drop)
					if m.pixelated {
						n := distinctColours(frame, f)
						if limit := (m.cfg.PixelateBlocks + 2) * (m.cfg.PixelateBlocks + 2); n > limit {
							t.Errorf("%s: face %v has %d distinct colours after pixelation, want at most %d", in.name, f, n, limit)
						}
					} else if drop < m.minDrop {
						t.Errorf("%s: face %v detail dropped only ÷%.1f, want ÷%.0f", in.name, f, drop, m.minDrop)
					}
				}
				frame.Close()
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPersonsFilled: with Persons, the blobs (plus margin) are filled; without, untouched.
func TestPersonsFilled(t *testing.T) {
	blob := image.Rect(100, 100, 140, 200)
	for _, persons := range []bool{true, false} {
		t.Run(fmt.Sprint(persons), func(t *testing.T) {
			a := newReady(t, Config{Persons: persons, Detector: &fakeDetector{}})
			frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(200, 200, 200, 0), 480, 640, gocv.MatTypeCV8UC3)
			defer frame.Close()
			if err := a.Apply(&frame, []image.Rectangle{blob}); err != nil {
				t.Fatal(err)
			}
			grown := expand(blob, DefaultMargin)
			for _, p := range []image.Point{blob.Min, blob.Max.Sub(image.Pt(1, 1)), grown.Min} {
				v := frame.GetVecbAt(p.Y, p.X)[0]
				if persons && v != 0 || !persons && v != 200 {
					t.Errorf("pixel %v = %d with persons=%v", p, v, persons)
				}
			}
			if v := frame.GetVecbAt(grown.Max.Y+1, grown.Max.X+1)[0]; v != 200 {
				t.Errorf("pixel outside the grown blob = %d, want untouched", v)
			}
		})
	}
}

// fakeDetector is pure logic for the fail-closed paths: it returns fixed
// boxes or an error, and can block until released.
type fakeDetector struct {
	mu      sync.Mutex
	boxes   []image.Rectangle
	err     error
	block   chan struct{} // if non-nil, Detect waits for it to be closed (after warm-up)
	calls   int
	closed  bool
	started chan struct{}
}

func (f *fakeDetector) Detect(gocv.Mat) ([]image.Rectangle, error) {
	f.mu.Lock()
	f.calls++
	n, block, started := f.calls, f.block, f.started
	f.mu.Unlock()
	if n > 2 && block != nil { // the first two calls are the warm-up
		if started != nil {
			started <- struct{}{}
		}
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boxes, f.err
}

func (f *fakeDetector) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeDetector) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// allZero: the frame was filled completely.
func allZero(t *testing.T, m gocv.Mat) bool {
	t.Helper()
	return gocv.CountNonZero(m.Reshape(1, 0)) == 0
}

func greyFrame() gocv.Mat {
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(120, 130, 140, 0), 240, 320, gocv.MatTypeCV8UC3)
}

// blockingWarmUp never finishes warming up until released.
type blockingWarmUp struct{ release chan struct{} }

func (b *blockingWarmUp) Detect(gocv.Mat) ([]image.Rectangle, error) { <-b.release; return nil, nil }
func (b *blockingWarmUp) Close() error                               { return nil }

func TestFailClosed(t *testing.T) {
	injected := errors.New("boom")
	tests := []struct {
		name  string
		setup func(t *testing.T) *Anonymiser
	}{
		{"not ready (detector still warming up)", func(t *testing.T) *Anonymiser {
			b := &blockingWarmUp{release: make(chan struct{})}
			a, err := New(Config{Detector: b})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { close(b.release); a.Close() })
			if a.Ready() {
				t.Fatal("Ready before warm-up finished")
			}
			return a
		}},
		{"injected fault", func(t *testing.T) *Anonymiser {
			return newReady(t, Config{Detector: &fakeDetector{}, Fault: func() error { return injected }})
		}},
		{"detector error", func(t *testing.T) *Anonymiser {
			f := &fakeDetector{}
			a := newReady(t, Config{Detector: f})
			f.setErr(injected)
			return a
		}},
		{"no detector can be loaded", func(t *testing.T) *Anonymiser {
			a, err := New(Config{Detector: nil, DetectorConfig: DetectorConfig{BlazeFace: BlazeFaceConfig{Threshold: 2}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			if err := a.WaitReady(context.Background()); err == nil {
				t.Fatal("WaitReady succeeded with unloadable detectors")
			}
			return a
		}},
		{"closed", func(t *testing.T) *Anonymiser {
			a := newReady(t, Config{Detector: &fakeDetector{}})
			a.Close()
			return a
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.setup(t)
			frame := greyFrame()
			defer frame.Close()
			err := a.Apply(&frame, nil)
			if !errors.Is(err, ErrNotAnonymised) {
				t.Fatalf("Apply = %v, want ErrNotAnonymised", err)
			}
			if !allZero(t, frame) {
				t.Error("frame not filled completely")
			}
		})
	}
}

// TestTimeout: a detection that does not finish in time withholds the
// frame; while it is still running every frame is withheld; once it ends,
// frames are anonymised again.
func TestTimeout(t *testing.T) {
	f := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 1), boxes: []image.Rectangle{image.Rect(10, 10, 50, 50)}}
	a := newReady(t, Config{Detector: f, Timeout: time.Millisecond})
	frame := greyFrame()
	defer frame.Close()
	if err := a.Apply(&frame, nil); !errors.Is(err, ErrNotAnonymised) {
		t.Fatalf("Apply = %v, want ErrNotAnonymised (timeout)", err)
	}
	<-f.started
	if !allZero(t, frame) {
		t.Error("timed-out frame not filled")
	}
	frame2 := greyFrame()
	defer frame2.Close()
	if err := a.Apply(&frame2, nil); !errors.Is(err, ErrNotAnonymised) || !allZero(t, frame2) {
		t.Fatalf("Apply while the detector is busy = %v, want ErrNotAnonymised and a filled frame", err)
	}
	// Release the detector and let later calls through quickly.
	f.mu.Lock()
	close(f.block)
	f.block = nil
	f.started = nil
	f.mu.Unlock()
	a.cfg.Timeout = time.Minute
	deadline := time.Now().Add(time.Minute)
	for {
		frame3 := greyFrame()
		err := a.Apply(&frame3, nil)
		center := frame3.GetVecbAt(100, 160)[0]
		face := frame3.GetVecbAt(30, 30)[0]
		frame3.Close()
		if err == nil {
			if center != 120 || face != 0 {
				t.Errorf("after recovery: centre %d (want untouched 120), face %d (want filled 0)", center, face)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"unknown method", Config{Method: "mosaic"}, false},
		{"too fine pixelation", Config{Method: Pixelate, PixelateBlocks: policy.MaxPixelateBlocks + 1}, false},
		{"too light blur", Config{Method: Blur, BlurSigma: policy.MinBlurSigma / 2}, false},
		{"too small margin", Config{Margin: policy.MinMargin / 2}, false},
		{"negative timeout", Config{Timeout: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Detector = &fakeDetector{}
			a, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New = %v, want ok=%v", err, tc.ok)
			}
			if a != nil {
				a.Close()
			}
		})
	}
}

func TestFromPolicy(t *testing.T) {
	p := policy.Default()
	cfg := FromPolicy(p.Anonymisation)
	if cfg.Method != p.Anonymisation.Faces || cfg.Margin != p.Anonymisation.Margin || cfg.Persons != p.Anonymisation.Persons {
		t.Errorf("FromPolicy = %+v from %+v", cfg, p.Anonymisation)
	}
	cfg.Detector = &fakeDetector{}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("the default policy's anonymisation is rejected: %v", err)
	}
	a.Close()
}

// TestNoHaarAlone (issue 13): without the DNN model there is no face
// detector — Haar alone misses faces that then leave recognisable — and
// the anonymiser withholds every image, saying which model is missing,
// where it looked and how to install it.
func TestNoHaarAlone(t *testing.T) {
	empty := t.TempDir()
	corrupt := t.TempDir()
	if err := os.MkdirAll(filepath.Join(corrupt, "blazeface"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, models.BlazeFace.Path), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		want error
	}{
		{"missing", empty, models.ErrMissing},
		{"corrupt", corrupt, models.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Haar is installed (opencv-data) and must not be used alone.
			if _, err := models.Locate(models.HaarFrontalFace, tc.dir); err != nil {
				t.Fatalf("the Haar cascade must be findable for this test to mean anything: %v", err)
			}
			d, name, err := NewDetector(DetectorConfig{ModelDirs: []string{tc.dir}})
			if err == nil {
				d.Close()
				t.Fatalf("NewDetector without the DNN model = %q, want an error", name)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			for _, want := range []string{models.BlazeFace.Name, filepath.Join(tc.dir, models.BlazeFace.Path), models.BlazeFace.Install} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}

			a, err := New(Config{Method: Pixelate, Logger: slog.New(slog.DiscardHandler), DetectorConfig: DetectorConfig{ModelDirs: []string{tc.dir}}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.WaitReady(context.Background()); !errors.Is(err, tc.want) {
				t.Fatalf("WaitReady = %v, want %v", err, tc.want)
			}
			name, why := a.Detector()
			if name != DetectorNone || !strings.Contains(why, models.BlazeFace.Name) {
				t.Errorf("Detector() = %q, %q; want none and the missing model", name, why)
			}
			frame := greyFrame()
			defer frame.Close()
			if err := a.Apply(&frame, nil); !errors.Is(err, ErrNotAnonymised) || !allZero(t, frame) {
				t.Errorf("Apply = %v, want ErrNotAnonymised and a filled frame", err)
			}
		})
	}

	d, name, err := NewDetector(DetectorConfig{})
	if err != nil {
		t.Fatalf("default detector: %v (is the model installed? bash .ci/setup)", err)
	}
	defer d.Close()
	if name != DetectorBlazeFace {
		t.Errorf("default detector = %q, want blazeface", name)
	}
}
