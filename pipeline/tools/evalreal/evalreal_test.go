package evalreal

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

const expectationsFile = "testdata/realclips.yaml"

// repoRoot is the checkout's root: the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestEvalReal runs every clip of testdata/realclips.yaml and prints the
// per-pattern table docs/patterns.md records under "Real footage". Targets
// are measured, not asserted: a miss or a false alarm does not fail it;
// an expectations file that does not parse, a clip it lists that is not
// there, or a clip that cannot be decoded does. Without the clips
// directory it says so and skips.
//
// EDGEGUARD_EVALREAL_CLIP=text runs only the clips whose file contains it;
// EDGEGUARD_EVALREAL_VERBOSE=1 adds every start reported and the analysis
// stages' log.
func TestEvalReal(t *testing.T) {
	dir := DefaultClipsDir(repoRoot(t))
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Skipf("no real clips at %s (set %s to their directory): skipping the real-footage evaluation", dir, ClipsEnv)
	}
	data, err := os.ReadFile(expectationsFile)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Parse(expectationsFile, data, func(rel string) bool {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		return err == nil && fi.Mode().IsRegular()
	})
	if err != nil {
		t.Fatalf("expectations:\n%v", err)
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to read the clips (make setup installs it): %v", tool, err)
		}
	}
	verbose := os.Getenv("EDGEGUARD_EVALREAL_VERBOSE") != ""
	opts := Options{ClipsDir: dir, Only: os.Getenv("EDGEGUARD_EVALREAL_CLIP")}
	if verbose {
		opts.Logger = slog.Default()
	}
	began := time.Now()
	results, err := RunAll(context.Background(), ex, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	eval.WriteTable(&b, Table(results))
	var details strings.Builder
	var video time.Duration
	for _, r := range results {
		video += r.Duration
		details.WriteString(Describe(r, verbose))
	}
	t.Logf("clips: %d (%.0f s of video) from %s, %v\n%s\nper clip:\n%s", len(results), video.Seconds(), dir,
		time.Since(began).Round(100*time.Millisecond), b.String(), details.String())
}

func TestParseErrors(t *testing.T) {
	exists := func(rel string) bool { return rel == "a/clip.mp4" || rel == "b/other.avi" }
	for _, tt := range []struct {
		name, in string
		want     []string // every one must appear, each as FILE:LINE:COL: PATH: message
	}{
		{"empty", "", []string{"x.yaml:1:1: the file is empty"}},
		{"no clips", "clips: []\n", []string{"x.yaml:1:1: clips: required"}},
		{"unknown key", "clips:\n  - file: a/clip.mp4\n    camera: {}\n    expectt: []\n",
			[]string{"x.yaml:4:5: clips[0].expectt: unknown"}},
		{"missing clip", "clips:\n  - file: a/gone.mp4\n    camera: {}\n",
			[]string{`x.yaml:2:5: clips[0].file: no clip "a/gone.mp4" in the clips directory`}},
		{"path outside", "clips:\n  - file: ../x.mp4\n    camera: {}\n", []string{"clips[0].file: \"../x.mp4\" must be a clean relative path"}},
		{"twice", "clips:\n  - {file: a/clip.mp4, camera: {}}\n  - {file: a/clip.mp4, camera: {}}\n",
			[]string{"x.yaml:3:6: clips[1].file: clip \"a/clip.mp4\" is listed twice (first at line 2)"}},
		{"no camera", "clips:\n  - file: a/clip.mp4\n", []string{"clips[0].camera: required"}},
		{"bad rule", "clips:\n  - file: a/clip.mp4\n    camera:\n      rules:\n        - {type: person_down, down_tme: 5s}\n",
			[]string{"x.yaml:5:31: clips[0].camera.rules[0].down_tme: unknown"}},
		{"rule out of range", "clips:\n  - file: a/clip.mp4\n    camera:\n      rules:\n        - {type: person_down, down_time: 0.5s}\n",
			[]string{"clips[0].camera.rules[0].down_time:"}},
		{"camera url", "clips:\n  - file: a/clip.mp4\n    camera: {url: \"rtsp://h/\"}\n", []string{"clips[0].camera.url: the clip is the camera's video"}},
		{"bad motion", "clips:\n  - file: a/clip.mp4\n    camera: {motion: {min_area: 2}}\n", []string{"clips[0].camera.motion.min_area: 2 is out of range"}},
		{"type not configured", "clips:\n  - file: a/clip.mp4\n    camera: {rules: [{type: tamper}]}\n    expect: [{type: person_down, from: 1s, to: 2s}]\n",
			[]string{"clips[0].expect[0].type: no rule of the camera reports person_down"}},
		{"unknown type", "clips:\n  - file: a/clip.mp4\n    camera: {}\n    expect: [{type: motion, to: 2s}]\n",
			[]string{"clips[0].expect[0].type: unknown pattern \"motion\""}},
		{"window", "clips:\n  - file: a/clip.mp4\n    camera: {rules: [{type: tamper}]}\n    expect: [{type: tamper, from: 3s, to: 2s}, {type: tamper, from: -1s}]\n",
			[]string{"clips[0].expect[0].to: 2s is before from (3s)", "clips[0].expect[1].to: required", "clips[0].expect[1].from: -1s is before the clip's start"}},
		{"duration type", "clips:\n  - file: a/clip.mp4\n    camera: {rules: [{type: tamper}]}\n    expect: [{type: tamper, to: 30}]\n",
			[]string{"clips[0].expect[0].to:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.in), exists)
			var errs yamlstrict.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T), want yamlstrict.Errors", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors\n%v\nwant one containing %q", err, w)
				}
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	in := "clips:\n  - file: a/clip.mp4\n    camera:\n      motion: {warmup: 1s}\n      rules: [{type: tamper, duration: 1s}]\n    expect: [{type: tamper, from: 2s, to: 4s}]\n  - file: b/other.avi\n    camera: {}\n"
	ex, err := Parse("x.yaml", []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Clips) != 2 {
		t.Fatalf("%d clips, want 2", len(ex.Clips))
	}
	c := ex.Clips[0]
	if c.Camera.ID != "clip" || c.Camera.Motion.Warmup != time.Second || c.Camera.Analysis.FPS != 5 || c.Camera.Motion.MinArea != 0.002 {
		t.Errorf("camera %+v: want id clip, warm-up 1s and the shipped defaults", c.Camera)
	}
	if len(c.Expect) != 1 || c.Expect[0] != (eval.Expected{Type: "tamper", From: 2 * time.Second, To: 4 * time.Second}) {
		t.Errorf("expect %+v", c.Expect)
	}
	if got := c.Camera.AllEventTypes(); strings.Join(got, ",") != "motion,tamper" {
		t.Errorf("event types %v", got)
	}
}

