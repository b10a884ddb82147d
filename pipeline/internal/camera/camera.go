// Package camera runs one camera: RTSP in, decode, privacy mask, analysis
// (motion and the rules), situations out. Each camera is an actor with
// Run(ctx) error; a Supervisor restarts it with back-off.
package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/motion"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/privacymask"
)

// ErrStalled: the session stayed open but delivered no picture.
var ErrStalled = errors.New("stream stalled")

// Sink receives what a camera wants to send. In the service it is the
// outbox in front of the egress guard; it must not block for long.
type Sink interface {
	Event(ctx context.Context, ev event.Event) error
	Status(ctx context.Context, st event.CameraStatus) error
}

// Config describes one camera.
type Config struct {
	Device    string
	ID        string
	URL       string // may carry credentials; only ever logged redacted
	Transport string // "tcp" or "udp"
	// AnalysisFPS is how many frames a second are analysed; every frame is
	// decoded (references need it) but only these are scaled and analysed.
	AnalysisFPS float64
	// AnalysisWidth is the width frames are scaled to for analysis; the
	// height follows the stream's aspect ratio.
	AnalysisWidth int
	// Motion is the motion detector, which runs on every analysed frame:
	// the rules are built on its blobs.
	Motion motion.Config
	// Analysis, if set, is the camera's analysis as analysis.Settings
	// builds it from the camera's config (the service sets it): every
	// stage's settings, frame counts at AnalysisFPS. It replaces Motion,
	// PersonHOG and PersonDetector, which without it make the analysis
	// with the other stages' defaults. Its Rules are not used: Rules
	// builds fresh ones for every session.
	Analysis *analysis.Config
	// LastSeq is the seq of this camera's last message before this run
	// (the outbox remembers it, outbox.Outbox.LastSeq): the first message
	// takes LastSeq+1, so seq keeps increasing across restarts and
	// consumers can order a camera's messages by it.
	LastSeq uint64
	// Rules builds the camera's rules (config.Camera.NewAllRules): the
	// motion rule, whose situations are the motion events, and the
	// behaviour-pattern rules. It is called at the start of every session
	// because rules keep per-track state; nil or no rules → no events.
	Rules func() ([]pattern.Rule, error)
	// PersonHOG runs OpenCV's HOG people detector on moving blobs so rules
	// can tell a person from an object (config person_detector: hog).
	PersonHOG bool
	// PersonDetector is the config's person_detector (analysis.Config's);
	// it overrides PersonHOG when set.
	PersonDetector string
	// Zones are the privacy zones filled at the decoder's output; nil →
	// none.
	Zones *privacymask.Zones
	// Snapshots, if set, receives a frame at the start of every situation
	// while it says it wants one (the policy allows snapshots).
	Snapshots SnapshotSink
	// SnapshotWidth is the width of snapshot frames; 0 → 1280 (never
	// larger than the stream).
	SnapshotWidth int
	// QueueSize bounds the access units waiting for the decoder.
	QueueSize int
	Timeout   time.Duration
	// StallTimeout: a session that delivers no decodable picture for this
	// long is dropped and reconnected; 0 → 10 s.
	StallTimeout time.Duration
	Sink         Sink
	Logger       *slog.Logger
}

// SnapshotSink takes snapshot frames: BGR, privacy zones already filled.
type SnapshotSink interface {
	Wanted() bool
	// Submit takes ownership of frame; blobs are in frame pixels.
	Submit(frame *gocv.Mat, camera, eventID string, blobs []image.Rectangle)
}

// snapRequest asks the decode goroutine for a snapshot of the next frame.
type snapRequest struct {
	eventID string
	boxes   []event.Box // normalised
}

