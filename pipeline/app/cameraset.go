package app

import (
	"context"
	"log/slog"
	"reflect"
	"sync"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
	"github.com/edgeguard/edgeguard/policy"
)

// cameraSet is the camera supervisor: one supervised actor per enabled
// camera (camera.Supervise), started by Run and stopped when Run's ctx
// ends. A reload hands it a cameraPlan (apply): cameras added start,
// cameras removed stop, cameras whose configuration changed restart alone,
// and the others keep their RTSP session and only take the policy's new
// zones. Only Run touches the running cameras, so a plan is carried out
// between two steps of Run, never beside them.
type cameraSet struct {
	log   *slog.Logger
	box   *outbox.Outbox
	obs   *observe.Server
	snaps *snapshots
	// console, when the web console is on, is told which cameras run.
	console *consoleCameras
	// over gates each camera with its analysis pause (oversight.go).
	over *oversightCtl

	initial []*runningCamera          // built by newCameraSet, started by Run
	plans   chan appliedPlan          // to Run
	done    chan struct{}             // closed when Run returns
	running map[string]*runningCamera // Run's own
}

type runningCamera struct {
	cfg  camera.Config // as built, LastSeq and Sink included
	cam  *camera.Camera
	stop context.CancelFunc
	done chan struct{}
}

// cameraConfig is a camera as the configuration asks for it: what it is
// built from (cfg; newCameraConfigs) and the camera's entry in the file it
// came from (src), which also holds what cfg only has as a function (the
// rules).
type cameraConfig struct {
	cfg camera.Config
	src config.Camera
}

// cameraConfigs pairs newCameraConfigs' cameras with their entries in cfg.
func cameraConfigs(cfg *config.Config, pol *policy.Policy) ([]cameraConfig, error) {
	ccs, err := newCameraConfigs(cfg, pol)
	if err != nil {
		return nil, err
	}
	out := make([]cameraConfig, len(ccs))
	for i, cc := range ccs {
		out[i].cfg = cc
		for _, c := range cfg.Cameras {
			if c.ID == cc.ID {
				out[i].src = c
			}
		}
	}
	return out, nil
}

// cameraPlan is what a reload does to the cameras.
type cameraPlan struct {
	start   []camera.Config // added
	restart []camera.Config // changed
	stop    []string        // removed
	pol     *policy.Policy  // its zones go to every camera kept
}

// ids are the cameras' ids.
func ids(ccs []camera.Config) []string {
	out := []string{}
	for _, c := range ccs {
		out = append(out, c.ID)
	}
	return out
}

type appliedPlan struct {
	plan cameraPlan
	done chan struct{}
}

// planCameras compares the cameras in force with those the new
// configuration asks for. A camera restarts when anything it is built from
// differs — its entry in the file (URL, analysis, motion, rules, …) or any
// field of its camera.Config — except the privacy zones, which a running
// camera swaps live (setZones). Cameras to start or restart are built
// once here (camera.New, which connects to nothing), so that a camera the
// new configuration cannot build fails the reload before anything changes.
func planCameras(cur, next []cameraConfig, pol *policy.Policy, check func(camera.Config) error) (cameraPlan, error) {
	p := cameraPlan{pol: pol}
	old := map[string]cameraConfig{}
	for _, c := range cur {
		old[c.cfg.ID] = c
	}
	seen := map[string]bool{}
	for _, n := range next {
		seen[n.cfg.ID] = true
		o, ok := old[n.cfg.ID]
		switch {
		case !ok:
			p.start = append(p.start, n.cfg)
		case !sameCamera(o, n):
			p.restart = append(p.restart, n.cfg)
		default:
			continue
		}
		if err := check(n.cfg); err != nil {
			return cameraPlan{}, err
		}
	}
	for _, c := range cur {
		if !seen[c.cfg.ID] {
			p.stop = append(p.stop, c.cfg.ID)
		}
	}
	return p, nil
}

// sameCamera: nothing a camera is built from changed but its zones.
func sameCamera(a, b cameraConfig) bool {
	return reflect.DeepEqual(a.src, b.src) && reflect.DeepEqual(builtFrom(a.cfg), builtFrom(b.cfg))
}

// builtFrom is cc without what does not make a camera differ: the zones
// (swapped live), what the service wires in at start (sink, snapshots,
// logger, the seq to continue from) and functions, which compare only
// by identity (the rules: their source is in the file entry).
func builtFrom(cc camera.Config) camera.Config {
	cc.Zones, cc.Sink, cc.Snapshots, cc.Logger, cc.LastSeq = nil, nil, nil, nil, 0
	v := reflect.ValueOf(&cc).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Func && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return cc
}

