// Package scene renders deterministic synthetic video: a textured paved
// square with sensor noise, slow light drift and person-sized figures.
//
// It exists so that the demo, the simulated camera, the tests and the
// evaluation all see the same reproducible footage without shipping video
// files, and so that a test can know exactly when and where something moved.
// The content is deliberately not flat: codecs and background subtraction
// behave very differently on flat images than on textured ones.
//
// Render is a pure function of (Config, frame): every random quantity is
// derived from Config.Seed when the Scene is built, and per-frame variation
// only selects from precomputed tables. A Scene is read-only after New and
// safe for concurrent use.
package scene

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"time"
)

// Point is a position in normalised frame coordinates: (0,0) is the top-left
// corner, (1,1) the bottom-right one. Values outside 0..1 are off-frame, which
// is how objects enter and leave.
type Point struct{ X, Y float64 }

// Object is a person-sized figure walking in a straight line.
type Object struct {
	// The figure is visible for Appear <= t < Disappear (t = frame/FPS).
	Appear, Disappear time.Duration
	// From and To are the figure's centre at Appear and at Disappear.
	From, To Point
	// W and H are the figure's size, normalised to the frame width and height.
	W, H float64
	// Luma is the figure's brightness (its clothing); head and legs vary a little.
	Luma uint8
}

// Config describes a scene. The zero value of optional fields is documented
// per field.
type Config struct {
	Width, Height int // pixels, > 0
	FPS           int // frames per second; 0 → 25
	// Seed selects the background texture and the noise tables.
	Seed int64
	// Background is the mean luma of the paving; 0 → 120.
	Background uint8
	// NoiseSigma is the standard deviation of the additive sensor noise in
	// luma units; 0 disables noise.
	NoiseSigma float64
	// DriftAmplitude (luma units) and DriftPeriod describe a slow sinusoidal
	// global brightness change (clouds, auto exposure); a zero period disables it.
	DriftAmplitude float64
	DriftPeriod    time.Duration
	Objects        []Object
}

// Validate reports a configuration New cannot render.
func (c Config) Validate() error {
	if c.Width <= 0 || c.Height <= 0 {
		return fmt.Errorf("scene: invalid size %dx%d", c.Width, c.Height)
	}
	if c.FPS < 0 {
		return fmt.Errorf("scene: invalid fps %d", c.FPS)
	}
	if c.NoiseSigma < 0 || math.IsNaN(c.NoiseSigma) || math.IsInf(c.NoiseSigma, 0) {
		return errors.New("scene: invalid noise sigma")
	}
	if math.IsNaN(c.DriftAmplitude) || math.IsInf(c.DriftAmplitude, 0) || c.DriftPeriod < 0 {
		return errors.New("scene: invalid drift")
	}
	for i, o := range c.Objects {
		if o.Disappear < o.Appear || !(o.W > 0) || !(o.H > 0) {
			return fmt.Errorf("scene: object %d: invalid timing or size", i)
		}
	}
	return nil
}

// Fixed-point luma: 4 fractional bits, so that fractional drift is dithered
// by the noise instead of stepping the whole frame by one level at a time.
const (
	fracBits = 4
	one      = 1 << fracBits
	half     = one / 2
)

// noiseSpan is the number of distinct per-frame offsets into the noise table.
// Consecutive frames pick pseudo-random offsets, so each pixel sees an
// independent sample every frame while the table is generated only once.
const noiseSpan = 1 << 16

// Scene renders frames of one Config.
type Scene struct {
	cfg    Config
	w, h   int
	fps    float64
	bg     []int16 // background luma, fixed point
	noise  []int16 // len w*h+noiseSpan, fixed point; nil without noise
	chroma []byte  // one chroma plane of 128
}

// New builds the background and noise tables for cfg (tens of milliseconds at
// 1080p). It panics if cfg.Validate fails: configurations are written by
// programmers, not read from outside input.
func New(cfg Config) *Scene {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.FPS == 0 {
		cfg.FPS = 25
	}
	if cfg.Background == 0 {
		cfg.Background = 120
	}
	cfg.Objects = append([]Object(nil), cfg.Objects...)
	s := &Scene{cfg: cfg, w: cfg.Width, h: cfg.Height, fps: float64(cfg.FPS)}
	s.bg = background(cfg)
	if cfg.NoiseSigma > 0 {
		s.noise = noiseTable(cfg.Seed, cfg.NoiseSigma, s.w*s.h+noiseSpan)
	}
	cw, ch := (s.w+1)/2, (s.h+1)/2
	s.chroma = make([]byte, cw*ch)
	for i := range s.chroma {
		s.chroma[i] = 128
	}
	return s
}

