package person

import (
	"image"
	"os"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"gocv.io/x/gocv"
)

// vtestPaths are where OpenCV's sample pedestrian video may be: Debian's
// opencv-doc package (examples/data/vtest.avi, 768×576, 10 frames/s, 80 s
// of people walking across a university square, BSD-3-Clause/Apache-2.0
// like OpenCV), fetched by .ci/setup into testdata, or installed.
var vtestPaths = []string{
	os.Getenv("EDGEGUARD_VTEST"),
	"testdata/vtest.avi",
	"/usr/share/doc/opencv-doc/examples/data/vtest.avi",
}

func openVTest(t testing.TB) *gocv.VideoCapture {
	for _, p := range vtestPaths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		vc, err := gocv.VideoCaptureFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return vc
	}
	t.Skip("OpenCV's vtest.avi not found (bash .ci/setup fetches it from Debian's opencv-doc; or set EDGEGUARD_VTEST)")
	return nil
}

// vtestFrames decodes the video, crops the middle 16:9 band and scales it
// to the 640×360 grey analysis frame, at 5 frames/s; fn sees each frame.
func vtestFrames(t testing.TB, fn func(i int, grey gocv.Mat) bool) {
	vc := openVTest(t)
	defer vc.Close()
	bgr, grey, small := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer bgr.Close()
	defer grey.Close()
	defer small.Close()
	for i := 0; vc.Read(&bgr); i++ {
		if bgr.Empty() {
			break
		}
		if i%2 != 0 {
			continue // 10 → 5 frames/s
		}
		gocv.CvtColor(bgr, &grey, gocv.ColorBGRToGray)
		h := grey.Cols() * 9 / 16
		band := grey.Region(image.Rect(0, (grey.Rows()-h)/2, grey.Cols(), (grey.Rows()+h)/2))
		gocv.Resize(band, &small, image.Pt(width, height), 0, 0, gocv.InterpolationArea)
		band.Close()
		if !fn(i/2, small) {
			return
		}
	}
}

// TestVTestPedestrians runs the real motion detector and the person
// detector over OpenCV's pedestrian video at the service's analysis size
// and rate. Nearly everything that moves in it is a person (walking alone,
// in pairs, crossing each other), so the share of examined blobs in which
// HOG found a person is its recall on real people at 640×360, 50–80 px
// tall. Blobs it examines that are not people are rare (a flapping tape);
// the test logs what it found for a human to compare against the video.
func TestVTestPedestrians(t *testing.T) {
	testPedestrians(t, Config{}, 0.5)
}

// testPedestrians runs the motion detector and the person detector built
// from cfg over vtest.avi and wants a person found in at least minRate of
// the examined blobs.
func testPedestrians(t *testing.T, cfg Config, minRate float64) {
	t.Helper()
	if testing.Short() {
		t.Skip("decodes 80 s of video")
	}
	det, err := motion.NewDetector(motion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	pd, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	var tl tally
	vtestFrames(t, func(i int, grey gocv.Mat) bool {
		tl.analyse(det, pd, grey)
		return true
	})
	t.Logf("vtest.avi: %d frames, %d examinations, %d found a person (%.0f%%), %d frames with a person",
		tl.frames, tl.examined, tl.found, 100*tl.rate(), tl.framesWithPerson)
	if tl.examined < 100 || tl.rate() < minRate {
		t.Errorf("found people in %d of %d examined blobs, want at least %.0f%%", tl.found, tl.examined, 100*minRate)
	}
}

// TestVTestStillObjects: blobs around the things in vtest.avi's square that
// are not people and are tall and narrow like one (a lamp post, a camera
// tripod, a road sign on its pole, traffic cones), as if the motion
// detector had reported them (a shadow passing, a light change): HOG must
// not call them people.
func TestVTestStillObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes video")
	}
	testStillObjects(t, Config{}, nil)
}

// testStillObjects is TestVTestStillObjects with the detector cfg makes
// (its Every and Budget set to examine every object on every frame); with
// asserted set, only the objects it names must not be called people (the
// others are logged).
func testStillObjects(t *testing.T, cfg Config, asserted map[string]bool) {
	objects := []struct {
		name string
		r    image.Rectangle
	}{
		{"lamp post", image.Rect(340, 0, 372, 270)},
		{"lamp post foot", image.Rect(340, 150, 372, 270)},
		{"tripod", image.Rect(380, 215, 442, 342)},
		{"sign", image.Rect(338, 100, 376, 175)},
		{"cones", image.Rect(570, 95, 610, 145)},
		{"bollards", image.Rect(600, 60, 640, 180)},
	}
	cfg.Every, cfg.Budget = 1, len(objects)
	pd, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	blobs := make([]image.Rectangle, len(objects))
	found := make([]int, len(objects))
	frames := 0
	vtestFrames(t, func(i int, grey gocv.Mat) bool {
		if i%10 != 0 {
			return true
		}
		frames++
		for k, o := range objects {
			blobs[k] = o.r
		}
		r := pd.Detect(grey, blobs)
		for k, o := range objects {
			b := norm(o.r, width, height)
			// People walk past some of them: count only a detection whose
			// box is mostly inside the object's own box.
			for _, p := range r.Persons {
				if cx, cy := p.Center(); cx >= b.X && cx <= b.X+b.W && cy >= b.Y && cy <= b.Y+b.H && p.W <= 1.5*b.W {
					found[k]++
					break
				}
			}
		}
		return true
	})
	for k, o := range objects {
		t.Logf("%s: a person on %d of %d frames", o.name, found[k], frames)
		if found[k]*10 > frames && (asserted == nil || asserted[o.name]) {
			t.Errorf("%s: called a person on %d of %d frames", o.name, found[k], frames)
		}
	}
}
