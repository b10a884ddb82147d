// Package observe is edgeguard's window for operators: Prometheus metrics on
// /metrics, liveness on /healthz and readiness on /readyz, served on a
// loopback HTTP port by default.
//
// Metrics cost nothing per frame or event: the pipeline already keeps
// counters (the cameras' stats and last status, egress.Stats, the
// outbox's stats and per-camera event counts, snapshot.Stats), and a
// collector reads them when Prometheus scrapes, so nothing is counted twice
// and observe is not on the path of frames or events: the cameras hand
// their events straight to the outbox.
//
// The endpoints expose counters and camera ids, never video, events or
// credentials; even so they bind to 127.0.0.1 unless the operator says
// otherwise, and a wider bind is logged as a warning.
package observe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// CameraSource is a camera as observe reads it: its counters and the last
// status it published (the zero value before the first: then it counts as
// connecting since AddCamera). pipeline/app adapts *camera.Camera to it.
type CameraSource interface {
	ID() string
	Stats() CameraStats
	LastStatus() event.CameraStatus
}

// CameraStats are the camera counters observe exports, named and meant as
// in camera.Stats.
type CameraStats struct {
	AccessUnits, DroppedAUs, Decoded, DecodeErrors  uint64
	Analysed, DroppedFrames, SkippedAUs, NotDecoded uint64
	SessionsStarted                                 uint64
	DecodeCPU                                       time.Duration
	// RulesSuspended is why the camera's rules do not fully judge its
	// frames now, NotSuspended while they do; RulesSuspendedFor the time
	// spent under each reason, by reason.
	RulesSuspended    pattern.Suspension
	RulesSuspendedFor [pattern.SuspensionReasons]time.Duration
}

// EgressSource is the egress guard as observe reads it; *egress.Guard
// implements it.
type EgressSource interface {
	Stats() egress.Stats
}

// OutboxSource is the outbox as observe reads it; *outbox.Outbox implements
// it. CameraEvents are the events by camera, type and phase and their
// capture-to-queue latency.
type OutboxSource interface {
	Stats() outbox.Stats
	CameraEvents(camera string) outbox.CameraEvents
}

// SnapshotSource is the snapshot worker as observe reads it;
// *snapshot.Worker implements it.
type SnapshotSource interface {
	Stats() snapshot.Stats
}

// OutboxAger is implemented by an outbox that knows how long its oldest
// undelivered message has waited. When the OutboxSource implements it, the
// age is exported and bounds readiness. (The outbox already drops what
// outlives the policy's retention; this is for an outbox that can say how
// close its backlog is to that.)
type OutboxAger interface {
	OldestAge() time.Duration
}

// Config configures a Server.
type Config struct {
	// Addr is the host:port to listen on; "" disables the HTTP endpoint
	// (Readiness and Registry still work). The default in edgeguard.yaml
	// is 127.0.0.1:9090.
	Addr string
	// Device is this box's id, named in the health bodies.
	Device string
	Egress EgressSource
	Outbox OutboxSource
	// Snapshots, if set, adds the snapshot and anonymiser counters.
	Snapshots SnapshotSource
	// EventTypes are exported with every phase at 0 for each camera added,
	// so rate() and alerts work before the first event; SetEventTypes
	// changes them when a reloaded configuration has other rules.
	EventTypes []string
	// OutboxMaxDepth: while the broker is unreachable the box is still ready
	// as long as fewer messages than this wait in the outbox; 0 → 512.
	OutboxMaxDepth int
	// OutboxMaxAge: likewise for the oldest waiting message, when the outbox
	// knows it (OutboxAger); 0 → 5 minutes.
	OutboxMaxAge time.Duration
	// Console, if set, serves every path the endpoints above do not: the
	// web console, on the same port. Its handler is always behind the
	// egress guard (console.New requires it), so nothing else can be
	// mounted here.
	Console *console.Console
	// TLSCertFile and TLSKeyFile (PEM, both or neither) serve the endpoint
	// over HTTPS only, TLS 1.2 or newer. They are read once here: a
	// certificate that cannot be loaded stops the start, since serving the
	// console's logins in the clear instead would defeat them.
	TLSCertFile, TLSKeyFile string
	Logger                  *slog.Logger
}

// Server owns the metrics registry and the HTTP endpoint. Its methods are
// safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	reg     *prometheus.Registry
	handler http.Handler

	// eventTypes: Config.EventTypes, sorted, each once; replaced whole by
	// SetEventTypes.
	eventTypes atomic.Pointer[[]string]

	mu      sync.Mutex
	cameras []addedCamera
	polName string
	polSum  string
	polAt   time.Time
	cfgErr  string

	srv   *http.Server
	ln    net.Listener
	addr  net.Addr
	close sync.Once
}

