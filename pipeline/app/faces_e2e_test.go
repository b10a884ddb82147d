package app

import (
	"context"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// Issue 13: faces must not leave, whatever is installed. These tests run
// the real service on a real RTSP camera showing real photographs of faces
// and judge every snapshot that reaches the MQTT subscriber with a face
// detector the service does not use (OpenCV's LBP cascade: neither
// BlazeFace nor the Haar cascade the anonymiser verifies with).

// facePhoto is one of the photographs pipeline/internal/egress/anonymise's recall tests
// use, with its face annotated by hand (brow to chin, ear to ear).
type facePhoto struct {
	name string
	path string
	face image.Rectangle
}

var gocvModuleDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv").Output()
	return strings.TrimSpace(string(out)), err
})

func facePhotos(t testing.TB) []facePhoto {
	t.Helper()
	dir, err := gocvModuleDir()
	if err != nil || dir == "" {
		t.Fatalf("cannot find gocv's module directory (go list -m gocv.io/x/gocv): %v", err)
	}
	return []facePhoto{
		{"gocv face.jpg", filepath.Join(dir, "images", "face.jpg"), image.Rect(250, 170, 465, 400)},
		{"gocv face-detect.jpg", filepath.Join(dir, "images", "face-detect.jpg"), image.Rect(145, 95, 280, 232)},
		// NASA photograph of Eileen Collins, public domain (scikit-image).
		{"skimage astronaut.png", filepath.Join("..", "internal", "egress", "anonymise", "testdata", "astronaut.png"), image.Rect(175, 70, 275, 175)},
	}
}

// faceClip is a camera clip: a textured background, a group of three
// faces pinned in the top right corner from the first frame (background
// to the motion detector) and one face that appears at 3 s and moves
// right until 9 s: that motion starts a situation, whose snapshot shows
// all four faces. The layout keeps every face outside configs/policy.yaml's
// privacy zones for cam1, so nothing but anonymisation can hide them.
type faceClip struct {
	w, h, fps int
	aus       [][][]byte
	// faces returns the annotated face boxes visible in a frame.
	faces func(frame int) []image.Rectangle
}

const (
	faceClipW, faceClipH, faceClipFPS = 1280, 720, 10
	faceClipSeconds                   = 12
	moverFrom, moverTo                = 3 * faceClipFPS, 9 * faceClipFPS // frames
)

// tile is a photo cropped around its face and scaled so that the face is
// faceW pixels wide; face is its box within the tile.
type tile struct {
	img  gocv.Mat
	face image.Rectangle
}

func newTile(t testing.TB, p facePhoto, faceW int) tile {
	t.Helper()
	src := gocv.IMRead(p.path, gocv.IMReadColor)
	if src.Empty() {
		t.Fatalf("cannot read %s", p.path)
	}
	defer src.Close()
	f := p.face
	crop := image.Rect(f.Min.X-f.Dx()/2, f.Min.Y-f.Dy()/2, f.Max.X+f.Dx()/2, f.Max.Y+f.Dy()/2).
		Intersect(image.Rect(0, 0, src.Cols(), src.Rows()))
	s := float64(faceW) / float64(f.Dx())
	roi := src.Region(crop)
	defer roi.Close()
	img := gocv.NewMat()
	gocv.Resize(roi, &img, image.Pt(int(float64(crop.Dx())*s+0.5), int(float64(crop.Dy())*s+0.5)), 0, 0, gocv.InterpolationArea)
	sc := func(v int) int { return int(float64(v)*s + 0.5) }
	face := image.Rect(sc(f.Min.X-crop.Min.X), sc(f.Min.Y-crop.Min.Y), sc(f.Max.X-crop.Min.X), sc(f.Max.Y-crop.Min.Y))
	return tile{img: img, face: face}
}

func paste(dst gocv.Mat, tl tile, at image.Point) image.Rectangle {
	r := image.Rect(0, 0, tl.img.Cols(), tl.img.Rows()).Add(at)
	roi := dst.Region(r)
	tl.img.CopyTo(&roi)
	roi.Close()
	return tl.face.Add(at)
}

