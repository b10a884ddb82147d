package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// Fakes for the stat sources: observe only reads numbers from them.
type fakeCam struct {
	id string
	st CameraStats
	mu sync.Mutex
	// status is the last one the camera published.
	status event.CameraStatus
}

func (c *fakeCam) ID() string         { return c.id }
func (c *fakeCam) Stats() CameraStats { return c.st }

func (c *fakeCam) LastStatus() event.CameraStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// publish makes st the camera's last status, as its status topic would.
func (c *fakeCam) publish(st event.CameraStatus) {
	st.Camera = c.id
	if st.Since.IsZero() {
		st.Since = event.Time{Time: time.Now()}
	}
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
}

func (c *fakeCam) setState(state event.CameraState, errText string) {
	c.publish(event.CameraStatus{State: state, Error: errText})
}

type fakeEgress struct{ st egress.Stats }

func (e *fakeEgress) Stats() egress.Stats { return e.st }

type fakeOutbox struct {
	mu     sync.Mutex
	st     outbox.Stats
	events map[string]outbox.CameraEvents
}

func (o *fakeOutbox) Stats() outbox.Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.st
}

func (o *fakeOutbox) CameraEvents(camera string) outbox.CameraEvents {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.events[camera]
}

func (o *fakeOutbox) setDepth(n int) {
	o.mu.Lock()
	o.st.Depth = n
	o.mu.Unlock()
}

type fakeSnapshots struct{ st snapshot.Stats }

func (f *fakeSnapshots) Stats() snapshot.Stats { return f.st }

type agingOutbox struct {
	fakeOutbox
	age time.Duration
}

