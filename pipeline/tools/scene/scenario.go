package scene

import (
	"math"
	"time"
)

// Pose is how a scripted figure moves between two keyframes.
type Pose int

// Poses of a scripted figure.
const (
	Walk  Pose = iota // normal gait
	Run               // fast gait, long strides
	Stand             // upright, shifting weight a little (people never freeze)
	Lie               // lying on the ground, still
	Fight             // on the spot: lunging, striking and kicking erratically
)

// Key is a keyframe: at At the figure's foot point (bottom centre of a
// standing figure; centre of the body's ground contact when lying) is Pos,
// and until the next key it moves in Pose.
type Key struct {
	At   time.Duration
	Pos  Point
	Pose Pose
}

// Actor is a figure following keyframes; it is visible from the first to the
// last key, moving in a straight line between keys.
type Actor struct {
	Keys []Key
	// H is the standing height, normalised to the frame height.
	H    float64
	Luma uint8
}

// Prop is a static object (a bag, a box) on the ground, a flat rounded
// shape, visible for Appear <= t < Disappear.
type Prop struct {
	Appear, Disappear time.Duration
	Pos               Point // bottom centre
	W, H              float64
	Luma              uint8
}

// Cover blends the whole frame towards a flat luma from At over Ramp, until
// Until (0: to the end): a hand, a bag or spray paint on the lens.
type Cover struct {
	At, Ramp, Until time.Duration
	Luma            uint8
}

// Defocus blurs the whole frame from At (a smeared or turned lens ring).
type Defocus struct {
	At     time.Duration
	Radius int // box blur radius in pixels, applied twice
}

// Shift moves the view by DX, DY (normalised) from At: the camera was
// knocked or turned.
type Shift struct {
	At     time.Duration
	DX, DY float64
}

// Step adds Offset luma to the whole frame from At: an auto-exposure or
// street-light step.
type Step struct {
	At     time.Duration
	Offset float64
}

// Light is a bright soft ellipse sweeping across the ground: car headlights.
type Light struct {
	Appear, Disappear time.Duration
	From, To          Point
	RX, RY            float64 // normalised radii
	Gain              float64 // added luma at the centre
}

// Tree is a rectangle whose texture sways: foliage in wind.
type Tree struct {
	X0, Y0, X1, Y1 float64 // normalised
	Amplitude      float64 // pixels
	Hz             float64
}

// Script is a scene with scripted actors, props and disturbances. Render is a
// pure function of (config, frame), as for Scene.
type Script struct {
	Base       Config
	Actors     []Actor
	Props      []Prop
	Cover      *Cover
	Defocus    *Defocus
	Shift      *Shift
	Exposure   []Step
	Headlights []Light
	Trees      []Tree
	// Rain is the number of short bright streaks per frame per megapixel.
	Rain float64
}

// Scripted renders a Script. Unlike Scene it keeps a scratch buffer for
// Defocus, so one Scripted must not Render from two goroutines at once.
type Scripted struct {
	*Scene
	sc  Script
	tmp []byte
}

// NewScripted builds the scene; it panics on an invalid base config.
func NewScripted(sc Script) *Scripted {
	return &Scripted{Scene: New(sc.Base), sc: sc}
}

// Render draws frame number frame into the I420 planes.
func (s *Scripted) Render(frame int, y, u, v []byte) {
	n := s.w * s.h
	if len(y) < n || len(u) < len(s.chroma) || len(v) < len(s.chroma) {
		panic("scene: frame planes too small")
	}
	copy(u, s.chroma)
	copy(v, s.chroma)
	t := float64(frame) / s.fps
	dur := time.Duration(t * float64(time.Second))
	drift := s.drift(frame)
	for _, st := range s.sc.Exposure {
		if dur >= st.At {
			drift += int32(math.Round(st.Offset * one))
		}
	}
	var nz []int16
	if s.noise != nil {
		off := noiseOffset(s.cfg.Seed, frame)
		nz = s.noise[off : off+n]
	}
	dx, dy := 0, 0
	if sh := s.sc.Shift; sh != nil && dur >= sh.At {
		dx, dy = int(math.Round(sh.DX*float64(s.w))), int(math.Round(sh.DY*float64(s.h)))
	}
	s.fillShifted(y[:n], drift, nz, dx, dy, t)
	for i := range s.sc.Props {
		s.drawProp(&s.sc.Props[i], dur, y, drift, nz, dx, dy)
	}
	for i := range s.sc.Objects() {
		s.drawObject(&s.cfg.Objects[i], t, y, drift, nz)
	}
	for i := range s.sc.Actors {
		s.drawActor(&s.sc.Actors[i], t, y, drift, nz, dx, dy)
	}
	for i := range s.sc.Headlights {
		s.drawLight(&s.sc.Headlights[i], t, y)
	}
	if s.sc.Rain > 0 {
		s.drawRain(frame, y)
	}
	if d := s.sc.Defocus; d != nil && dur >= d.At && d.Radius > 0 {
		s.boxBlur(y[:n], d.Radius)
		s.boxBlur(y[:n], d.Radius)
	}
	if c := s.sc.Cover; c != nil && dur >= c.At && (c.Until == 0 || dur < c.Until) {
		k := 1.0
		if c.Ramp > 0 {
			k = math.Min(1, (dur-c.At).Seconds()/c.Ramp.Seconds())
		}
		for i := range y[:n] {
			nv := 0.0
			if nz != nil {
				nv = float64(nz[i]) / one
			}
			y[i] = clamp8(int32(math.Round(float64(y[i])*(1-k) + (float64(c.Luma)+nv)*k)))
		}
	}
}

