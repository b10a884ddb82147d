// Package app is edgeguard's runtime: it loads the configuration and
// the privacy policy, starts the broker (if embedded), the egress guard,
// the outbox and one supervised actor per camera, reloads the
// configuration and the policy while running, and shuts them down in
// order. cmd/edgeguard only parses flags and signals and calls Run.
//
// The lifecycle (see docs/architecture.md): build every component from
// the configuration, each construction pushing what undoes it on a stack
// (lifecycle.go); start their Runs; on a reload build the next state in
// full and then swap it in through the reloaders (reload.go); at the end
// unwind the stack, last built first.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
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
	// ConfigPath is the file Config was loaded from (config.Load). With
	// it a reload reads the configuration again, cameras and all, and the
	// file is watched; "" (the demo, tests with a Config built in code)
	// reloads the policy only.
	ConfigPath string
	// Policy overrides the config's policy file (the demo, tests); nil loads
	// Config.Policy, or the built-in most private policy when that is empty.
	Policy *policy.Policy
	Logger *slog.Logger
	// Reload, when it receives, re-reads the configuration file (with
	// ConfigPath) and the policy file (SIGHUP).
	Reload <-chan struct{}
	// PolicyPollInterval is how often the policy file and the
	// configuration file (with ConfigPath) are checked for changes (by
	// content hash, so editors that replace the file are seen too); 0 →
	// 2 s, negative disables watching.
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
	// auditHeadEvery is how often the trail's chain head is published
	// again (tests); 0 → auditHeadInterval.
	auditHeadEvery time.Duration
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
	a, err := build(ctx, opts)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

// app is the service built: its components, what undoes them, and the
// state in force.
type app struct {
	opts   Options
	log    *slog.Logger
	stack  stack
	guard  *egress.Guard
	box    *outbox.Outbox
	snaps  *snapshots
	obs    *observe.Server
	health *healthPublisher
	cams   *cameraSet
	audit  *auditTrail   // the signed audit trail (audit.go)
	over   *oversightCtl // pauses and reviews over MQTT (oversight.go)
	// console is the web console's wiring (console.go); nil when off.
	console *appConsole
	// brokerURL is the broker the guard talks to (the embedded one's when
	// mqtt.broker is empty).
	brokerURL string

	// The reload loop's own (run's goroutine).
	cur            state
	watch          watchSet
	watching       bool   // watch runs
	policyRejected bool   // policy/error holds a rejection
	configError    string // the health's config_error
}

