package analysis

import (
	"os"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/track"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

// TestPersonHOG: with PersonHOG the analyser runs the person detector on
// the blobs of every frame outside warm-up and fills FrameInfo.Persons;
// without it, nothing is measured.
func TestPersonHOG(t *testing.T) {
	const w, h, fps = 640, 360, 25
	c := scene.Static(w, h, fps)
	c.Seed = 7
	walker := scene.Actor{H: 0.25, Luma: 40, Keys: []scene.Key{
		{At: 0, Pos: scene.Point{X: 0.1, Y: 0.8}, Pose: scene.Walk}, {At: 12 * time.Second, Pos: scene.Point{X: 0.9, Y: 0.8}}}}
	for _, hog := range []bool{false, true} {
		tamper, err := pattern.NewTamper(pattern.TamperConfig{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		// Without HOG: shape, stated (the default would be NanoDet where
		// its model is installed).
		detector := PersonDetectorShape
		if hog {
			detector = PersonDetectorAuto
		}
		an, err := New(Config{Motion: motion.DefaultConfig(), Track: track.DefaultConfig(), Rules: []pattern.Rule{tamper}, PersonHOG: hog, PersonDetector: detector})
		if err != nil {
			t.Fatal(err)
		}
		s := scene.NewScripted(scene.Script{Base: c, Actors: []scene.Actor{walker}})
		y, u, v := s.NewFrame()
		grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
		valid, found := 0, 0
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for n := 0; n < 10*fps; n += fps / 5 {
			s.Render(n, y, u, v)
			data, _ := grey.DataPtrUint8()
			copy(data, y)
			f := an.Apply(t0.Add(time.Duration(n)*time.Second/fps), grey)
			if f.Info.PersonsValid {
				valid++
			}
			if len(f.Info.Persons) > 0 {
				found++
			}
		}
		grey.Close()
		if err := an.Close(); err != nil {
			t.Fatal(err)
		}
		if err := an.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		switch {
		case !hog && (valid != 0 || found != 0):
			t.Errorf("without PersonHOG: %d frames with person measurements", valid)
		case hog && (valid < 30 || found < valid/2):
			t.Errorf("with PersonHOG: %d frames measured, %d with the walker found; want most of 50", valid, found)
		}
	}
}

// TestPersonDetectorChoice: person_detector picks the detector; the
// default is NanoDet where its model is installed.
func TestPersonDetectorChoice(t *testing.T) {
	if _, _, err := models.Read(models.NanoDet); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("NanoDet model not installed (bash .ci/setup installs it): %v", err)
		}
		t.Fatal(err)
	}
	for _, tc := range []struct {
		detector string
		hog      bool
		want     string
	}{
		{PersonDetectorAuto, false, "neural"}, {PersonDetectorDNN, false, "neural"},
		{PersonDetectorHOG, false, "hog"}, {PersonDetectorAuto, true, "hog"}, {PersonDetectorShape, false, "none"},
	} {
		tamper, err := pattern.NewTamper(pattern.TamperConfig{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		an, err := New(Config{Motion: motion.DefaultConfig(), Track: track.DefaultConfig(), Rules: []pattern.Rule{tamper},
			PersonDetector: tc.detector, PersonHOG: tc.hog})
		if err != nil {
			t.Fatal(err)
		}
		got := "none"
		if an.person != nil {
			got = "hog"
			if an.person.Neural() {
				got = "neural"
			}
		}
		an.Close()
		if got != tc.want {
			t.Errorf("person_detector %q, PersonHOG %v: %s detector, want %s", tc.detector, tc.hog, got, tc.want)
		}
	}
	if _, err := New(Config{Motion: motion.DefaultConfig(), PersonDetector: "yolo"}); err == nil {
		t.Error("person_detector yolo: no error")
	}
}
