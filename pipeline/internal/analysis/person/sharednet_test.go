package person

import (
	"image"
	"slices"
	"sync"
	"testing"

	"gocv.io/x/gocv"
)

// TestSharedNet: detectors with the same model and input size share one
// network, which closes with the last of them; detectors running on two
// goroutines at once (two cameras) find exactly what each finds alone.
func TestSharedNet(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes video")
	}
	model := nanoDetModel(t)
	before := loadedNets()
	a, err := newNanodet(model, 320, 256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newNanodet(model, 320, 256)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newNanodet(model, 256, 192)
	if err != nil {
		t.Fatal(err)
	}
	if a.net != b.net || a.net == other.net {
		t.Fatal("same model and size must share a network, another size must not")
	}
	if got := loadedNets() - before; got != 2 {
		t.Fatalf("%d networks loaded for two sizes, want 2", got)
	}
	other.close()

	vc := openVTest(t)
	defer vc.Close()
	bgr := gocv.NewMat()
	defer bgr.Close()
	var greys []gocv.Mat
	defer func() {
		for _, g := range greys {
			g.Close()
		}
	}()
	for i := 0; len(greys) < 6 && vc.Read(&bgr); i++ {
		if i%20 != 0 {
			continue
		}
		g := gocv.NewMat()
		gocv.CvtColor(bgr, &g, gocv.ColorBGRToGray)
		greys = append(greys, g)
	}
	run := func(n *nanodet, g gocv.Mat) []hit {
		full := image.Rect(0, 0, g.Cols(), g.Rows())
		hits, err := n.detect(g, full, float32(DefaultConfig().MinScore), 0.5, nil)
		if err != nil {
			t.Error(err)
		}
		return hits
	}
	alone := make([][]hit, len(greys))
	for i, g := range greys {
		alone[i] = run(a, g)
	}
	if n := len(slices.Concat(alone...)); n < len(greys) {
		t.Fatalf("%d detections on %d frames of vtest.avi: too few to compare", n, len(greys))
	}
	together := [2][][]hit{make([][]hit, len(greys)), make([][]hit, len(greys))}
	var wg sync.WaitGroup
	for k, n := range []*nanodet{a, b} {
		wg.Go(func() {
			for r := range 3 {
				for i := range greys {
					// The two goroutines walk the frames in opposite orders.
					j := i
					if k == 1 {
						j = len(greys) - 1 - i
					}
					if h := run(n, greys[j]); r == 2 {
						together[k][j] = h
					}
				}
			}
		})
	}
	wg.Wait()
	for k := range together {
		for i := range greys {
			if !slices.Equal(alone[i], together[k][i]) {
				t.Errorf("detector %d, frame %d: %v at once, %v alone", k, i, together[k][i], alone[i])
			}
		}
	}
	a.close()
	if got := loadedNets() - before; got != 1 {
		t.Fatalf("%d networks loaded after one of two holders closed, want 1", got)
	}
	b.close()
	if got := loadedNets() - before; got != 0 {
		t.Fatalf("%d networks loaded after the last holder closed, want 0", got)
	}
}
