package evalreal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
)

// ClipsEnv overrides where the clips are; by default they are
// ../shared/realclips beside the checkout (DefaultClipsDir).
const ClipsEnv = "EDGEGUARD_REALCLIPS"

// DefaultClipsDir is the clips directory for the checkout at repoRoot:
// $EDGEGUARD_REALCLIPS, else ../shared/realclips relative to it.
func DefaultClipsDir(repoRoot string) string {
	if d := os.Getenv(ClipsEnv); d != "" {
		return d
	}
	return filepath.Join(repoRoot, "..", "shared", "realclips")
}

// Result is what one clip gave.
type Result struct {
	Clip Clip
	// Starts are the situation starts the analysis reported, motion's
	// among them (motion is the camera's motion: section, not a pattern:
	// it is not scored).
	Starts  []eval.Start
	Outcome eval.Outcome
	// Frames is the number of frames analysed, Pictures the number
	// decoded, Duration the clip's length by its frame rate.
	Frames, Pictures int
	Duration         time.Duration
	FPS              float64
	Transcoded       bool
	Elapsed          time.Duration
}

// scenario is the clip's ground truth as the rendered suite's matcher
// reads it.
func (c Clip) scenario() eval.Scenario {
	return eval.Scenario{Name: c.File, Expect: c.Expect}
}

// Options for RunAll.
type Options struct {
	ClipsDir string
	// CacheDir keeps the H.264 streams made from the clips ("" → CacheDir()).
	CacheDir string
	// Only, if set, runs just the clips whose file contains it.
	Only string
	// Logger gets the analysis stages' state changes; nil → discarded.
	Logger *slog.Logger
}

// RunAll analyses every clip (as many at once as there are cores) and
// matches its situation starts with its expectations.
func RunAll(ctx context.Context, ex *Expectations, opts Options) ([]Result, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = CacheDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var clips []Clip
	for _, c := range ex.Clips {
		if opts.Only == "" || strings.Contains(c.File, opts.Only) {
			clips = append(clips, c)
		}
	}
	if len(clips) == 0 {
		return nil, fmt.Errorf("no clip's file contains %q", opts.Only)
	}
	results := make([]Result, len(clips))
	errs := make([]error, len(clips))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range clips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = runClip(ctx, clips[i], opts)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", clips[i].File, err)
		}
	}
	return results, nil
}

// runClip decodes one clip with the service's decoder and scaler, picks
// the pictures the camera would analyse at its analysis rate, scales them
// to its analysis width in grey, and runs the camera's analysis on them.
// A picture's time is its index over the clip's frame rate.
func runClip(ctx context.Context, c Clip, opts Options) (Result, error) {
	began := time.Now()
	st, err := prepare(ctx, filepath.Join(opts.ClipsDir, filepath.FromSlash(c.File)), opts.CacheDir)
	if err != nil {
		return Result{}, err
	}
	data, err := os.ReadFile(st.path)
	if err != nil {
		return Result{}, err
	}
	aus, err := accessUnits(data)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", st.path, err)
	}
	log := opts.Logger.With("camera", c.Camera.ID)
	cfg, err := analysis.ForCamera(c.Camera)
	if err != nil {
		return Result{}, err
	}
	cfg.Logger = log
	an, err := analysis.New(cfg)
	if err != nil {
		return Result{}, err
	}
	defer an.Close()
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: codec.H264, Logger: log})
	if err != nil {
		return Result{}, err
	}
	defer dec.Close()

	res := Result{Clip: c, FPS: st.fps, Transcoded: st.transcoded}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	collect := func(evs []pattern.Event, now time.Time) {
		for _, e := range evs {
			if e.Phase == lifecycle.Start {
				res.Starts = append(res.Starts, eval.Start{Type: e.Type, Rule: e.Rule, At: e.StartedAt.Sub(t0), Reported: now.Sub(t0)})
			}
		}
	}
	rate := camera.NewAnalysisRate(c.Camera.Analysis.FPS)
	var grey *gocv.Mat // made at the first analysed picture's size
	defer func() {
		if grey != nil {
			grey.Close()
		}
	}()
	var now time.Time
	for _, au := range aus {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		got, err := dec.Decode(au)
		if err != nil || !got {
			continue // as the camera: the decoder waits for the next key frame
		}
		n := int(dec.Stats().Decoded) // pictures so far, this one the last
		now = t0.Add(time.Duration(float64(n-1) / st.fps * float64(time.Second)))
		if !rate.Take(now) {
			continue
		}
		sw, sh := dec.Size()
		w, h := camera.AnalysisSize(sw, sh, c.Camera.Analysis.Width)
		if grey == nil || grey.Cols() != w || grey.Rows() != h {
			if grey != nil {
				grey.Close()
			}
			m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
			grey = &m
		}
		buf, err := grey.DataPtrUint8()
		if err == nil {
			err = dec.ScaleGray(buf, w, h, w)
		}
		if err != nil {
			return Result{}, fmt.Errorf("scale: %w", err)
		}
		fr := an.Apply(now, *grey)
		res.Frames++
		collect(fr.Events, now)
	}
	collect(an.Flush(), now)
	res.Pictures = int(dec.Stats().Decoded)
	res.Duration = time.Duration(float64(res.Pictures) / st.fps * float64(time.Second))
	var scored []eval.Start
	for _, s := range res.Starts {
		if s.Type != pattern.TypeMotion {
			scored = append(scored, s)
		}
	}
	res.Outcome = eval.Match(c.scenario(), scored)
	res.Elapsed = time.Since(began)
	return res, nil
}

// Table is the per-pattern table of results.
func Table(results []Result) []eval.Row {
	scs := make([]eval.Scenario, len(results))
	outs := make([]eval.Outcome, len(results))
	for i, r := range results {
		scs[i], outs[i] = r.Clip.scenario(), r.Outcome
	}
	return eval.Table(scs, outs)
}

// Describe is one clip's detail: what was expected and found, missed,
// and the false alarms; with all, every start reported (motion's too).
func Describe(r Result, all bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %.1f s at %.2f fps (%s), %d frames analysed, %v\n", r.Clip.File, r.Duration.Seconds(), r.FPS,
		map[bool]string{true: "transcoded to H.264", false: "its own H.264"}[r.Transcoded], r.Frames, r.Elapsed.Round(10*time.Millisecond))
	for i, e := range r.Clip.Expect {
		opt := ""
		if e.Optional {
			opt = " (optional)"
		}
		if h := r.Outcome.Hit[i]; h != nil {
			fmt.Fprintf(&b, "  found  %s in [%v,%v] at %.1f s (rule %s, started %.1f s): delay %.1f s\n", e.Type, e.From, e.To, h.Reported.Seconds(), h.Rule, h.At.Seconds(), (h.Reported - e.From).Seconds())
		} else if !e.Optional {
			fmt.Fprintf(&b, "  MISSED %s in [%v,%v]\n", e.Type, e.From, e.To)
		} else {
			fmt.Fprintf(&b, "  -      %s in [%v,%v]%s\n", e.Type, e.From, e.To, opt)
		}
	}
	for _, f := range r.Outcome.False {
		fmt.Fprintf(&b, "  FALSE  %s (rule %s) at %.1f s, started %.1f s\n", f.Type, f.Rule, f.Reported.Seconds(), f.At.Seconds())
	}
	if all {
		for _, s := range r.Starts {
			fmt.Fprintf(&b, "  start  %s (rule %s) at %.1f s, started %.1f s\n", s.Type, s.Rule, s.Reported.Seconds(), s.At.Seconds())
		}
	}
	return b.String()
}