func (o *agingOutbox) OldestAge() time.Duration { return o.age }

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testlog.Discard()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// start serves s (listening on a free loopback port since New) until the
// test ends.
func start(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// value finds the sample of family name with exactly the given labels
// ("k=v" pairs); for histograms it returns the sample count.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if !slices.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// fake is the fake camera s reads as id.
func fake(s *Server, id string) *fakeCam {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cameras {
		if c.src.ID() == id {
			return c.src.(*fakeCam)
		}
	}
	panic("no camera " + id)
}

func readySources() (*fakeEgress, *fakeOutbox, []*fakeCam) {
	cams := []*fakeCam{
		{id: "cam1", st: CameraStats{AccessUnits: 1000, DroppedAUs: 3, Decoded: 990, DecodeErrors: 7, Analysed: 200, DroppedFrames: 4, SessionsStarted: 3,
			DecodeCPU: 2500 * time.Millisecond}},
		{id: "cam2", st: CameraStats{AccessUnits: 10, Decoded: 10, Analysed: 2, SessionsStarted: 1}},
	}
	eg := &fakeEgress{st: egress.Stats{Published: 42, Suppressed: 5, Stripped: 9, Dropped: 1, Failed: 2, Pending: 3, Connects: 2, Connected: true, Republished: 4}}
	ob := &fakeOutbox{st: outbox.Stats{Queued: 50, Published: 47, Suppressed: 5, Retries: 6, Depth: 3,
		DroppedAge: 8, DroppedSize: 11, Undecodable: 1, WriteErrors: 2, Bytes: 4096,
		SnapshotsQueued: 12, SnapshotsSent: 7, SnapshotsSuppressed: 3, SnapshotsDropped: 2, SnapshotBytes: 300 << 10}}
	return eg, ob, cams
}

func TestMetricsReadTheCountersOnScrape(t *testing.T) {
	eg, ob, cams := readySources()
	aob := &agingOutbox{fakeOutbox: fakeOutbox{st: ob.st}, age: 1500 * time.Millisecond}
	snaps := &fakeSnapshots{st: snapshot.Stats{Submitted: 9, Sent: 5, Withheld: 2, Dropped: 1, PublishFailed: 1, Detector: "blazeface"}}
	s := newServer(t, Config{Addr: "127.0.0.1:0", Device: "edge-01", Egress: eg, Outbox: aob, Snapshots: snaps, EventTypes: []string{"motion"}})
	for _, c := range cams {
		s.AddCamera(c)
	}
	s.SetPolicy("city-default", "abc123")
	cams[0].setState(event.StateStreaming, "")
	// As the outbox counts a start queued 80 ms and an update 120 ms after
	// their frames, and an end (no latency: its age includes the quiet time).
	aob.events = map[string]outbox.CameraEvents{"cam1": {
		Queued: map[outbox.Kind]uint64{{Type: "motion", Phase: event.PhaseStart}: 1,
			{Type: "motion", Phase: event.PhaseUpdate}: 1, {Type: "motion", Phase: event.PhaseEnd}: 1},
		Latency: outbox.Latency{Buckets: [len(outbox.LatencyBounds)]uint64{4: 1, 5: 1}, Count: 2, Sum: 200 * time.Millisecond},
	}}
	base := start(t, s)

	mfs := scrape(t, base)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"edgeguard_camera_frames_received_total", []string{"camera=cam1"}, 1000},
		{"edgeguard_camera_frames_decoded_total", []string{"camera=cam1"}, 990},
		{"edgeguard_camera_frames_analysed_total", []string{"camera=cam1"}, 200},
		{"edgeguard_camera_frames_dropped_total", []string{"camera=cam1", "reason=decode_queue"}, 3},
		{"edgeguard_camera_frames_dropped_total", []string{"camera=cam1", "reason=analysis_busy"}, 4},
		{"edgeguard_camera_decode_errors_total", []string{"camera=cam1"}, 7},
		{"edgeguard_camera_decode_cpu_seconds_total", []string{"camera=cam1"}, 2.5},
		{"edgeguard_camera_reconnects_total", []string{"camera=cam1"}, 2},
		{"edgeguard_camera_reconnects_total", []string{"camera=cam2"}, 0},
		{"edgeguard_camera_streaming", []string{"camera=cam1"}, 1},
		{"edgeguard_camera_streaming", []string{"camera=cam2"}, 0},
		{"edgeguard_events_total", []string{"camera=cam1", "phase=start", "type=motion"}, 1},
		{"edgeguard_events_total", []string{"camera=cam1", "phase=end", "type=motion"}, 1},
		// Pre-created at zero, so rate() works before the first event.
		{"edgeguard_events_total", []string{"camera=cam2", "phase=start", "type=motion"}, 0},
		// Start and update only: an end's age includes the quiet time.
		{"edgeguard_event_latency_seconds", []string{"camera=cam1"}, 2},
		{"edgeguard_event_latency_seconds", []string{"camera=cam2"}, 0},
		{"edgeguard_anonymiser_failures_total", nil, 2},
		{"edgeguard_face_detector_ready", nil, 1},
		{"edgeguard_snapshots_submitted_total", nil, 9},
		{"edgeguard_snapshots_sent_total", nil, 5},
		{"edgeguard_snapshots_dropped_total", []string{"reason=busy"}, 1},
		{"edgeguard_snapshots_dropped_total", []string{"reason=publish"}, 1},
		{"edgeguard_outbox_dropped_total", []string{"reason=age"}, 8},
		{"edgeguard_outbox_dropped_total", []string{"reason=size"}, 11},
		{"edgeguard_outbox_dropped_total", []string{"reason=undecodable"}, 1},
		{"edgeguard_outbox_write_errors_total", nil, 2},
		{"edgeguard_outbox_bytes", nil, 4096},
		{"edgeguard_outbox_snapshots_queued_total", nil, 12},
		{"edgeguard_outbox_snapshots_sent_total", nil, 7},
		{"edgeguard_outbox_snapshots_dropped_total", []string{"reason=policy"}, 3},
		{"edgeguard_outbox_snapshots_dropped_total", []string{"reason=bounds"}, 2},
		{"edgeguard_outbox_snapshot_bytes", nil, 300 << 10},
		{"edgeguard_events_suppressed_total", []string{"reason=policy"}, 5},
		{"edgeguard_egress_published_total", nil, 42},
		{"edgeguard_egress_republished_total", nil, 4},
		{"edgeguard_egress_fields_stripped_total", nil, 9},
		{"edgeguard_egress_dropped_total", []string{"reason=backlog"}, 1},
		{"edgeguard_egress_failed_total", nil, 2},
		{"edgeguard_egress_pending", nil, 3},
		{"edgeguard_mqtt_connected", nil, 1},
		{"edgeguard_mqtt_connects_total", nil, 2},
		{"edgeguard_outbox_depth", nil, 3},
		{"edgeguard_outbox_oldest_age_seconds", nil, 1.5},
		{"edgeguard_outbox_queued_total", nil, 50},
		{"edgeguard_outbox_delivered_total", nil, 47},
		{"edgeguard_outbox_retries_total", nil, 6},
		{"edgeguard_policy_loaded", nil, 1},
		{"edgeguard_ready", nil, 0}, // cam2 is still connecting
	}
	for _, tt := range tests {
		got, ok := value(mfs, tt.name, tt.labels...)
		if !ok {
			t.Errorf("%s%v: missing", tt.name, tt.labels)
		} else if got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	// The latency histogram has the samples in the right buckets.
	h := mfs["edgeguard_event_latency_seconds"].GetMetric()[0].GetHistogram()
	if got := h.GetSampleSum(); got < 0.199 || got > 0.201 {
		t.Errorf("latency sum = %v, want 0.2", got)
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 0.25:
			want = 2
		case b.GetUpperBound() >= 0.1:
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	// Process metrics are there too.
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "go_goroutines"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}

	// Counters are read, not copied: a later scrape sees the new values.
	cams[0].st.Analysed = 250
	cams[1].setState(event.StateStreaming, "")
	mfs = scrape(t, base)
	if got, _ := value(mfs, "edgeguard_camera_frames_analysed_total", "camera=cam1"); got != 250 {
		t.Errorf("analysed after update = %v, want 250", got)
	}
	if got, _ := value(mfs, "edgeguard_ready", nil...); got != 1 {
		t.Errorf("edgeguard_ready = %v once every camera streams, want 1", got)
	}
}

