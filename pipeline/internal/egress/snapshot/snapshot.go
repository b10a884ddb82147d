// Package snapshot turns a frame into an image that may leave the device:
// privacy zones are already filled by the camera at the decoder's output;
// here faces (and, if the policy says so, moving persons) are covered, and
// the result is encoded as a JPEG without metadata. A frame that cannot be
// anonymised is withheld (fail closed): the event still goes out, the
// image does not.
package snapshot

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
)

// DefaultQuality is the JPEG quality of snapshots.
const DefaultQuality = 80

// Render anonymises bgr in place and encodes it. It is the one code path
// for every image that leaves — the pipeline's snapshots and the privacy
// officer's preview — so that the preview shows exactly what a snapshot
// would. On error bgr has been filled completely and no JPEG is returned.
func Render(anon *anonymise.Anonymiser, bgr *gocv.Mat, blobs []image.Rectangle, quality int) ([]byte, error) {
	if anon == nil {
		bgr.SetTo(gocv.Scalar{})
		return nil, anonymise.ErrNotAnonymised
	}
	if err := anon.Apply(bgr, blobs); err != nil {
		return nil, err
	}
	return anonymise.EncodeJPEG(*bgr, quality)
}

// Publisher takes a finished snapshot. In the service it is the outbox,
// which queues the image behind its situation's start and hands it to the
// egress guard after the start was judged (the guard refuses an image
// whose start it has not admitted). Sent in Stats counts images the
// Publisher took; PublishFailed, images it refused.
type Publisher interface {
	PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error
}

// Config for a Worker.
type Config struct {
	// Anonymiser returns the anonymiser in force (it changes with the
	// policy); nil means none, and every snapshot is withheld.
	Anonymiser func() *anonymise.Anonymiser
	Publisher  Publisher
	Quality    int // 0 → DefaultQuality
	// Queue bounds frames waiting for anonymisation; a full queue drops
	// the new snapshot (counted), never blocks a camera.
	Queue  int
	Logger *slog.Logger
}

// Stats are a worker's counters, and which face detector it anonymises
// with.
type Stats struct {
	Submitted, Sent, Withheld, Dropped, PublishFailed uint64
	// Detector is the anonymiser's face detector ("blazeface"), or "none"
	// while there is none; WithheldReason then says why every image is
	// withheld, e.g. the missing model and how to install it. Empty while
	// images can be anonymised (a single image may still be withheld, e.g.
	// on a detector timeout; the log says so).
	Detector, WithheldReason string
}

type job struct {
	frame   *gocv.Mat
	camera  string
	eventID string
	blobs   []image.Rectangle
}

// Worker anonymises and publishes snapshots off the cameras' goroutines:
// face detection takes milliseconds to tens of milliseconds and must not
// stall decoding.
type Worker struct {
	cfg  Config
	log  *slog.Logger
	jobs chan job
	done chan struct{}

	submitted, sent, withheld, dropped, failed atomic.Uint64
	lastWithheldLog                            atomic.Int64
}

// New returns a worker; Run runs it. It owns nothing until Run (whose
// end discards what is queued), so it has no Close.
func New(cfg Config) *Worker {
	if cfg.Quality == 0 {
		cfg.Quality = DefaultQuality
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Worker{cfg: cfg, log: cfg.Logger, jobs: make(chan job, cfg.Queue), done: make(chan struct{})}
}

// Submit hands over frame (a BGR Mat with privacy zones filled; the worker
// closes it) for the event eventID. blobs are in frame pixels.
func (w *Worker) Submit(frame *gocv.Mat, camera, eventID string, blobs []image.Rectangle) {
	w.submitted.Add(1)
	select {
	case <-w.done:
	case w.jobs <- job{frame: frame, camera: camera, eventID: eventID, blobs: blobs}:
		return
	default:
	}
	w.dropped.Add(1)
	frame.Close()
}

// Stats returns the counters and the anonymiser's detector.
func (w *Worker) Stats() Stats {
	st := Stats{Submitted: w.submitted.Load(), Sent: w.sent.Load(), Withheld: w.withheld.Load(),
		Dropped: w.dropped.Load(), PublishFailed: w.failed.Load()}
	var anon *anonymise.Anonymiser
	if w.cfg.Anonymiser != nil {
		anon = w.cfg.Anonymiser()
	}
	if anon == nil {
		st.Detector, st.WithheldReason = anonymise.DetectorNone, "no anonymiser in force (snapshots off)"
	} else {
		st.Detector, st.WithheldReason = anon.Detector()
	}
	return st
}

// Run processes snapshots until ctx ends; frames still queued then are
// discarded. It returns nil.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		close(w.done)
		for {
			select {
			case j := <-w.jobs:
				j.frame.Close()
			default:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-w.jobs:
			w.process(ctx, j)
		}
	}
}

func (w *Worker) process(ctx context.Context, j job) {
	defer j.frame.Close()
	var anon *anonymise.Anonymiser
	if w.cfg.Anonymiser != nil {
		anon = w.cfg.Anonymiser()
	}
	jpeg, err := Render(anon, j.frame, j.blobs, w.cfg.Quality)
	if err != nil {
		w.withheld.Add(1)
		// One line per 10 s at most: a broken detector must not flood the log.
		if now := time.Now().UnixNano(); now-w.lastWithheldLog.Load() > int64(10*time.Second) {
			w.lastWithheldLog.Store(now)
			w.log.Warn("snapshot withheld: it could not be anonymised; the event was sent without it",
				"camera", j.camera, "event_id", j.eventID, "err", err, "withheld_total", w.withheld.Load())
		}
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.cfg.Publisher.PublishSnapshot(pctx, j.camera, j.eventID, jpeg); err != nil {
		w.failed.Add(1)
		if !errors.Is(err, context.Canceled) {
			w.log.Warn("snapshot not published", "camera", j.camera, "event_id", j.eventID, "err", err)
		}
		return
	}
	w.sent.Add(1)
}
