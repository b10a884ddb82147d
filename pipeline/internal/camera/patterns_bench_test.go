package camera

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

type discardSink struct{}

func (discardSink) Event(context.Context, event.Event) error         { return nil }
func (discardSink) Status(context.Context, event.CameraStatus) error { return nil }

// BenchmarkAnalyse measures the analyser's per-frame step on a 640×360 grey
// frame of a walking figure: motion alone, and motion plus frame statistics
// and the evaluation's full rule set (every pattern type). allocs/op is 0
// in steady state apart from the messages of situation transitions.
func BenchmarkAnalyse(b *testing.B) {
	for _, tc := range []struct {
		name  string
		rules func() ([]pattern.Rule, error)
	}{
		{"motion", nil},
		{"motion+rules", func() ([]pattern.Rule, error) { return eval.Rules(), nil }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const w, h, n = 640, 360, 100
			sc := scene.New(benchScene(w, h))
			y, u, v := sc.NewFrame()
			frames := make([][]byte, n)
			for i := range frames {
				// 5 analysis frames/s from 2 s on: the figure enters at 3 s.
				sc.Render(50+i*5, y, u, v)
				frames[i] = append([]byte(nil), y[:w*h]...)
			}
			c, err := New(Config{ID: "b", URL: "rtsp://h/", Motion: motion.DefaultConfig(),
				Rules: withMotion(tc.rules), Sink: discardSink{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			pool := &framePool{}
			defer pool.Close()
			a := &analyser{cam: c, pool: pool}
			if err := a.start(); err != nil {
				b.Fatal(err)
			}
			defer a.close()
			t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m := pool.get(w, h)
				buf, _ := m.DataPtrUint8()
				copy(buf, frames[i%n])
				a.analyse(ctx, analysisFrame{mat: m, at: t0.Add(time.Duration(i) * 200 * time.Millisecond).UnixNano()})
			}
		})
	}
}

var benchScene = func(w, h int) scene.Config { return scene.Walker(w, h, 25) }