// TestMetricsNamesAndLabels keeps the metrics conventional (promlint) and
// their cardinality bounded: only camera, type, phase and reason labels.
func TestMetricsNamesAndLabels(t *testing.T) {
	eg, ob, cams := readySources()
	aob := &agingOutbox{fakeOutbox: fakeOutbox{st: ob.st}}
	s := newServer(t, Config{Egress: eg, Outbox: aob, Snapshots: &fakeSnapshots{}, EventTypes: []string{"motion"}})
	for _, c := range cams {
		s.AddCamera(c)
	}
	aob.events = map[string]outbox.CameraEvents{"cam1": {Queued: map[outbox.Kind]uint64{
		{Type: "motion", Phase: event.PhaseStart}: 1, {Type: "loitering", Phase: event.PhaseStart}: 1}}}
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var own []*dto.MetricFamily
	allowed := []string{"camera", "type", "phase", "reason"}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "edgeguard_") {
			continue
		}
		own = append(own, mf)
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(allowed, l.GetName()) {
					t.Errorf("%s has label %q; allowed: %v", mf.GetName(), l.GetName(), allowed)
				}
			}
		}
	}
	if len(own) < 25 {
		t.Errorf("only %d edgeguard_ metric families", len(own))
	}
	problems, err := promlint.NewWithMetricFamilies(own).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestReadyz(t *testing.T) {
	streaming := func(s *Server, ids ...string) {
		for _, id := range ids {
			fake(s, id).setState(event.StateStreaming, "")
		}
	}
	tests := []struct {
		name    string
		setup   func(s *Server, eg *fakeEgress, ob *agingOutbox)
		ready   bool
		reasons []string
	}{
		{"all good", func(s *Server, _ *fakeEgress, _ *agingOutbox) { streaming(s, "cam1", "cam2") }, true, nil},
		{"no policy", func(s *Server, _ *fakeEgress, _ *agingOutbox) {
			s.SetPolicy("", "")
			streaming(s, "cam1", "cam2")
		}, false, []string{"no privacy policy loaded"}},
		{"camera not streaming yet", func(s *Server, _ *fakeEgress, _ *agingOutbox) { streaming(s, "cam1") },
			false, []string{"camera cam2 is connecting"}},
		{"camera error quoting its URL", func(s *Server, _ *fakeEgress, _ *agingOutbox) {
			streaming(s, "cam1")
			fake(s, "cam2").setState(event.StateOffline, "DESCRIBE rtsp://admin:s3cr3t@192.0.2.10/stream: 404")
		}, false, []string{"camera cam2 is offline: DESCRIBE rtsp://xxxxx@192.0.2.10/stream: 404"}},
		{"camera failed", func(s *Server, _ *fakeEgress, _ *agingOutbox) {
			streaming(s, "cam1")
			fake(s, "cam2").setState(event.StateError, "unauthorized")
		}, false, []string{"camera cam2 is error: unauthorized"}},
		{"camera lost after streaming", func(s *Server, _ *fakeEgress, _ *agingOutbox) {
			streaming(s, "cam1", "cam2")
			fake(s, "cam1").setState(event.StateOffline, "stream ended")
		}, false, []string{"camera cam1 is offline: stream ended"}},
		{"broker down, outbox absorbs it", func(s *Server, eg *fakeEgress, _ *agingOutbox) {
			eg.st.Connected = false
			streaming(s, "cam1", "cam2")
		}, true, nil},
		{"broker down, outbox backing up", func(s *Server, eg *fakeEgress, ob *agingOutbox) {
			eg.st.Connected = false
			ob.st.Depth = 10
			streaming(s, "cam1", "cam2")
		}, false, []string{"MQTT broker not reachable and outbox holds 10 messages (limit 10)"}},
		{"broker down, outbox stale", func(s *Server, eg *fakeEgress, ob *agingOutbox) {
			eg.st.Connected = false
			ob.age = 2 * time.Minute
			streaming(s, "cam1", "cam2")
		}, false, []string{"MQTT broker not reachable and oldest outbox message waits 2m0s (limit 1m0s)"}},
		{"broker up, outbox deep (draining)", func(s *Server, _ *fakeEgress, ob *agingOutbox) {
			ob.st.Depth = 100
			streaming(s, "cam1", "cam2")
		}, true, nil},
		// Issue 18 item 3: a full disk was reported as a healthy outbox.
		{"broker down, outbox disk full", func(s *Server, eg *fakeEgress, ob *agingOutbox) {
			eg.st.Connected = false
			ob.st.Durable, ob.st.WriteFailing, ob.st.DurableReason = false, true, diskFull
			streaming(s, "cam1", "cam2")
		}, false, []string{"MQTT broker not reachable and outbox not durable (" + diskFull + ")"}},
		{"broker up, outbox disk full (degraded)", func(s *Server, _ *fakeEgress, ob *agingOutbox) {
			ob.st.Durable, ob.st.WriteFailing, ob.st.DurableReason = false, true, diskFull
			streaming(s, "cam1", "cam2")
		}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eg, ob, cams := readySources()
			aob := &agingOutbox{fakeOutbox: fakeOutbox{st: ob.st}}
			s := newServer(t, Config{Device: "edge-01", Egress: eg, Outbox: aob, OutboxMaxDepth: 10, OutboxMaxAge: time.Minute})
			for _, c := range cams {
				s.AddCamera(c)
			}
			s.SetPolicy("city-default", "abc123")
			tt.setup(s, eg, aob)
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()

			code, body := get(t, srv.URL+"/readyz")
			wantCode := http.StatusOK
			if !tt.ready {
				wantCode = http.StatusServiceUnavailable
			}
			if code != wantCode {
				t.Errorf("code = %d, want %d; body %s", code, wantCode, body)
			}
			var r Readiness
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, body)
			}
			if bytes.Contains(body, []byte("s3cr3t")) {
				t.Errorf("body shows a credential: %s", body)
			}
			if r.Ready() != tt.ready || !slices.Equal(r.Reasons, tt.reasons) {
				t.Errorf("status %q reasons %q; want ready=%v reasons %q", r.Status, r.Reasons, tt.ready, tt.reasons)
			}
			if r.Device != "edge-01" || len(r.Cameras) != 2 || r.Broker == nil || r.Outbox == nil {
				t.Errorf("body misses parts: %s", body)
			}
			if tt.name != "no policy" && (r.Policy == nil || r.Policy.SHA256 != "abc123") {
				t.Errorf("policy = %+v", r.Policy)
			}
			if r.Outbox != nil && r.Outbox.Durable != aob.st.Durable {
				t.Errorf("outbox durable = %v, want %v", r.Outbox.Durable, aob.st.Durable)
			}
			if aob.st.WriteFailing {
				if r.Outbox.Healthy || r.Outbox.DurableReason != diskFull {
					t.Errorf("outbox on a full disk reported as %+v", *r.Outbox)
				}
				var wantDegraded []string
				if r.Broker.Connected {
					wantDegraded = []string{"outbox not durable (" + diskFull + ")"}
				}
				if !slices.Equal(r.Degraded, wantDegraded) {
					t.Errorf("degraded %q, want %q", r.Degraded, wantDegraded)
				}
			} else if len(r.Degraded) > 0 {
				t.Errorf("degraded %q, want none", r.Degraded)
			}
		})
	}
}

