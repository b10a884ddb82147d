package geometry

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

func sq(x0, y0, x1, y1 float64) Polygon {
	return Polygon{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

func TestPolygonValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Polygon
		field string // "" → valid
		msg   string
	}{
		{"square", sq(0.1, 0.1, 0.5, 0.5), "", ""},
		{"triangle", Polygon{{0, 0}, {1, 0}, {0.5, 1}}, "", ""},
		{"concave", Polygon{{0, 0}, {1, 0}, {1, 1}, {0.5, 0.3}, {0, 1}}, "", ""},
		{"two points", Polygon{{0, 0}, {1, 1}}, "points", "at least 3"},
		{"too many", make(Polygon, MaxCorners+1), "points", "at most 100"},
		{"outside", Polygon{{0, 0}, {1.2, 0}, {0.5, 1}}, "points[1][0]", "1.2 is outside the picture"},
		{"negative", Polygon{{0, -0.1}, {1, 0}, {0.5, 1}}, "points[0][1]", "-0.1 is outside the picture"},
		{"nan", Polygon{{0, 0}, {math.NaN(), 0}, {0.5, 1}}, "points[1][0]", "outside"},
		{"inf", Polygon{{0, 0}, {1, math.Inf(1)}, {0.5, 1}}, "points[1][1]", "outside"},
		{"collinear", Polygon{{0, 0}, {0.5, 0.5}, {1, 1}}, "points", "no area"},
		{"bow tie", Polygon{{0, 0}, {1, 1}, {1, 0}, {0, 1}}, "points", "cross"},
		{"spike touching", Polygon{{0, 0}, {1, 0}, {1, 1}, {0.5, 0}, {0, 1}}, "points", "cross"},
		{"repeated corner", Polygon{{0, 0}, {0.3, 0}, {0.3, 0}, {0.3, 0.4}}, "points", "corner 3 repeats corner 2"},
		{"closed", Polygon{{0, 0}, {0.3, 0}, {0.3, 0.4}, {0, 0}}, "points", "the last corner repeats the first (corner 4)"},
		{"folding back", Polygon{{0, 0}, {0.3, 0}, {0.1, 0}, {0.2, 0.4}}, "points", "the edges at corner 2 fold back"},
		{"tiny", Polygon{{0.5, 0.5}, {0.5005, 0.5}, {0.5, 0.5005}}, "points", "no area"},
		{"small enough", Polygon{{0.5, 0.5}, {0.502, 0.5}, {0.5, 0.502}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want FieldError, got %v", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Fatalf("got %q: %q, want %q: ...%s...", fe.Field, fe.Msg, tc.field, tc.msg)
			}
		})
	}
}

// TestPolygonProblems: every coordinate outside the frame is reported, so a
// file's author sees all of them at once.
func TestPolygonProblems(t *testing.T) {
	probs := Polygon{{-1, 0}, {0.5, 2}, {0.5, 1}}.Problems()
	var got []string
	for _, p := range probs {
		got = append(got, p.Field)
	}
	if strings.Join(got, " ") != "points[0][0] points[1][1]" {
		t.Fatalf("problems at %v", got)
	}
	if probs := sq(0.1, 0.1, 0.5, 0.5).Problems(); probs != nil {
		t.Fatalf("valid square: %v", probs)
	}
	if err := sq(0.1, 0.1, 0.5, 0.5).Validate(); err != nil {
		t.Fatalf("Validate of a valid square = %#v (a typed nil?)", err)
	}
}

