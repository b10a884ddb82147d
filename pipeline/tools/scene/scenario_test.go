package scene

import (
	"bytes"
	"testing"
	"time"
)

func TestScriptedDeterministicAndBaseUnchanged(t *testing.T) {
	base := Walker(160, 90, 25)
	plain := New(base)
	sc := NewScripted(Script{Base: base})
	y1, u1, v1 := plain.NewFrame()
	y2, u2, v2 := sc.NewFrame()
	for _, n := range []int{0, 80, 150} {
		plain.Render(n, y1, u1, v1)
		sc.Render(n, y2, u2, v2)
		if !bytes.Equal(y1, y2) {
			t.Fatalf("frame %d: a script without extras differs from the plain scene", n)
		}
	}
}

func TestScriptedEffects(t *testing.T) {
	base := Static(160, 90, 25)
	mean := func(sc Script, frame int) float64 {
		s := NewScripted(sc)
		y, u, v := s.NewFrame()
		s.Render(frame, y, u, v)
		var sum float64
		for _, p := range y {
			sum += float64(p)
		}
		return sum / float64(len(y))
	}
	m0 := mean(Script{Base: base}, 50)
	for _, tc := range []struct {
		name string
		sc   Script
		ok   func(m float64) bool
	}{
		{"cover", Script{Base: base, Cover: &Cover{At: time.Second, Luma: 10}}, func(m float64) bool { return m < 20 }},
		{"cover not yet", Script{Base: base, Cover: &Cover{At: time.Hour, Luma: 10}}, func(m float64) bool { return m == m0 }},
		{"exposure", Script{Base: base, Exposure: []Step{{At: 0, Offset: 20}}}, func(m float64) bool { return m > m0+15 }},
		{"headlight", Script{Base: base, Headlights: []Light{{Appear: 0, Disappear: 4 * time.Second, From: Point{0.5, 0.5}, To: Point{0.5, 0.5}, RX: 0.3, RY: 0.3, Gain: 80}}}, func(m float64) bool { return m > m0+3 }},
		{"actor", Script{Base: base, Actors: []Actor{{Keys: []Key{{At: 0, Pos: Point{0.5, 0.8}, Pose: Stand}, {At: 4 * time.Second, Pos: Point{0.5, 0.8}}}, H: 0.5, Luma: 20}}}, func(m float64) bool { return m < m0-2 }},
		{"lying actor", Script{Base: base, Actors: []Actor{{Keys: []Key{{At: 0, Pos: Point{0.5, 0.8}, Pose: Lie}, {At: 4 * time.Second, Pos: Point{0.5, 0.8}}}, H: 0.5, Luma: 20}}}, func(m float64) bool { return m < m0-1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m := mean(tc.sc, 50); !tc.ok(m) {
				t.Fatalf("mean %g (plain %g)", m, m0)
			}
		})
	}
	// Deterministic for every effect together.
	all := Script{Base: base, Rain: 2000, Trees: []Tree{{0, 0, 0.3, 0.3, 2, 1}}, Shift: &Shift{At: time.Second, DX: 0.05},
		Defocus: &Defocus{At: time.Second, Radius: 2}, Props: []Prop{{0, time.Hour, Point{0.5, 0.8}, 0.05, 0.05, 30}}}
	a, b := NewScripted(all), NewScripted(all)
	ya, ua, va := a.NewFrame()
	yb, ub, vb := b.NewFrame()
	a.Render(77, ya, ua, va)
	b.Render(77, yb, ub, vb)
	if !bytes.Equal(ya, yb) {
		t.Fatal("not deterministic")
	}
}
