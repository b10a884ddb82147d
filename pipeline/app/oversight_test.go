package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/oversight"
)

// controlRoom is an operator's MQTT client.
type controlRoom struct {
	t *testing.T
	c mqtt.Client
}

func newControlRoom(t *testing.T, url string) controlRoom {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("control-room").SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("control room connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return controlRoom{t, c}
}

func (r controlRoom) send(topic, payload string) {
	r.t.Helper()
	if tok := r.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		r.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// reply is a command's result as the control room reads it.
type reply struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Camera   string `json:"camera"`
	State    string `json:"state"`
	Until    string `json:"until"`
	EventID  string `json:"event_id"`
	Verdict  string `json:"verdict"`
	Operator string `json:"operator"`
	// CertificateSubject: with the embedded broker's TLS listener.
	CertificateSubject string `json:"certificate_subject"`
}

func replies(msgs []mosquittotest.Message, topic string) []reply {
	var out []reply
	for _, m := range msgs {
		if m.Topic == topic {
			var r reply
			if json.Unmarshal(m.Payload, &r) == nil {
				out = append(out, r)
			}
		}
	}
	return out
}

// command sends payload on topic and waits for its reply on topic/result
// (commands are sent one at a time, so the reply is the next one there).
func command(t *testing.T, room controlRoom, sub *mosquittotest.Subscription, topic, payload string) reply {
	t.Helper()
	n := len(replies(sub.Messages(), topic+"/result"))
	room.send(topic, payload)
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool { return len(replies(m, topic+"/result")) > n }, 30*time.Second)
	return replies(msgs, topic+"/result")[n]
}

// metric is the value of the sample named exactly so (name{labels}), or
// -1 when the endpoint does not have it.
func metric(t *testing.T, addr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

func waitMetric(t *testing.T, addr, sample string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, addr, sample) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", sample, metric(t, addr, sample), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastStatus(msgs []mosquittotest.Message, cam string) (event.CameraStatus, bool) {
	st := statuses(msgs, cam)
	if len(st) == 0 {
		return event.CameraStatus{}, false
	}
	return st[len(st)-1], true
}

// trail is the audit trail's records so far (read while the service runs:
// a line being written is skipped).
func trail(dir string) []audit.Entry {
	var out bytes.Buffer
	_ = ExportAudit(dir, time.Time{}, time.Time{}, &out)
	var es []audit.Entry
	for _, line := range strings.Split(out.String(), "\n") {
		if e, err := audit.ParseLine([]byte(line)); err == nil {
			es = append(es, e)
		}
	}
	return es
}

