package preview

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
	"github.com/edgeguard/edgeguard/policy"
)

// TestPreview grabs a frame from a real RTSP camera through the policy of
// configs/policy.yaml with a zone added for the camera, and checks the PNG:
// the zone is filled (only the outline is drawn on it) and the rest of the
// picture is there.
func TestPreview(t *testing.T) {
	sim, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264,
		Scene: scene.Static(640, 360, 25), ClipSeconds: 1, Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	example, err := os.ReadFile("../../../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("policy.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	zones := pol.Zones("cam1")
	if len(zones) == 0 {
		t.Fatal("configs/policy.yaml has no zone for cam1")
	}
	cfg := config.Defaults()
	cfg.Device = "preview"
	cfg.Cameras = []config.Camera{{ID: "cam1", URL: sim.URL(), Enabled: true, CameraSettings: cfg.Defaults}}
	out := filepath.Join(t.TempDir(), "preview.png")
	if p := os.Getenv("PREVIEW_OUT"); p != "" {
		out = p
	}
	res, err := Run(context.Background(), Options{Config: &cfg, Policy: pol, Camera: "cam1", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 640 || res.Height != 360 || res.Zones != len(zones) {
		t.Fatalf("result %+v", res)
	}
	if res.Withheld {
		t.Fatalf("withheld: %s (is opencv-data installed?)", res.Reason)
	}
	img := gocv.IMRead(out, gocv.IMReadGrayScale)
	defer img.Close()
	if img.Cols() != 640 || img.Rows() != 360 {
		t.Fatalf("PNG is %dx%d", img.Cols(), img.Rows())
	}
	// Inside the first zone's bounding box, away from its outline, every
	// pixel of the PNG is (JPEG-)black; outside, the scene is visible.
	minX, minY, maxX, maxY := 1.0, 1.0, 0.0, 0.0
	for _, p := range zones[0] {
		minX, minY, maxX, maxY = min(minX, p.X), min(minY, p.Y), max(maxX, p.X), max(maxY, p.Y)
	}
	inside, outside := 0, 0
	for y := range 360 {
		for x := range 640 {
			fx, fy := float64(x)/639, float64(y)/359
			v := img.GetUCharAt(y, x)
			if fx > minX+0.03 && fx < maxX-0.03 && fy > minY+0.03 && fy < maxY-0.03 && inZone(zones[0], fx, fy) {
				if v > 8 {
					inside++
				}
			} else if fx > maxX+0.05 || fy > maxY+0.05 {
				if v > 40 {
					outside++
				}
			}
		}
	}
	if inside != 0 {
		t.Errorf("%d pixels inside the privacy zone carry picture", inside)
	}
	if outside == 0 {
		t.Errorf("the picture outside the zone is missing")
	}
}

// inZone is an even-odd point-in-polygon test.
func inZone(poly geometry.Polygon, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Y > y) != (b.Y > y) && x < (b.X-a.X)*(y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

// TestPreviewNamesTheFaceDetector (issue 18 item 10): the result says
// which face detector anonymised the preview, as /readyz does, and why
// there is none when the model is missing (then the preview is withheld).
func TestPreviewNamesTheFaceDetector(t *testing.T) {
	sim, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264,
		Scene: scene.Static(320, 180, 25), ClipSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	pol := policy.Default()
	cfg := config.Defaults()
	cfg.Device = "preview"
	cfg.Cameras = []config.Camera{{ID: "cam1", URL: sim.URL(), Enabled: true, CameraSettings: cfg.Defaults}}
	noModel, err := anonymise.New(anonymise.Config{Method: anonymise.Fill, Logger: slog.New(slog.DiscardHandler),
		DetectorConfig: anonymise.DetectorConfig{ModelDirs: []string{t.TempDir()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer noModel.Close()
	for _, tt := range []struct {
		name         string
		anon         *anonymise.Anonymiser // nil: built from the policy, as edgeguard policy preview does
		want         string
		wantWithheld bool
	}{
		{"installed model", nil, anonymise.DetectorBlazeFace, false},
		{"no model", noModel, anonymise.DetectorNone, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "preview.png")
			res, err := Run(context.Background(), Options{Config: &cfg, Policy: pol, Camera: "cam1", Out: out, Anonymiser: tt.anon})
			if err != nil {
				t.Fatal(err)
			}
			if res.Detector != tt.want || res.Withheld != tt.wantWithheld {
				t.Fatalf("detector %q (%s), withheld %v; want %q, withheld %v", res.Detector, res.NoDetector, res.Withheld, tt.want, tt.wantWithheld)
			}
			if tt.wantWithheld != (res.NoDetector != "") {
				t.Errorf("why no detector: %q", res.NoDetector)
			}
			if tt.wantWithheld && !strings.Contains(res.NoDetector, models.BlazeFace.Name) {
				t.Errorf("why no detector: %q does not name the missing model %s", res.NoDetector, models.BlazeFace.Name)
			}
		})
	}
}
