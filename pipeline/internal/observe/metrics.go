package observe

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
)

// metric is one family read from a component's stats S at scrape time:
// one series, or one per reason (label "reason"), each a value of S.
// Each is declared once, in a table below, with what it reads.
type metric[S any] struct {
	name, help string
	kind       prometheus.ValueType
	series     []series[S]
	desc       *prometheus.Desc // set by table
}

type series[S any] struct {
	reason string // "" in a family without the reason label
	value  func(*S) float64
}

type number interface {
	~uint64 | ~int | ~int64 | ~float64
}

func counter[S any](name, help string, series ...series[S]) metric[S] {
	return metric[S]{name: name, help: help, kind: prometheus.CounterValue, series: series}
}

func gauge[S any](name, help string, series ...series[S]) metric[S] {
	return metric[S]{name: name, help: help, kind: prometheus.GaugeValue, series: series}
}

// val is a family's only series; by is one of its series by reason; flag
// is a series that is 1 or 0.
func val[S any, N number](f func(*S) N) series[S] { return by("", f) }

func by[S any, N number](reason string, f func(*S) N) series[S] {
	return series[S]{reason: reason, value: func(s *S) float64 { return float64(f(s)) }}
}

// bySuspension is one series per reason rules can be suspended for.
func bySuspension(f func(*cameraSnap, pattern.Suspension) float64) []series[cameraSnap] {
	out := make([]series[cameraSnap], 0, len(pattern.Suspensions))
	for _, r := range pattern.Suspensions {
		out = append(out, by(r.String(), func(c *cameraSnap) float64 { return f(c, r) }))
	}
	return out
}

func flag[S any](f func(*S) bool) series[S] {
	return series[S]{value: func(s *S) float64 { return b2f(f(s)) }}
}

// table builds the descriptors of ms; labels are the variable labels every
// series of theirs carries first (the camera).
func table[S any](labels []string, ms ...metric[S]) []metric[S] {
	for i, m := range ms {
		l := labels
		if m.series[0].reason != "" {
			l = append(slices.Clip(labels), "reason")
		}
		ms[i].desc = prometheus.NewDesc(m.name, m.help, l, nil)
	}
	return ms
}

func describe[S any](ch chan<- *prometheus.Desc, ms []metric[S]) {
	for _, m := range ms {
		ch <- m.desc
	}
}

// collect reads every series of ms from s; labels are the values of the
// table's labels.
func collect[S any](ch chan<- prometheus.Metric, ms []metric[S], s *S, labels ...string) {
	for _, m := range ms {
		for _, x := range m.series {
			lv := labels
			if x.reason != "" {
				lv = append(slices.Clip(labels), x.reason)
			}
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, x.value(s), lv...)
		}
	}
}

