package privacymask

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
)

// --- exact reference geometry, independent of the rasteriser ---

type pt struct{ x, y float64 }

// toPixels maps a zone to pixel coordinates exactly as New does.
func toPixels(z geometry.Polygon, w, h int) []pt {
	out := make([]pt, len(z))
	for i, p := range z {
		out[i] = pt{p.X * float64(w), p.Y * float64(h)}
	}
	return out
}

// segMeetsRect is Liang–Barsky clipping against a closed rectangle: true if
// any point of segment a-b lies in [x0,x1]×[y0,y1].
func segMeetsRect(a, b pt, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.x-a.x, b.y-a.y
	clip := func(p, q float64) bool { // need p·t <= q
		if p == 0 {
			return q >= 0
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return false
			}
			t0 = max(t0, r)
		} else {
			if r < t0 {
				return false
			}
			t1 = min(t1, r)
		}
		return true
	}
	return clip(-dx, a.x-x0) && clip(dx, x1-a.x) && clip(-dy, a.y-y0) && clip(dy, y1-a.y)
}

// winding is the winding number of poly around (px, py).
func winding(poly []pt, px, py float64) int {
	wn := 0
	for i := range poly {
		a, b := poly[i], poly[(i+1)%len(poly)]
		isLeft := (b.x-a.x)*(py-a.y) - (px-a.x)*(b.y-a.y)
		if a.y <= py {
			if b.y > py && isLeft > 0 {
				wn++
			}
		} else if b.y <= py && isLeft < 0 {
			wn--
		}
	}
	return wn
}

// meets reports whether the closed rectangle meets the closed polygon
// (non-zero fill): a boundary crosses or touches it, or it lies inside.
func meets(poly []pt, x0, y0, x1, y1 float64) bool {
	for i := range poly {
		if segMeetsRect(poly[i], poly[(i+1)%len(poly)], x0, y0, x1, y1) {
			return true
		}
	}
	return winding(poly, (x0+x1)/2, (y0+y1)/2) != 0
}

// slack (pixels) is how much larger than exact the mask may be.
const slack = 1e-4

// checkMask verifies, for every pixel, exact ⊆ masked ⊆ exact-within-slack.
func checkMask(t testing.TB, m *Mask, zones []geometry.Polygon, w, h int) {
	t.Helper()
	polys := make([][]pt, len(zones))
	type box struct{ x0, y0, x1, y1 int }
	boxes := make([]box, len(zones))
	for i, z := range zones {
		polys[i] = toPixels(z, w, h)
		b := box{w, h, -1, -1}
		for _, p := range polys[i] {
			b.x0 = min(b.x0, int(math.Floor(p.x))-1)
			b.y0 = min(b.y0, int(math.Floor(p.y))-1)
			b.x1 = max(b.x1, int(math.Floor(p.x))+1)
			b.y1 = max(b.y1, int(math.Floor(p.y))+1)
		}
		boxes[i] = b
	}
	for y := range h {
		for x := range w {
			exact, loose := false, false
			for i, poly := range polys {
				b := boxes[i]
				if x < b.x0 || x > b.x1 || y < b.y0 || y > b.y1 {
					continue
				}
				fx, fy := float64(x), float64(y)
				if !exact && meets(poly, fx, fy, fx+1, fy+1) {
					exact, loose = true, true
					break
				}
				if !loose && meets(poly, fx-slack, fy-slack, fx+1+slack, fy+1+slack) {
					loose = true
				}
			}
			got := m.Covers(x, y)
			if exact && !got {
				t.Fatalf("%dx%d zones %v: pixel (%d,%d) meets a zone but is not masked", w, h, zones, x, y)
			}
			if got && !loose {
				t.Fatalf("%dx%d zones %v: pixel (%d,%d) is masked but no zone comes within %g px", w, h, zones, x, y, slack)
			}
		}
	}
}

// --- random zones ---