func waitTrail(t *testing.T, dir, what string, pred func(audit.Entry) bool) audit.Entry {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, e := range trail(dir) {
			if pred(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the audit trail", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func withheldByPause(e audit.Entry) bool {
	return e.Kind == audit.KindEventWithheld && e.Reason == "analysis_paused"
}

// TestOversight runs the service against a real Mosquitto with a camera
// where a figure crosses every 7 s and a static one, and an operator
// commanding it over MQTT under the command prefix ctl: a review is
// counted and in the trail; malformed commands change nothing and get a
// reply saying why; a command outside the prefix is not heard; a paused
// camera keeps streaming, says so in its status, and nothing of a
// situation it sees leaves (each withheld in the trail) until it is
// resumed; the device's pause covers both cameras and ends by itself at
// its until; a pause holds across a restart.
func TestOversight(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "#")
	room := newControlRoom(t, mq.URL())
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": walkerCamera(t).URL(), "cam2": staticCamera(t).URL()})
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Audit.Dir = t.TempDir()
	cfg.Commands.Prefix = "ctl"
	stateFile := oversightStateFile(cfg.Outbox.Dir)
	logs := &testlog.Buffer{}
	stop := runUntilStopped(t, Options{Config: cfg, Logger: jsonLogger(logs)})
	defer stop()
	defer func() {
		if t.Failed() {
			t.Log(mosquittotest.Dump(sub.Messages()))
		}
	}()
	waitLog(t, logs, 30*time.Second, "mqtt command topics subscribed", "ctl")
	addr := cfg.HTTP.Addr

	// A situation is published; its review is counted under its type.
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool { return len(events(m, "cam1")) > 0 }, 60*time.Second)
	var first event.Event
	for _, ev := range events(msgs, "cam1") {
		if ev.Phase == event.PhaseStart {
			first = ev
			break
		}
	}
	if first.EventID == "" {
		msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
			return slices.ContainsFunc(events(m, "cam1"), func(ev event.Event) bool { return ev.Phase == event.PhaseStart })
		}, 60*time.Second)
		i := slices.IndexFunc(events(msgs, "cam1"), func(ev event.Event) bool { return ev.Phase == event.PhaseStart })
		first = events(msgs, "cam1")[i]
	}
	r := command(t, room, sub, "ctl/e2e/cam1/events/"+first.EventID+"/review", `{"verdict":"confirmed","operator":"alice","note":"person on the platform"}`)
	if !r.OK || r.Verdict != "confirmed" || r.EventID != first.EventID || r.Operator != "alice" {
		t.Errorf("review reply %+v", r)
	}
	waitMetric(t, addr, `edgeguard_reviews_total{camera="cam1",type="motion",verdict="confirmed"}`, 1)

	// Malformed commands: refused, said why, nothing changes.
	for _, tc := range []struct{ topic, payload, err string }{
		{"ctl/e2e/cam1/analysis/set", `{"state":"stopped","operator":"a","reason":"r"}`, `field state: not allowed; allowed "paused", "running"`},
		{"ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"a","reason":"r","until":"2020-01-01T00:00:00Z"}`, "field until: 2020-01-01T00:00:00Z is not in the future"},
		{"ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"a","reason":"r","until":"soon"}`, "field until: not an RFC 3339 time"},
		{"ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"a","reason":"r","zone":"x"}`, `field "zone": unknown`},
		{"ctl/e2e/cam1/analysis/set", `{"state":"paused"`, "payload: not a JSON object"},
		{"ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"a","reason":"` + strings.Repeat("x", 5000) + `"}`, "allowed at most 4096"},
		{"ctl/e2e/cam9/analysis/set", `{"state":"paused","operator":"a","reason":"r"}`, "camera: unknown; allowed cam1, cam2"},
		{"ctl/e2e/cam1/events/no-such-event/review", `{"verdict":"dismissed","operator":"a"}`, "event_id: unknown"},
		{"ctl/e2e/cam2/events/" + first.EventID + "/review", `{"verdict":"dismissed","operator":"a"}`, "camera: the event is not this camera's"},
		{"ctl/e2e/cam1/events/" + first.EventID + "/review", `{"verdict":"maybe","operator":"a"}`, "field verdict"},
	} {
		if r := command(t, room, sub, tc.topic, tc.payload); r.OK || !strings.Contains(r.Error, tc.err) {
			t.Errorf("%s %.60s: reply %+v, want an error with %q", tc.topic, tc.payload, r, tc.err)
		}
	}
	if v := metric(t, addr, `edgeguard_analysis_paused{camera="cam1"}`); v != 0 {
		t.Errorf("cam1 paused gauge %v after refused commands", v)
	}
	if _, err := os.Stat(stateFile); err == nil {
		t.Errorf("state file %s written by refused commands", stateFile)
	}

	// A command outside the command prefix is not heard: the pause that
	// follows it under ctl is the only one.
	room.send("edgeguard/e2e/cam1/analysis/set", `{"state":"paused","operator":"mallory","reason":"outside the prefix"}`)
	r = command(t, room, sub, "ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"alice","reason":"maintenance"}`)
	if !r.OK || r.State != "paused" || r.Camera != "cam1" {
		t.Fatalf("pause reply %+v", r)
	}
	// The status goes through the outbox in order with the events: what
	// the camera sent before the pause arrives before the paused status.
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		st, _ := lastStatus(m, "cam1")
		return st.Analysis != nil
	}, 30*time.Second)
	pausedAt := len(msgs)
	st, _ := lastStatus(msgs, "cam1")
	if a := st.Analysis; st.State != event.StateStreaming || a.State != "paused" || a.Scope != "camera" || a.Reason != "maintenance" || a.Operator != "alice" || a.Since.IsZero() || a.Until != nil {
		t.Errorf("cam1 status while paused: %+v analysis %+v", st, a)
	}
	if n, m := len(replies(msgs, "ctl/e2e/cam1/analysis/set/result")), len(replies(msgs, "edgeguard/e2e/cam1/analysis/set/result")); n != 7 || m != 0 {
		t.Errorf("replies to cam1's analysis commands: %d under ctl, %d outside; want the 6 refused and the 1 accepted under ctl only", n, m)
	}
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam1"}`, 1)
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam2"}`, 0)

	// The figure crosses while paused: seen, withheld, recorded.
	w := waitTrail(t, cfg.Audit.Dir, "start withheld by the pause", func(e audit.Entry) bool {
		return withheldByPause(e) && e.Camera == "cam1" && e.Phase == string(event.PhaseStart)
	})
	if !strings.Contains(w.Detail, "alice") || !strings.Contains(w.Detail, "maintenance") {
		t.Errorf("withheld record %+v does not say whose pause and why", w)
	}
	r = command(t, room, sub, "ctl/e2e/cam1/analysis/set", `{"state":"running","operator":"alice"}`)
	if !r.OK || r.State != "running" {
		t.Fatalf("resume reply %+v", r)
	}
	// resumedAt is where cam1's status without the pause arrived: the
	// events after it were sent after the resume.
	resumedAt := -1
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		for i := pausedAt; i < len(m) && resumedAt < 0; i++ {
			if st, ok := lastStatus(m[i:i+1], "cam1"); ok && st.Analysis == nil {
				resumedAt = i
			}
		}
		return resumedAt >= 0 && slices.ContainsFunc(events(m[resumedAt:], "cam1"), func(ev event.Event) bool { return ev.Phase == event.PhaseStart })
	}, 60*time.Second)
	withheld := map[string]bool{}
	for _, e := range trail(cfg.Audit.Dir) {
		if withheldByPause(e) && e.Phase == string(event.PhaseStart) {
			withheld[e.EventID] = true // (an open situation's updates are withheld too, its end is not)
		}
	}
	startedBefore := map[string]bool{}
	for _, ev := range events(msgs[:pausedAt], "cam1") {
		startedBefore[ev.EventID] = true
	}
	for _, ev := range events(msgs[pausedAt:], "cam1") {
		if withheld[ev.EventID] {
			t.Errorf("event %s of a situation withheld by the pause was published: %+v", ev.EventID, ev)
		}
	}
	for _, ev := range events(msgs[pausedAt:resumedAt], "cam1") {
		if ev.Phase != event.PhaseEnd || !startedBefore[ev.EventID] {
			t.Errorf("published while paused: %+v (only the end of a situation open at the pause may be)", ev)
		}
	}
	for _, m := range msgs[pausedAt:resumedAt] {
		if strings.Contains(m.Topic, "/snapshot/") || strings.Contains(string(m.Payload), "outside the prefix") {
			t.Errorf("while paused: %s %s", m.Topic, m.Payload)
		}
	}
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam1"}`, 0)

	// The stop button: every camera, until a few seconds from now.
	until := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	r = command(t, room, sub, "ctl/e2e/analysis/set", fmt.Sprintf(`{"state":"paused","operator":"bob","reason":"incident review","until":%q}`, until.Format(time.RFC3339)))
	if !r.OK || r.Camera != "" || r.Until != until.Format(time.RFC3339) {
		t.Fatalf("device pause reply %+v", r)
	}
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		for _, c := range []string{"cam1", "cam2"} {
			st, _ := lastStatus(m, c)
			if st.Analysis == nil || st.Analysis.Scope != "device" || st.Analysis.Until == nil || !st.Analysis.Until.Equal(until) {
				return false
			}
		}
		return true
	}, 30*time.Second)
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam2"}`, 1)
	// ... and it ends by itself.
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		st1, _ := lastStatus(m, "cam1")
		st2, _ := lastStatus(m, "cam2")
		return st1.Analysis == nil && st2.Analysis == nil
	}, 30*time.Second)
	if time.Now().Before(until) {
		t.Errorf("device pause ended before its until %v", until)
	}
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam2"}`, 0)
	waitMetric(t, addr, `edgeguard_commands_total{kind="analysis",result="error"}`, 7)
	waitMetric(t, addr, `edgeguard_commands_total{kind="review",result="error"}`, 3)

	// A pause holds across a restart.
	if r := command(t, room, sub, "ctl/e2e/cam2/analysis/set", `{"state":"paused","operator":"carol","reason":"privacy complaint"}`); !r.OK {
		t.Fatalf("cam2 pause reply %+v", r)
	}
	stop()
	restartAt := len(sub.Messages())
	stop = runUntilStopped(t, Options{Config: cfg, Logger: jsonLogger(logs)})
	msgs = sub.WaitFor(t, func(m []mosquittotest.Message) bool { return streamingCount(m[restartAt:], "cam2") > 0 }, 60*time.Second)
	for _, st := range statuses(msgs[restartAt:], "cam2") {
		if a := st.Analysis; a == nil || a.Reason != "privacy complaint" || a.Operator != "carol" || a.Scope != "camera" {
			t.Errorf("cam2 status after the restart: %+v analysis %+v", st, a)
		}
	}
	waitMetric(t, addr, `edgeguard_analysis_paused{camera="cam2"}`, 1)
	// An event reported before the restart can still be reviewed (the
	// trail remembers it), under its type.
	for deadline := time.Now().Add(30 * time.Second); strings.Count(logs.String(), "mqtt command topics subscribed") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("command topics not subscribed again after the restart")
		}
	}
	waitLog(t, logs, time.Second, "events reported before this start can be reviewed")
	if r := command(t, room, sub, "ctl/e2e/cam1/events/"+first.EventID+"/review", `{"verdict":"dismissed","operator":"dave"}`); !r.OK || r.Verdict != "dismissed" {
		t.Errorf("review after the restart of an event from before it: reply %+v", r)
	}
	waitMetric(t, addr, `edgeguard_reviews_total{camera="cam1",type="motion",verdict="dismissed"}`, 1)
	stop()

	// The trail verifies and holds every command.
	if _, err := VerifyAudit(cfg.Audit.Dir, ""); err != nil {
		t.Fatalf("verify: %v", err)
	}
	var review, refused, paused, expired bool
	for _, e := range trail(cfg.Audit.Dir) {
		if e.Kind != audit.KindCommand {
			continue
		}
		switch {
		case strings.Contains(e.What, "review of event "+first.EventID) && e.Result == "ok":
			review = review || e.Who == "alice" && e.EventType == "motion" && e.Detail == "person on the platform" && strings.HasSuffix(e.What, ": confirmed")
		case strings.HasPrefix(e.Result, "error: "):
			refused = true
		case e.Camera == "cam1" && strings.Contains(e.What, "paused: maintenance") && e.Who == "alice":
			paused = true
		case strings.Contains(e.What, "until passed (device)"):
			expired = true
		}
		if strings.Contains(e.What, "outside the prefix") || e.Who == "mallory" {
			t.Errorf("a command outside the prefix is in the trail: %+v", e)
		}
	}
	if !review || !refused || !paused || !expired {
		t.Errorf("trail: review %v, refused %v, pause %v, expiry %v; want all", review, refused, paused, expired)
	}
}