// newCameraSet builds every camera of ccs (to be started by Run).
func newCameraSet(ccs []cameraConfig, box *outbox.Outbox, obs *observe.Server, snaps *snapshots, over *oversightCtl, log *slog.Logger) (*cameraSet, error) {
	s := &cameraSet{log: log, box: box, obs: obs, snaps: snaps, over: over,
		plans: make(chan appliedPlan), done: make(chan struct{}), running: map[string]*runningCamera{}}
	for _, cc := range ccs {
		rc, err := s.build(cc.cfg)
		if err != nil {
			return nil, err
		}
		s.initial = append(s.initial, rc)
	}
	return s, nil
}

// wire is cc as it runs: events and statuses to the outbox, snapshots to
// the worker, seq continuing from the outbox's last message of the camera.
func (s *cameraSet) wire(cc camera.Config) camera.Config {
	cc.Sink = s.box
	cc.LastSeq = s.box.LastSeq(cc.ID)
	cc.Snapshots = s.snaps
	cc.Logger = s.log
	return s.over.gate(cc) // events and snapshots pass the analysis pause
}

// check builds cc without running it: what a reload calls before it
// changes anything.
func (s *cameraSet) check(cc camera.Config) error {
	_, err := camera.New(s.wire(cc))
	return err
}

func (s *cameraSet) build(cc camera.Config) (*runningCamera, error) {
	cc = s.wire(cc)
	cam, err := camera.New(cc)
	if err != nil {
		return nil, err
	}
	s.over.add(cc.Sink)
	return &runningCamera{cfg: cc, cam: cam}, nil
}

// Run starts the cameras and supervises them until ctx ends; then it stops
// them all (each ends its open situation and says offline), and returns
// nil.
func (s *cameraSet) Run(ctx context.Context) error {
	defer close(s.done)
	for _, rc := range s.initial {
		s.start(ctx, rc)
	}
	s.initial = nil
	for {
		select {
		case <-ctx.Done():
			s.stop(mapKeys(s.running))
			return nil
		case a := <-s.plans:
			s.do(ctx, a.plan)
			close(a.done)
		}
	}
}

// apply has Run carry out p and returns when it has (or when Run has
// ended).
func (s *cameraSet) apply(p cameraPlan) {
	a := appliedPlan{plan: p, done: make(chan struct{})}
	select {
	case s.plans <- a:
	case <-s.done:
		return
	}
	select {
	case <-a.done:
	case <-s.done:
	}
}

func (s *cameraSet) do(ctx context.Context, p cameraPlan) {
	// Those that go stop first (together), so that a restarted camera's
	// new actor continues the seq of the old one's last message.
	var stop []string
	stop = append(stop, p.stop...)
	for _, cc := range p.restart {
		stop = append(stop, cc.ID)
	}
	s.stop(stop)
	for _, rc := range s.running {
		setZones(rc.cam, p.pol)
	}
	for _, cc := range append(append([]camera.Config(nil), p.restart...), p.start...) {
		rc, err := s.build(cc)
		if err != nil {
			// Not expected: planCameras built the same configuration.
			s.log.Error("camera not started", "camera", cc.ID, "err", err)
			continue
		}
		s.start(ctx, rc)
	}
}

func (s *cameraSet) start(ctx context.Context, rc *runningCamera) {
	cctx, stop := context.WithCancel(ctx)
	rc.stop, rc.done = stop, make(chan struct{})
	s.running[rc.cfg.ID] = rc
	s.obs.AddCamera(observedCamera{rc.cam})
	s.console.add(rc.cam)
	go func() {
		defer close(rc.done)
		camera.Supervise(cctx, rc.cam, camera.DefaultBackoff)
	}()
}

// stop stops the cameras ids together and waits for them: each ends its
// open situation and publishes offline, as at shutdown.
func (s *cameraSet) stop(ids []string) {
	var wg sync.WaitGroup
	for _, id := range ids {
		if rc, ok := s.running[id]; ok {
			rc.stop()
			wg.Go(func() { <-rc.done })
		}
	}
	wg.Wait()
	for _, id := range ids {
		if _, ok := s.running[id]; ok {
			delete(s.running, id)
			s.obs.RemoveCamera(id)
			s.console.remove(id)
			s.over.remove(id)
		}
	}
}

// setZones gives a running camera the privacy zones pol sets for it: the
// one place a policy's zones reach a camera that keeps running.
func setZones(cam *camera.Camera, pol *policy.Policy) {
	cam.SetZones(zonesFor(pol, cam.ID()))
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
