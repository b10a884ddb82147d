// Package observe is edgeguard's window for operators: Prometheus metrics on
// /metrics, liveness on /healthz and readiness on /readyz, served on a
// loopback HTTP port by default.
//
// Metrics cost nothing per frame: the pipeline already keeps atomic
// counters (camera.Stats, egress.Stats, outbox.Stats, snapshot.Stats), and a
// collector reads them when Prometheus scrapes, so nothing is counted twice
// and the frame path is untouched. Only what the counters cannot tell —
// events by type and phase, the capture-to-queue latency, camera states —
// is recorded through a hook (Sink), which fires per event or state change,
// never per frame.
//
// The endpoints expose counters and camera ids, never video, events or
// credentials; even so they bind to 127.0.0.1 unless the operator says
// otherwise, and a wider bind is logged as a warning.
package observe

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// CameraSource is a camera as observe reads it; *camera.Camera implements it.
type CameraSource interface {
	ID() string
	Stats() camera.Stats
}

// EgressSource is the egress guard as observe reads it; *egress.Guard
// implements it.
type EgressSource interface {
	Stats() egress.Stats
}

// OutboxSource is the outbox as observe reads it; *outbox.Outbox implements it.
type OutboxSource interface {
	Stats() outbox.Stats
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
	// Addr is the host:port to listen on; "" disables the HTTP endpoint (the
	// hooks still work and cost nothing). The default in edgeguard.yaml is
	// 127.0.0.1:9090.
	Addr string
	// Device is this box's id, named in the health bodies.
	Device string
	Egress EgressSource
	Outbox OutboxSource
	// Snapshots, if set, adds the snapshot and anonymiser counters.
	Snapshots SnapshotSource
	// EventTypes are created with every phase at 0 for each camera added, so
	// rate() and alerts work before the first event.
	EventTypes []string
	// OutboxMaxDepth: while the broker is unreachable the box is still ready
	// as long as fewer messages than this wait in the outbox; 0 → 512.
	OutboxMaxDepth int
	// OutboxMaxAge: likewise for the oldest waiting message, when the outbox
	// knows it (OutboxAger); 0 → 5 minutes.
	OutboxMaxAge time.Duration
	// LatencyBuckets of the capture-to-queue histogram, in seconds; nil → a
	// range from 5 ms to 10 s.
	LatencyBuckets []float64
	Logger         *slog.Logger
}

// DefaultLatencyBuckets span one analysis interval (~200 ms at 5 fps) on
// either side, up to a stalled pipeline.
var DefaultLatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Server owns the metrics registry, the observation hooks and the HTTP
// endpoint. Its hooks are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	reg     *prometheus.Registry
	handler http.Handler

	events  *prometheus.CounterVec
	latency *prometheus.HistogramVec

	mu      sync.Mutex
	cameras []CameraSource
	states  map[string]cameraState
	polName string
	polSum  string
	polAt   time.Time

	srv   *http.Server
	addr  net.Addr
	done  chan struct{}
	close sync.Once
}

type cameraState struct {
	State event.CameraState
	Since time.Time
	Error string
}

// New builds the registry and the hooks. It does not listen yet (Start).
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
	if cfg.LatencyBuckets == nil {
		cfg.LatencyBuckets = DefaultLatencyBuckets
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, started: time.Now(),
		reg:    prometheus.NewRegistry(),
		states: map[string]cameraState{},
		done:   make(chan struct{}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeguard_events_total",
			Help: "Events handed to the outbox, by camera, type and phase (before the policy decides whether they leave).",
		}, []string{"camera", "type", "phase"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgeguard_event_latency_seconds",
			Help:    "From the arrival of the frame that caused a start or update event to the event being queued for egress.",
			Buckets: cfg.LatencyBuckets,
		}, []string{"camera"}),
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.events, s.latency,
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
	s.handler = mux
	return s, nil
}