// texture is a deterministic, static background: gradients and blocks of
// individual tone (like paving), smooth enough that a key frame fits the
// RTSP server's write queue; sensor noise would only cost bandwidth here.
func texture(w, h int) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	buf, _ := m.DataPtrUint8()
	for y := range h {
		for x := range w {
			v := uint32((x/32)*73856093) ^ uint32((y/24)*19349663)
			v ^= v >> 13
			n := int(v%24) - 12
			i := (y*w + x) * 3
			buf[i] = uint8(min(255, max(0, 70+90*x/w+n)))
			buf[i+1] = uint8(min(255, max(0, 95+50*y/h+n)))
			buf[i+2] = uint8(min(255, max(0, 110-30*x/w+40*y/h+n)))
		}
	}
	return m
}

// composer renders the clip's pictures (BGR) and knows where the faces are.
type composer struct {
	bg     gocv.Mat
	group  []tile
	at     []image.Point
	mover  tile
	moverY int
}

func newComposer(t testing.TB) *composer {
	t.Helper()
	ph := facePhotos(t)
	c := &composer{bg: texture(faceClipW, faceClipH)}
	// The group: 48 px faces side by side in the top right corner, right
	// of cam1's "windows" zone (x < 0.3) and above its "cafe-terrace"
	// (y > 0.5). Small enough that the Haar cascade alone misses one now
	// and then (measured on these pictures: 1 face left in 6 with fill and
	// with pixelate; BlazeFace 0), large enough that the judge finds every
	// one in the raw pictures.
	x := faceClipW - 8
	for i := len(ph) - 1; i >= 0; i-- {
		tl := newTile(t, ph[i], 48)
		x -= tl.img.Cols()
		c.group = append(c.group, tl)
		c.at = append(c.at, image.Pt(x, 16))
	}
	// The mover: a 96 px face crossing the left half at mid height.
	c.mover = newTile(t, ph[1], 96)
	c.moverY = faceClipH*62/100 - c.mover.img.Rows()/2
	t.Cleanup(c.close)
	return c
}

func (c *composer) close() {
	c.bg.Close()
	for _, tl := range c.group {
		tl.img.Close()
	}
	c.mover.img.Close()
}

func (c *composer) moverAt(frame int) (image.Point, bool) {
	if frame < moverFrom || frame >= moverTo {
		return image.Point{}, false
	}
	// From x 40 to 600: the tile stays left of the terrace zone.
	x := 40 + (600-40)*(frame-moverFrom)/(moverTo-moverFrom)
	return image.Pt(x, c.moverY), true
}

func (c *composer) render(frame int, dst *gocv.Mat) []image.Rectangle {
	c.bg.CopyTo(dst)
	var faces []image.Rectangle
	for i, tl := range c.group {
		faces = append(faces, paste(*dst, tl, c.at[i]))
	}
	if at, ok := c.moverAt(frame); ok {
		faces = append(faces, paste(*dst, c.mover, at))
	}
	return faces
}

func (c *composer) faces(frame int) []image.Rectangle {
	var faces []image.Rectangle
	for i, tl := range c.group {
		faces = append(faces, tl.face.Add(c.at[i]))
	}
	if at, ok := c.moverAt(frame); ok {
		faces = append(faces, c.mover.face.Add(at))
	}
	return faces
}

// newFaceClip composes and encodes the clip (H.264, constant quality).
func newFaceClip(t testing.TB) *faceClip {
	t.Helper()
	c := newComposer(t)
	enc, err := codec.NewEncoder(codec.EncoderConfig{Codec: codec.H264, Width: faceClipW, Height: faceClipH, FPS: faceClipFPS, GOP: faceClipFPS})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	yuv := gocv.NewMat()
	defer yuv.Close()
	n := faceClipW * faceClipH
	var aus [][][]byte
	for i := range faceClipSeconds * faceClipFPS {
		c.render(i, &frame)
		gocv.CvtColor(frame, &yuv, gocv.ColorBGRToYUVI420)
		b, err := yuv.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		au, err := enc.Encode(b[:n], b[n:n+n/4], b[n+n/4:n+n/2], int64(i))
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, au)
	}
	if testing.Verbose() {
		size, biggest := 0, 0
		for _, au := range aus {
			n := 0
			for _, nal := range au {
				n += len(nal)
			}
			size, biggest = size+n, max(biggest, n)
		}
		t.Logf("face clip: %d access units, %d kB, largest %d kB", len(aus), size/1000, biggest/1000)
	}
	return &faceClip{w: faceClipW, h: faceClipH, fps: faceClipFPS, aus: aus, faces: c.faces}
}