const diskFull = "write failed: no space left on device; events kept in memory"

func TestReadyzWithoutSources(t *testing.T) {
	s := newServer(t, Config{})
	r := s.Readiness()
	want := []string{"no privacy policy loaded", "egress guard not running", "no cameras"}
	if r.Ready() || !slices.Equal(r.Reasons, want) {
		t.Errorf("reasons %q, want %q", r.Reasons, want)
	}
}

func TestHealthz(t *testing.T) {
	s := newServer(t, Config{Addr: "127.0.0.1:0", Device: "edge-01"})
	base := start(t, s)
	code, body := get(t, base+"/healthz")
	var h Health
	if err := json.Unmarshal(body, &h); err != nil || code != http.StatusOK || h.Status != StatusAlive || h.Device != "edge-01" {
		t.Errorf("/healthz = %d %s (%v)", code, body, err)
	}
	// Alive does not depend on readiness.
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", code)
	}
	resp, err := http.Post(base+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", resp.StatusCode)
	}
	if code, _ := get(t, base+"/"); code != http.StatusNotFound {
		t.Errorf("/ = %d, want 404", code)
	}
}

// TestEventsFromTheOutbox: the events a camera hands to the outbox, with
// nothing in between, are in the metrics, read from the outbox's own
// counts: by camera, type and phase, starts and updates in the latency;
// one the outbox refused is not counted. The camera's state is the status
// it last published.
func TestEventsFromTheOutbox(t *testing.T) {
	box := newOutbox(t)
	s := newServer(t, Config{Outbox: box})
	cam := &fakeCam{id: "cam1"}
	s.AddCamera(cam)
	ctx := context.Background()
	at := event.Time{Time: time.Now()}
	for _, p := range []event.Phase{event.PhaseStart, event.PhaseUpdate, event.PhaseEnd} {
		if err := box.Event(ctx, event.Event{Camera: "cam1", Type: "motion", Phase: p, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	box.Close()
	if err := box.Event(ctx, event.Event{Camera: "cam1", Type: "motion", Phase: event.PhaseStart, At: at}); err == nil {
		t.Error("Event on a closed outbox succeeded")
	}
	cam.setState(event.StateStreaming, "")

	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"edgeguard_events_total", []string{"camera=cam1", "phase=start", "type=motion"}, 1}, // the refused one is not counted
		{"edgeguard_events_total", []string{"camera=cam1", "phase=update", "type=motion"}, 1},
		{"edgeguard_events_total", []string{"camera=cam1", "phase=end", "type=motion"}, 1},
		{"edgeguard_event_latency_seconds", []string{"camera=cam1"}, 2},
		{"edgeguard_camera_streaming", []string{"camera=cam1"}, 1},
		{"edgeguard_outbox_queued_total", nil, 3},
	} {
		if got, ok := value(byName, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
}

// newOutbox is a real outbox in memory whose broker never answers: what
// the cameras queue stays counted and queued.
func newOutbox(t *testing.T) *outbox.Outbox {
	t.Helper()
	box, err := outbox.New(outbox.Config{Publisher: unreachable{}, Logger: testlog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	return box
}

// unreachable is a broker that never acknowledges.
type unreachable struct{}

func (unreachable) PublishEvent(ctx context.Context, _ event.Event) error {
	<-ctx.Done()
	return ctx.Err()
}

func (unreachable) PublishCameraStatus(ctx context.Context, _ event.CameraStatus) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestConcurrentReportsAndScrapes is for the race detector: cameras
// publish statuses and queue events while Prometheus scrapes.
func TestConcurrentReportsAndScrapes(t *testing.T) {
	eg, _, _ := readySources()
	box := newOutbox(t)
	s := newServer(t, Config{Addr: "127.0.0.1:0", Egress: eg, Outbox: box, EventTypes: []string{"motion"}})
	base := start(t, s)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			id := fmt.Sprintf("cam%d", i)
			cam := &fakeCam{id: id}
			s.AddCamera(cam)
			for j := range 200 {
				cam.setState(event.StateStreaming, "")
				at := event.Time{Time: time.Now().Add(-time.Duration(j) * time.Millisecond)}
				if err := box.Event(context.Background(), event.Event{Camera: id, Type: "motion", Phase: event.PhaseUpdate, At: at}); err != nil {
					t.Error(err)
				}
				s.SetPolicy("p", "sha")
			}
		})
	}
	for range 5 {
		scrape(t, base)
		s.Readiness()
	}
	wg.Wait()
	if got, _ := value(scrape(t, base), "edgeguard_events_total", "camera=cam3", "phase=update", "type=motion"); got != 200 {
		t.Errorf("events = %v, want 200", got)
	}
}

func TestRunAndClose(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		s := newServer(t, Config{Addr: ""})
		if s.Addr() != nil {
			t.Errorf("Addr = %v; want nil", s.Addr())
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run = %v", err)
		}
		if r := s.Readiness(); r.Ready() { // readiness and the metrics still work
			t.Errorf("ready without sources: %+v", r)
		}
		if _, err := s.Registry().Gather(); err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Run("port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if s, err := New(Config{Addr: ln.Addr().String(), Logger: testlog.Discard()}); err == nil {
			s.Close()
			t.Error("New on a taken port succeeded")
		}
	})
	t.Run("close stops serving", func(t *testing.T) {
		s := newServer(t, Config{Addr: "127.0.0.1:0"})
		base := start(t, s)
		if err := Probe(context.Background(), base+"/healthz"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := Probe(context.Background(), base+"/healthz"); err == nil {
			t.Error("still answering after Close")
		}
	})
	t.Run("closed before it ran", func(t *testing.T) {
		s := newServer(t, Config{Addr: "127.0.0.1:0"})
		addr := s.Addr().String()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
		ln, err := net.Listen("tcp", addr) // the port is free again
		if err != nil {
			t.Fatalf("port not released by Close: %v", err)
		}
		ln.Close()
	})
}

// TestBindWarning: loopback is quiet, anything else is a warning.
func TestBindWarning(t *testing.T) {
	for _, tt := range []struct {
		addr string
		warn bool
	}{
		{"127.0.0.1:0", false},
		{"0.0.0.0:0", true},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			var buf testlog.Buffer
			s := newServer(t, Config{Addr: tt.addr, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
			start(t, s)
			if got := strings.Contains(buf.String(), "level=WARN"); got != tt.warn {
				t.Errorf("warned = %v, want %v; log:\n%s", got, tt.warn, buf.String())
			}
		})
	}
}

func TestProbe(t *testing.T) {
	eg, ob, cams := readySources()
	s := newServer(t, Config{Addr: "127.0.0.1:0", Egress: eg, Outbox: ob})
	s.AddCamera(cams[0])
	s.SetPolicy("p", "sha")
	base := start(t, s)
	ctx := context.Background()

	if err := Probe(ctx, base+"/healthz"); err != nil {
		t.Errorf("healthz: %v", err)
	}
	err := Probe(ctx, base+"/readyz")
	if err == nil || !strings.Contains(err.Error(), "camera cam1 is connecting") {
		t.Errorf("readyz not ready: %v; want the reason", err)
	}
	fake(s, "cam1").setState(event.StateStreaming, "")
	if err := Probe(ctx, base+"/readyz"); err != nil {
		t.Errorf("readyz ready: %v", err)
	}
	if err := Probe(ctx, base+"/nothing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	if err := Probe(ctx, "http://"+free+"/healthz"); err == nil {
		t.Error("probe of a closed port succeeded")
	}
}

// TestReadyzSaysWhyImagesAreWithheld: without a face detector /readyz
// names it and the reason, and the box stays ready (events still leave).
func TestReadyzSaysWhyImagesAreWithheld(t *testing.T) {
	eg, ob, cams := readySources()
	why := "models: blazeface-back-256: model file missing: looked for /x; install it: bash models/fetch DIR"
	snaps := &fakeSnapshots{st: snapshot.Stats{Submitted: 3, Withheld: 3, Detector: "none", WithheldReason: why}}
	s := newServer(t, Config{Addr: "127.0.0.1:0", Device: "edge-01", Egress: eg, Outbox: &agingOutbox{fakeOutbox: fakeOutbox{st: ob.st}}, Snapshots: snaps, EventTypes: []string{"motion"}})
	for _, c := range cams {
		s.AddCamera(c)
	}
	s.SetPolicy("city-default", "abc123")
	for _, id := range []string{"cam1", "cam2"} {
		fake(s, id).setState(event.StateStreaming, "")
	}
	r := s.Readiness()
	if !r.Ready() {
		t.Errorf("not ready: %v", r.Reasons)
	}
	want := SnapshotReport{FaceDetector: "none", Withheld: 3, WithheldReason: why}
	if r.Snapshots == nil || *r.Snapshots != want {
		t.Errorf("snapshots = %+v, want %+v", r.Snapshots, want)
	}
	if got, ok := value(scrape(t, start(t, s)), "edgeguard_face_detector_ready"); !ok || got != 0 {
		t.Errorf("edgeguard_face_detector_ready = %v, want 0", got)
	}
}

// TestRemoveCameraAndConfigError: a camera a reload removed leaves
// readiness and the metrics (its series too); a rejected configuration is
// reported on /readyz and as edgeguard_config_last_reload_successful 0,
// without making the box unready, until a reload clears it.
func TestRemoveCameraAndConfigError(t *testing.T) {
	eg, ob, cams := readySources()
	s := newServer(t, Config{Addr: "127.0.0.1:0", Egress: eg, Outbox: ob, EventTypes: []string{"motion"}})
	s.SetPolicy("p", "abc")
	for _, c := range cams {
		s.AddCamera(c)
	}
	base := start(t, s)
	fake(s, "cam1").setState(event.StateStreaming, "")
	if r := s.Readiness(); r.Ready() {
		t.Fatalf("ready with cam2 connecting: %+v", r)
	}

	s.RemoveCamera("cam2")
	s.SetConfigError("edgeguard.yaml:7:3: cameras[1].url: not an rtsp:// URL")
	r := s.Readiness()
	if !r.Ready() || len(r.Cameras) != 1 || r.Cameras[0].ID != "cam1" {
		t.Errorf("after removing cam2: %+v", r)
	}
	if r.ConfigError != "edgeguard.yaml:7:3: cameras[1].url: not an rtsp:// URL" {
		t.Errorf("config_error %q", r.ConfigError)
	}
	_, body := get(t, base+"/readyz")
	if !strings.Contains(string(body), `"config_error": "edgeguard.yaml:7:3`) {
		t.Errorf("/readyz does not show the config error:\n%s", body)
	}
	mfs := scrape(t, base)
	if _, ok := value(mfs, "edgeguard_camera_frames_received_total", "camera=cam2"); ok {
		t.Error("cam2 still in the metrics")
	}
	if _, ok := value(mfs, "edgeguard_events_total", "camera=cam2", "phase=start", "type=motion"); ok {
		t.Error("cam2's event series still exported")
	}
	if got, ok := value(mfs, "edgeguard_config_last_reload_successful"); !ok || got != 0 {
		t.Errorf("edgeguard_config_last_reload_successful = %v, %v; want 0", got, ok)
	}

	s.SetConfigError("")
	if r := s.Readiness(); r.ConfigError != "" {
		t.Errorf("config_error not cleared: %q", r.ConfigError)
	}
	if got, _ := value(scrape(t, base), "edgeguard_config_last_reload_successful"); got != 1 {
		t.Errorf("edgeguard_config_last_reload_successful = %v after a good reload, want 1", got)
	}
}

// TestSetEventTypesExportsNewTypesAtZero: a reload that adds a rule of a
// new type exports its series at 0 at once, so an alert on its rate works
// before its first event; a type no longer configured and never seen goes.
func TestSetEventTypesExportsNewTypesAtZero(t *testing.T) {
	eg, ob, cams := readySources()
	s := newServer(t, Config{Egress: eg, Outbox: ob, EventTypes: []string{"motion"}})
	s.AddCamera(cams[0])
	series := func() map[string]bool {
		t.Helper()
		mfs, err := s.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, mf := range mfs {
			if mf.GetName() != "edgeguard_events_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "type" {
						out[l.GetValue()] = true
					}
				}
			}
		}
		return out
	}
	if got := series(); !got["motion"] || got["loitering"] {
		t.Fatalf("before: types %v, want motion only", got)
	}
	s.SetEventTypes([]string{"loitering", "motion", "loitering"})
	if got := series(); !got["motion"] || !got["loitering"] {
		t.Fatalf("after adding loitering: types %v", got)
	}
	s.SetEventTypes([]string{"loitering"})
	if got := series(); got["motion"] || !got["loitering"] {
		t.Fatalf("after removing motion: types %v", got)
	}
}