func randPolygon(rng *rand.Rand, w, h int) geometry.Polygon {
	px := 1 / float64(max(w, h)) // one pixel, normalised (roughly)
	clamp := func(v float64) float64 { return max(0, min(1, v)) }
	n := 3 + rng.Intn(8)
	switch kind := rng.Intn(9); kind {
	case 0, 1, 2: // convex (0), star-shaped concave (1), sub-pixel (2)
		cx, cy := rng.Float64(), rng.Float64()
		r := math.Exp(rng.Float64()*math.Log(0.7/(0.1*px))) * 0.1 * px
		if kind == 2 {
			r = rng.Float64() * 0.5 * px
		}
		angles := make([]float64, n)
		for i := range angles {
			angles[i] = rng.Float64() * 2 * math.Pi
		}
		sortFloats(angles)
		z := make(geometry.Polygon, n)
		for i, a := range angles {
			rr := r
			if kind == 1 {
				rr *= 0.2 + 0.8*rng.Float64()
			}
			z[i] = geometry.Point{X: clamp(cx + rr*math.Cos(a)), Y: clamp(cy + rr*math.Sin(a))}
		}
		return z
	case 3: // arbitrary, usually self-intersecting
		z := make(geometry.Polygon, n)
		for i := range z {
			z[i] = geometry.Point{X: rng.Float64(), Y: rng.Float64()}
		}
		return z
	case 4: // touching the borders
		z := randPolygon(rng, w, h)
		for i := range z {
			switch rng.Intn(4) {
			case 0:
				z[i].X = float64(rng.Intn(2))
			case 1:
				z[i].Y = float64(rng.Intn(2))
			}
		}
		return z
	case 5: // rectangle on exact pixel boundaries: neighbours only touch it
		x0, x1 := rng.Intn(w+1), rng.Intn(w+1)
		y0, y1 := rng.Intn(h+1), rng.Intn(h+1)
		fw, fh := float64(w), float64(h)
		return geometry.Polygon{{X: float64(x0) / fw, Y: float64(y0) / fh}, {X: float64(x1) / fw, Y: float64(y0) / fh},
			{X: float64(x1) / fw, Y: float64(y1) / fh}, {X: float64(x0) / fw, Y: float64(y1) / fh}}
	case 6: // degenerate: collinear points, zero area
		a, b := geometry.Point{X: rng.Float64(), Y: rng.Float64()}, geometry.Point{X: rng.Float64(), Y: rng.Float64()}
		t := rng.Float64()
		return geometry.Polygon{a, {X: a.X + t*(b.X-a.X), Y: a.Y + t*(b.Y-a.Y)}, b}
	case 7: // long thin sliver, far thinner than a pixel
		a, b := geometry.Point{X: rng.Float64(), Y: rng.Float64()}, geometry.Point{X: rng.Float64(), Y: rng.Float64()}
		d := px * 0.01
		return geometry.Polygon{a, b, {X: clamp(b.X + d), Y: clamp(b.Y + d)}, {X: clamp(a.X + d), Y: clamp(a.Y)}}
	default: // axis-aligned segments and spikes: horizontal and vertical edges
		x, y := rng.Float64(), rng.Float64()
		x2, y2 := rng.Float64(), rng.Float64()
		return geometry.Polygon{{X: x, Y: y}, {X: x2, Y: y}, {X: x2, Y: y2}, {X: x2, Y: y}}
	}
}