// build builds every component, in this order: the outbox directory's
// lock, the embedded broker, the egress guard (connecting), the outbox, the
// snapshot worker and anonymiser, the HTTP endpoint (bound), the health
// publisher and the cameras. Each one built pushes what undoes it; when
// one fails, what was built is undone, last first, and its error returned.
func build(ctx context.Context, opts Options) (_ *app, err error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	a := &app{opts: opts, log: log, stack: stack{log: log}}
	// Everything that can be refused is refused before anything starts
	// (Check, the same as `edgeguard config check`): the files named, the
	// policy against the configuration, and where events wait, so that an
	// outbox directory that cannot be used stops the start with nothing to
	// undo and before any broker is contacted.
	chk, err := check(cfg, opts.Policy)
	if err != nil {
		recordRefusedStart(cfg, opts.ConfigPath, opts.Policy, chk, err, log)
		return nil, err
	}
	for _, w := range chk.Warnings {
		log.Warn(w)
	}
	pol := chk.Policy
	cams, err := cameraConfigs(cfg, pol)
	if err != nil {
		return nil, err
	}
	// Said once: a default (no outbox.dir) must be visible in the log.
	boxPlace := chk.Outbox
	if boxPlace.Dir == "" {
		log.Warn("outbox in memory only (outbox.memory: true): a crash or restart loses events waiting for the broker")
	} else {
		log.Info("outbox location", "dir", boxPlace.Dir, "default", boxPlace.Default, "why", boxPlace.Why)
	}
	defer func() {
		if err != nil {
			a.stack.unwind(nil)
		}
	}()
	// The outbox directory is locked before the broker is contacted: a
	// second instance on the same directory (often the same config started
	// twice) must stop before its MQTT session takes the first one's over.
	var boxLock *outbox.DirLock
	if boxPlace.Dir != "" {
		if boxLock, err = outbox.LockDir(boxPlace.Dir); err != nil {
			return nil, err
		}
		// Until outbox.New takes it over; then a no-op.
		a.stack.push("outbox lock", func() error { boxLock.Release(); return nil })
	}
	// The audit trail next: closed (its stop recorded) after everything
	// else, and open before the guard, which records into it.
	if a.audit, err = openAudit(cfg, opts.ConfigPath, boxPlace.Dir, pol, log); err != nil {
		return nil, err
	}
	a.stack.push("audit trail", a.audit.close)
	// The pauses an operator set hold from the first frame on; a state
	// file that cannot be read stops the start (fail closed).
	if a.over, err = newOversight(boxPlace.Dir, a.audit, log); err != nil {
		return nil, err
	}
	// Many cameras on few cores: OpenCV's thread pool only adds hand-offs
	// and spinning (see pipeline/internal/video/cruntime). Not fatal: it costs CPU, not
	// privacy.
	if err := cruntime.Apply(cruntime.Defaults); err != nil {
		log.Warn("C library settings not applied; analysis uses more CPU", "err", err)
	} else {
		log.Info("C libraries set for many cameras", "opencv_threads", cruntime.OpenCVThreads(), "keep_heap", cruntime.Defaults.KeepHeap)
	}

	a.brokerURL = cfg.MQTT.Broker
	if cfg.MQTT.Embedded() {
		bc := broker.Config{Addr: cfg.MQTT.EmbeddedAddr, Logger: log, Observer: opts.BrokerObserver}
		if t := cfg.MQTT.EmbeddedTLS; t.On() {
			prefix := cfg.Commands.ResolvePrefix(cfg.MQTT.TopicPrefix)
			bc.TLS = &broker.TLS{Addr: t.Addr, CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile}
			bc.CommandTopic = func(topic string) bool { return egress.IsCommandTopic(prefix, cfg.Device, topic) }
		}
		b, err := broker.New(bc)
		if err != nil {
			if opErr := (*net.OpError)(nil); errors.As(err, &opErr) {
				return nil, fmt.Errorf("embedded MQTT broker: %w (is another broker using the port? set mqtt.broker to use it)", err)
			}
			return nil, fmt.Errorf("embedded MQTT broker: %w", err)
		}
		a.stack.push("embedded broker", b.Close)
		a.brokerURL = b.URL()
		log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}
	password, err := cfg.MQTT.Password()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.MQTT.TLSConfig() // nil for the embedded broker and tcp://
	if err != nil {
		return nil, err
	}
	a.guard, err = egress.New(egress.Config{
		Broker: a.brokerURL, ClientID: cfg.MQTT.ClientID, TopicPrefix: cfg.MQTT.TopicPrefix,
		Device: cfg.Device, Username: cfg.MQTT.Username, Password: password,
		TLS: tlsCfg, CleanSession: cfg.MQTT.CleanSession,
		KeepAlive: cfg.MQTT.KeepAlive, Logger: log, Audit: a.audit.auditor(),
	}, pol)
	if err != nil {
		return nil, err
	}
	a.stack.pushDrain("egress guard", a.guard.Drain, a.guard.Close)
	// Before Connect: commands a persistent session kept are routed too.
	if err := a.over.serve(a.guard, cfg); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ackWait := retainedAckWait
	if err := a.guard.Connect(cctx); err != nil {
		// Not fatal: the guard keeps connecting and messages queue. The
		// policy and key messages are queued without waiting for an
		// acknowledgement that cannot come: the cameras start now.
		log.Warn("MQTT broker not reachable yet; events queue until it is", "err", err)
		ackWait = 0
	}
	cancel()
	publishPolicy(ctx, a.guard, pol, ackWait, log)
	publishAuditKey(ctx, a.guard, a.audit, ackWait, log)

	a.snaps = &snapshots{log: log, override: opts.anonymise}
	if a.console, err = newAppConsole(a, cfg); err != nil {
		return nil, err
	}

	boxSync, err := outbox.ParseSync(cfg.Outbox.Sync)
	if err != nil {
		return nil, err
	}
	events, err := eventPublisher(a.guard, a.console.publisher(a.guard), cfg.MQTT.Format, log) // mqtt.format (onvif.go)
	if err != nil {
		return nil, err
	}
	a.box, err = outbox.New(outbox.Config{
		Publisher: events,
		Dir:       boxPlace.Dir,
		DirLock:   boxLock,
		// A start is never left without its end, and seq keeps
		// increasing, also across a kill -9 or a power cut.
		EndOpenSituations: true,
		MaxBytes:          int64(cfg.Outbox.MaxMB) << 20,
		Sync:              boxSync,
		MaxAge:            outboxMaxAge(pol),
		IsSuppressed: func(err error) bool {
			return errors.Is(err, egress.ErrSuppressed)
		},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a.stack.pushDrain("outbox", a.box.Drain, a.box.Close)

	// Images queue in the outbox behind their start, so the guard judges
	// the start before the image (see outbox.Outbox.Snapshot).
	a.snaps.worker = snapshot.New(snapshot.Config{Anonymiser: a.snaps.anonymiser, Publisher: outboxSnapshots{a.box}, Logger: log})
	if err := a.snaps.setPolicy(pol); err != nil {
		return nil, err
	}
	a.stack.push("anonymiser", a.snaps.close)

	a.obs, err = observe.New(observe.Config{
		Addr: cfg.HTTP.Addr, Device: cfg.Device, Egress: a.guard, Outbox: a.box,
		Snapshots: a.snaps.worker, EventTypes: ConfigEventTypes(cfg), Logger: log,
		Console:     a.console.console(),
		TLSCertFile: cfg.HTTP.TLS.CertFile, TLSKeyFile: cfg.HTTP.TLS.KeyFile,
	})
	if err != nil {
		return nil, err
	}
	a.stack.push("HTTP endpoint", a.obs.Close)
	a.obs.SetPolicy(pol.Name, pol.SHA256)
	overMetrics, err := a.obs.NewOversight()
	if err != nil {
		return nil, err
	}
	a.over.setMetrics(overMetrics)

	a.health = newHealthPublisher(a.guard, a.box, a.snaps.worker, 5*time.Second, 5*time.Minute)
	if a.cams, err = newCameraSet(cams, a.box, a.obs, a.snaps, a.over, log); err != nil {
		return nil, err
	}
	if a.console != nil {
		a.cams.console = a.console.cams
	}
	a.cur = state{cfg: cfg, pol: pol, cams: cams}
	return a, nil
}

// outboxMaxAge is the policy's retention.outbox; "0s" (not at all) still
// leaves a second for the hand-over to the broker itself.
func outboxMaxAge(pol *policy.Policy) time.Duration { return max(pol.Retention.Outbox, time.Second) }

// run starts the components' Runs (the HTTP endpoint, the snapshot
// worker, the health publisher, the cameras), reloads on request until ctx
// ends, and then unwinds everything: the Runs stop, cameras first (each
// ends its open situation and says offline), then the outbox drains and
// the guard says offline, within Options.ShutdownTimeout.
func (a *app) run(ctx context.Context) error {
	log := a.log
	a.stack.run(ctx, "HTTP endpoint", a.obs.Run)
	a.stack.run(ctx, "snapshot worker", a.snaps.worker.Run)
	a.stack.run(ctx, "health publisher", a.health.Run)
	a.stack.run(ctx, "analysis pause expiry", a.over.Run)
	a.stack.run(ctx, "audit head publisher", a.publishAuditHeads)
	a.stack.run(ctx, "cameras", a.cams.Run)
	log.Info("edgeguard running", "device", a.cur.cfg.Device, "cameras", len(a.cur.cams), "policy", a.cur.pol.Name, "policy_sha256", a.cur.pol.SHA256)
	if a.opts.Started != nil {
		a.opts.Started(a.brokerURL)
	}

	changed := make(chan struct{}, 1)
	if a.opts.PolicyPollInterval >= 0 {
		if a.opts.ConfigPath != "" {
			a.watch.follow(a.opts.ConfigPath)
		}
		if a.cur.cfg.Policy != "" && a.opts.Policy == nil {
			a.watch.add(a.cur.cfg.Policy, a.cur.pol.SHA256)
		}
		if a.watching = !a.watch.empty(); a.watching {
			every := cmp.Or(a.opts.PolicyPollInterval, 2*time.Second)
			wctx, stopWatch := context.WithCancel(ctx)
			defer stopWatch()
			go a.watch.run(wctx, every, changed)
		}
	}
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-changed:
			log.Info("configuration or policy file changed or cannot be read; reloading", "config", a.opts.ConfigPath, "policy", a.cur.cfg.Policy)
			a.reload(ctx)
		case <-a.opts.Reload:
			log.Info("reload requested (SIGHUP)")
			a.watch.look() // what this reload reads is what later content is compared with
			a.reload(ctx)
		}
	}

	log.Info("shutting down")
	sctx, cancelShutdown := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
	defer cancelShutdown()
	a.stack.unwind(sctx)
	log.Info("stopped")
	return nil
}
