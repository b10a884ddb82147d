package benchrun

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP edgeguard_camera_frames_dropped_total Frames dropped.
# TYPE edgeguard_camera_frames_dropped_total counter
edgeguard_camera_frames_dropped_total{camera="cam01",reason="decode_queue"} 3
edgeguard_camera_frames_dropped_total{camera="cam01",reason="analysis_busy"} 1
edgeguard_camera_frames_dropped_total{camera="cam02",reason="decode_queue"} 4
edgeguard_camera_frames_analysed_total{camera="cam01"} 250
edgeguard_camera_frames_analysed_total{camera="cam02"} 1.5e+02
edgeguard_mqtt_connected 1
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"sum dropped", m.Sum("edgeguard_camera_frames_dropped_total"), 8},
		{"decode_queue", m.Reason("edgeguard_camera_frames_dropped_total", "decode_queue"), 7},
		{"analysis_busy", m.Reason("edgeguard_camera_frames_dropped_total", "analysis_busy"), 1},
		{"analysed cam02", m.PerCamera("edgeguard_camera_frames_analysed_total")["cam02"], 150},
		{"unlabelled", m.Sum("edgeguard_mqtt_connected"), 1},
		{"absent", m.Sum("nope"), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, err := ParseMetrics(strings.NewReader("x{a=\"b\"} notanumber\n")); err == nil {
		t.Error("bad value accepted")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 99, 5 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0, 1 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 90, 90 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := ProcCPU(pid); err != nil {
		t.Fatal(err)
	}
	rss, err := ProcRSS(pid)
	if err != nil || rss <= 0 {
		t.Fatalf("ProcRSS = %d, %v", rss, err)
	}
	a, err := ReadMachineCPU()
	if err != nil || a.Total == 0 {
		t.Fatalf("ReadMachineCPU = %+v, %v", a, err)
	}
	if b := BusyCores(a, a, 2); b != 0 {
		t.Errorf("BusyCores of one sample = %v", b)
	}
}

// TestPlot checks the PNG decodes, has the expected size, and that the
// series' colours were drawn.
func TestPlot(t *testing.T) {
	p := Plot{
		Title: "test (1080p) 4 mbit/s", XLabel: "cameras", XMax: 12,
		Panels: []Panel{
			{Title: "cpu", YLabel: "cores", Series: []Series{{Label: "a", Color: Blue, Points: []XY{{1, 0.1}, {12, 1.4}}}},
				HLines: []Series{{Label: "2 cores", Color: Red, Points: []XY{{Y: 2}}}}},
			{Title: "latency", YLabel: "ms", Series: []Series{{Label: "b", Color: Green, Points: []XY{{1, 20}, {6, 80}}, Dashed: true}}},
		},
	}
	var buf bytes.Buffer
	if err := p.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() < 2*panelH {
		t.Fatalf("size %v", b)
	}
	seen := map[[3]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	for _, c := range []struct {
		name    string
		r, g, b uint8
	}{{"blue", Blue.R, Blue.G, Blue.B}, {"red", Red.R, Red.G, Red.B}, {"green", Green.R, Green.G, Green.B}} {
		if !seen[[3]uint32{uint32(c.r), uint32(c.g), uint32(c.b)}] {
			t.Errorf("no %s pixels drawn", c.name)
		}
	}
}

func TestNiceScale(t *testing.T) {
	tests := []struct{ max, top, step float64 }{
		{0, 1, 0.2},
		{1.08, 1.2, 0.2},
		{216, 250, 50},
		{9.5, 10, 2},
	}
	for _, tt := range tests {
		top, step := niceScale(tt.max)
		if math.Abs(top-tt.top) > 1e-9 || math.Abs(step-tt.step) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tt.max, top, step, tt.top, tt.step)
		}
	}
}
