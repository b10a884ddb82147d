package scene

import (
	"bytes"
	"testing"
	"time"
)

// TestFight: fighters are drawn, move a lot between analysis frames (one
// fifth of a second apart), stay on their spot, and render the same every
// time.
func TestFight(t *testing.T) {
	base := Static(320, 180, 25)
	keys := func(x float64) []Key {
		return []Key{{At: 0, Pos: Point{x, 0.85}, Pose: Fight}, {At: 10 * time.Second, Pos: Point{x, 0.85}}}
	}
	sc := Script{Base: base, Actors: []Actor{{Keys: keys(0.46), H: 0.3, Luma: 40}, {Keys: keys(0.54), H: 0.3, Luma: 200}}}
	s := NewScripted(sc)
	empty := NewScripted(Script{Base: base})
	y, u, v := s.NewFrame()
	y0, u0, v0 := empty.NewFrame()
	prev := make([]byte, len(y))
	for n := 50; n <= 100; n += 5 {
		s.Render(n, y, u, v)
		empty.Render(n, y0, u0, v0)
		// Where the fighters are: pixels that differ from the empty square.
		minX, maxX, changed := 320, 0, 0
		for i := range y {
			if y[i] != y0[i] {
				changed++
				minX, maxX = min(minX, i%320), max(maxX, i%320)
			}
		}
		if changed < 300 {
			t.Fatalf("frame %d: only %d pixels show the fighters", n, changed)
		}
		// On the spot: within about one body height around x 0.46..0.54.
		if lo, hi := 0.46*320-0.3*180, 0.54*320+0.3*180; float64(minX) < lo || float64(maxX) > hi {
			t.Errorf("frame %d: fighters span x %d..%d, off their spot", n, minX, maxX)
		}
		if n > 50 {
			moved := 0
			for i := range y {
				if d := int(y[i]) - int(prev[i]); d > 20 || d < -20 {
					moved++
				}
			}
			if moved < 100 {
				t.Errorf("frame %d: only %d pixels changed since 0.2 s before", n, moved)
			}
		}
		copy(prev, y)
	}
	// Deterministic.
	a := NewScripted(sc)
	ya, ua, va := a.NewFrame()
	a.Render(77, ya, ua, va)
	s.Render(77, y, u, v)
	if !bytes.Equal(ya, y) {
		t.Fatal("fight not deterministic")
	}
}