func TestPolygonWithin(t *testing.T) {
	// An L-shaped zone: the notch at the top right is outside it.
	ell := Polygon{{0, 0}, {0.5, 0}, {0.5, 0.5}, {1, 0.5}, {1, 1}, {0, 1}}
	for _, tt := range []struct {
		name string
		a, b Polygon
		want bool
	}{
		{"narrower", sq(0, 0, 0.2, 0.4), sq(0, 0, 0.3, 0.4), true},
		{"wider", sq(0, 0, 0.3, 0.4), sq(0, 0, 0.2, 0.4), false},
		{"same", sq(0, 0, 0.3, 0.4), sq(0, 0, 0.3, 0.4), true},
		{"shifted", sq(0.1, 0, 0.4, 0.4), sq(0, 0, 0.3, 0.4), false},
		{"disjoint", sq(0.6, 0.6, 0.7, 0.7), sq(0, 0, 0.3, 0.4), false},
		{"in the leg of the L", sq(0.1, 0.1, 0.4, 0.9), ell, true},
		// Every corner is in the L, but the top edge crosses the notch.
		{"across the notch", Polygon{{0.4, 0.4}, {0.9, 0.6}, {0.4, 0.9}}, ell, false},
		{"corners in, edge out", Polygon{{0.2, 0.2}, {0.9, 0.6}, {0.9, 0.9}, {0.2, 0.9}}, ell, false},
		{"triangle on the diagonal", Polygon{{0, 0}, {1, 1}, {0, 1}}, sq(0, 0, 1, 1), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Within(tt.b); got != tt.want {
				t.Errorf("Within = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolygonContains(t *testing.T) {
	l := Polygon{{0.1, 0.1}, {0.9, 0.1}, {0.9, 0.3}, {0.3, 0.3}, {0.3, 0.9}, {0.1, 0.9}} // an L
	for _, tc := range []struct {
		p    Point
		want bool
	}{
		{Point{0.2, 0.2}, true}, {Point{0.8, 0.2}, true}, {Point{0.2, 0.8}, true},
		{Point{0.6, 0.6}, false}, {Point{0.05, 0.5}, false}, {Point{0.95, 0.2}, false},
	} {
		if got := l.Contains(tc.p); got != tc.want {
			t.Errorf("Contains(%v) = %v", tc.p, got)
		}
	}
}

func TestLineCrossing(t *testing.T) {
	// Upwards on screen: screen-left to screen-right is left to right.
	up := Line{A: Point{0.5, 0.9}, B: Point{0.5, 0.1}}
	for _, tc := range []struct {
		name      string
		dir       Direction
		prev, cur Point
		want      int
	}{
		{"ltr both", Both, Point{0.4, 0.5}, Point{0.6, 0.5}, +1},
		{"rtl both", Both, Point{0.6, 0.5}, Point{0.4, 0.5}, -1},
		{"ltr only", LeftToRight, Point{0.6, 0.5}, Point{0.4, 0.5}, 0},
		{"rtl only", RightToLeft, Point{0.6, 0.5}, Point{0.4, 0.5}, -1},
		{"beside the end", Both, Point{0.4, 0.95}, Point{0.6, 0.95}, 0},
		{"onto the line", Both, Point{0.4, 0.5}, Point{0.5, 0.5}, 0},
		{"parallel", Both, Point{0.4, 0.2}, Point{0.4, 0.8}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := up
			l.Direction = tc.dir
			if got := l.Crossing(tc.prev, tc.cur); got != tc.want {
				t.Fatalf("got %d want %d", got, tc.want)
			}
		})
	}
}

func TestLineValidate(t *testing.T) {
	for _, tc := range []struct {
		l     Line
		field string
	}{
		{Line{A: Point{0.1, 0.1}, B: Point{0.9, 0.9}}, ""},
		{Line{A: Point{0.1, 0.1}, B: Point{1.5, 0.9}}, "points[1]"},
		{Line{A: Point{0.1, 0.1}, B: Point{0.101, 0.1}}, "points"},
		{Line{A: Point{0.1, 0.1}, B: Point{0.9, 0.9}, Direction: 7}, "direction"},
	} {
		err := tc.l.Validate()
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%v: %v", tc.l, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%v: got %v, want field %s", tc.l, err, tc.field)
		}
	}
}

func TestParseDirection(t *testing.T) {
	for s, want := range map[string]Direction{"": Both, "both": Both, "left_to_right": LeftToRight, "right_to_left": RightToLeft} {
		d, err := ParseDirection(s)
		if err != nil || d != want {
			t.Errorf("%q: %v %v", s, d, err)
		}
		if s != "" && d.String() != s {
			t.Errorf("String() = %q, want %q", d.String(), s)
		}
	}
	if _, err := ParseDirection("north"); err == nil {
		t.Error("north accepted")
	}
}

func TestPerspective(t *testing.T) {
	p := Perspective{Row1: 0.4, Height1: 0.15, Row2: 0.9, Height2: 0.35}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ y, h float64 }{{0.4, 0.15}, {0.9, 0.35}, {0.65, 0.25}, {0, 0.01}} {
		if got := p.HeightAt(tc.y); math.Abs(got-tc.h) > 1e-9 {
			t.Errorf("HeightAt(%g) = %g want %g", tc.y, got, tc.h)
		}
	}
	// One body height of horizontal movement at row 0.9 on a 16:9 frame.
	dx := 0.35 / (16.0 / 9)
	if got := p.BodyHeights(dx, 0, 0.9, 16.0/9, 0); math.Abs(got-1) > 1e-9 {
		t.Errorf("BodyHeights = %g", got)
	}
	// Unconfigured: the object's own height.
	if got := (Perspective{}).BodyHeights(0, 0.5, 0.5, 1, 0.25); got != 2 {
		t.Errorf("fallback BodyHeights = %g", got)
	}
	for _, bad := range []Perspective{
		{Row1: 0.5, Height1: 0.1, Row2: 0.52, Height2: 0.2},
		{Row1: -1, Height1: 0.1, Row2: 0.9, Height2: 0.2},
		{Row1: 0.2, Height1: 0, Row2: 0.9, Height2: 0.2},
		{Row1: 0.2, Height1: 0.1, Row2: 0.9, Height2: 1.5},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// FuzzPolygon checks that validation and containment never panic on
// arbitrary operator input and that a polygon accepted as valid is simple.
func FuzzPolygon(f *testing.F) {
	enc := func(p Polygon) []byte {
		var b []byte
		for _, q := range p {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q.X))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q.Y))
		}
		return b
	}
	f.Add(enc(sq(0.1, 0.1, 0.5, 0.5)), 0.2, 0.2)
	f.Add(enc(Polygon{{0, 0}, {1, 1}, {1, 0}, {0, 1}}), 0.5, 0.5)
	f.Add([]byte{1, 2, 3}, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, data []byte, x, y float64) {
		var p Polygon
		for len(data) >= 16 && len(p) < 64 {
			p = append(p, Point{math.Float64frombits(binary.LittleEndian.Uint64(data)), math.Float64frombits(binary.LittleEndian.Uint64(data[8:]))})
			data = data[16:]
		}
		err := p.Validate()
		_ = p.Contains(Point{x, y})
		if err == nil {
			for _, q := range p {
				if !q.inFrame() {
					t.Fatalf("valid polygon with point %v outside the frame", q)
				}
			}
			if math.Abs(p.Area()) < 1e-6 {
				t.Fatal("valid polygon without area")
			}
		}
	})
}

// FuzzParseDirection: the parser accepts exactly the documented names.
func FuzzParseDirection(f *testing.F) {
	for _, s := range []string{"", "both", "left_to_right", "right_to_left", "up"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDirection(s)
		if err == nil && s != "" && d.String() != s {
			t.Fatalf("%q parsed as %v", s, d)
		}
	})
}