// The metrics read from the pipeline's own counters at scrape time.
var (
	cameraMetrics = table([]string{"camera"},
		counter("edgeguard_camera_frames_received_total", "Access units (frames) received from the camera.",
			val(func(c *cameraSnap) uint64 { return c.stats.AccessUnits })),
		counter("edgeguard_camera_frames_decoded_total", "Pictures decoded; every frame is decoded, references need it.",
			val(func(c *cameraSnap) uint64 { return c.stats.Decoded })),
		counter("edgeguard_camera_frames_analysed_total", "Frames scaled, masked and analysed (at the analysis rate).",
			val(func(c *cameraSnap) uint64 { return c.stats.Analysed })),
		counter("edgeguard_camera_frames_dropped_total",
			"Frames dropped: reason decode_queue = the access unit queue was full (decoding fell behind); analysis_busy = a newer frame replaced one analysis had not taken yet.",
			by("decode_queue", func(c *cameraSnap) uint64 { return c.stats.DroppedAUs }),
			by("analysis_busy", func(c *cameraSnap) uint64 { return c.stats.DroppedFrames })),
		counter("edgeguard_camera_frames_not_decoded_total",
			"Access units not decoded: reason keyframe_wait = undecodable until the next key frame (after loss or damage); not_needed = a non-reference picture that neither analysis nor a snapshot wanted.",
			by("keyframe_wait", func(c *cameraSnap) uint64 { return c.stats.SkippedAUs }),
			by("not_needed", func(c *cameraSnap) uint64 { return c.stats.NotDecoded })),
		counter("edgeguard_camera_decode_errors_total", "Access units the decoder rejected; decoding resumes at the next key frame.",
			val(func(c *cameraSnap) uint64 { return c.stats.DecodeErrors })),
		counter("edgeguard_camera_decode_cpu_seconds_total",
			"CPU time spent decoding the camera's stream (the decoder thread's exact account); next to process_cpu_seconds_total it tells decoding from everything else.",
			val(func(c *cameraSnap) float64 { return c.stats.DecodeCPU.Seconds() })),
		counter("edgeguard_camera_reconnects_total", "RTSP sessions started after the first one (camera or network failures).",
			val(func(c *cameraSnap) uint64 { return max(c.stats.SessionsStarted, 1) - 1 })),
		gauge("edgeguard_camera_streaming", "1 while the camera's last reported state is streaming, else 0.",
			flag(func(c *cameraSnap) bool { return c.state.State == event.StateStreaming })),
		gauge("edgeguard_camera_rules_suspended",
			"1 for the reason the camera's rules do not fully judge its frames now, else 0: warmup = the motion detector learns the background; light_change = most of the frame changed at once and the model re-learns; view_moved = the view is displaced and blobs are ignored; low_texture = the view has too little structure to notice a moved camera (the rules still run).",
			bySuspension(func(c *cameraSnap, s pattern.Suspension) float64 { return b2f(c.stats.RulesSuspended == s) })...),
		counter("edgeguard_camera_rules_suspended_seconds_total",
			"Analysed time the camera's rules spent under each reason of edgeguard_camera_rules_suspended.",
			bySuspension(func(c *cameraSnap, s pattern.Suspension) float64 { return c.stats.RulesSuspendedFor[s].Seconds() })...),
	)

	egressMetrics = table(nil,
		counter("edgeguard_egress_published_total", "Messages the MQTT broker acknowledged.",
			val(func(s *egress.Stats) uint64 { return s.Published })),
		counter("edgeguard_egress_republished_total",
			"Retained messages (camera status, policy audit, health) sent again after a reconnect, acknowledged by the broker.",
			val(func(s *egress.Stats) uint64 { return s.Republished })),
		counter("edgeguard_events_suppressed_total", "Events that did not leave because the policy does not allow their type.",
			by("policy", func(s *egress.Stats) uint64 { return s.Suppressed })),
		counter("edgeguard_egress_fields_stripped_total", "Optional event fields removed because the policy does not allow them.",
			val(func(s *egress.Stats) uint64 { return s.Stripped })),
		counter("edgeguard_egress_dropped_total", "Messages refused because too many awaited the broker's acknowledgement.",
			by("backlog", func(s *egress.Stats) uint64 { return s.Dropped })),
		counter("edgeguard_egress_failed_total", "Invalid messages and publish errors.",
			val(func(s *egress.Stats) uint64 { return s.Failed })),
		gauge("edgeguard_egress_pending", "Messages awaiting the broker's acknowledgement.",
			val(func(s *egress.Stats) int { return s.Pending })),
		gauge("edgeguard_mqtt_connected", "1 while the MQTT session is open.",
			flag(func(s *egress.Stats) bool { return s.Connected })),
		counter("edgeguard_mqtt_connects_total", "Successful MQTT (re)connections.",
			val(func(s *egress.Stats) uint64 { return s.Connects })),
	)

	outboxMetrics = table(nil,
		gauge("edgeguard_outbox_depth", "Messages queued in the outbox and not yet delivered.",
			val(func(s *outboxSnap) int { return s.Depth })),
		counter("edgeguard_outbox_queued_total", "Messages (events and statuses) the cameras queued.",
			val(func(s *outboxSnap) uint64 { return s.Queued })),
		counter("edgeguard_outbox_delivered_total", "Messages the egress guard took over.",
			val(func(s *outboxSnap) uint64 { return s.Published })),
		counter("edgeguard_outbox_retries_total", "Failed delivery attempts that were retried.",
			val(func(s *outboxSnap) uint64 { return s.Retries })),
		counter("edgeguard_outbox_dropped_total",
			"Events the outbox gave up: reason age = older than the policy's retention, size = the outbox was full, undecodable = a stored event did not decode.",
			by("age", func(s *outboxSnap) uint64 { return s.DroppedAge }),
			by("size", func(s *outboxSnap) uint64 { return s.DroppedSize }),
			by("undecodable", func(s *outboxSnap) uint64 { return s.Undecodable })),
		counter("edgeguard_outbox_write_errors_total", "Events that could not be written or synced to disk.",
			val(func(s *outboxSnap) uint64 { return s.WriteErrors })),
		gauge("edgeguard_outbox_durable",
			"1 while events are stored on disk; 0 in memory and while the disk refuses writes (full, failing).",
			flag(func(s *outboxSnap) bool { return s.Durable })),
		gauge("edgeguard_outbox_bytes", "Size of the outbox (on disk when durable, else in memory).",
			val(func(s *outboxSnap) int64 { return s.Bytes })),
		counter("edgeguard_outbox_snapshots_queued_total",
			"Anonymised snapshots queued in the outbox behind their situation's start (in memory only).",
			val(func(s *outboxSnap) uint64 { return s.SnapshotsQueued })),
		counter("edgeguard_outbox_snapshots_sent_total", "Snapshots the MQTT broker acknowledged.",
			val(func(s *outboxSnap) uint64 { return s.SnapshotsSent })),
		counter("edgeguard_outbox_snapshots_dropped_total",
			"Queued snapshots that did not leave: reason policy = the guard refused it (its start was withheld or not admitted, or snapshots are off); bounds = dropped for room (before any event), older than the retention, or a failed publish (never retried).",
			by("policy", func(s *outboxSnap) uint64 { return s.SnapshotsSuppressed }),
			by("bounds", func(s *outboxSnap) uint64 { return s.SnapshotsDropped })),
		gauge("edgeguard_outbox_snapshot_bytes", "Bytes of snapshots waiting in the outbox (memory).",
			val(func(s *outboxSnap) int64 { return s.SnapshotBytes })),
	)

	snapshotMetrics = table(nil,
		counter("edgeguard_snapshots_submitted_total", "Snapshots handed to anonymisation.",
			val(func(s *snapshot.Stats) uint64 { return s.Submitted })),
		counter("edgeguard_snapshots_sent_total",
			"Anonymised snapshots handed on for delivery (queued in the outbox; edgeguard_outbox_snapshots_sent_total counts what left).",
			val(func(s *snapshot.Stats) uint64 { return s.Sent })),
		counter("edgeguard_anonymiser_failures_total",
			"Snapshots withheld because they could not be anonymised (fail closed; the event still left).",
			val(func(s *snapshot.Stats) uint64 { return s.Withheld })),
		counter("edgeguard_snapshots_dropped_total",
			"Snapshots that did not leave for other reasons: busy = anonymisation queue full, publish = the guard refused or failed.",
			by("busy", func(s *snapshot.Stats) uint64 { return s.Dropped }),
			by("publish", func(s *snapshot.Stats) uint64 { return s.PublishFailed })),
		gauge("edgeguard_face_detector_ready",
			"1 while a face detector (BlazeFace) is loaded; 0 while there is none and every snapshot is withheld (/readyz says why), also when the policy allows no snapshots.",
			flag(func(s *snapshot.Stats) bool { return s.Detector != "" && s.Detector != "none" })), // anonymise.DetectorNone
	)

	boxMetrics = table(nil,
		gauge("edgeguard_policy_loaded", "1 once a privacy policy is in force.",
			flag(func(b *boxSnap) bool { return b.policySHA != "" })),
		gauge("edgeguard_config_last_reload_successful",
			"0 while the last reload of the configuration was rejected (/readyz config_error says why), else 1.",
			flag(func(b *boxSnap) bool { return b.configError == "" })),
		gauge("edgeguard_ready", "1 when /readyz reports ready.",
			flag(func(b *boxSnap) bool { return b.ready })),
	)

	// Not in a table: labels by type and phase, a histogram, a gauge only
	// an OutboxAger has.
	eventsDesc = prometheus.NewDesc("edgeguard_events_total",
		"Events handed to the outbox, by camera, type and phase (before the policy decides whether they leave).",
		[]string{"camera", "type", "phase"}, nil)
	latencyDesc = prometheus.NewDesc("edgeguard_event_latency_seconds",
		"From the arrival of the frame that caused a start or update event to the event being queued for egress.",
		[]string{"camera"}, nil)
	outboxAgeDesc = prometheus.NewDesc("edgeguard_outbox_oldest_age_seconds",
		"How long the oldest undelivered outbox message has waited.", nil, nil)
)

