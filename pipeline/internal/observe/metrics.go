package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics read from the pipeline's own counters at scrape time.
var (
	camReceived = desc("edgeguard_camera_frames_received_total",
		"Access units (frames) received from the camera.", "camera")
	camDecoded = desc("edgeguard_camera_frames_decoded_total",
		"Pictures decoded; every frame is decoded, references need it.", "camera")
	camAnalysed = desc("edgeguard_camera_frames_analysed_total",
		"Frames scaled, masked and analysed (at the analysis rate).", "camera")
	camDropped = desc("edgeguard_camera_frames_dropped_total",
		"Frames dropped: reason decode_queue = the access unit queue was full (decoding fell behind); analysis_busy = a newer frame replaced one analysis had not taken yet.",
		"camera", "reason")
	camNotDecoded = desc("edgeguard_camera_frames_not_decoded_total",
		"Access units not decoded: reason keyframe_wait = undecodable until the next key frame (after loss or damage); not_needed = a non-reference picture that neither analysis nor a snapshot wanted.",
		"camera", "reason")
	camDecodeErrors = desc("edgeguard_camera_decode_errors_total",
		"Access units the decoder rejected; decoding resumes at the next key frame.", "camera")
	camDecodeCPU = desc("edgeguard_camera_decode_cpu_seconds_total",
		"CPU time spent decoding the camera's stream (the decoder thread's exact account); next to process_cpu_seconds_total it tells decoding from everything else.", "camera")
	camReconnects = desc("edgeguard_camera_reconnects_total",
		"RTSP sessions started after the first one (camera or network failures).", "camera")
	camStreaming = desc("edgeguard_camera_streaming",
		"1 while the camera's last reported state is streaming, else 0.", "camera")

	egPublished = desc("edgeguard_egress_published_total",
		"Messages the MQTT broker acknowledged.")
	egSuppressed = desc("edgeguard_events_suppressed_total",
		"Events that did not leave because the policy does not allow their type.", "reason")
	egStripped = desc("edgeguard_egress_fields_stripped_total",
		"Optional event fields removed because the policy does not allow them.")
	egDropped = desc("edgeguard_egress_dropped_total",
		"Messages refused because too many awaited the broker's acknowledgement.", "reason")
	egFailed = desc("edgeguard_egress_failed_total",
		"Invalid messages and publish errors.")
	egPending = desc("edgeguard_egress_pending",
		"Messages awaiting the broker's acknowledgement.")
	mqConnected = desc("edgeguard_mqtt_connected",
		"1 while the MQTT session is open.")
	mqConnects = desc("edgeguard_mqtt_connects_total",
		"Successful MQTT (re)connections.")

	obDepth = desc("edgeguard_outbox_depth",
		"Messages queued in the outbox and not yet delivered.")
	obAge = desc("edgeguard_outbox_oldest_age_seconds",
		"How long the oldest undelivered outbox message has waited.")
	obQueued = desc("edgeguard_outbox_queued_total",
		"Messages (events and statuses) the cameras queued.")
	obDelivered = desc("edgeguard_outbox_delivered_total",
		"Messages the egress guard took over.")
	obRetries = desc("edgeguard_outbox_retries_total",
		"Failed delivery attempts that were retried.")
	obDropped = desc("edgeguard_outbox_dropped_total",
		"Events the outbox gave up: reason age = older than the policy's retention, size = the outbox was full, undecodable = a stored event did not decode.",
		"reason")
	obWriteErrors = desc("edgeguard_outbox_write_errors_total",
		"Events that could not be written or synced to disk.")
	obDurable = desc("edgeguard_outbox_durable",
		"1 while events are stored on disk; 0 in memory and while the disk refuses writes (full, failing).")
	obBytes = desc("edgeguard_outbox_bytes",
		"Size of the outbox (on disk when durable, else in memory).")
	obSnapQueued = desc("edgeguard_outbox_snapshots_queued_total",
		"Anonymised snapshots queued in the outbox behind their situation's start (in memory only).")
	obSnapSent = desc("edgeguard_outbox_snapshots_sent_total",
		"Snapshots the MQTT broker acknowledged.")
	obSnapDropped = desc("edgeguard_outbox_snapshots_dropped_total",
		"Queued snapshots that did not leave: reason policy = the guard refused it (its start was withheld or not admitted, or snapshots are off); bounds = dropped for room (before any event), older than the retention, or a failed publish (never retried).",
		"reason")
	obSnapBytes = desc("edgeguard_outbox_snapshot_bytes",
		"Bytes of snapshots waiting in the outbox (memory).")

	snSubmitted = desc("edgeguard_snapshots_submitted_total",
		"Snapshots handed to anonymisation.")
	snSent = desc("edgeguard_snapshots_sent_total",
		"Anonymised snapshots handed on for delivery (queued in the outbox; edgeguard_outbox_snapshots_sent_total counts what left).")
	anonFailures = desc("edgeguard_anonymiser_failures_total",
		"Snapshots withheld because they could not be anonymised (fail closed; the event still left).")
	snDropped = desc("edgeguard_snapshots_dropped_total",
		"Snapshots that did not leave for other reasons: busy = anonymisation queue full, publish = the guard refused or failed.",
		"reason")

	faceDetector = desc("edgeguard_face_detector_ready",
		"1 while a face detector (BlazeFace) is loaded; 0 while there is none and every snapshot is withheld (/readyz says why), also when the policy allows no snapshots.")

	policyLoaded = desc("edgeguard_policy_loaded",
		"1 once a privacy policy is in force.")
	readyGauge = desc("edgeguard_ready",
		"1 when /readyz reports ready.")
)

