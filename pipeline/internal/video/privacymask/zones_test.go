package privacymask

import (
	"errors"
	"math/rand"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/policy"
)

var testZones = []geometry.Polygon{
	{{X: 0.05, Y: 0.05}, {X: 0.4, Y: 0.1}, {X: 0.35, Y: 0.5}, {X: 0.1, Y: 0.45}},
	{{X: 0.6, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.3}, {X: 0.8, Y: 0.25}},
}

// maskedPixels applies z to a random frame of format f and returns, per
// pixel, whether every channel is Fill (and checks that no pixel is half
// filled).
func maskedPixels(t *testing.T, z *Zones, w, h int, f Format) []bool {
	t.Helper()
	mt := gocv.MatTypeCV8UC1
	if f == BGR {
		mt = gocv.MatTypeCV8UC3
	}
	frame, _ := randomFrame(rand.New(rand.NewSource(int64(w*h))), w, h, mt)
	defer frame.Close()
	if err := z.Apply(frame, f); err != nil {
		t.Fatal(err)
	}
	data, _ := frame.DataPtrUint8()
	c := frame.Channels()
	out := make([]bool, w*h)
	for i := range out {
		n := 0
		for k := range c {
			if data[i*c+k] == Fill {
				n++
			}
		}
		if n != 0 && n != c {
			t.Fatalf("%v %dx%d: pixel %d half filled", f, w, h, i)
		}
		out[i] = n == c
	}
	return out
}

// TestSameMaskEverywhere: the decode path (grey, analysis size), the
// snapshot path and the preview (BGR, snapshot size) all fill frames
// through Zones.Apply; for the same zones they fill exactly the pixels New
// would, at every size and in every format, so what is hidden from
// analysis is hidden from every image too.
func TestSameMaskEverywhere(t *testing.T) {
	z := NewZones(testZones)
	for _, s := range [][2]int{{320, 180}, {640, 360}, {1280, 720}, {333, 187}} {
		w, h := s[0], s[1]
		want, err := New(testZones, w, h)
		if err != nil {
			t.Fatal(err)
		}
		grey := maskedPixels(t, z, w, h, Grey)
		bgr := maskedPixels(t, z, w, h, BGR)
		for i := range grey {
			if grey[i] != want.Covers(i%w, i/w) || bgr[i] != grey[i] {
				t.Fatalf("%dx%d pixel (%d,%d): New %v, grey %v, BGR %v", w, h, i%w, i/w, want.Covers(i%w, i/w), grey[i], bgr[i])
			}
		}
		checkMask(t, want, testZones, w, h)
	}
}

// TestZonesCache: a mask is built once per size and format and then
// shared; new zones (a reload) build new masks; the cache stays bounded.
func TestZonesCache(t *testing.T) {
	z := NewZones(testZones)
	a, err := z.Mask(640, 360, Grey)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := z.Mask(640, 360, Grey); b != a {
		t.Fatal("the same size and format built a second mask")
	}
	if b, _ := z.Mask(640, 360, BGR); b == a || b.Format() != BGR {
		t.Fatal("another format shares the grey mask")
	}
	if b, _ := z.Mask(320, 180, Grey); b == a {
		t.Fatal("another size shares the mask")
	}
	// Close of a shared mask changes nothing: the next frame still gets it.
	a.Close()
	frame, orig := randomFrame(rand.New(rand.NewSource(1)), 640, 360, gocv.MatTypeCV8UC1)
	defer frame.Close()
	a.Apply(frame)
	verifyApplied(t, a, frame, orig, 640, 360)

	for i := range 3 * maxCachedMasks {
		if _, err := z.Mask(100+2*i, 50, Grey); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(z.masks); n > maxCachedMasks {
		t.Fatalf("%d masks cached", n)
	}

	// A reload gives new Zones and so new masks; equal zones say so.
	reloaded := NewZones(testZones)
	if b, _ := reloaded.Mask(640, 360, Grey); b == a {
		t.Fatal("new zones share the old zones' mask")
	}
	if !reloaded.Equal(z) || z.Equal(NewZones(testZones[:1])) || !(*Zones)(nil).Equal(NewZones(nil)) {
		t.Fatal("Equal")
	}
	// The caller's slices are copied.
	mine := []geometry.Polygon{{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0, Y: 0.5}}}
	c := NewZones(mine)
	mine[0][0].X = 0.4
	if got := c.Polygons()[0][0]; got != (geometry.Point{}) {
		t.Fatalf("zones changed with the caller's slice: %v", got)
	}
}