// TestExpectationsFile: the repository's file parses (without the clips:
// their presence is TestEvalReal's check).
func TestExpectationsFile(t *testing.T) {
	data, err := os.ReadFile(expectationsFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(expectationsFile, data, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAccessUnits(t *testing.T) {
	aud := []byte{0x09, 0xf0}
	sps, pps, idr, p := []byte{0x67, 1, 2}, []byte{0x68, 3}, []byte{0x65, 0x88, 0}, []byte{0x41, 0x9a}
	var buf []byte
	for _, n := range [][]byte{aud, sps, pps, idr, aud, p} {
		buf = append(append(buf, 0, 0, 0, 1), n...)
	}
	aus, err := accessUnits(buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(aus) != 2 || len(aus[0]) != 3 || len(aus[1]) != 1 {
		t.Fatalf("access units %v", aus)
	}
	// The IDR slice's trailing zero is a start code's, not the slice's.
	if string(aus[0][2]) != string(idr[:2]) || string(aus[1][0]) != string(p) {
		t.Errorf("NAL units %v", aus)
	}
	if _, err := accessUnits([]byte{1, 2, 3}); err == nil {
		t.Error("no start code: want an error")
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(expectationsFile); err == nil {
		f.Add(data)
	}
	for _, s := range []string{"", "clips: []\n", "clips:\n  - file: a/clip.mp4\n    camera: {rules: [{type: tamper}]}\n    expect: [{type: tamper, from: 1s, to: 2s}]\n",
		"clips: [{file: ../x, camera: {url: 1, rules: [{type: x}]}, expect: [{type: running, from: -1s, to: 1}]}]\n",
		"clips: [{file: a, camera: {zones: {z: [[0, 0], [1, 0], [0, 1]]}, rules: [{type: intrusion, zone: z}]}}]\n", "a: &x [1]\nb: *x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := Parse("f.yaml", data, func(rel string) bool { return !strings.Contains(rel, "gone") })
		if err != nil {
			var errs yamlstrict.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T, want yamlstrict.Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("entry without file or message: %#v", e)
				}
			}
			return
		}
		for _, c := range ex.Clips {
			if c.File == "" || strings.Contains(c.File, "gone") || strings.HasPrefix(c.File, "/") {
				t.Fatalf("accepted clip file %q", c.File)
			}
			if _, err := c.Camera.NewAllRules(); err != nil {
				t.Fatalf("accepted rules that do not build: %v", err)
			}
			for _, e := range c.Expect {
				if e.To < e.From || e.From < 0 {
					t.Fatalf("accepted window %+v", e)
				}
			}
		}
	})
}
