// Package app is edgeguard's runtime: it loads the configuration and
// the privacy policy, starts the broker (if embedded), the egress guard,
// the outbox and one supervised actor per camera, and shuts them down in
// order. cmd/edgeguard only parses flags and signals and calls Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/broker"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/cruntime"
	"github.com/edgeguard/edgeguard/policy"
)

// Options for Run.
type Options struct {
	Config *config.Config
	// Policy overrides the config's policy file (the demo, tests); nil loads
	// Config.Policy, or the built-in most private policy when that is empty.
	Policy *policy.Policy
	Logger *slog.Logger
	// Reload, when it receives, re-reads the policy file (SIGHUP).
	Reload <-chan struct{}
	// PolicyPollInterval is how often the policy file is checked for
	// changes (by content hash, so editors that replace the file are seen
	// too); 0 → 2 s, negative disables watching.
	PolicyPollInterval time.Duration
	// BrokerObserver sees every message the embedded broker receives (the
	// demo prints them). Unused with an external broker.
	BrokerObserver func(topic string, payload []byte, retained bool)
	// Started is called once everything runs, with the broker's URL.
	Started func(brokerURL string)
	// ShutdownTimeout bounds the clean shutdown; 0 → 10 s.
	ShutdownTimeout time.Duration

	// anonymise adjusts the anonymiser's configuration (tests inject
	// detector faults with it).
	anonymise func(anonymise.Config) anonymise.Config
}

// LoadPolicy loads the policy named by cfg, or the built-in default. A
// policy that cannot be loaded is an error: the service does not start
// without the rules it must enforce (fail closed).
func LoadPolicy(cfg *config.Config) (*policy.Policy, error) {
	if cfg.Policy == "" {
		return policy.Default(), nil
	}
	return policy.Load(cfg.Policy)
}

