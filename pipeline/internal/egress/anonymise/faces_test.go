package anonymise

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgeguard/edgeguard/models"
	"gocv.io/x/gocv"
)

// photo is a real photograph with its faces annotated by hand (brow to
// chin, ear to ear).
type photo struct {
	name  string
	path  func(t testing.TB) string
	faces []image.Rectangle
}

// gocvImage finds an image in gocv's module (a go.mod dependency, so it is
// in the module cache wherever this builds). Not copied into the repo: its
// licence is not stated.
func gocvImage(name string) func(t testing.TB) string {
	return func(t testing.TB) string {
		t.Helper()
		dir := gocvDir(t)
		return filepath.Join(dir, "images", name)
	}
}

var gocvDir = func() func(t testing.TB) string {
	var once sync.Once
	var dir string
	var err error
	return func(t testing.TB) string {
		once.Do(func() {
			var out []byte
			out, err = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv").Output()
			dir = strings.TrimSpace(string(out))
		})
		if err != nil || dir == "" {
			t.Fatalf("cannot find gocv's module directory (go list -m gocv.io/x/gocv): %v", err)
		}
		return dir
	}
}()

func testdata(name string) func(t testing.TB) string {
	return func(testing.TB) string { return filepath.Join("testdata", name) }
}

var photos = []photo{
	{"gocv face.jpg", gocvImage("face.jpg"), []image.Rectangle{image.Rect(250, 170, 465, 400)}},
	{"gocv face-detect.jpg", gocvImage("face-detect.jpg"), []image.Rectangle{image.Rect(145, 95, 280, 232)}},
	// NASA photograph of Eileen Collins, public domain, from scikit-image
	// (Debian python3-skimage: skimage/data/astronaut.png).
	{"skimage astronaut.png", testdata("astronaut.png"), []image.Rectangle{image.Rect(175, 70, 275, 175)}},
}

func loadPhoto(t testing.TB, p photo) gocv.Mat {
	t.Helper()
	path := p.path(t)
	m := gocv.IMRead(path, gocv.IMReadColor)
	if m.Empty() {
		t.Fatalf("cannot read %s", path)
	}
	return m
}

// background fills a frame with a deterministic texture (gradients and a
// hash pattern) so that the detectors see something like a scene.
func background(w, h int) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	buf, _ := m.DataPtrUint8()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint32(x*73856093) ^ uint32(y*19349663)
			v ^= v >> 13
			n := int(v%32) - 16
			i := (y*w + x) * 3
			buf[i] = uint8(clamp(60 + 100*x/w + n))
			buf[i+1] = uint8(clamp(90 + 60*y/h + n))
			buf[i+2] = uint8(clamp(120 - 40*x/w + 50*y/h + n))
		}
	}
	return m
}

func clamp(v int) int { return min(255, max(0, v)) }

// scene is a synthetic frame with every photo pasted in, scaled so that
// each face is faceW pixels wide: far and small faces. Each photo is
// clipped to its own third of the frame so that they do not overlap.
type scene struct {
	faceW          int
	centres        []image.Point // face centre per photo
	frameW, frameH int
}

func (v scene) String() string {
	return fmt.Sprintf("%d px faces at %v in %dx%d", v.faceW, v.centres, v.frameW, v.frameH)
}

// render returns the frame and the faces' boxes in it.
func (v scene) render(t testing.TB) (gocv.Mat, []image.Rectangle) {
	t.Helper()
	frame := background(v.frameW, v.frameH)
	var faces []image.Rectangle
	for i, p := range photos {
		src := loadPhoto(t, p)
		g := p.faces[0]
		s := float64(v.faceW) / float64(g.Dx())
		sw, sh := int(float64(src.Cols())*s+0.5), int(float64(src.Rows())*s+0.5)
		small := gocv.NewMat()
		gocv.Resize(src, &small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
		c := v.centres[i]
		fcx := int(float64(g.Min.X+g.Dx()/2) * s)
		fcy := int(float64(g.Min.Y+g.Dy()/2) * s)
		off := image.Pt(c.X-fcx, c.Y-fcy)
		column := image.Rect(i*v.frameW/len(photos), 0, (i+1)*v.frameW/len(photos), v.frameH)
		dst := image.Rect(0, 0, sw, sh).Add(off).Intersect(column)
		a := small.Region(dst.Sub(off))
		b := frame.Region(dst)
		a.CopyTo(&b)
		a.Close()
		b.Close()
		small.Close()
		src.Close()
		faces = append(faces, image.Rect(int(float64(g.Min.X)*s), int(float64(g.Min.Y)*s), int(float64(g.Max.X)*s), int(float64(g.Max.Y)*s)).Add(off))
	}
	return frame, faces
}

// Face sizes of the far/small variants.
var faceWidths = []int{160, 96, 64, 48, 40, 32, 24, 20}

// scenes: every face width in two layouts of a 1920×1080 frame; the second
// puts a face on the seams of the 2×2 tiles.
func scenes() []scene {
	var vs []scene
	for _, fw := range faceWidths {
		vs = append(vs,
			scene{faceW: fw, centres: []image.Point{{320, 300}, {960, 700}, {1600, 420}}, frameW: 1920, frameH: 1080},
			scene{faceW: fw, centres: []image.Point{{420, 820}, {960, 540}, {1500, 160}}, frameW: 1920, frameH: 1080})
	}
	return vs
}

// covered: the detection, with the policy's minimum margin, covers at least
// 80% of the annotated face: the part of a face that would stay visible is
// what matters for anonymisation, not IoU.
func covered(face image.Rectangle, dets []image.Rectangle, margin float64) bool {
	for _, d := range dets {
		in := expand(d, margin).Intersect(face)
		if in.Dx()*in.Dy()*10 >= face.Dx()*face.Dy()*8 {
			return true
		}
	}
	return false
}

// touchesAny: a detection overlaps one of the faces by at least 10% of
// the smaller box (not a false positive).
func touchesAny(faces []image.Rectangle, d image.Rectangle) bool {
	for _, f := range faces {
		in := d.Intersect(f)
		if !in.Empty() && in.Dx()*in.Dy()*10 >= min(f.Dx()*f.Dy(), d.Dx()*d.Dy()) {
			return true
		}
	}
	return false
}

type detectors struct {
	blaze *BlazeFace
	haar  *Haar
	lbp   *Haar
}

func loadDetectors(t testing.TB) detectors {
	t.Helper()
	bd, _, err := models.Read(models.BlazeFace)
	if err != nil {
		t.Fatal(err)
	}
	blaze, err := NewBlazeFace(BlazeFaceConfig{Model: bd})
	if err != nil {
		t.Fatal(err)
	}
	hd, _, err := models.Read(models.HaarFrontalFace)
	if err != nil {
		t.Fatal(err)
	}
	haar, err := NewHaar(HaarConfig{Cascade: hd})
	if err != nil {
		t.Fatal(err)
	}
	ld, _, err := models.Read(models.LBPFrontalFace)
	if err != nil {
		t.Fatal(err)
	}
	lbp, err := NewHaar(HaarConfig{Cascade: ld})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blaze.Close(); haar.Close(); lbp.Close() })
	return detectors{blaze, haar, lbp}
}

func (d detectors) each() []struct {
	name string
	det  FaceDetector
} {
	return []struct {
		name string
		det  FaceDetector
	}{{"blazeface", d.blaze}, {"haar", d.haar}, {"lbp", d.lbp}}
}
