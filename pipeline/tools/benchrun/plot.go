package benchrun

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
)

// XY is one point of a series.
type XY struct{ X, Y float64 }

// Series is a line with markers.
type Series struct {
	Label  string
	Color  color.RGBA
	Points []XY
	Dashed bool
}

// Panel is one chart: axes, series and horizontal reference lines
// (targets, limits), stacked under the previous panel.
type Panel struct {
	Title  string
	YLabel string
	Series []Series
	HLines []Series // Points[0].Y is the level; X is ignored
}

// Plot is a figure of stacked panels sharing the x axis.
type Plot struct {
	Title  string
	XLabel string
	XMax   float64
	Panels []Panel
}

// Colours for series, distinguishable in print.
var (
	Blue   = color.RGBA{31, 119, 180, 255}
	Orange = color.RGBA{255, 127, 14, 255}
	Green  = color.RGBA{44, 160, 44, 255}
	Red    = color.RGBA{214, 39, 40, 255}
	Grey   = color.RGBA{120, 120, 120, 255}
	Purple = color.RGBA{148, 103, 189, 255}
)

const (
	plotW     = 960
	panelH    = 330
	marginL   = 90
	marginR   = 30
	marginTop = 50
	panelGap  = 40
	fontScale = 2
)

// WritePNG draws the plot with image/png and the built-in 5x7 font (the
// module carries no font or plotting dependency; text is upper case).
func (p Plot) WritePNG(w io.Writer) error {
	h := marginTop + len(p.Panels)*(panelH+panelGap) + 30
	img := image.NewRGBA(image.Rect(0, 0, plotW, h))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	drawText(img, marginL, 14, p.Title, color.RGBA{0, 0, 0, 255}, fontScale)
	black := color.RGBA{0, 0, 0, 255}
	light := color.RGBA{225, 225, 225, 255}
	xMax := p.XMax
	if xMax <= 0 {
		xMax = 1
	}
	for i, pn := range p.Panels {
		top := marginTop + i*(panelH+panelGap) + 20
		bottom := top + panelH - 50
		left, right := marginL, plotW-marginR
		drawText(img, left, top-20, pn.Title, black, fontScale)
		yMax := 0.0
		for _, s := range append(append([]Series{}, pn.Series...), pn.HLines...) {
			for _, pt := range s.Points {
				yMax = math.Max(yMax, pt.Y)
			}
		}
		yMax, step := niceScale(yMax * 1.08)
		px := func(x float64) int { return left + int(math.Round(x/xMax*float64(right-left))) }
		py := func(y float64) int { return bottom - int(math.Round(y/yMax*float64(bottom-top))) }
		for y := 0.0; y <= yMax+step/1e6; y += step {
			yy := py(y)
			line(img, left, yy, right, yy, light, 1, false)
			lbl := trimFloat(y)
			drawText(img, left-8-textWidth(lbl, fontScale), yy-7, lbl, black, fontScale)
		}
		xStep := niceStep(xMax / 8)
		for x := 0.0; x <= xMax+xStep/1e6; x += xStep {
			xx := px(x)
			line(img, xx, top, xx, bottom, light, 1, false)
			lbl := trimFloat(x)
			drawText(img, xx-textWidth(lbl, fontScale)/2, bottom+8, lbl, black, fontScale)
		}
		line(img, left, top, left, bottom, black, 2, false)
		line(img, left, bottom, right, bottom, black, 2, false)
		drawText(img, right-textWidth(p.XLabel, fontScale), bottom+28, p.XLabel, black, fontScale)
		drawTextVertical(img, 10, (top+bottom)/2+textWidth(pn.YLabel, fontScale)/2, pn.YLabel, black, fontScale)
		for _, hl := range pn.HLines {
			if len(hl.Points) == 0 {
				continue
			}
			yy := py(hl.Points[0].Y)
			line(img, left, yy, right, yy, hl.Color, 2, true)
			drawText(img, right-textWidth(hl.Label, fontScale)-4, yy-18, hl.Label, hl.Color, fontScale)
		}
		// The legend sits on a white box at the top left, drawn over the
		// grid and reference lines but under the series.
		lw := 0
		for _, s := range pn.Series {
			lw = max(lw, textWidth(s.Label, fontScale))
		}
		fill(img, image.Rect(left+6, top+2, left+56+lw, top+8+20*len(pn.Series)), color.RGBA{255, 255, 255, 255})
		ly := top + 8
		for _, s := range pn.Series {
			for j, pt := range s.Points {
				if j > 0 {
					prev := s.Points[j-1]
					line(img, px(prev.X), py(prev.Y), px(pt.X), py(pt.Y), s.Color, 3, s.Dashed)
				}
				fill(img, image.Rect(px(pt.X)-4, py(pt.Y)-4, px(pt.X)+5, py(pt.Y)+5), s.Color)
			}
			fill(img, image.Rect(left+14, ly+3, left+40, ly+9), s.Color)
			drawText(img, left+48, ly, s.Label, black, fontScale)
			ly += 20
		}
	}
	return png.Encode(w, img)
}

