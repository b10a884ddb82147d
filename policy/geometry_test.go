package policy

import "testing"

func TestPolygonWithin(t *testing.T) {
	square := func(x0, y0, x1, y1 float64) []Point {
		return []Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
	}
	// An L-shaped zone: the notch at the top right is outside it.
	ell := []Point{{0, 0}, {0.5, 0}, {0.5, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}
	for _, tt := range []struct {
		name string
		a, b []Point
		want bool
	}{
		{"narrower", square(0, 0, 0.2, 0.4), square(0, 0, 0.3, 0.4), true},
		{"wider", square(0, 0, 0.3, 0.4), square(0, 0, 0.2, 0.4), false},
		{"same", square(0, 0, 0.3, 0.4), square(0, 0, 0.3, 0.4), true},
		{"shifted", square(0.1, 0, 0.4, 0.4), square(0, 0, 0.3, 0.4), false},
		{"disjoint", square(0.6, 0.6, 0.7, 0.7), square(0, 0, 0.3, 0.4), false},
		{"in the leg of the L", square(0.1, 0.1, 0.4, 0.9), ell, true},
		// Every corner is in the L, but the top edge crosses the notch.
		{"across the notch", []Point{{0.4, 0.4}, {0.9, 0.6}, {0.4, 0.9}}, ell, false},
		{"corners in, edge out", []Point{{0.2, 0.2}, {0.9, 0.6}, {0.9, 0.9}, {0.2, 0.9}}, ell, false},
		{"triangle on the diagonal", []Point{{0, 0}, {1, 1}, {0, 1}}, square(0, 0, 1, 1), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := polygonWithin(tt.a, tt.b); got != tt.want {
				t.Errorf("polygonWithin = %v, want %v", got, tt.want)
			}
		})
	}
}