func TestZonesConcurrent(t *testing.T) {
	z := NewZones(testZones)
	var wg sync.WaitGroup
	masks := make([]*Mask, 8)
	for i := range masks {
		wg.Go(func() {
			m, err := z.Mask(160, 90, Format(1+i%2))
			if err != nil {
				t.Error(err)
			}
			masks[i] = m
		})
	}
	wg.Wait()
	for i := 2; i < len(masks); i++ {
		if masks[i] != masks[i%2] {
			t.Fatal("concurrent callers got different masks for one size and format")
		}
	}
}

// TestZonesFailClosed: zones that cannot be drawn, a frame of another
// format than asked for, or no zones at all.
func TestZonesFailClosed(t *testing.T) {
	bad := NewZones([]geometry.Polygon{{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 1, Y: 0}, {X: 0, Y: 1}}}) // a bow tie
	if !errors.Is(bad.Err(), ErrInvalid) {
		t.Fatalf("Err = %v", bad.Err())
	}
	if _, err := bad.Mask(64, 48, Grey); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Mask of invalid zones: %v", err)
	}
	frame, _ := randomFrame(rand.New(rand.NewSource(2)), 64, 48, gocv.MatTypeCV8UC3)
	defer frame.Close()
	if err := bad.Apply(frame, BGR); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Apply of invalid zones: %v", err)
	}
	if n := gocv.CountNonZero(frame.Reshape(1, 0)); n != 0 {
		t.Fatalf("invalid zones: %d values left in the frame", n)
	}

	// A grey mask on a BGR frame would hide only a third of the zones' bytes.
	good := NewZones(testZones)
	other, _ := randomFrame(rand.New(rand.NewSource(3)), 64, 48, gocv.MatTypeCV8UC3)
	defer other.Close()
	if err := good.Apply(other, Grey); err != nil {
		t.Fatal(err)
	}
	if n := gocv.CountNonZero(other.Reshape(1, 0)); n != 0 {
		t.Fatalf("format mismatch: %d values left in the frame", n)
	}

	for _, none := range []*Zones{nil, NewZones(nil)} {
		f, orig := randomFrame(rand.New(rand.NewSource(4)), 64, 48, gocv.MatTypeCV8UC1)
		if err := none.Apply(f, Grey); err != nil {
			t.Fatal(err)
		}
		if d, _ := f.DataPtrUint8(); string(d) != string(orig) || none.Len() != 0 {
			t.Fatal("no zones changed a frame")
		}
		f.Close()
	}

	// A closed mask of New's fills whole frames rather than nothing.
	m, _ := New(testZones, 64, 48)
	m.Close()
	f, _ := randomFrame(rand.New(rand.NewSource(5)), 64, 48, gocv.MatTypeCV8UC1)
	defer f.Close()
	m.Apply(f)
	if n := gocv.CountNonZero(f); n != 0 {
		t.Fatalf("closed mask: %d pixels left", n)
	}
}

// TestForCamera: the zones a policy gives a camera, validated by the same
// rule, in the mask.
func TestForCamera(t *testing.T) {
	pol, err := policy.Load("../../../../configs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range pol.CameraIDs() {
		z := ForCamera(pol, id)
		if z.Err() != nil || z.Len() != len(pol.Zones(id)) {
			t.Fatalf("camera %s: %d zones, err %v", id, z.Len(), z.Err())
		}
	}
	if z := ForCamera(pol, "not-in-the-policy"); z.Len() != 0 || z.Err() != nil {
		t.Fatal("an unlisted camera has zones")
	}
}

func TestApplyCachedNoAllocs(t *testing.T) {
	z := NewZones(testZones)
	f := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC1)
	defer f.Close()
	if a := testing.AllocsPerRun(100, func() { _ = z.Apply(f, Grey) }); a != 0 {
		t.Fatalf("%v allocations per Zones.Apply", a)
	}
}