// Stats are a camera's counters since it was created.
type Stats struct {
	AccessUnits     uint64 // received from the camera
	DroppedAUs      uint64 // dropped because decoding fell behind
	Decoded         uint64
	DecodeErrors    uint64
	Analysed        uint64
	DroppedFrames   uint64 // analysis frames replaced before analysis took them
	Events          uint64
	SessionsStarted uint64
	StatusChanges   uint64 // states published on the status topic
	LostPackets     uint64 // RTP packets the network lost (UDP)
	SkippedAUs      uint64 // not decodable: waiting for a key frame after loss or damage
	NotDecoded      uint64 // non-reference pictures neither analysis nor a snapshot wanted
	// DecodeCPU is the CPU time spent decoding (the decoder threads' exact
	// account), up to the AU before the latest.
	DecodeCPU         time.Duration
	LastAnalysisWidth int
	// RulesSuspended is why the rules do not fully judge the frames now
	// (warm-up, a light change, a moved view, a view without texture);
	// NotSuspended while they do. RulesSuspendedFor is the analysed time
	// spent under each reason since the camera was created, by reason.
	RulesSuspended    pattern.Suspension
	RulesSuspendedFor [pattern.SuspensionReasons]time.Duration
}

// Camera is one camera's actor.
type Camera struct {
	cfg   Config
	log   *slog.Logger
	zones atomic.Pointer[privacymask.Zones]
	seq   atomic.Uint64

	accessUnits, droppedAUs, decoded, decodeErrors atomic.Uint64
	analysed, droppedFrames, events, sessions      atomic.Uint64
	analysisWidth                                  atomic.Int64

	snapReq atomic.Pointer[snapRequest]
	live    liveState // the console's live view (live.go)

	lastState     atomic.Value // event.CameraStatus: the last one published
	statusChanges atomic.Uint64
	lost, skipped atomic.Uint64
	notDecoded    atomic.Uint64
	decodeCPU     atomic.Int64 // ns, over all sessions
	// suspended is the analysis' current pattern.Suspension, suspendedNs
	// the time spent under each (Stats.RulesSuspended, RulesSuspendedFor).
	suspended   atomic.Uint32
	suspendedNs [pattern.SuspensionReasons]atomic.Int64
	// lastPicture is when the last picture was decoded (unix ns; 0 before
	// the first), for the video-loss watch.
	lastPicture atomic.Int64

	// inspect, in tests, sees every frame exactly as analysis receives it.
	inspect func(gocv.Mat)
	// attempted, in tests, is called at the start of every session
	// attempt: retries publish no status, so tests time them here.
	attempted func()
}

