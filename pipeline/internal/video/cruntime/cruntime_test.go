package cruntime_test

import (
	"bytes"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/cruntime"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"gocv.io/x/gocv"
)

func TestApplyRejectsNegativeThreads(t *testing.T) {
	if err := cruntime.Apply(cruntime.Config{OpenCVThreads: -1}); err == nil {
		t.Fatal("OpenCVThreads -1 accepted")
	}
}

// TestSameResultsOnOneThread: the service runs OpenCV on one thread per
// call; every pixel stage must see exactly what it saw with OpenCV's own
// thread pool, so the evaluation and the tests (run either way) stay valid.
func TestSameResultsOnOneThread(t *testing.T) {
	before := cruntime.OpenCVThreads()
	t.Cleanup(func() { cruntime.Apply(cruntime.Config{OpenCVThreads: before}) })
	if before < 0 {
		t.Fatalf("OpenCVThreads() = %d", before)
	}
	pooled := trace(t)
	if !bytes.Contains(pooled, []byte("Motion:true")) || !bytes.Contains(pooled, []byte("  flow ")) {
		t.Fatalf("the trace shows no motion or no flow, so it compares nothing:\n%s", pooled)
	}
	if err := cruntime.Apply(cruntime.Defaults); err != nil {
		t.Fatal(err)
	}
	if got := cruntime.OpenCVThreads(); got != 1 {
		t.Fatalf("after Apply(Defaults) OpenCV runs %d threads, want 1", got)
	}
	single := trace(t)
	if !bytes.Equal(pooled, single) {
		t.Errorf("analysis differs on one thread (default pool had %d threads):\npool:\n%s\none:\n%s", before, pooled, single)
	}
}

// trace analyses 10 s of a walker crossing at 5 frames/s with every pixel
// stage on and prints every number the stages produced.
func trace(t *testing.T) []byte {
	t.Helper()
	const w, h, fps = 640, 360, 25
	a, err := analysis.New(analysis.Config{Motion: motion.DefaultConfig(), Rules: eval.Rules()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sc := scene.New(scene.Walker(w, h, fps))
	y, u, v := sc.NewFrame()
	grey := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	defer grey.Close()
	var out bytes.Buffer
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 10*fps; i += fps / 5 {
		sc.Render(i, y, u, v)
		buf, err := grey.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		copy(buf, y[:w*h])
		f := a.Apply(t0.Add(time.Duration(i)*time.Second/fps), grey)
		fmt.Fprintf(&out, "%d %+v %+v %v\n", i, f.Motion, f.Info.Stats, rects(f.Motion.Boxes))
		for _, r := range f.Info.Flow {
			fmt.Fprintf(&out, "  flow %+v\n", r)
		}
		for _, r := range f.Info.Static {
			fmt.Fprintf(&out, "  static %+v\n", r)
		}
	}
	return out.Bytes()
}

func rects(rs []image.Rectangle) string { return fmt.Sprint(rs) }