// TestOversightStateCorrupt: a pause state that cannot be read stops the
// service with an error naming the file (fail closed).
func TestOversightStateCorrupt(t *testing.T) {
	cfg := testConfig(t, "tcp://127.0.0.1:1", map[string]string{"cam1": "rtsp://127.0.0.1:1/cam"})
	cfg.Audit.Dir = t.TempDir()
	path := oversightStateFile(cfg.Outbox.Dir)
	if err := os.WriteFile(path, []byte(`{"version":1,"cameras":{"cam1":`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Run: %v, want an error naming %s", err, path)
	}
}

// recordingSink is a camera.Sink and SnapshotSink that keeps what passes.
type recordingSink struct {
	mu     sync.Mutex
	events []event.Event
	status []event.CameraStatus
	snaps  int
}

func (s *recordingSink) Event(_ context.Context, ev event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *recordingSink) Status(_ context.Context, st event.CameraStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = append(s.status, st)
	return nil
}

func (s *recordingSink) Wanted() bool { return true }

func (s *recordingSink) Submit(frame *gocv.Mat, _, _ string, _ []image.Rectangle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps++
	frame.Close()
}

// TestPauseGate: what of a situation passes the gate as the pause begins
// and ends around it, and the live view of a paused camera is refused.
func TestPauseGate(t *testing.T) {
	o, err := newOversight("", nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{}
	cc := o.gate(camera.Config{ID: "cam1", Sink: sink, Snapshots: sink})
	o.add(cc.Sink)
	g := cc.Sink.(*pauseGate)
	ctx := context.Background()
	ev := func(id string, p event.Phase) {
		if err := g.Event(ctx, event.Event{EventID: id, Camera: "cam1", Type: "motion", Phase: p}); err != nil {
			t.Fatal(err)
		}
	}
	pause := func(state string) {
		if err := o.apply("cam1", oversight.AnalysisCommand{State: state, Reason: "r", Operator: "op"}); err != nil {
			t.Fatal(err)
		}
	}
	_ = g.Status(ctx, event.CameraStatus{Camera: "cam1", State: event.StateStreaming})
	ev("open", event.PhaseStart) // open at the pause
	pause(oversight.Paused)
	ev("open", event.PhaseUpdate)
	ev("held", event.PhaseStart) // starts while paused
	ev("open", event.PhaseEnd)   // the open one still ends
	if g.Wanted() {
		t.Error("a paused camera wants snapshots")
	}
	if err := o.liveRefusal("cam1"); !errors.Is(err, errAnalysisPaused) || !strings.Contains(err.Error(), "op") {
		t.Errorf("live view of a paused camera: %v", err)
	}
	if err := o.liveRefusal("cam2"); err != nil {
		t.Errorf("live view of a running camera: %v", err)
	}
	pause(oversight.Running)
	ev("held", event.PhaseUpdate) // withheld whole, also after the pause
	ev("held", event.PhaseEnd)
	ev("new", event.PhaseStart)
	if !g.Wanted() || o.liveRefusal("cam1") != nil {
		t.Error("a resumed camera still refuses pictures")
	}
	var got []string
	for _, e := range sink.events {
		got = append(got, e.EventID+"/"+string(e.Phase))
	}
	if want := "open/start open/end new/start"; strings.Join(got, " ") != want {
		t.Errorf("passed %q, want %q", strings.Join(got, " "), want)
	}
	// The status was sent again at each change, paused then not.
	var analysis []bool
	for _, st := range sink.status {
		analysis = append(analysis, st.Analysis != nil)
	}
	if fmt.Sprint(analysis) != "[false true false]" {
		t.Errorf("statuses' analysis set: %v, want [false true false]", analysis)
	}
	if _, ok := o.recent.Lookup("held"); ok {
		t.Error("a withheld situation can be reviewed")
	}
	if k, ok := o.recent.Lookup("new"); !ok || k.Type != "motion" {
		t.Errorf("published situation not known for review: %+v %v", k, ok)
	}

	// The device's pause covers a camera a reload adds later.
	if err := o.apply("", oversight.AnalysisCommand{State: oversight.Paused, Reason: "stop", Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	later := &recordingSink{}
	lc := o.gate(camera.Config{ID: "cam3", Sink: later, Snapshots: later})
	o.add(lc.Sink)
	lg := lc.Sink.(*pauseGate)
	if err := lg.Event(ctx, event.Event{EventID: "late", Camera: "cam3", Type: "motion", Phase: event.PhaseStart}); err != nil {
		t.Fatal(err)
	}
	_ = lg.Status(ctx, event.CameraStatus{Camera: "cam3", State: event.StateStreaming})
	if len(later.events) != 0 || lg.Wanted() || o.liveRefusal("cam3") == nil {
		t.Errorf("a camera added under the device pause: events %v, wants snapshots %v", later.events, lg.Wanted())
	}
	if len(later.status) != 1 || later.status[0].Analysis == nil || later.status[0].Analysis.Scope != "device" {
		t.Errorf("status of a camera added under the device pause: %+v", later.status)
	}
}
