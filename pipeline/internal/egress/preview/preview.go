// Package preview shows a privacy officer what a snapshot from a camera
// would look like: one frame from the camera, through exactly the steps the
// pipeline takes (privacy zones filled at the decoder's output, faces
// covered, JPEG without metadata), with the zone outlines drawn on top.
package preview

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
	"github.com/edgeguard/edgeguard/policy"
)

// Options for Run.
type Options struct {
	Config *config.Config
	Policy *policy.Policy
	Camera string // camera id in Config
	Out    string // PNG file
	// Width of the preview; 0 → 1280, as snapshots.
	Width int
	// Timeout for connecting and getting the first picture; 0 → 30 s.
	Timeout time.Duration
	// Anonymiser overrides the one built from the policy (tests).
	Anonymiser *anonymise.Anonymiser
	Logger     *slog.Logger
}

// Result says what the preview shows.
type Result struct {
	Width, Height int
	Zones         int
	// Withheld is true when the frame could not be anonymised: a snapshot
	// would not have left the device; the PNG is filled.
	Withheld bool
	// SnapshotsAllowed reports the policy's egress.snapshots.
	SnapshotsAllowed bool
	Reason           string
	// Detector is the face detector that anonymised the preview, as
	// /readyz names it (anonymise.DetectorBlazeFace), or
	// anonymise.DetectorNone; then NoDetector says why (the missing model
	// and how to install it). A privacy officer judging a preview must
	// know whether faces were looked for at all.
	Detector, NoDetector string
}

// Run grabs one frame and writes the preview PNG.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Width <= 0 {
		opts.Width = 1280
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var cam *config.Camera
	for i := range opts.Config.Cameras {
		if opts.Config.Cameras[i].ID == opts.Camera {
			cam = &opts.Config.Cameras[i]
		}
	}
	if cam == nil {
		return Result{}, fmt.Errorf("no camera %q in the configuration", opts.Camera)
	}
	anon := opts.Anonymiser
	if anon == nil {
		// The configuration snapshots are anonymised with.
		cfg := anonymise.FromPolicy(opts.Policy.Anonymisation)
		cfg.Logger = opts.Logger
		a, err := anonymise.New(cfg)
		if err != nil {
			return Result{}, err
		}
		defer a.Close()
		anon = a
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	frame, err := grab(ctx, cam, opts.Width, opts.Logger)
	if err != nil {
		return Result{}, err
	}
	defer frame.Close()
	w, h := frame.Cols(), frame.Rows()

	// The camera's zones as the service takes them from the policy, filled
	// by the same call as in the camera's snapshot path.
	zones := privacymask.ForCamera(opts.Policy, cam.ID)
	if err := zones.Apply(frame, privacymask.BGR); err != nil {
		return Result{}, fmt.Errorf("privacy zones: %w", err)
	}

	res := Result{Width: w, Height: h, Zones: zones.Len(), SnapshotsAllowed: opts.Policy.Egress.Snapshots}
	// The detector must be ready, as it must be for a real snapshot: until
	// then the pipeline withholds every image.
	if err := anon.WaitReady(ctx); err != nil {
		res.Withheld, res.Reason = true, "face detector not available: "+err.Error()
	}
	res.Detector, res.NoDetector = anon.Detector()
	out := frame
	if !res.Withheld {
		jpeg, err := snapshot.Render(anon, &frame, nil, snapshot.DefaultQuality)
		if err != nil {
			res.Withheld, res.Reason = true, err.Error()
		} else {
			// Show the JPEG that would leave, not the frame before encoding.
			dec, err := gocv.IMDecode(jpeg, gocv.IMReadColor)
			if err != nil {
				return Result{}, fmt.Errorf("decode snapshot: %w", err)
			}
			defer dec.Close()
			out = dec
		}
	}
	if res.Withheld {
		out.SetTo(gocv.Scalar{})
	}
	drawZones(&out, zones.Polygons())
	if !gocv.IMWrite(opts.Out, out) {
		return Result{}, fmt.Errorf("cannot write %s", opts.Out)
	}
	return res, nil
}

// grab connects (video only, as the pipeline) and returns the first
// decoded picture as BGR at the snapshot width.
func grab(ctx context.Context, cam *config.Camera, width int, log *slog.Logger) (gocv.Mat, error) {
	sess, err := ingest.Open(ctx, ingest.Config{URL: cam.URL, Transport: cam.Transport, Logger: log})
	if err != nil {
		return gocv.Mat{}, err
	}
	defer sess.Close()
	info := sess.Info()
	cdc, err := codec.ParseCodec(info.Codec)
	if err != nil {
		return gocv.Mat{}, err
	}
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: cdc, ParamSets: info.ParamSets, Logger: log})
	if err != nil {
		return gocv.Mat{}, err
	}
	defer dec.Close()
	for {
		select {
		case <-ctx.Done():
			return gocv.Mat{}, fmt.Errorf("no picture from camera %s: %w", cam.ID, ctx.Err())
		case <-sess.Done():
			return gocv.Mat{}, fmt.Errorf("camera %s: stream ended: %w", cam.ID, errors.Join(sess.Err()))
		case au := <-sess.AccessUnits():
			got, err := dec.Decode(au.NALUs)
			if err != nil || !got {
				continue
			}
			sw, sh := dec.Size()
			w := min(width, sw) &^ 1
			h := (sh*w/sw + 1) &^ 1
			m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
			buf, err := m.DataPtrUint8()
			if err == nil {
				err = dec.ScaleBGR(buf, w, h, w*3)
			}
			if err != nil {
				m.Close()
				return gocv.Mat{}, err
			}
			return m, nil
		}
	}
}

// drawZones outlines the zones so the officer sees where they are; the
// outline is drawn on the preview only, never on a snapshot.
func drawZones(m *gocv.Mat, zones []geometry.Polygon) {
	w, h := float64(m.Cols()), float64(m.Rows())
	for _, z := range zones {
		pts := make([]image.Point, len(z))
		for i, p := range z {
			pts[i] = image.Pt(int(p.X*(w-1)+0.5), int(p.Y*(h-1)+0.5))
		}
		pv := gocv.NewPointsVectorFromPoints([][]image.Point{pts})
		gocv.Polylines(m, pv, true, color.RGBA{R: 255, G: 200, B: 0, A: 255}, 2)
		pv.Close()
	}
}
