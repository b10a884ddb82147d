package scene

import (
	"math"
)

// fightBeat is how often a fighter's pose picks a new target: punches,
// shoves and kicks a few times a second, each one a fast, smooth move.
const fightBeat = 0.22 // seconds

// fightSeed tells two fighters apart without a field of their own: their
// first key and clothes differ.
func fightSeed(a *Actor) uint64 {
	k := a.Keys[0].Pos
	return splitmix64(math.Float64bits(k.X)^splitmix64(math.Float64bits(k.Y))) ^ uint64(a.Luma)<<48
}

// fightLimbs lays out a fighter at time t: the body lunges back and forth
// and leans, the arms strike and guard in any direction, the legs step and
// kick. Every beat each of these picks a new random target (deterministic in
// seed and beat) and the figure moves there with an ease-in-out, so that
// between two analysis frames the limbs move fast and in unrelated
// directions, as in a brawl, while the feet stay near the fighter's spot.
func fightLimbs(g *figure, t float64, seed uint64) [6]capsule {
	k := math.Floor(t / fightBeat)
	u := t/fightBeat - k
	u = u * u * (3 - 2*u)
	// r is parameter j of the current move, in [-1, 1].
	r := func(j uint64) float64 {
		at := func(beat float64) float64 {
			h := splitmix64(seed ^ uint64(int64(beat))*0x9e3779b97f4a7c15 ^ j*0xbf58476d1ce4e5b9)
			return float64(h>>11)/(1<<52) - 1
		}
		return at(k)*(1-u) + at(k+1)*u
	}
	s, b := g.ph, g.pw
	cl := func(v float64) float64 { return max(0, min(255, v)) }
	x := g.cx + 0.22*s*r(0) // lunge
	crouch := 0.06 * s * math.Abs(r(1))
	lean := 0.12 * s * r(2)
	top := g.cy - s/2 + crouch
	rh := min(0.075*s, 0.3*b)
	rt := 0.36 * b
	rl := 0.13 * b
	ra := 0.10 * b
	hip := top + 0.52*s
	shoulder := top + 2*rh + 0.05*s
	foot := g.cy + s/2 - rl
	hx := x + lean // head and shoulders lean, hips follow the lunge
	arm := func(side float64, j uint64) capsule {
		// Strikes in any direction, guards close to the body.
		a := math.Pi * r(j)
		reach := (0.30 + 0.12*r(j+1)) * s
		sx := hx + side*0.30*b
		return capsule{sx, shoulder, sx + reach*math.Cos(a), shoulder + reach*math.Sin(a), ra, cl(g.luma + 5)}
	}
	leg := func(side float64, j uint64) capsule {
		kick := r(j)
		fx := x + side*0.14*b + 0.12*s*kick
		fy := foot - 0.18*s*max(0, kick)
		return capsule{x + side*0.14*b, hip, fx, fy, rl, cl(g.luma - 8)}
	}
	return [6]capsule{
		{hx, top + rh, hx, top + rh, rh, cl(g.luma + 25)},               // head
		{hx, shoulder + rt*0.5, (hx + x) / 2, hip - rt*0.6, rt, g.luma}, // torso
		leg(-1, 3),
		leg(1, 4),
		arm(-1, 5),
		arm(1, 7),
	}
}