// Handler serves /metrics, /healthz and /readyz (GET and HEAD).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is where the metrics live; tests and embedders may gather it.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Start listens on Config.Addr and serves until Close. With Addr "" it does
// nothing. A bind failure is returned: an operator who configured the
// endpoint relies on it for health checks.
func (s *Server) Start() error {
	if s.cfg.Addr == "" {
		s.log.Info("HTTP endpoint disabled (http.addr is empty)")
		close(s.done)
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		close(s.done)
		return fmt.Errorf("observe: listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr = ln.Addr()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slogErrorLog{s.log}.std(),
	}
	if loopback(s.addr) {
		s.log.Info("metrics and health endpoint listening", "addr", s.addr.String())
	} else {
		s.log.Warn("metrics and health endpoint reachable from the network; it shows camera ids and counters (no video, no events): restrict it with a firewall or bind http.addr to 127.0.0.1", "addr", s.addr.String())
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics and health endpoint stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address actually listened on (useful with port 0), or nil.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the endpoint, letting requests in flight finish until ctx
// ends. It is idempotent; without Start it does nothing.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.close.Do(func() {
		if s.srv == nil {
			return
		}
		err = s.srv.Shutdown(ctx)
		if err != nil {
			s.srv.Close()
		}
		<-s.done
	})
	return err
}

func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// AddCamera makes a camera's counters part of the metrics and its state
// part of readiness. A camera added is expected to stream.
func (s *Server) AddCamera(c CameraSource) {
	id := c.ID()
	s.mu.Lock()
	s.cameras = append(s.cameras, c)
	if _, ok := s.states[id]; !ok {
		s.states[id] = cameraState{State: event.StateConnecting, Since: time.Now()}
	}
	s.mu.Unlock()
	for _, t := range s.cfg.EventTypes {
		for _, p := range []event.Phase{event.PhaseStart, event.PhaseUpdate, event.PhaseEnd} {
			s.events.WithLabelValues(id, t, string(p))
		}
	}
	s.latency.WithLabelValues(id)
}

// SetPolicy records the policy in force (after load and after every
// accepted reload); until it is called the box is not ready.
func (s *Server) SetPolicy(name, sha256 string) {
	s.mu.Lock()
	s.polName, s.polSum, s.polAt = name, sha256, time.Now()
	s.mu.Unlock()
}

// ObserveEvent records an event handed to the outbox. captureToQueued is
// the time from the arrival of the frame that caused it; pass a negative
// value when there is none (an end is reported after the quiet time, so its
// age says nothing about the pipeline's speed).
func (s *Server) ObserveEvent(cameraID, eventType, phase string, captureToQueued time.Duration) {
	s.events.WithLabelValues(cameraID, eventType, phase).Inc()
	if captureToQueued >= 0 {
		s.latency.WithLabelValues(cameraID).Observe(captureToQueued.Seconds())
	}
}

// ObserveCameraStatus records a camera's state for readiness and the
// edgeguard_camera_streaming gauge.
func (s *Server) ObserveCameraStatus(st event.CameraStatus) {
	since := st.Since.Time
	if since.IsZero() {
		since = time.Now()
	}
	errText := redact(st.Error)
	s.mu.Lock()
	prev, known := s.states[st.Camera]
	if !known || prev.State != st.State || prev.Error != errText {
		s.states[st.Camera] = cameraState{State: st.State, Since: since, Error: errText}
	}
	s.mu.Unlock()
}

// userinfo matches the credentials of any URL in a text. Error texts from
// RTSP libraries may quote the camera URL, and /readyz shows them: mask
// them here too, as the egress guard does for MQTT.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@`)

func redact(s string) string { return userinfo.ReplaceAllString(s, "${1}xxxxx@") }

// Sink wraps a camera.Sink (the outbox) so that every event and status a
// camera queues is observed on its way: service wiring needs one line and
// package camera none.
func (s *Server) Sink(next camera.Sink) camera.Sink { return observedSink{s, next} }

type observedSink struct {
	s    *Server
	next camera.Sink
}

func (o observedSink) Event(ctx context.Context, ev event.Event) error {
	if err := o.next.Event(ctx, ev); err != nil {
		return err
	}
	lat := time.Duration(-1)
	if ev.Phase != event.PhaseEnd && !ev.At.IsZero() {
		lat = max(time.Since(ev.At.Time), 0)
	}
	o.s.ObserveEvent(ev.Camera, ev.Type, string(ev.Phase), lat)
	return nil
}

func (o observedSink) Status(ctx context.Context, st event.CameraStatus) error {
	// The state is what the camera is in, whether or not the message could
	// be queued.
	o.s.ObserveCameraStatus(st)
	return o.next.Status(ctx, st)
}

// slogErrorLog routes promhttp's and net/http's error messages to slog.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn("metrics endpoint", "err", fmt.Sprint(v...))
}

func (l slogErrorLog) std() *log.Logger {
	return slog.NewLogLogger(l.log.Handler(), slog.LevelWarn)
}