// New checks cfg and returns a camera that is not running yet.
func New(cfg Config) (*Camera, error) {
	if cfg.ID == "" || cfg.URL == "" || cfg.Sink == nil {
		return nil, errors.New("camera: ID, URL and Sink are required")
	}
	if cfg.AnalysisFPS <= 0 {
		cfg.AnalysisFPS = 5
	}
	if cfg.AnalysisWidth <= 0 {
		cfg.AnalysisWidth = 640
	}
	if cfg.SnapshotWidth <= 0 {
		cfg.SnapshotWidth = 1280
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 10 * time.Second
	}
	if cfg.Rules != nil {
		// Build once now so that a broken rule set fails here, not in the
		// first session; every session builds its own fresh rules.
		rules, err := cfg.Rules()
		if err == nil {
			_, err = pattern.NewPipeline(cfg.analysisConfig().Track, rules...)
		}
		if err != nil {
			return nil, fmt.Errorf("camera %s: rules: %w", cfg.ID, err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Camera{cfg: cfg, log: cfg.Logger.With("camera", cfg.ID)}
	c.seq.Store(cfg.LastSeq)
	if cfg.Zones == nil {
		cfg.Zones = privacymask.NewZones(nil)
	}
	c.zones.Store(cfg.Zones)
	return c, nil
}

// ID returns the camera's id.
func (c *Camera) ID() string { return c.cfg.ID }

// SetZones replaces the privacy zones; the decode goroutine applies the new
// mask before the next analysis frame or snapshot leaves it. Zones equal to
// the current ones are kept, with the masks they have built.
func (c *Camera) SetZones(z *privacymask.Zones) {
	if z == nil {
		z = privacymask.NewZones(nil)
	}
	if cur := c.zones.Load(); cur != nil && cur.Equal(z) {
		return
	}
	c.zones.Store(z)
}

// Stats returns the counters.
func (c *Camera) Stats() Stats {
	return Stats{
		AccessUnits: c.accessUnits.Load(), DroppedAUs: c.droppedAUs.Load(),
		Decoded: c.decoded.Load(), DecodeErrors: c.decodeErrors.Load(),
		Analysed: c.analysed.Load(), DroppedFrames: c.droppedFrames.Load(),
		Events: c.events.Load(), SessionsStarted: c.sessions.Load(),
		StatusChanges: c.statusChanges.Load(), LostPackets: c.lost.Load(), SkippedAUs: c.skipped.Load(),
		NotDecoded:        c.notDecoded.Load(),
		DecodeCPU:         time.Duration(c.decodeCPU.Load()),
		LastAnalysisWidth: int(c.analysisWidth.Load()),
		RulesSuspended:    pattern.Suspension(c.suspended.Load()),
		RulesSuspendedFor: c.suspendedFor(),
	}
}

func (c *Camera) suspendedFor() (d [pattern.SuspensionReasons]time.Duration) {
	for i := range d {
		d[i] = time.Duration(c.suspendedNs[i].Load())
	}
	return d
}

// LastStatus is the last status the camera published (what its retained
// status topic says, whether or not the Sink could queue it); the zero
// value before the first.
func (c *Camera) LastStatus() event.CameraStatus {
	st, _ := c.lastState.Load().(event.CameraStatus)
	return st
}

// status publishes st unless it tells a consumer nothing new. since is
// when the state changed, and retries are counted (Stats.SessionsStarted,
// edgeguard_camera_reconnects_total), not announced (docs/events.md, Camera
// status): a camera that stays down for a week keeps one retained status
// with the time it went down, instead of flapping connecting/offline with
// every retry and moving since each time.
//
//   - While the camera is offline or in error, a retry's connecting is not
//     published: the retained status keeps saying why it is down.
//   - The same state with the same details is not published again.
//   - The same state with other details (a changed reason, a new
//     resolution) is published with the state's since.
func (c *Camera) status(ctx context.Context, st event.CameraStatus) {
	st.Device, st.Camera = c.cfg.Device, c.cfg.ID
	last, _ := c.lastState.Load().(event.CameraStatus)
	if st.State == event.StateConnecting && (last.State == event.StateOffline || last.State == event.StateError) {
		return
	}
	if st.State == last.State {
		st.Since = last.Since
		if st == last {
			return
		}
	}
	if st.Since.IsZero() {
		st.Since = event.Time{Time: time.Now()}
	}
	c.lastState.Store(st)
	c.statusChanges.Add(1)
	if err := c.cfg.Sink.Status(ctx, st); err != nil && ctx.Err() == nil {
		c.log.Warn("camera status not queued", "state", st.State, "err", err)
	}
}

// Run connects once and processes the stream until it ends or ctx is
// cancelled. A running situation is always ended before Run returns.
func (c *Camera) Run(ctx context.Context) error {
	c.sessions.Add(1)
	if c.attempted != nil {
		c.attempted()
	}
	c.status(ctx, event.CameraStatus{State: event.StateConnecting})
	sess, err := ingest.Open(ctx, ingest.Config{
		URL: c.cfg.URL, Transport: c.cfg.Transport, QueueSize: c.cfg.QueueSize,
		Timeout: c.cfg.Timeout, Logger: c.log,
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	info := sess.Info()
	cdc, err := codec.ParseCodec(info.Codec)
	if err != nil {
		return &ingest.UnsupportedCodecError{Offered: []string{info.Codec}}
	}
	// Parameter sets from the SDP, for cameras that do not repeat them in band.
	dec, err := codec.NewDecoder(codec.DecoderConfig{Codec: cdc, ParamSets: info.ParamSets, Logger: c.log})
	if err != nil {
		return err
	}
	defer dec.Close()
	c.log.Info("camera session started", "codec", info.Codec, "offered", info.OfferedMedia, "url", redact.URL(c.cfg.URL))

	pool := &framePool{}
	defer pool.Close()
	slot := newLatestSlot(func(m *gocv.Mat) {
		c.droppedFrames.Add(1)
		pool.put(m)
	})

	actx, stopAnalysis := context.WithCancel(ctx)
	var wg sync.WaitGroup
	an := &analyser{cam: c, slot: slot, pool: pool}
	wg.Add(1)
	go func() {
		defer wg.Done()
		an.run(actx)
	}()
	err = c.decodeLoop(ctx, sess, dec, cdc, pool, slot)
	stopAnalysis()
	wg.Wait()
	an.close()
	return err
}

// decodeLoop decodes every access unit and, at the analysis rate, scales the
// picture to the analysis size and fills the privacy zones before anything
// else can see it (invariant 2).
func (c *Camera) decodeLoop(ctx context.Context, sess *ingest.Session, dec *codec.Decoder,
	cdc codec.Codec, pool *framePool, slot *latestSlot) error {
	sampling := NewAnalysisRate(c.cfg.AnalysisFPS)
	var (
		rate        fpsEstimator
		streaming   bool
		lastDropped uint64
		lastLost    uint64
		lastSkipped uint64
		lastCPU     time.Duration
		shownW      int
		shownH      int
		shownFPS    float64
		lastErrLog  time.Time
	)
	// A camera can keep the RTSP session open and send nothing (frozen
	// encoder, half-dead network path); without pictures for StallTimeout
	// the session is dropped and the supervisor reconnects.
	stall := time.NewTimer(c.cfg.StallTimeout)
	defer stall.Stop()
	for {
		var au ingest.AccessUnit
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sess.Done():
			if err := sess.Err(); err != nil {
				return err
			}
			return ingest.ErrStreamEnded
		case <-stall.C:
			return fmt.Errorf("%w: no picture for %v", ErrStalled, c.cfg.StallTimeout)
		case au = <-sess.AccessUnits():
		}
		c.accessUnits.Add(1)
		if d := sess.Dropped(); d != lastDropped {
			c.droppedAUs.Add(d - lastDropped)
			lastDropped = d
		}
		if l := sess.Lost(); l != lastLost {
			c.lost.Add(l - lastLost)
			lastLost = l
		}
		ds := dec.Stats()
		if ds.Skipped != lastSkipped {
			c.skipped.Add(ds.Skipped - lastSkipped)
			lastSkipped = ds.Skipped
		}
		if ds.CPU != lastCPU {
			c.decodeCPU.Add(int64(ds.CPU - lastCPU))
			lastCPU = ds.CPU
		}
		if au.Discontinuity {
			dec.ResetToKeyframe()
		}
		// A picture no other picture refers to is decoded only when analysis
		// or a snapshot wants it: skipping it changes nothing else. Not
		// before the stream's rate is known, which is counted in pictures.
		if streaming && !au.Discontinuity && !sampling.Due(au.Received) &&
			c.snapReq.Load() == nil && c.live.req.Load() == nil && codec.Discardable(cdc, au.NALUs) {
			c.notDecoded.Add(1)
			continue
		}
		got, err := dec.Decode(au.NALUs)
		if err != nil {
			c.decodeErrors.Add(1)
			if time.Since(lastErrLog) > 10*time.Second {
				lastErrLog = time.Now()
				c.log.Warn("decode error; waiting for the next key frame", "err", err, "decode_errors", c.decodeErrors.Load())
			}
			continue
		}
		if !got {
			continue
		}
		c.decoded.Add(1)
		c.lastPicture.Store(time.Now().UnixNano())
		stall.Reset(c.cfg.StallTimeout)
		srcW, srcH := dec.Size()
		if !streaming {
			if fps, ok := rate.observe(au.PTS); ok {
				streaming = true
				shownW, shownH, shownFPS = srcW, srcH, fps
				c.status(ctx, event.CameraStatus{State: event.StateStreaming, Codec: cdc.String(), Width: srcW, Height: srcH, FPS: fps})
				c.log.Info("camera streaming", "codec", cdc.String(), "width", srcW, "height", srcH, "fps", fps)
			}
		} else if srcW != shownW || srcH != shownH {
			// Resolution changed mid-stream (firmware update, profile
			// switch): keep the retained status true.
			shownW, shownH = srcW, srcH
			c.status(ctx, event.CameraStatus{State: event.StateStreaming, Codec: cdc.String(), Width: srcW, Height: srcH, FPS: shownFPS})
			c.log.Info("camera resolution changed", "width", srcW, "height", srcH)
		}
		if r := c.snapReq.Swap(nil); r != nil {
			if err := c.snapshot(dec, r, srcW, srcH); err != nil {
				return err
			}
		}
		if r := c.live.req.Swap(nil); r != nil {
			if err := c.answerLive(dec, r, srcW, srcH); err != nil {
				return err
			}
		}
		if !sampling.Take(au.Received) {
			continue
		}
		w, h := analysisSize(srcW, srcH, c.cfg.AnalysisWidth)
		c.analysisWidth.Store(int64(w))
		m := pool.get(w, h)
		buf, err := m.DataPtrUint8()
		if err == nil {
			err = dec.ScaleGray(buf, w, h, w)
		}
		if err != nil {
			pool.put(m)
			return fmt.Errorf("scale: %w", err)
		}
		// The zones' mask for this size, built once and kept until the zones
		// or the size change.
		if err := c.zones.Load().Apply(*m, privacymask.Grey); err != nil {
			// Fail closed: without a valid mask nothing is analysed.
			pool.put(m)
			return fmt.Errorf("privacy zones: %w", err)
		}
		slot.offer(analysisFrame{mat: m, at: au.Received.UnixNano()})
	}
}

// snapshot scales the current picture to the snapshot size in BGR and
// fills the privacy zones before the frame leaves the decode goroutine,
// exactly as for analysis frames (invariant 2), with the same zones' mask
// at this size.
func (c *Camera) snapshot(dec *codec.Decoder, r *snapRequest, srcW, srcH int) error {
	w, h := analysisSize(srcW, srcH, c.cfg.SnapshotWidth)
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	buf, err := frame.DataPtrUint8()
	if err == nil {
		err = dec.ScaleBGR(buf, w, h, w*3)
	}
	if err != nil {
		frame.Close()
		return fmt.Errorf("scale snapshot: %w", err)
	}
	if err := c.zones.Load().Apply(frame, privacymask.BGR); err != nil {
		frame.Close()
		return fmt.Errorf("privacy zones: %w", err)
	}
	blobs := make([]image.Rectangle, 0, len(r.boxes))
	for _, b := range r.boxes {
		blobs = append(blobs, image.Rect(int(b.X*float64(w)), int(b.Y*float64(h)),
			int((b.X+b.W)*float64(w)+0.999), int((b.Y+b.H)*float64(h)+0.999)))
	}
	c.cfg.Snapshots.Submit(&frame, c.cfg.ID, r.eventID, blobs)
	return nil
}

// analysisSize keeps the aspect ratio and even dimensions, and never scales up.
func analysisSize(srcW, srcH, width int) (int, int) {
	if width > srcW {
		width = srcW
	}
	width &^= 1
	h := (srcH*width/srcW + 1) &^ 1
	if h < 2 {
		h = 2
	}
	return width, h
}

// fpsEstimator measures the stream's frame rate from presentation times of
// the first frames.
type fpsEstimator struct {
	n           int
	first, last time.Duration
}

const fpsSample = 12

func (e *fpsEstimator) observe(pts time.Duration) (float64, bool) {
	if e.n == 0 {
		e.first = pts
	}
	e.last = pts
	e.n++
	if e.n < fpsSample {
		return 0, false
	}
	span := e.last - e.first
	if span <= 0 {
		return 0, true
	}
	fps := float64(e.n-1) / span.Seconds()
	return float64(int(fps*100+0.5)) / 100, true
}