// boxSnap is the sample with the readiness decided on it.
type boxSnap struct {
	*sample
	ready bool
}

var phases = []event.Phase{event.PhaseStart, event.PhaseUpdate, event.PhaseEnd}

// statsCollector turns the pipeline's counters into metrics when
// Prometheus scrapes: no work per frame or event and no second set of
// counters that could disagree with the first.
type statsCollector struct{ s *Server }

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, cameraMetrics)
	describe(ch, egressMetrics)
	describe(ch, outboxMetrics)
	describe(ch, snapshotMetrics)
	describe(ch, boxMetrics)
	ch <- eventsDesc
	ch <- latencyDesc
	ch <- outboxAgeDesc
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.sample()
	for i := range snap.cameras {
		cam := &snap.cameras[i]
		collect(ch, cameraMetrics, cam, cam.id)
		c.collectEvents(ch, cam)
	}
	if eg := snap.egress; eg != nil {
		collect(ch, egressMetrics, eg)
	}
	if ob := snap.outbox; ob != nil {
		collect(ch, outboxMetrics, ob)
		if ob.hasAge {
			ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, ob.age.Seconds())
		}
	}
	if sn := snap.snapshots; sn != nil {
		collect(ch, snapshotMetrics, sn)
	}
	collect(ch, boxMetrics, &boxSnap{sample: &snap, ready: c.s.cfg.ready(snap).Ready()})
}

// collectEvents exports a camera's events (every phase of
// Server.SetEventTypes, at 0 before the first, and whatever else it queued)
// and their latency.
func (c statsCollector) collectEvents(ch chan<- prometheus.Metric, cam *cameraSnap) {
	emit := func(k outbox.Kind, n uint64) {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(n), cam.id, k.Type, string(k.Phase))
	}
	types := *c.s.eventTypes.Load()
	for _, t := range types {
		for _, p := range phases {
			k := outbox.Kind{Type: t, Phase: p}
			emit(k, cam.events.Queued[k])
		}
	}
	for k, n := range cam.events.Queued {
		if !slices.Contains(types, k.Type) || !slices.Contains(phases, k.Phase) {
			emit(k, n)
		}
	}
	l := cam.events.Latency
	buckets := make(map[float64]uint64, len(l.Buckets))
	var cum uint64
	for i, n := range l.Buckets {
		cum += n
		buckets[outbox.LatencyBounds[i].Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(latencyDesc, l.Count, l.Sum.Seconds(), buckets, cam.id)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