// decoded calls fn with every k-th picture of the clip as the service
// receives it (decoded, BGR): what the judge must find faces in.
func (fc *faceClip) decoded(t testing.TB, k int, fn func(frame int, bgr gocv.Mat)) {
	t.Helper()
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: codec.H264, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	m := gocv.NewMatWithSize(fc.h, fc.w, gocv.MatTypeCV8UC3)
	defer m.Close()
	buf, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i, au := range fc.aus {
		ok, err := dec.Decode(au)
		if err != nil {
			t.Fatalf("decode frame %d: %v", i, err)
		}
		if !ok || i%k != 0 {
			continue
		}
		if err := dec.ScaleBGR(buf, fc.w, fc.h, fc.w*3); err != nil {
			t.Fatal(err)
		}
		fn(i, m)
	}
}

// faceJudge is the independent detector: OpenCV's improved LBP frontal
// face cascade (opencv-data), tuned to find rather than to be precise
// (upscaled, few neighbours): a judge that misses faces proves nothing.
type faceJudge struct {
	cc        gocv.CascadeClassifier
	grey, big gocv.Mat
}

const judgeUpscale = 1.5

func newFaceJudge(t testing.TB) *faceJudge {
	t.Helper()
	p, err := models.Locate(models.LBPFrontalFace)
	if err != nil {
		t.Fatal(err)
	}
	j := &faceJudge{cc: gocv.NewCascadeClassifier(), grey: gocv.NewMat(), big: gocv.NewMat()}
	t.Cleanup(func() { j.cc.Close(); j.grey.Close(); j.big.Close() })
	if !j.cc.Load(p) {
		t.Fatalf("OpenCV cannot load %s", p)
	}
	return j
}

func (j *faceJudge) find(bgr gocv.Mat) []image.Rectangle {
	gocv.CvtColor(bgr, &j.grey, gocv.ColorBGRToGray)
	gocv.EqualizeHist(j.grey, &j.grey)
	gocv.Resize(j.grey, &j.big, image.Pt(int(float64(bgr.Cols())*judgeUpscale), int(float64(bgr.Rows())*judgeUpscale)), 0, 0, gocv.InterpolationLinear)
	var out []image.Rectangle
	for _, r := range j.cc.DetectMultiScaleWithParams(j.big, 1.1, 2, 0, image.Pt(24, 24), image.Point{}) {
		out = append(out, image.Rect(int(float64(r.Min.X)/judgeUpscale), int(float64(r.Min.Y)/judgeUpscale),
			int(float64(r.Max.X)/judgeUpscale+0.999), int(float64(r.Max.Y)/judgeUpscale+0.999)))
	}
	return out
}

// matched counts the faces that a judged box overlaps by at least a
// quarter of the smaller of the two.
func matched(faces, found []image.Rectangle) int {
	n := 0
	for _, f := range faces {
		for _, d := range found {
			in := f.Intersect(d)
			if !in.Empty() && in.Dx()*in.Dy()*4 >= min(f.Dx()*f.Dy(), d.Dx()*d.Dy()) {
				n++
				break
			}
		}
	}
	return n
}