// niceScale rounds max up to a multiple of a 1/2/5 step giving 3–6 ticks.
func niceScale(max float64) (top, step float64) {
	if max <= 0 {
		return 1, 0.2
	}
	step = niceStep(max / 6)
	return math.Ceil(max/step) * step, step
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a thick Bresenham line; dashed lines skip every other 8 px.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, width int, dashed bool) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for n := 0; ; n++ {
		if !dashed || (n/8)%2 == 0 {
			fill(img, image.Rect(x0-width/2, y0-width/2, x0-width/2+width, y0-width/2+width), c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func textWidth(s string, scale int) int { return len(s) * 6 * scale }

func drawText(img *image.RGBA, x, y int, s string, c color.RGBA, scale int) {
	for i, r := range strings.ToUpper(s) {
		g := glyphs[r]
		for row := range 7 {
			for col := range 5 {
				if g[row]&(1<<(4-col)) != 0 {
					fill(img, image.Rect(x+i*6*scale+col*scale, y+row*scale, x+i*6*scale+(col+1)*scale, y+(row+1)*scale), c)
				}
			}
		}
	}
}

// drawTextVertical writes bottom to top, starting at (x, y).
func drawTextVertical(img *image.RGBA, x, y int, s string, c color.RGBA, scale int) {
	for i, r := range strings.ToUpper(s) {
		g := glyphs[r]
		for row := range 7 {
			for col := range 5 {
				if g[row]&(1<<(4-col)) != 0 {
					px := x + row*scale
					py := y - i*6*scale - col*scale
					fill(img, image.Rect(px, py-scale, px+scale, py), c)
				}
			}
		}
	}
}

// glyphs is a 5x7 font: 7 rows, the low 5 bits of each, MSB left.
var glyphs = map[rune][7]uint8{
	'0': {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, '1': {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
	'2': {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, '3': {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
	'4': {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, '5': {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
	'6': {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, '7': {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, '9': {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
	'A': {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}, 'B': {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
	'C': {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, 'D': {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
	'E': {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, 'F': {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
	'G': {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, 'H': {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
	'I': {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, 'J': {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
	'K': {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, 'L': {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
	'M': {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, 'N': {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
	'O': {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, 'P': {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
	'Q': {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, 'R': {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
	'S': {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, 'T': {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
	'U': {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, 'V': {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
	'W': {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, 'X': {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
	'Y': {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, 'Z': {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},
	'.': {0, 0, 0, 0, 0, 0x0C, 0x0C}, '-': {0, 0, 0, 0x1F, 0, 0, 0},
	'/': {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}, '(': {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},
	')': {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, ':': {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0},
	'%': {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, ',': {0, 0, 0, 0, 0x0C, 0x04, 0x08},
	'=': {0, 0, 0x1F, 0, 0x1F, 0, 0}, '*': {0, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0},
	'<': {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, '>': {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08},
	'+': {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0},
}
