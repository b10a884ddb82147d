package scene

import "math"

// figure is an Object's pose at one instant, in pixels.
type figure struct {
	cx, cy, pw, ph float64
	phase          float64 // gait phase, radians
	luma           float64
}

// gaitHz is the stride frequency (one left+right cycle per second is a slow
// walk; a bit less looks natural at a quarter-frame height).
const gaitHz = 0.9

func (s *Scene) figureAt(o *Object, t float64) (figure, bool) {
	a, d := o.Appear.Seconds(), o.Disappear.Seconds()
	if t < a || t >= d {
		return figure{}, false
	}
	p := 0.0
	if d > a {
		p = (t - a) / (d - a)
	}
	fw, fh := float64(s.w), float64(s.h)
	return figure{
		cx:    (o.From.X + (o.To.X-o.From.X)*p) * fw,
		cy:    (o.From.Y + (o.To.Y-o.From.Y)*p) * fh,
		pw:    o.W * fw,
		ph:    o.H * fh,
		phase: 2 * math.Pi * gaitHz * (t - a),
		luma:  float64(o.Luma),
	}, true
}

// capsule is a line segment with a radius: every limb of the figure is one,
// which gives rounded, anti-aliased shapes with an exact distance function.
type capsule struct {
	ax, ay, bx, by, r float64
	luma              float64
}

// alpha is the capsule's coverage of the pixel centred at (x, y), with a
// one-pixel soft edge.
func (c *capsule) alpha(x, y float64) float64 {
	dx, dy := c.bx-c.ax, c.by-c.ay
	px, py := x-c.ax, y-c.ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, (px*dx+py*dy)/l2))
	}
	ex, ey := px-t*dx, py-t*dy
	return max(0, min(1, c.r-math.Sqrt(ex*ex+ey*ey)+0.5))
}

// limbs lays out head, torso, arms and legs. Legs and arms swing in
// opposition with the gait phase, and the body bobs and sways slightly.
func (g *figure) limbs() [6]capsule {
	s, b := g.ph, g.pw
	sw := math.Sin(g.phase)
	bob := 0.008 * s * math.Cos(2*g.phase)
	x := g.cx + 0.02*b*sw
	top := g.cy - s/2 + bob + 0.008*s
	rh := min(0.075*s, 0.3*b)
	rt := 0.36 * b
	rl := 0.13 * b
	ra := 0.10 * b
	hip := top + 0.52*s
	shoulder := top + 2*rh + 0.05*s
	foot := g.cy + s/2 - rl
	swing := 0.14 * s * sw
	clampL := func(v float64) float64 { return max(0, min(255, v)) }
	return [6]capsule{
		{x, top + rh, x, top + rh, rh, clampL(g.luma + 25)},                                 // head
		{x, shoulder + rt*0.5, x, hip - rt*0.6, rt, g.luma},                                 // torso
		{x - 0.14*b, hip, g.cx - 0.14*b + swing, foot, rl, clampL(g.luma - 8)},              // leg
		{x + 0.14*b, hip, g.cx + 0.14*b - swing, foot, rl, clampL(g.luma - 8)},              // leg
		{x - 0.34*b, shoulder, x - 0.38*b - 0.5*swing, top + 0.5*s, ra, clampL(g.luma + 5)}, // arm
		{x + 0.34*b, shoulder, x + 0.38*b + 0.5*swing, top + 0.5*s, ra, clampL(g.luma + 5)}, // arm
	}
}

// drawObject composites one figure and its soft shadow over the already
// rendered luma plane y. Blending reads y, so overlapping figures stack. The
// figure gets the frame's drift and the same noise sample as the pixel it
// covers, so it is lit and imaged like the background.
func (s *Scene) drawObject(o *Object, t float64, y []byte, drift int32, nz []int16) {
	g, ok := s.figureAt(o, t)
	if !ok {
		return
	}
	limbs := g.limbs()
	// Soft shadow on the ground, cast to the right of the feet.
	shx, shy := g.cx+0.12*g.ph, g.cy+0.5*g.ph
	srx, sry := 0.35*g.ph, 0.05*g.ph+1
	s.drawCapsules(limbs[:], min(g.cx-g.pw, shx-srx)-1, g.cy-g.ph/2-1, max(g.cx+g.pw, shx+srx)+1, shy+sry+1, shx, shy, srx, sry, y, drift, nz)
}

// drawCapsules composites capsules and an optional soft shadow ellipse
// (srx > 0) over the pixel box x0..x1, y0..y1.
func (s *Scene) drawCapsules(limbs []capsule, x0f, y0f, x1f, y1f, shx, shy, srx, sry float64, y []byte, drift int32, nz []int16) {
	x0, y0 := max(int(math.Floor(x0f)), 0), max(int(math.Floor(y0f)), 0)
	x1, y1 := min(int(math.Ceil(x1f)), s.w), min(int(math.Ceil(y1f)), s.h)
	dl := float64(drift) / one
	for py := y0; py < y1; py++ {
		fy := float64(py) + 0.5
		row := py * s.w
		for px := x0; px < x1; px++ {
			fx := float64(px) + 0.5
			k := 0.0
			if srx > 0 {
				ex, ey := (fx-shx)/srx, (fy-shy)/sry
				if r2 := ex*ex + ey*ey; r2 < 1 {
					q := 1 - r2
					k = 0.25 * q * q * (3 - 2*q)
				}
			}
			a, l := 0.0, 0.0
			for i := range limbs {
				if ai := limbs[i].alpha(fx, fy); ai > a {
					a, l = ai, limbs[i].luma
				}
			}
			if a == 0 && k == 0 {
				continue
			}
			i := row + px
			n := 0.0
			if nz != nil {
				n = float64(nz[i]) / one
			}
			v := float64(y[i])*(1-k)*(1-a) + (l+dl+n)*a
			y[i] = clamp8(int32(math.Round(v)))
		}
	}
}