// Run runs the service until ctx is cancelled, then shuts down cleanly:
// cameras stop (ending open situations), the outbox drains, "offline" is
// published, the broker stops. It returns nil after a clean shutdown.
func Run(ctx context.Context, opts Options) error {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	// Everything that can be refused is refused before anything starts
	// (Check, the same as `edgeguard config check`): the files named, the
	// policy against the configuration, and where events wait, so that an
	// outbox directory that cannot be used stops the start with nothing to
	// undo and before any broker is contacted.
	chk, err := check(cfg, opts.Policy)
	if err != nil {
		return err
	}
	for _, w := range chk.Warnings {
		log.Warn(w)
	}
	pol := chk.Policy
	cams, err := newCameraConfigs(cfg, pol)
	if err != nil {
		return err
	}
	// Said once: a default (no outbox.dir) must be visible in the log.
	boxPlace := chk.Outbox
	if boxPlace.Dir == "" {
		log.Warn("outbox in memory only (outbox.memory: true): a crash or restart loses events waiting for the broker")
	} else {
		log.Info("outbox location", "dir", boxPlace.Dir, "default", boxPlace.Default, "why", boxPlace.Why)
	}
	// The outbox directory is locked before the broker is contacted: a
	// second instance on the same directory (often the same config started
	// twice) must stop before its MQTT session takes the first one's over.
	var boxLock *outbox.DirLock
	if boxPlace.Dir != "" {
		if boxLock, err = outbox.LockDir(boxPlace.Dir); err != nil {
			return err
		}
		defer func() { boxLock.Release() }() // until outbox.New takes it over; then a no-op
	}
	// Many cameras on few cores: OpenCV's thread pool only adds hand-offs
	// and spinning (see pipeline/internal/video/cruntime). Not fatal: it costs CPU, not
	// privacy.
	if err := cruntime.Apply(cruntime.Defaults); err != nil {
		log.Warn("C library settings not applied; analysis uses more CPU", "err", err)
	} else {
		log.Info("C libraries set for many cameras", "opencv_threads", cruntime.OpenCVThreads(), "keep_heap", cruntime.Defaults.KeepHeap)
	}

	brokerURL := cfg.MQTT.Broker
	if cfg.MQTT.Embedded() {
		b, err := broker.Start(broker.Config{Addr: cfg.MQTT.EmbeddedAddr, Logger: log, Observer: opts.BrokerObserver})
		if err != nil {
			return fmt.Errorf("embedded MQTT broker: %w (is another broker using the port? set mqtt.broker to use it)", err)
		}
		defer b.Close()
		brokerURL = "tcp://" + b.Addr()
		log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}
	password, err := cfg.MQTT.Password()
	if err != nil {
		return err
	}
	tlsCfg, err := cfg.MQTT.TLSConfig() // nil for the embedded broker and tcp://
	if err != nil {
		return err
	}
	guard, err := egress.New(egress.Config{
		Broker: brokerURL, ClientID: cfg.MQTT.ClientID, TopicPrefix: cfg.MQTT.TopicPrefix,
		Device: cfg.Device, Username: cfg.MQTT.Username, Password: password,
		TLS: tlsCfg, CleanSession: cfg.MQTT.CleanSession,
		KeepAlive: cfg.MQTT.KeepAlive, Logger: log,
	}, pol)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := guard.Connect(cctx); err != nil {
		// Not fatal: the guard keeps connecting and messages queue.
		log.Warn("MQTT broker not reachable yet; events queue until it is", "err", err)
	}
	cancel()
	publishPolicy(ctx, guard, pol, log)

	boxSync, err := outbox.ParseSync(cfg.Outbox.Sync)
	if err != nil {
		guard.Close(context.Background())
		return err
	}
	box, err := outbox.New(outbox.Config{
		Publisher: guard,
		Dir:       boxPlace.Dir,
		DirLock:   boxLock,
		// A start is never left without its end, and seq keeps
		// increasing, also across a kill -9 or a power cut.
		EndOpenSituations: true,
		MaxBytes:          int64(cfg.Outbox.MaxMB) << 20,
		Sync:              boxSync,
		// The policy's retention.outbox; "0s" (not at all) still leaves a
		// second for the hand-over to the broker itself.
		MaxAge: max(pol.Retention.Outbox, time.Second),
		IsSuppressed: func(err error) bool {
			return errors.Is(err, egress.ErrSuppressed)
		},
		Logger: log,
	})
	if err != nil {
		guard.Close(context.Background())
		return err
	}

	snaps := &snapshots{log: log, override: opts.anonymise}
	// Images queue in the outbox behind their start, so the guard judges
	// the start before the image (see outbox.Outbox.Snapshot).
	snaps.worker = snapshot.NewWorker(snapshot.Config{Anonymiser: snaps.anonymiser, Publisher: outboxSnapshots{box}, Logger: log})
	if err := snaps.setPolicy(pol); err != nil {
		box.Close()
		guard.Close(context.Background())
		return err
	}
	defer snaps.close()

	obs, err := observe.New(observe.Config{
		Addr: cfg.HTTP.Addr, Device: cfg.Device, Egress: guard, Outbox: box,
		Snapshots: snaps.worker, EventTypes: ConfigEventTypes(cfg), Logger: log,
	})
	if err == nil {
		err = obs.Start()
	}
	if err != nil {
		box.Close()
		guard.Close(context.Background())
		return err
	}
	defer obs.Close(context.Background())
	obs.SetPolicy(pol.Name, pol.SHA256)

	camCtx, stopCams := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		snaps.worker.Run(camCtx)
	}()
	go func() {
		defer wg.Done()
		publishHealth(camCtx, guard, box, snaps.worker, 5*time.Second, 5*time.Minute)
	}()
	actors := make([]*camera.Camera, 0, len(cams))
	for _, cc := range cams {
		cc.Sink = obs.Sink(box)
		cc.LastSeq = box.LastSeq(cc.ID)
		cc.Snapshots = snaps
		cc.Logger = log
		cam, err := camera.New(cc)
		if err != nil {
			stopCams()
			wg.Wait()
			box.Close()
			guard.Close(context.Background())
			return err
		}
		actors = append(actors, cam)
		obs.AddCamera(cam)
		wg.Add(1)
		go func() {
			defer wg.Done()
			camera.Supervise(camCtx, cam, camera.DefaultBackoff)
		}()
	}
	log.Info("edgeguard running", "device", cfg.Device, "cameras", len(actors), "policy", pol.Name, "policy_sha256", pol.SHA256)
	if opts.Started != nil {
		opts.Started(brokerURL)
	}

	changed := make(chan struct{}, 1)
	var watch *fileWatch
	if cfg.Policy != "" && opts.Policy == nil && opts.PolicyPollInterval >= 0 {
		if opts.PolicyPollInterval == 0 {
			opts.PolicyPollInterval = 2 * time.Second
		}
		watch = newFileWatch(cfg.Policy, pol.SHA256)
		go watch.run(camCtx, opts.PolicyPollInterval, changed)
	}
	rejected := false
	reload := func() {
		next := reloadPolicy(ctx, cfg, guard, log, rejected, snaps.setPolicy)
		rejected = next == nil
		if next != nil {
			pol = next
			obs.SetPolicy(pol.Name, pol.SHA256)
			box.SetMaxAge(max(pol.Retention.Outbox, time.Second))
			for _, cam := range actors {
				cam.SetZones(zonesFor(pol, cam.ID()))
			}
		}
	}
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-changed:
			log.Info("policy file changed or cannot be read; reloading", "path", cfg.Policy)
			reload()
		case <-opts.Reload:
			log.Info("reload requested (SIGHUP)")
			if watch != nil {
				watch.look() // what this reload reads is what later content is compared with
			}
			reload()
		}
	}

	log.Info("shutting down")
	sctx, cancelShutdown := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancelShutdown()
	stopCams()
	wg.Wait()
	if err := box.Drain(sctx); err != nil {
		log.Error("outbox not drained", "err", err)
	}
	if err := guard.Close(sctx); err != nil {
		log.Error("MQTT close", "err", err)
	}
	log.Info("stopped")
	return nil
}