// addedCamera is a camera AddCamera added, and when.
type addedCamera struct {
	src   CameraSource
	added time.Time
}

// New builds the registry and binds Config.Addr; Run serves it, Close
// releases it.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OutboxMaxDepth <= 0 {
		cfg.OutboxMaxDepth = 512
	}
	if cfg.OutboxMaxAge <= 0 {
		cfg.OutboxMaxAge = 5 * time.Minute
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now(), reg: prometheus.NewRegistry()}
	s.SetEventTypes(cfg.EventTypes)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		statsCollector{s},
	} {
		if err := s.reg.Register(c); err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog:      slogErrorLog{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Console != nil {
		mux.Handle("/", cfg.Console.Handler())
	}
	s.handler = mux
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler serves /metrics, /healthz and /readyz (GET and HEAD).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is where the metrics live; tests and embedders may gather it.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// closeTimeout bounds how long Close lets requests in flight finish.
const closeTimeout = 5 * time.Second

// listen binds Config.Addr (New calls it, so that a port in use stops the
// start before anything runs). With Addr "" it does nothing.
func (s *Server) listen() error {
	if s.cfg.Addr == "" {
		s.log.Info("HTTP endpoint disabled (http.addr is empty)")
		return nil
	}
	var tlsConf *tls.Config
	if s.cfg.TLSCertFile != "" || s.cfg.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("observe: http.tls: load certificate %s and key %s: %w", s.cfg.TLSCertFile, s.cfg.TLSKeyFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("observe: listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr = ln.Addr()
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slogErrorLog{s.log}.std(),
	}
	if loopback(s.addr) {
		s.log.Info("metrics and health endpoint listening", "addr", s.addr.String(), "tls", tlsConf != nil)
	} else {
		s.log.Warn("metrics and health endpoint reachable from the network; it shows camera ids and counters (no video, no events): restrict it with a firewall or bind http.addr to 127.0.0.1", "addr", s.addr.String(), "tls", tlsConf != nil)
	}
	return nil
}

// Run serves the endpoint until ctx ends (then it closes it, as Close) or
// serving fails, which it returns. With Addr "" it only waits for ctx.
func (s *Server) Run(ctx context.Context) error {
	if s.srv == nil {
		<-ctx.Done()
		return nil
	}
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		s.Close()
		<-served
		return nil
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		s.log.Error("metrics and health endpoint stopped", "err", err)
		return fmt.Errorf("observe: %w", err)
	}
}

// Addr is the address actually listened on (useful with port 0), or nil.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the endpoint, letting requests in flight finish for up to
// 5 s, and releases the port. It is idempotent; with Addr "" it does
// nothing.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		if s.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err = s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
		s.ln.Close() // when Run never served it; otherwise closed already
	})
	return err
}

func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// AddCamera makes a camera's counters part of the metrics and its state
// part of readiness (connecting until it publishes a status). A camera
// added is expected to stream. Adding one with the id of one added before
// replaces that one.
func (s *Server) AddCamera(c CameraSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cameras = slices.DeleteFunc(s.cameras, func(a addedCamera) bool { return a.src.ID() == c.ID() })
	s.cameras = append(s.cameras, addedCamera{src: c, added: time.Now()})
}

// RemoveCamera takes a camera out of the metrics (its series too) and of
// readiness (a reload removed it or is restarting it; a restarted one is
// added again).
func (s *Server) RemoveCamera(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cameras = slices.DeleteFunc(s.cameras, func(a addedCamera) bool { return a.src.ID() == id })
}

// SetEventTypes sets the event types exported at 0 before their first
// event (Config.EventTypes); a reloaded configuration may have rules of
// other types.
func (s *Server) SetEventTypes(types []string) {
	// Each type once: a series exported twice fails the scrape.
	sorted := slices.Compact(slices.Sorted(slices.Values(types)))
	s.eventTypes.Store(&sorted)
}

// SetPolicy records the policy in force (after load and after every
// accepted reload); until it is called the box is not ready.
func (s *Server) SetPolicy(name, sha256 string) {
	s.mu.Lock()
	s.polName, s.polSum, s.polAt = name, sha256, time.Now()
	s.mu.Unlock()
}

// SetConfigError records why the last reload of the configuration was
// rejected ("" after one that was applied). The box keeps running the
// configuration in force, so it is reported, not a readiness condition.
func (s *Server) SetConfigError(msg string) {
	s.mu.Lock()
	s.cfgErr = msg
	s.mu.Unlock()
}

// slogErrorLog routes promhttp's and net/http's error messages to slog.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn("metrics endpoint", "err", fmt.Sprint(v...))
}

func (l slogErrorLog) std() *log.Logger {
	return slog.NewLogLogger(l.log.Handler(), slog.LevelWarn)
}