func sortFloats(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func randomFrame(rng *rand.Rand, w, h int, mt gocv.MatType) (gocv.Mat, []byte) {
	m := gocv.NewMatWithSize(h, w, mt)
	data, _ := m.DataPtrUint8()
	for i := range data {
		data[i] = byte(1 + rng.Intn(255)) // never the fill value
	}
	return m, append([]byte(nil), data...)
}

// checkApply applies m to a random frame and checks masked pixels are Fill
// in every channel and all others untouched.
func checkApply(t testing.TB, rng *rand.Rand, m *Mask, w, h int, mt gocv.MatType) {
	t.Helper()
	frame, orig := randomFrame(rng, w, h, mt)
	defer frame.Close()
	m.Apply(frame)
	verifyApplied(t, m, frame, orig, w, h)
}

func verifyApplied(t testing.TB, m *Mask, frame gocv.Mat, orig []byte, w, h int) {
	t.Helper()
	data, err := frame.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	c := frame.Channels()
	for i := range w * h {
		masked := m.Covers(i%w, i/w)
		for k := range c {
			j := i*c + k
			if masked && data[j] != Fill {
				t.Fatalf("%dx%d c%d: masked pixel (%d,%d) has %d", w, h, c, i%w, i/w, data[j])
			}
			if !masked && data[j] != orig[j] {
				t.Fatalf("%dx%d c%d: unmasked pixel (%d,%d) changed", w, h, c, i%w, i/w)
			}
		}
	}
}

// validZones reports whether New accepts zones, by geometry's rule.
func validZones(zones []geometry.Polygon) bool {
	for _, z := range zones {
		if z.Validate() != nil {
			return false
		}
	}
	return true
}

// sameMask reports whether a and b mask the same pixels.
func sameMask(a, b *Mask) bool {
	aw, ah := a.Size()
	bw, bh := b.Size()
	if aw != bw || ah != bh {
		return false
	}
	for y := range ah {
		for x := range aw {
			if a.Covers(x, y) != b.Covers(x, y) {
				return false
			}
		}
	}
	return true
}

// TestConservativeProperty: for many random zone sets at many resolutions,
// every pixel whose square meets a zone is filled after Apply, and nothing
// more than 1e-4 px away from a zone is. The rasteriser is held to that for
// any shape, also those New refuses (self-intersecting, degenerate): New
// accepts exactly the zone sets geometry.Polygon.Validate does and then
// builds the same mask.
func TestConservativeProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(20240611))
	sizes := []struct{ w, h, cases int }{
		{1, 1, 100}, {2, 3, 150}, {17, 9, 300}, {9, 17, 150}, {33, 17, 200},
		{64, 48, 150}, {101, 57, 100}, {320, 180, 40}, {641, 359, 12}, {1920, 1080, 3},
	}
	for _, s := range sizes {
		t.Run(fmt.Sprintf("%dx%d", s.w, s.h), func(t *testing.T) {
			cases := s.cases
			if testing.Short() {
				cases = max(1, cases/10)
			}
			for range cases {
				zones := make([]geometry.Polygon, 1+rng.Intn(3))
				for i := range zones {
					zones[i] = randPolygon(rng, s.w, s.h)
				}
				m := build(zones, s.w, s.h, Any)
				checkMask(t, m, zones, s.w, s.h)
				nm, err := New(zones, s.w, s.h)
				if valid := validZones(zones); (err == nil) != valid {
					t.Fatalf("New(%v): error %v, valid %v", zones, err, valid)
				}
				if err == nil && !sameMask(m, nm) {
					t.Fatalf("New(%v) masks other pixels than the rasteriser", zones)
				}
				mt := gocv.MatTypeCV8UC1
				if rng.Intn(2) == 0 {
					mt = gocv.MatTypeCV8UC3
				}
				checkApply(t, rng, m, s.w, s.h, mt)
			}
		})
	}
}

// TestKnownShapes pins a few hand-computed masks (of the rasteriser: some
// shapes are degenerate, which New refuses).
func TestKnownShapes(t *testing.T) {
	tests := []struct {
		name  string
		zone  geometry.Polygon
		w, h  int
		wantN int // masked pixels
	}{
		// Exactly the middle 2x2 pixels of 4x4: their neighbours touch the
		// boundary, so conservatively the whole 4x4 frame is masked.
		{"pixel-aligned square", geometry.Polygon{{X: 0.25, Y: 0.25}, {X: 0.75, Y: 0.25}, {X: 0.75, Y: 0.75}, {X: 0.25, Y: 0.75}}, 4, 4, 16},
		// Strictly inside pixel (1,1) of 4x4.
		{"sub-pixel triangle", geometry.Polygon{{X: 0.3, Y: 0.3}, {X: 0.4, Y: 0.3}, {X: 0.3, Y: 0.4}}, 4, 4, 1},
		// On the corner shared by four pixels.
		{"point on a corner", geometry.Polygon{{X: 0.5, Y: 0.5}, {X: 0.5, Y: 0.5}, {X: 0.5, Y: 0.5}}, 4, 4, 4},
		{"whole frame", geometry.Polygon{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 0, Y: 1}}, 7, 5, 35},
		// A horizontal line through row centres of 10x10, x 0.15..0.55:
		// pixels 1..5 of row 3.
		{"horizontal segment", geometry.Polygon{{X: 0.15, Y: 0.35}, {X: 0.55, Y: 0.35}, {X: 0.35, Y: 0.35}}, 10, 10, 5},
		// Left half of a 9-wide frame: x = 4.5 px, columns 0..4.
		{"left half, odd width", geometry.Polygon{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0.5, Y: 1}, {X: 0, Y: 1}}, 9, 3, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := build([]geometry.Polygon{tt.zone}, tt.w, tt.h, Any)
			n := 0
			for y := range tt.h {
				for x := range tt.w {
					if m.Covers(x, y) {
						n++
					}
				}
			}
			if n != tt.wantN {
				t.Fatalf("masked %d pixels, want %d", n, tt.wantN)
			}
			checkMask(t, m, []geometry.Polygon{tt.zone}, tt.w, tt.h)
		})
	}
}