// statsCollector turns the pipeline's atomic counters into metrics when
// Prometheus scrapes: no per-frame work and no second set of counters that
// could disagree with the first.
type statsCollector struct{ s *Server }

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		camReceived, camDecoded, camAnalysed, camDropped, camNotDecoded, camDecodeErrors, camDecodeCPU, camReconnects, camStreaming,
		egPublished, egSuppressed, egStripped, egDropped, egFailed, egPending, mqConnected, mqConnects,
		obDepth, obAge, obQueued, obDelivered, obRetries, obDropped, obWriteErrors, obBytes, obDurable,
		obSnapQueued, obSnapSent, obSnapDropped, obSnapBytes,
		snSubmitted, snSent, anonFailures, snDropped, faceDetector,
		policyLoaded, readyGauge,
	} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.sample()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, cam := range snap.cameras {
		st, id := cam.stats, cam.id
		counter(camReceived, st.AccessUnits, id)
		counter(camDecoded, st.Decoded, id)
		counter(camAnalysed, st.Analysed, id)
		counter(camDropped, st.DroppedAUs, id, "decode_queue")
		counter(camDropped, st.DroppedFrames, id, "analysis_busy")
		counter(camNotDecoded, st.SkippedAUs, id, "keyframe_wait")
		counter(camNotDecoded, st.NotDecoded, id, "not_needed")
		counter(camDecodeErrors, st.DecodeErrors, id)
		ch <- prometheus.MustNewConstMetric(camDecodeCPU, prometheus.CounterValue, st.DecodeCPU.Seconds(), id)
		counter(camReconnects, max(st.SessionsStarted, 1)-1, id)
		gauge(camStreaming, b2f(cam.state.State == event.StateStreaming), id)
	}
	if eg := snap.egress; eg != nil {
		counter(egPublished, eg.Published)
		counter(egSuppressed, eg.Suppressed, "policy")
		counter(egStripped, eg.Stripped)
		counter(egDropped, eg.Dropped, "backlog")
		counter(egFailed, eg.Failed)
		gauge(egPending, float64(eg.Pending))
		gauge(mqConnected, b2f(eg.Connected))
		counter(mqConnects, eg.Connects)
	}
	if ob := snap.outbox; ob != nil {
		gauge(obDepth, float64(ob.Depth))
		if snap.hasAge {
			gauge(obAge, snap.outboxAge.Seconds())
		}
		counter(obQueued, ob.Queued)
		counter(obDelivered, ob.Published)
		counter(obRetries, ob.Retries)
		counter(obDropped, ob.DroppedAge, "age")
		counter(obDropped, ob.DroppedSize, "size")
		counter(obDropped, ob.Undecodable, "undecodable")
		counter(obWriteErrors, ob.WriteErrors)
		gauge(obBytes, float64(ob.Bytes))
		gauge(obDurable, b2f(ob.Durable))
		counter(obSnapQueued, ob.SnapshotsQueued)
		counter(obSnapSent, ob.SnapshotsSent)
		counter(obSnapDropped, ob.SnapshotsSuppressed, "policy")
		counter(obSnapDropped, ob.SnapshotsDropped, "bounds")
		gauge(obSnapBytes, float64(ob.SnapshotBytes))
	}
	if sn := snap.snapshots; sn != nil {
		counter(snSubmitted, sn.Submitted)
		counter(snSent, sn.Sent)
		counter(anonFailures, sn.Withheld)
		counter(snDropped, sn.Dropped, "busy")
		counter(snDropped, sn.PublishFailed, "publish")
		gauge(faceDetector, b2f(sn.Detector != "" && sn.Detector != "none")) // anonymise.DetectorNone
	}
	gauge(policyLoaded, b2f(snap.policySHA != ""))
	gauge(readyGauge, b2f(c.s.cfg.ready(snap).Ready()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