// Objects returns the base config's straight walkers (drawn as by Scene).
func (sc Script) Objects() []Object { return sc.Base.Objects }

// fillShifted is fill with the view moved by (dx, dy) pixels and swaying
// tree regions.
func (s *Scripted) fillShifted(y []byte, drift int32, nz []int16, dx, dy int, t float64) {
	if dx == 0 && dy == 0 && len(s.sc.Trees) == 0 {
		s.fill(y, drift, nz)
		return
	}
	for py := range s.h {
		sy := min(max(py-dy, 0), s.h-1)
		for px := range s.w {
			sx := px - dx
			for i := range s.sc.Trees {
				tr := &s.sc.Trees[i]
				fx, fy := float64(px)/float64(s.w), float64(py)/float64(s.h)
				if fx >= tr.X0 && fx < tr.X1 && fy >= tr.Y0 && fy < tr.Y1 {
					// Leaves sway with a phase that varies across the crown.
					ph := 2*math.Pi*tr.Hz*t + 9*fy + 5*fx
					sx += int(math.Round(tr.Amplitude * math.Sin(ph) * (0.6 + 0.4*math.Sin(3*ph+fx*40))))
				}
			}
			sx = min(max(sx, 0), s.w-1)
			i := py*s.w + px
			v := int32(s.bg[sy*s.w+sx]) + drift + half
			if nz != nil {
				v += int32(nz[i])
			}
			y[i] = clamp8(v >> fracBits)
		}
	}
}

func (s *Scripted) drawProp(p *Prop, dur time.Duration, y []byte, drift int32, nz []int16, dx, dy int) {
	if dur < p.Appear || dur >= p.Disappear {
		return
	}
	fw, fh := float64(s.w), float64(s.h)
	cx, cy := p.Pos.X*fw+float64(dx), (p.Pos.Y-p.H/2)*fh+float64(dy)
	rx, ry := p.W*fw/2, p.H*fh/2
	c := capsule{cx - math.Max(0, rx-ry), cy, cx + math.Max(0, rx-ry), cy, math.Min(rx, ry), float64(p.Luma)}
	s.drawCapsules([]capsule{c}, cx-rx-2, cy-ry-2, cx+rx+2, cy+ry+2, 0, 0, 0, 0, y, drift, nz)
}

// pose returns the figure's state at t.
func (a *Actor) pose(t float64) (pos Point, p Pose, phase float64, ok bool) {
	k := a.Keys
	if len(k) == 0 || t < k[0].At.Seconds() || t >= k[len(k)-1].At.Seconds() {
		return Point{}, 0, 0, false
	}
	i := 0
	for i+1 < len(k) && t >= k[i+1].At.Seconds() {
		i++
	}
	t0, t1 := k[i].At.Seconds(), k[i+1].At.Seconds()
	q := 0.0
	if t1 > t0 {
		q = (t - t0) / (t1 - t0)
	}
	pos = Point{k[i].Pos.X + (k[i+1].Pos.X-k[i].Pos.X)*q, k[i].Pos.Y + (k[i+1].Pos.Y-k[i].Pos.Y)*q}
	p = k[i].Pose
	switch p {
	case Walk:
		phase = 2 * math.Pi * gaitHz * t
	case Run:
		phase = 2 * math.Pi * 1.6 * t
	case Stand:
		// Weight shifts and small gestures.
		phase = 0.25 * math.Sin(2*math.Pi*0.35*t)
	}
	return pos, p, phase, true
}