// Config returns the configuration with defaults applied.
func (s *Scene) Config() Config { return s.cfg }

// Size returns the frame size in pixels.
func (s *Scene) Size() (w, h int) { return s.w, s.h }

// PlaneSizes returns the byte sizes Render needs: the Y plane (stride Width)
// and each chroma plane (stride (Width+1)/2).
func (s *Scene) PlaneSizes() (luma, chroma int) { return s.w * s.h, len(s.chroma) }

// NewFrame allocates planes for Render.
func (s *Scene) NewFrame() (y, u, v []byte) {
	return make([]byte, s.w*s.h), make([]byte, len(s.chroma)), make([]byte, len(s.chroma))
}

// Render draws frame number frame into the I420 planes y (stride Width), u and
// v (stride (Width+1)/2). Chroma is neutral grey. It panics if a plane is
// shorter than PlaneSizes says.
func (s *Scene) Render(frame int, y, u, v []byte) {
	n := s.w * s.h
	if len(y) < n || len(u) < len(s.chroma) || len(v) < len(s.chroma) {
		panic("scene: frame planes too small")
	}
	copy(u, s.chroma)
	copy(v, s.chroma)

	drift := s.drift(frame)
	var nz []int16
	if s.noise != nil {
		off := noiseOffset(s.cfg.Seed, frame)
		nz = s.noise[off : off+n]
	}
	s.fill(y[:n], drift, nz)

	t := float64(frame) / s.fps
	for i := range s.cfg.Objects {
		s.drawObject(&s.cfg.Objects[i], t, y, drift, nz)
	}
}

// fill is the per-pixel hot loop: background + drift + noise, rounded and
// clamped. Kept free of anything else so the compiler drops bounds checks.
func (s *Scene) fill(y []byte, drift int32, nz []int16) {
	bg := s.bg[:len(y)]
	if nz == nil {
		for i, b := range bg {
			y[i] = clamp8((int32(b) + drift + half) >> fracBits)
		}
		return
	}
	nz = nz[:len(y)]
	for i, b := range bg {
		y[i] = clamp8((int32(b) + drift + int32(nz[i]) + half) >> fracBits)
	}
}

func clamp8(v int32) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// drift returns the global brightness offset of frame in fixed point.
func (s *Scene) drift(frame int) int32 {
	if s.cfg.DriftPeriod <= 0 || s.cfg.DriftAmplitude == 0 {
		return 0
	}
	t := float64(frame) / s.fps
	p := s.cfg.DriftPeriod.Seconds()
	return int32(math.Round(s.cfg.DriftAmplitude * math.Sin(2*math.Pi*t/p) * one))
}

// Truth appends to dst the pixel bounding boxes (clipped to the frame) of the
// figures visible in frame and returns it: the ground truth for tests and
// evaluation. Shadows are not included.
func (s *Scene) Truth(frame int, dst []image.Rectangle) []image.Rectangle {
	t := float64(frame) / s.fps
	bounds := image.Rect(0, 0, s.w, s.h)
	for i := range s.cfg.Objects {
		g, ok := s.figureAt(&s.cfg.Objects[i], t)
		if !ok {
			continue
		}
		r := image.Rect(
			int(math.Floor(g.cx-g.pw/2)), int(math.Floor(g.cy-g.ph/2)),
			int(math.Ceil(g.cx+g.pw/2)), int(math.Ceil(g.cy+g.ph/2)),
		).Intersect(bounds)
		if !r.Empty() {
			dst = append(dst, r)
		}
	}
	return dst
}

// splitmix64 is a small, well-mixed hash used for everything that must be a
// function of (seed, index) rather than of call order.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func noiseOffset(seed int64, frame int) int {
	return int(splitmix64(uint64(seed)^splitmix64(uint64(frame))) % noiseSpan)
}

func noiseTable(seed int64, sigma float64, n int) []int16 {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6e6f697365)) // "noise"
	t := make([]int16, n)
	sc := sigma * one
	for i := range t {
		v := math.Round(r.NormFloat64() * sc)
		t[i] = int16(max(-32000, min(32000, v)))
	}
	return t
}