func TestInvalid(t *testing.T) {
	sq := geometry.Polygon{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}}
	tests := []struct {
		name  string
		zones []geometry.Polygon
		w, h  int
	}{
		{"two points", []geometry.Polygon{{{X: 0, Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"empty zone", []geometry.Polygon{{}}, 10, 10},
		{"x > 1", []geometry.Polygon{{{X: 0, Y: 0}, {X: 1.01, Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"y < 0", []geometry.Polygon{{{X: 0, Y: -0.001}, {X: 1, Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"NaN", []geometry.Polygon{{{X: 0, Y: 0}, {X: math.NaN(), Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"Inf", []geometry.Polygon{{{X: 0, Y: 0}, {X: math.Inf(1), Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"second zone bad", []geometry.Polygon{sq, {{X: 0, Y: 0}, {X: 0, Y: 1}}}, 10, 10},
		{"zero width", []geometry.Polygon{sq}, 0, 10},
		{"negative height", []geometry.Polygon{sq}, 10, -1},
		{"huge", []geometry.Polygon{sq}, MaxDimension + 1, 10},
		{"too many points", []geometry.Polygon{make(geometry.Polygon, MaxPointsPerZone+1)}, 10, 10},
		{"too many zones", make([]geometry.Polygon, MaxZones+1), 10, 10},
		// What the policy refuses, the mask refuses (geometry.Polygon.Validate).
		{"bow tie", []geometry.Polygon{{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 1, Y: 0}, {X: 0, Y: 1}}}, 10, 10},
		{"repeated corner", []geometry.Polygon{{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}}}, 10, 10},
		{"collinear", []geometry.Polygon{{{X: 0, Y: 0}, {X: 0.5, Y: 0.5}, {X: 1, Y: 1}}}, 10, 10},
		{"no area to speak of", []geometry.Polygon{{{X: 0.5, Y: 0.5}, {X: 0.5001, Y: 0.5}, {X: 0.5, Y: 0.5001}}}, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.zones, tt.w, tt.h)
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("New() = %v, %v; want ErrInvalid", m, err)
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	for _, zones := range [][]geometry.Polygon{nil, {}} {
		m, err := New(zones, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Empty() {
			t.Fatal("no zones but not Empty")
		}
		rng := rand.New(rand.NewSource(1))
		checkApply(t, rng, m, 64, 48, gocv.MatTypeCV8UC1)
		checkApply(t, rng, m, 64, 48, gocv.MatTypeCV8UC3)
		// Even a frame of another size is left alone: there is nothing to hide.
		other, orig := randomFrame(rng, 10, 10, gocv.MatTypeCV8UC1)
		m.Apply(other)
		if d, _ := other.DataPtrUint8(); string(d) != string(orig) {
			t.Fatal("empty mask changed a frame")
		}
		other.Close()
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := New([]geometry.Polygon{{{X: 0, Y: 0}, {X: 0.1, Y: 0}, {X: 0, Y: 0.1}}}, 64, 48)
	if m.Empty() {
		t.Fatal("a zone but Empty")
	}
}

// TestFailClosed: frames the mask does not fit are filled completely.
func TestFailClosed(t *testing.T) {
	m, err := New([]geometry.Polygon{{{X: 0, Y: 0}, {X: 0.2, Y: 0}, {X: 0, Y: 0.2}}}, 64, 48)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(2))
	allFill := func(name string, f gocv.Mat) {
		t.Helper()
		if n := gocv.CountNonZero(f.Reshape(1, 0)); n != 0 {
			t.Fatalf("%s: %d non-fill values left", name, n)
		}
	}
	wrongSize, _ := randomFrame(rng, 63, 48, gocv.MatTypeCV8UC3)
	defer wrongSize.Close()
	m.Apply(wrongSize)
	allFill("wrong size", wrongSize)

	float := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(7, 0, 0, 0), 48, 64, gocv.MatTypeCV32F)
	defer float.Close()
	m.Apply(float)
	allFill("32F", float)

	// A region of a larger frame is not continuous.
	big, _ := randomFrame(rng, 128, 96, gocv.MatTypeCV8UC1)
	defer big.Close()
	roi := big.Region(image.Rect(10, 10, 74, 58))
	defer roi.Close()
	m.Apply(roi)
	allFill("region", roi)

	empty := gocv.NewMat()
	defer empty.Close()
	m.Apply(empty) // must not panic
}

func TestApplyNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	zones := []geometry.Polygon{{{X: 0.1, Y: 0.1}, {X: 0.5, Y: 0.2}, {X: 0.3, Y: 0.6}}, {{X: 0.7, Y: 0.7}, {X: 1, Y: 0.7}, {X: 1, Y: 1}, {X: 0.7, Y: 1}}}
	m, err := New(zones, 640, 360)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []gocv.MatType{gocv.MatTypeCV8UC1, gocv.MatTypeCV8UC3} {
		f, _ := randomFrame(rng, 640, 360, mt)
		if a := testing.AllocsPerRun(100, func() { m.Apply(f) }); a != 0 {
			t.Fatalf("type %v: %v allocations per Apply", mt, a)
		}
		f.Close()
	}
}

func TestConcurrentApply(t *testing.T) {
	m, err := New([]geometry.Polygon{{{X: 0.1, Y: 0.1}, {X: 0.9, Y: 0.2}, {X: 0.5, Y: 0.9}}}, 160, 90)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]gocv.Mat, 4)
	origs := make([][]byte, 4)
	for i := range frames {
		frames[i], origs[i] = randomFrame(rand.New(rand.NewSource(int64(i))), 160, 90, gocv.MatTypeCV8UC1)
		defer frames[i].Close()
	}
	var wg sync.WaitGroup
	for i := range frames {
		wg.Go(func() { m.Apply(frames[i]) })
	}
	wg.Wait()
	for i := range frames {
		verifyApplied(t, m, frames[i], origs[i], 160, 90)
	}
}

// FuzzNew feeds arbitrary coordinates (including NaN, Inf, out of range) and
// sizes: New must reject exactly the invalid ones (geometry's rule) and
// never panic, and the rasteriser must be conservative for any zones with
// coordinates in range, which includes every mask New builds.
func FuzzNew(f *testing.F) {
	enc := func(n byte, w, h uint8, vals ...float64) []byte {
		b := []byte{n, w, h}
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(enc(3, 16, 9, 0.1, 0.1, 0.9, 0.2, 0.5, 0.9))
	f.Add(enc(4, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1))
	f.Add(enc(3, 17, 9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
	f.Add(enc(3, 8, 8, math.NaN(), 0, 1, 0, 1, 1))
	f.Add(enc(3, 8, 8, 0, 0, 1.5, 0, 1, 1))
	f.Add(enc(2, 8, 8, 0, 0, 1, 0, 1, 1))
	f.Add(enc(5, 33, 17, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.5, 0))
	f.Add(enc(3, 0, 5, 0, 0, 1, 0, 1, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		per, w, h := int(data[0]%12), int(data[1]), int(data[2]%64)
		data = data[3:]
		var vals []float64
		for len(data) >= 8 && len(vals) < 64 {
			vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(data)))
			data = data[8:]
		}
		var zones []geometry.Polygon
		valid := w > 0 && h > 0
		for len(vals) >= 2 && len(zones) < 4 {
			var z geometry.Polygon
			for len(z) < max(per, 1) && len(vals) >= 2 {
				p := geometry.Point{X: vals[0], Y: vals[1]}
				vals = vals[2:]
				if !(p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1) {
					valid = false
				}
				z = append(z, p)
			}
			if len(z) < 3 {
				valid = false
			}
			zones = append(zones, z)
		}
		inRange := valid
		valid = valid && validZones(zones)
		m, err := New(zones, w, h)
		if (err == nil) != valid {
			t.Fatalf("New(%v, %d, %d) error %v, valid %v", zones, w, h, err, valid)
		}
		if err == nil {
			checkMask(t, m, zones, w, h)
		} else if inRange {
			checkMask(t, build(zones, w, h, Any), zones, w, h)
		}
	})
}

func BenchmarkApply(b *testing.B) {
	zones := []geometry.Polygon{
		{{X: 0.05, Y: 0.05}, {X: 0.4, Y: 0.1}, {X: 0.35, Y: 0.5}, {X: 0.1, Y: 0.45}},
		{{X: 0.6, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.3}, {X: 0.8, Y: 0.25}},
	}
	for _, c := range []struct {
		name string
		w, h int
		mt   gocv.MatType
	}{{"640x360grey", 640, 360, gocv.MatTypeCV8UC1}, {"1920x1080bgr", 1920, 1080, gocv.MatTypeCV8UC3}} {
		b.Run(c.name, func(b *testing.B) {
			m, err := New(zones, c.w, c.h)
			if err != nil {
				b.Fatal(err)
			}
			f := gocv.NewMatWithSize(c.h, c.w, c.mt)
			defer f.Close()
			b.ReportAllocs()
			for b.Loop() {
				m.Apply(f)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	zones := []geometry.Polygon{
		{{X: 0.05, Y: 0.05}, {X: 0.4, Y: 0.1}, {X: 0.35, Y: 0.5}, {X: 0.1, Y: 0.45}},
		{{X: 0.6, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.3}, {X: 0.8, Y: 0.25}},
	}
	for _, s := range [][2]int{{640, 360}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(zones, s[0], s[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