func (s *Scripted) drawActor(a *Actor, t float64, y []byte, drift int32, nz []int16, dx, dy int) {
	pos, p, phase, ok := a.pose(t)
	if !ok {
		return
	}
	fw, fh := float64(s.w), float64(s.h)
	ph := a.H * fh
	pw := 0.4 * ph
	fx, fy := pos.X*fw+float64(dx), pos.Y*fh+float64(dy)
	luma := float64(a.Luma)
	if p == Lie {
		// Lying: head, torso and legs along the ground, a little raised.
		r := 0.09 * ph
		cy := fy - r
		x0 := fx - 0.45*ph
		cl := func(v float64) float64 { return max(0, min(255, v)) }
		caps := []capsule{
			{x0 + r, cy - 0.02*ph, x0 + r, cy - 0.02*ph, r * 0.85, cl(luma + 25)},
			{x0 + 2.2*r, cy, x0 + 0.5*ph, cy, r, luma},
			{x0 + 0.5*ph, cy - 0.03*ph, fx + 0.45*ph - 0.5*r, cy - 0.03*ph, 0.5 * r, cl(luma - 8)},
			{x0 + 0.5*ph, cy + 0.03*ph, fx + 0.45*ph - 0.5*r, cy + 0.03*ph, 0.5 * r, cl(luma - 8)},
		}
		s.drawCapsules(caps, x0-3, cy-2*r-3, fx+0.45*ph+3, fy+3, fx+0.1*ph, fy, 0.5*ph, 0.04*ph+1, y, drift, nz)
		return
	}
	if p == Fight {
		g := figure{cx: fx, cy: fy - ph/2, pw: pw, ph: ph, luma: luma}
		l := fightLimbs(&g, t, fightSeed(a))
		shx, shy := g.cx+0.12*g.ph, g.cy+0.5*g.ph
		srx, sry := 0.35*g.ph, 0.05*g.ph+1
		s.drawCapsules(l[:], math.Min(g.cx-0.9*g.ph, shx-srx), g.cy-0.8*g.ph-1, math.Max(g.cx+0.9*g.ph, shx+srx), shy+sry+1, shx, shy, srx, sry, y, drift, nz)
		return
	}
	stride := 1.0
	if p == Run {
		stride = 1.6
	}
	g := figure{cx: fx, cy: fy - ph/2, pw: pw, ph: ph, phase: phase, luma: luma}
	l := g.limbs()
	if stride != 1 {
		// Longer strides: swing feet further from the hips.
		for i := 2; i < 4; i++ {
			l[i].bx = g.cx + (l[i].bx-g.cx)*stride
		}
	}
	shx, shy := g.cx+0.12*g.ph, g.cy+0.5*g.ph
	srx, sry := 0.35*g.ph, 0.05*g.ph+1
	s.drawCapsules(l[:], math.Min(g.cx-1.5*g.pw, shx-srx), g.cy-g.ph/2-1, math.Max(g.cx+1.5*g.pw, shx+srx), shy+sry+1, shx, shy, srx, sry, y, drift, nz)
}

func (s *Scripted) drawLight(l *Light, t float64, y []byte) {
	a, d := l.Appear.Seconds(), l.Disappear.Seconds()
	if t < a || t >= d {
		return
	}
	q := (t - a) / (d - a)
	fw, fh := float64(s.w), float64(s.h)
	cx, cy := (l.From.X+(l.To.X-l.From.X)*q)*fw, (l.From.Y+(l.To.Y-l.From.Y)*q)*fh
	rx, ry := l.RX*fw, l.RY*fh
	x0, x1 := max(int(cx-rx), 0), min(int(cx+rx)+1, s.w)
	y0, y1 := max(int(cy-ry), 0), min(int(cy+ry)+1, s.h)
	for py := y0; py < y1; py++ {
		for px := x0; px < x1; px++ {
			ex, ey := (float64(px)-cx)/rx, (float64(py)-cy)/ry
			r2 := ex*ex + ey*ey
			if r2 >= 1 {
				continue
			}
			i := py*s.w + px
			y[i] = clamp8(int32(float64(y[i]) + l.Gain*(1-r2)*(1-r2)))
		}
	}
}

func (s *Scripted) drawRain(frame int, y []byte) {
	n := int(s.sc.Rain * float64(s.w*s.h) / 1e6)
	ln := max(3, s.h/40)
	for k := range n {
		hsh := splitmix64(uint64(s.cfg.Seed) ^ uint64(frame)<<20 ^ uint64(k)*0x9e37)
		px, py := int(hsh%uint64(s.w)), int((hsh>>20)%uint64(s.h))
		for j := range ln {
			if yy := py + j; yy < s.h {
				i := yy*s.w + px
				y[i] = clamp8(int32(y[i]) + 40)
			}
		}
	}
}

// boxBlur blurs y in place horizontally and vertically with radius r.
func (s *Scripted) boxBlur(y []byte, r int) {
	if len(s.tmp) < len(y) {
		s.tmp = make([]byte, len(y))
	}
	tmp := s.tmp[:len(y)]
	w, h := s.w, s.h
	for py := range h {
		row := y[py*w : (py+1)*w]
		out := tmp[py*w : (py+1)*w]
		for px := range w {
			sum, c := 0, 0
			for x := max(px-r, 0); x <= min(px+r, w-1); x++ {
				sum += int(row[x])
				c++
			}
			out[px] = byte(sum / c)
		}
	}
	for px := range w {
		for py := range h {
			sum, c := 0, 0
			for yy := max(py-r, 0); yy <= min(py+r, h-1); yy++ {
				sum += int(tmp[yy*w+px])
				c++
			}
			y[py*w+px] = byte(sum / c)
		}
	}
}