// judgeRawClip is the judge's control: in the decoded, un-anonymised
// pictures it must find the faces (every face in most pictures, each face
// in at least one); otherwise finding none in a snapshot would mean
// nothing. It returns faces found and faces present over the sampled
// pictures.
func judgeRawClip(t *testing.T, fc *faceClip, j *faceJudge) (found, present int) {
	t.Helper()
	perFace := map[int]int{} // index in faces(frame) → pictures it was found in
	pictures, withMover, elsewhere := 0, 0, 0
	fc.decoded(t, 10, func(frame int, bgr gocv.Mat) {
		faces := fc.faces(frame)
		hits := j.find(bgr)
		elsewhere += len(hits) - matched(faces, hits)
		pictures++
		if len(faces) == 4 {
			withMover++
		}
		for i, f := range faces {
			if matched([]image.Rectangle{f}, hits) == 1 {
				perFace[i]++
				found++
			}
		}
		present += len(faces)
	})
	t.Logf("judge on %d raw decoded pictures (%d with the moving face): %d of %d faces found (per face %v), %d boxes elsewhere",
		pictures, withMover, found, present, perFace, elsewhere)
	for i := range 4 {
		if perFace[i] == 0 {
			t.Errorf("the judge never finds face %d in the raw pictures: it cannot judge the snapshots", i)
		}
	}
	if found*10 < present*8 {
		t.Errorf("the judge finds only %d of %d faces in the raw pictures, want at least 80%%", found, present)
	}
	return found, present
}

// TestFaceJudgeFindsRawFaces runs the judge's control on its own (fast:
// no service).
func TestFaceJudgeFindsRawFaces(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes and decodes a 720p clip")
	}
	judgeRawClip(t, newFaceClip(t), newFaceJudge(t))
}

// facePolicy is snapshotPolicy with anonymisation.faces set to method.
func facePolicy(t *testing.T, method string) string {
	t.Helper()
	p := snapshotPolicy(t)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "  faces: fill ", "  faces: "+method+" ", 1)
	if method != anonymise.Fill && text == string(b) {
		t.Fatal("configs/policy.yaml has no `  faces: fill ` line to change")
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// faceRun is one run of the service on the face camera.
type faceRun struct {
	sub  *mosquittotest.Subscription
	logs *testlog.Buffer
	stop func()
}

func startFaceRun(t *testing.T, fc *faceClip, method string, modelDirs []string) *faceRun {
	t.Helper()
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	cam, err := simcam.Start(simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264,
		Scene: scene.Config{Width: fc.w, Height: fc.h, FPS: fc.fps}, Clip: fc.aus, Audio: true,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cam.Close)
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": cam.URL()})
	cfg.Policy = facePolicy(t, method)
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(io.MultiWriter(logs, testWriter{t}), nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Logger: log, anonymise: func(c anonymise.Config) anonymise.Config {
			c.DetectorConfig.ModelDirs = modelDirs
			c.Timeout = time.Minute // a loaded machine must not withhold: this test is about what leaves
			return c
		}})
	}()
	var once sync.Once
	r := &faceRun{sub: sub, logs: logs, stop: func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}}
	t.Cleanup(r.stop)
	return r
}

func snapshotMsgs(msgs []mosquittotest.Message) []mosquittotest.Message {
	var out []mosquittotest.Message
	for _, m := range msgs {
		if strings.Contains(m.Topic, "/snapshot/") {
			out = append(out, m)
		}
	}
	return out
}

// TestFacesDoNotLeave (issue 13): with the face model installed, faces in
// every published snapshot, filled or pixelated, are beyond the judge.
func TestFacesDoNotLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker, camera and service")
	}
	fc := newFaceClip(t)
	judge := newFaceJudge(t)
	judgeRawClip(t, fc, judge)
	for _, method := range []string{anonymise.Fill, anonymise.Pixelate} {
		t.Run(method, func(t *testing.T) {
			run := startFaceRun(t, fc, method, nil) // nil: the default search, which finds models/data
			msgs := run.sub.WaitFor(t, func(m []mosquittotest.Message) bool {
				return len(snapshotMsgs(m)) > 0
			}, 2*time.Minute)
			run.stop()
			msgs = run.sub.Messages()
			snaps := snapshotMsgs(msgs)
			if len(events(msgs, "cam1")) == 0 {
				t.Error("no event published")
			}
			total := 0
			for _, m := range snaps {
				img, err := gocv.IMDecode(m.Payload, gocv.IMReadColor)
				if err != nil || img.Empty() {
					t.Fatalf("%s: not a JPEG: %v", m.Topic, err)
				}
				if img.Cols() != fc.w || img.Rows() != fc.h {
					t.Errorf("%s: %dx%d, want the camera's %dx%d", m.Topic, img.Cols(), img.Rows(), fc.w, fc.h)
				}
				// Not a black picture: the judge finding nothing in one
				// would prove nothing. Top middle is background only.
				if f := litShare(img, image.Rect(fc.w*30/100, 0, fc.w*60/100, fc.h*40/100)); f < 0.9 {
					t.Errorf("%s: only %.0f%% of the background is picture", m.Topic, 100*f)
				}
				hits := judge.find(img)
				img.Close()
				total += len(hits)
				if len(hits) > 0 {
					t.Errorf("%s: the judge finds %d faces in a published snapshot: %v", m.Topic, len(hits), hits)
				}
			}
			t.Logf("%s: %d snapshots published, the judge finds %d faces in them", method, len(snaps), total)
		})
	}
}