// background paints a paved square: running-bond pavers with individual
// tones and a fine grain, darker joints, a lighting gradient, large soft
// blotches, a bench and a lamp post. Sizes follow the frame height so a
// scene looks the same at every resolution.
func background(cfg Config) []int16 {
	w, h := cfg.Width, cfg.Height
	bg := make([]int16, w*h)
	seed := uint64(cfg.Seed)
	sh := max(2.0, float64(h)/20) // paver height in pixels
	sw := 1.7 * sh
	jw := max(1.0, math.Round(float64(h)/360)) // joint width
	mean := float64(cfg.Background)
	fw, fh := float64(w), float64(h)
	// Per-column terms, so the per-pixel loop has no trigonometry:
	// sin(a+b) = sin a·cos b + cos a·sin b.
	type colTerms struct{ s1, c1, s2, c2, vign float64 }
	cols := make([]colTerms, w)
	for px := range cols {
		u := (float64(px) + 0.5) / fw
		cols[px] = colTerms{
			s1: math.Sin(2 * math.Pi * 1.3 * u), c1: math.Cos(2 * math.Pi * 1.3 * u),
			s2: math.Sin(2 * math.Pi * 0.4 * u), c2: math.Cos(2 * math.Pi * 0.4 * u),
			vign: -14 * (2*u - 1) * (2*u - 1),
		}
	}
	for py := range h {
		v := (float64(py) + 0.5) / fh
		row := int(math.Floor(float64(py) / sh))
		iny := float64(py) - float64(row)*sh
		shift := 0.0
		if row&1 == 1 {
			shift = sw / 2
		}
		grad := 18 * (0.5 - v) // brighter far away
		b1 := 2 * math.Pi * 0.7 * v
		b2 := 2*math.Pi*(-1.9*v) + 1
		sb1, cb1, sb2, cb2 := math.Sin(b1), math.Cos(b1), math.Sin(b2), math.Cos(b2)
		for px := range w {
			u := (float64(px) + 0.5) / fw
			ct := &cols[px]
			xs := float64(px) + shift
			col := int(math.Floor(xs / sw))
			inx := xs - float64(col)*sw
			// Large soft blotches: 6·sin(2π(1.3u+0.7v)) + 5·sin(2π(0.4u−1.9v)+1).
			l := mean + grad + ct.vign + 6*(ct.s1*cb1+ct.c1*sb1) + 5*(ct.s2*cb2+ct.c2*sb2)
			if inx < jw || iny < jw {
				l -= 28 // joint
			} else {
				stone := splitmix64(seed ^ uint64(row)<<32 ^ uint64(uint32(col)))
				l += float64(int(stone%29) - 14)
				grain := splitmix64(seed ^ 0x5eed ^ uint64(py)<<32 ^ uint64(px))
				l += float64(int(grain%9) - 4)
			}
			// Lamp post and bench: hard vertical and horizontal edges.
			if u > 0.80 && u < 0.80+max(0.006, 2/fw) && v > 0.12 && v < 0.74 {
				l = 38
			}
			if u > 0.08 && u < 0.27 && v > 0.80 && v < 0.845 {
				l = 72
			}
			bg[py*w+px] = int16(math.Round(max(0, min(255, l)) * one))
		}
	}
	return bg
}

// Walker is a motion clip: noise sigma 3, drift ±8 over 60 s, and one figure,
// a quarter of the frame tall, entering from the left at about 3 s and gone
// on the right at about 9 s. Before and after, the scene is empty, so a motion
// event starts and ends within a 15 s clip.
func Walker(w, h, fps int) Config {
	c := Static(w, h, fps)
	const height = 0.25
	c.Objects = []Object{{
		Appear:    3 * time.Second,
		Disappear: 9 * time.Second,
		From:      Point{X: -0.06, Y: 0.60},
		To:        Point{X: 1.06, Y: 0.56},
		H:         height,
		W:         height * 0.4 * float64(h) / float64(w), // person ~0.4 as wide as tall
		Luma:      45,
	}}
	return c
}

// Static is Walker's background, noise and drift with nothing moving: any
// motion a detector reports on it is a false alarm.
func Static(w, h, fps int) Config {
	return Config{
		Width: w, Height: h, FPS: fps,
		Seed:           1,
		Background:     120,
		NoiseSigma:     3,
		DriftAmplitude: 8,
		DriftPeriod:    60 * time.Second,
	}
}