// TestNoImageWithoutFaceModel (issue 13): without the face model (only
// the Haar cascade could be found) the service still starts and events
// still go out, no image leaves, one ERROR line says which model is
// missing, where it was looked for and how to install it, and the device
// health says why images are withheld.
func TestNoImageWithoutFaceModel(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker, camera and service")
	}
	fc := newFaceClip(t)
	empty := t.TempDir()
	if _, err := models.Locate(models.HaarFrontalFace, empty); err != nil {
		t.Fatalf("the Haar cascade must be findable for this test to mean anything: %v", err)
	}
	for _, method := range []string{anonymise.Fill, anonymise.Pixelate} {
		t.Run(method, func(t *testing.T) {
			run := startFaceRun(t, fc, method, []string{empty})
			var h deviceHealth
			msgs := run.sub.WaitFor(t, func(m []mosquittotest.Message) bool {
				if len(events(m, "cam1")) == 0 {
					return false
				}
				var ok bool
				h, ok = lastHealth(m)
				return ok && h.SnapshotsWithheld > 0 && h.SnapshotsWithheldReason != ""
			}, 2*time.Minute)
			run.stop()
			msgs = run.sub.Messages()
			if s := snapshotMsgs(msgs); len(s) > 0 {
				t.Errorf("%d snapshots left without the face model, first %s", len(s), s[0].Topic)
			}
			if h.FaceDetector != anonymise.DetectorNone {
				t.Errorf("health face_detector = %q, want %q", h.FaceDetector, anonymise.DetectorNone)
			}
			for _, want := range []string{models.BlazeFace.Name, filepath.Join(empty, models.BlazeFace.Path), "models/fetch"} {
				if !strings.Contains(h.SnapshotsWithheldReason, want) {
					t.Errorf("health snapshots_withheld_reason does not say %q: %q", want, h.SnapshotsWithheldReason)
				}
			}
			errs := errorLines(run.logs.String())
			if len(errs) != 1 {
				t.Errorf("%d ERROR lines, want exactly 1: %q", len(errs), errs)
			}
			for _, want := range []string{models.BlazeFace.Name, filepath.Join(empty, models.BlazeFace.Path), "models/fetch"} {
				if len(errs) > 0 && !strings.Contains(errs[0], want) {
					t.Errorf("the ERROR line does not say %q: %s", want, errs[0])
				}
			}
			t.Logf("%s: %d events, 0 snapshots, withheld %d: %s", method, len(events(msgs, "cam1")), h.SnapshotsWithheld, h.SnapshotsWithheldReason)
		})
	}
}

// litShare is the share of pixels in r that are not filled (black).
func litShare(bgr gocv.Mat, r image.Rectangle) float64 {
	roi := bgr.Region(r)
	defer roi.Close()
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(roi, &grey, gocv.ColorBGRToGray)
	lit := 0
	for y := range grey.Rows() {
		for x := range grey.Cols() {
			if grey.GetUCharAt(y, x) > 8 {
				lit++
			}
		}
	}
	return float64(lit) / float64(r.Dx()*r.Dy())
}

// lastHealth is the latest device health message.
func lastHealth(msgs []mosquittotest.Message) (deviceHealth, bool) {
	var last deviceHealth
	ok := false
	for _, m := range msgs {
		var h deviceHealth
		if strings.HasSuffix(m.Topic, "/e2e/health") && json.Unmarshal(m.Payload, &h) == nil {
			last, ok = h, true
		}
	}
	return last, ok
}

func errorLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Level == "ERROR" {
			out = append(out, l)
		}
	}
	return out
}
