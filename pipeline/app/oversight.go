package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/oversight"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
)

// recentEvents is how many published situations a review can name.
const recentEvents = 4096

// oversightStateFile is where the pause state of a service whose outbox
// is in dir is kept, beside the outbox like the audit trail (<state>/
// <device>/oversight.json); "" with an outbox in memory: pauses last
// until the service stops.
func oversightStateFile(boxDir string) string {
	switch {
	case boxDir == "":
		return ""
	case filepath.Base(boxDir) == "outbox":
		return filepath.Join(filepath.Dir(boxDir), "oversight.json")
	}
	return filepath.Clean(boxDir) + ".oversight.json"
}

// oversightCtl is human oversight over MQTT (docs/oversight.md): it
// holds the pause state, gates each camera's events, snapshots and live
// view with it (pauseGate), and carries out the operator's commands,
// which the guard receives (egress.ServeCommands).
type oversightCtl struct {
	log    *slog.Logger
	path   string // the state file; "" in memory only
	audit  *auditTrail
	recent *oversight.Recent
	now    func() time.Time
	wake   chan struct{} // the expiry loop looks again

	mu      sync.Mutex
	state   oversight.State
	gates   map[string]*pauseGate // the cameras built to run
	guard   *egress.Guard         // set by serve
	metrics *observe.Oversight    // set by setMetrics
	// sealed: the embedded broker seals each command with its publisher's
	// certificate (mqtt.embedded_tls), and only those with one are obeyed.
	sealed bool
}

// newOversight loads the pause state kept beside the outbox in boxDir.
// A state file that cannot be read stops the start (fail closed).
func newOversight(boxDir string, trail *auditTrail, log *slog.Logger) (*oversightCtl, error) {
	o := &oversightCtl{log: log, path: oversightStateFile(boxDir), audit: trail, recent: oversight.NewRecent(recentEvents),
		now: time.Now, wake: make(chan struct{}, 1), gates: map[string]*pauseGate{}}
	// The situations reported before the restart stay reviewable: the
	// trail recorded each one. (Not fatal: a trail that cannot be read
	// back costs only reviews of older events, and says so.)
	if known, err := trail.reportedEvents(recentEvents); err != nil {
		log.Warn("events reported before this start cannot be reviewed: the audit trail could not be read back", "err", err)
	} else {
		for _, e := range known {
			o.recent.Add(e.EventID, oversight.Known{Camera: e.Camera, Type: e.EventType})
		}
		if len(known) > 0 {
			log.Info("events reported before this start can be reviewed", "events", len(known))
		}
	}
	if o.path == "" {
		log.Warn("analysis pauses are kept in memory only (outbox.memory: true): a restart resumes every camera")
		return o, nil
	}
	st, err := oversight.Load(o.path)
	if err != nil {
		return nil, err
	}
	st, gone := st.Expire(o.now())
	o.state = st
	if len(gone) > 0 {
		o.save(st) // best effort: Expire at the next start does the same
	}
	if st.Device != nil {
		log.Warn("analysis of every camera is paused", "reason", st.Device.Reason, "operator", st.Device.Operator, "since", st.Device.Since, "until", st.Device.Until, "state_file", o.path)
	}
	for _, c := range slices.Sorted(maps.Keys(st.Cameras)) {
		p := st.Cameras[c]
		log.Warn("analysis of camera is paused", "camera", c, "reason", p.Reason, "operator", p.Operator, "since", p.Since, "until", p.Until, "state_file", o.path)
	}
	return o, nil
}

// serve has the guard receive the commands under cfg's command prefix;
// without commands.enabled only the saved state holds.
func (o *oversightCtl) serve(g *egress.Guard, cfg *config.Config) error {
	o.mu.Lock()
	o.guard = g
	o.mu.Unlock()
	if !cfg.Commands.Enabled {
		o.log.Info("operator commands over MQTT are off (commands.enabled: false)")
		return nil
	}
	prefix := cfg.Commands.ResolvePrefix(cfg.MQTT.TopicPrefix)
	o.sealed = cfg.MQTT.Embedded() && cfg.MQTT.EmbeddedTLS.On()
	if err := g.ServeCommands(egress.CommandsConfig{Prefix: prefix, Handle: o.handle}); err != nil {
		return err
	}
	o.log.Info("operator commands over MQTT", "prefix", prefix+"/"+cfg.Device)
	return nil
}

func (o *oversightCtl) setMetrics(m *observe.Oversight) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.metrics = m
	now := o.now()
	for id := range o.gates {
		_, p := o.state.Paused(id, now)
		m.SetPaused(id, p)
	}
}

// Run ends the pauses whose until passed, when it passes, until ctx ends.
func (o *oversightCtl) Run(ctx context.Context) error {
	for {
		o.mu.Lock()
		next := o.state.NextExpiry()
		o.mu.Unlock()
		var fire <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(max(time.Until(next), 0))
			fire = t.C
		}
		select {
		case <-ctx.Done():
		case <-o.wake:
		case <-fire:
			o.expire()
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (o *oversightCtl) expire() {
	o.mu.Lock()
	st, gone := o.state.Expire(o.now())
	if len(gone) == 0 {
		o.mu.Unlock()
		return
	}
	o.state = st
	o.save(st)
	o.mu.Unlock()
	for _, c := range gone {
		scope := scopeName(c)
		o.log.Info("analysis pause ended (until passed)", "scope", scope)
		o.audit.Record(audit.Record{Kind: audit.KindCommand, Camera: c, Who: "edgeguard", What: "analysis running: the pause's until passed (" + scope + ")", Result: "ok"})
	}
	o.refresh()
}

// save writes st; a failure is logged (the state in memory holds until
// the stop).
func (o *oversightCtl) save(st oversight.State) error {
	if o.path == "" {
		return nil
	}
	if err := oversight.Save(o.path, st); err != nil {
		o.log.Error("analysis pause state not saved", "file", o.path, "err", err)
		return err
	}
	return nil
}

func scopeName(camera string) string {
	if camera == "" {
		return "device"
	}
	return "camera " + camera
}

// paused is the pause camera is under now.
func (o *oversightCtl) paused(camera string) (oversight.Pause, string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	p, ok := o.state.Paused(camera, now)
	scope := "camera"
	if ok && o.state.Device != nil && !o.state.Device.Expired(now) {
		scope = "device"
	}
	return p, scope, ok
}

// analysisOf is the status field of camera; nil while it runs.
func (o *oversightCtl) analysisOf(camera string) *event.AnalysisPause {
	p, scope, ok := o.paused(camera)
	if !ok {
		return nil
	}
	a := &event.AnalysisPause{State: oversight.Paused, Scope: scope, Reason: p.Reason, Operator: p.Operator, Since: event.Time{Time: p.Since}}
	if !p.Until.IsZero() {
		a.Until = &event.Time{Time: p.Until}
	}
	return a
}

// withheldPaused is the trail's reason for what a pause withheld.
const withheldPaused = "analysis_paused"

// errAnalysisPaused: no picture of a paused camera leaves.
var errAnalysisPaused = errors.New("the camera's analysis is paused by an operator; no picture leaves until it runs again")

// liveRefusal is why the live view of camera is refused, nil if it is not.
func (o *oversightCtl) liveRefusal(camera string) error {
	if o == nil {
		return nil
	}
	if p, scope, ok := o.paused(camera); ok {
		return fmt.Errorf("%w (%s pause by %s: %s)", errAnalysisPaused, scope, p.Operator, p.Reason)
	}
	return nil
}

// refresh re-sends each camera's last status with its analysis field and
// sets the paused gauges.
func (o *oversightCtl) refresh() {
	o.mu.Lock()
	gates := slices.Collect(maps.Values(o.gates))
	m := o.metrics
	o.mu.Unlock()
	for _, g := range gates {
		_, _, p := o.paused(g.cam)
		if m != nil {
			m.SetPaused(g.cam, p)
		}
		g.refresh()
	}
}

// gate wraps cc's sink and snapshots with the camera's pause.
func (o *oversightCtl) gate(cc camera.Config) camera.Config {
	if o == nil {
		return cc
	}
	g := &pauseGate{o: o, cam: cc.ID, next: cc.Sink, snaps: cc.Snapshots, open: map[string]bool{}, held: map[string]bool{}}
	cc.Sink = g
	if cc.Snapshots != nil {
		cc.Snapshots = g
	}
	return cc
}

// add registers the gate of a camera built to run (cc.Sink from gate).
func (o *oversightCtl) add(sink camera.Sink) {
	g, ok := sink.(*pauseGate)
	if o == nil || !ok {
		return
	}
	o.mu.Lock()
	o.gates[g.cam] = g
	m := o.metrics
	_, p := o.state.Paused(g.cam, o.now())
	o.mu.Unlock()
	if m != nil {
		m.SetPaused(g.cam, p)
	}
}

// remove forgets a camera stopped.
func (o *oversightCtl) remove(id string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	delete(o.gates, id)
	m := o.metrics
	o.mu.Unlock()
	if m != nil {
		m.ForgetCamera(id)
	}
}

// pauseGate sits between a camera and the outbox (camera.Sink) and the
// snapshot worker (camera.SnapshotSink). While the camera is paused:
// nothing of a situation that starts leaves (each event withheld is in
// the audit trail with reason analysis_paused), the updates of a situation
// open at the pause are withheld too, and only its end passes, so that a
// consumer is never left with a start without its end (and the outbox
// does not end it after a restart); no snapshot is taken. The camera's
// status passes with the analysis field. A situation whose start was
// withheld stays withheld whole after the pause ends.
type pauseGate struct {
	o     *oversightCtl
	cam   string
	next  camera.Sink
	snaps camera.SnapshotSink

	mu   sync.Mutex
	last *event.CameraStatus // the camera's last status, for refresh
	open map[string]bool     // situations whose start passed
	held map[string]bool     // situations whose start was withheld
}

func (g *pauseGate) Event(ctx context.Context, ev event.Event) error {
	p, scope, paused := g.o.paused(g.cam)
	g.mu.Lock()
	withhold := g.held[ev.EventID] || (paused && !(ev.Phase == event.PhaseEnd && g.open[ev.EventID]))
	switch {
	case withhold && ev.Phase == event.PhaseEnd:
		delete(g.held, ev.EventID)
		delete(g.open, ev.EventID)
	case withhold && !g.open[ev.EventID]:
		g.held[ev.EventID] = true
	case withhold: // an update of a situation open at the pause: it stays open
	case ev.Phase == event.PhaseStart:
		g.open[ev.EventID] = true
	case ev.Phase == event.PhaseEnd:
		delete(g.open, ev.EventID)
	}
	g.mu.Unlock()
	if withhold {
		detail := "the situation's start was withheld: analysis paused"
		if paused {
			detail = fmt.Sprintf("analysis paused (%s) by %s: %s", scope, p.Operator, p.Reason)
		}
		g.o.audit.Record(audit.Record{Kind: audit.KindEventWithheld, Camera: ev.Camera, EventID: ev.EventID,
			EventType: ev.Type, Phase: string(ev.Phase), Reason: withheldPaused, Detail: detail})
		return nil
	}
	if ev.Phase == event.PhaseStart {
		g.o.recent.Add(ev.EventID, oversight.Known{Camera: g.cam, Type: ev.Type})
	}
	return g.next.Event(ctx, ev)
}

func (g *pauseGate) Status(ctx context.Context, st event.CameraStatus) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := st
	g.last = &c
	st.Analysis = g.o.analysisOf(g.cam)
	return g.next.Status(ctx, st)
}

// refresh sends the last status again with the analysis field as it is
// now (retained: a consumer subscribing later sees the pause).
func (g *pauseGate) refresh() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		return
	}
	st := *g.last
	st.Analysis = g.o.analysisOf(g.cam)
	if err := g.next.Status(context.Background(), st); err != nil {
		g.o.log.Warn("camera status with the analysis state not queued", "camera", g.cam, "err", err)
	}
}

func (g *pauseGate) Wanted() bool {
	if _, _, paused := g.o.paused(g.cam); paused {
		return false
	}
	return g.snaps.Wanted()
}

func (g *pauseGate) Submit(frame *gocv.Mat, camera, eventID string, blobs []image.Rectangle) {
	if _, _, paused := g.o.paused(g.cam); paused {
		frame.Close() // Submit owns the frame
		return
	}
	g.snaps.Submit(frame, camera, eventID, blobs)
}

// commandResult is the reply on <command topic>/result.
type commandResult struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	Camera   string `json:"camera,omitempty"` // "" for the device
	State    string `json:"state,omitempty"`
	Until    string `json:"until,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	Verdict  string `json:"verdict,omitempty"`
	Operator string `json:"operator,omitempty"`
	// CertificateSubject is the verified subject of the sender's client
	// certificate (the embedded broker's TLS listener); it is Operator then.
	CertificateSubject string `json:"certificate_subject,omitempty"`
}

// handle carries out one command (on the guard's command goroutine).
func (o *oversightCtl) handle(c egress.Command) {
	l := c.Levels
	for _, x := range l {
		if len(x) > 128 || !utf8.ValidString(x) {
			return // not a topic of ours: no camera or event id is that long
		}
	}
	from := o.sender(&c)
	switch {
	case len(l) == 2 && l[0] == "analysis" && l[1] == "set":
		o.analysis("", c, from)
	case len(l) == 3 && l[1] == "analysis" && l[2] == "set":
		o.analysis(l[0], c, from)
	case len(l) == 4 && l[1] == "events" && l[3] == "review":
		o.review(l[0], l[2], c, from)
	}
}

// sender is who sent a command, as far as the box can tell.
type sender struct {
	// subject is the verified subject of the publisher's client
	// certificate (the embedded broker's TLS listener); "" otherwise.
	subject string
	// refused, when set, refuses the command whatever it says.
	refused error
}

// errNoCertificate refuses a command that did not come through the
// embedded broker's TLS listener while it has one.
var errNoCertificate = errors.New("sender: no client certificate; with mqtt.embedded_tls commands are accepted only over the embedded broker's TLS listener, from a client with a certificate of its client CA")

// sender opens the embedded broker's envelope (oversight.Sealed) when the
// broker seals commands, leaving the command itself in c.Payload.
func (o *oversightCtl) sender(c *egress.Command) sender {
	if !o.sealed {
		return sender{}
	}
	s, err := oversight.Unseal(c.Payload)
	switch {
	case err != nil:
		return sender{refused: err}
	case s.Subject == "":
		return sender{refused: errNoCertificate}
	}
	c.Payload = s.Payload
	return sender{subject: s.Subject}
}

// operator is who the trail, the state and the reply name: the verified
// certificate subject where there is one (it wins over what the payload
// says), else the payload's operator. claimed is the payload's operator
// when a subject named someone, for the trail.
func (f sender) operator(payloadOperator string) (who, claimed string) {
	if f.subject == "" {
		return payloadOperator, ""
	}
	return f.subject, payloadOperator
}

// withClaim adds the payload's operator to a trail record's what when the
// certificate named the sender.
func withClaim(what, claimed string) string {
	if claimed == "" {
		return what
	}
	return what + " (operator field: " + strconv.Quote(claimed) + ")"
}

func (o *oversightCtl) analysis(cam string, c egress.Command, from sender) {
	what := "analysis/set (" + scopeName(cam) + ")"
	var cmd oversight.AnalysisCommand
	err := from.refused
	if err == nil {
		cmd, err = oversight.ParseAnalysis(c.Payload, o.now())
	}
	var claimed string
	cmd.Operator, claimed = from.operator(cmd.Operator)
	if err == nil && cam != "" {
		err = o.knownCamera(cam)
	}
	if err == nil {
		err = o.apply(cam, cmd)
	}
	res := commandResult{OK: err == nil, Camera: cam}
	if err != nil {
		res.Error = err.Error()
		o.done("analysis", audit.Record{Camera: cam, Who: from.subject, What: what}, err, res, c)
		return
	}
	res.State, res.Operator, res.CertificateSubject = cmd.State, cmd.Operator, from.subject
	if !cmd.Until.IsZero() {
		res.Until = cmd.Until.UTC().Format(time.RFC3339)
	}
	o.log.Info("analysis "+cmd.State, "scope", scopeName(cam), "operator", cmd.Operator, "reason", cmd.Reason, "until", res.Until)
	what += " " + cmd.State
	if cmd.Reason != "" {
		what += ": " + cmd.Reason
	}
	if res.Until != "" {
		what += " (until " + res.Until + ")"
	}
	o.done("analysis", audit.Record{Camera: cam, Who: cmd.Operator, What: withClaim(what, claimed)}, nil, res, c)
}

// knownCamera: cam runs (or is built to run).
func (o *oversightCtl) knownCamera(cam string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.gates[cam]; ok {
		return nil
	}
	return fmt.Errorf("camera: unknown; allowed %s", strings.Join(slices.Sorted(maps.Keys(o.gates)), ", "))
}

// apply changes the state, saved first: a state that cannot be saved
// changes nothing.
func (o *oversightCtl) apply(cam string, cmd oversight.AnalysisCommand) error {
	o.mu.Lock()
	st := o.state.Apply(cam, cmd, o.now())
	if err := o.save(st); err != nil {
		o.mu.Unlock()
		return fmt.Errorf("state: not saved, nothing changed (%s)", errors.Unwrap(err))
	}
	o.state = st
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	o.refresh()
	return nil
}

func (o *oversightCtl) review(cam, id string, c egress.Command, from sender) {
	what := "review of event " + id
	var cmd oversight.ReviewCommand
	err := from.refused
	if err == nil {
		cmd, err = oversight.ParseReview(c.Payload)
	}
	var claimed string
	cmd.Operator, claimed = from.operator(cmd.Operator)
	var k oversight.Known
	if err == nil {
		var ok bool
		switch k, ok = o.recent.Lookup(id); {
		case !ok:
			err = fmt.Errorf("event_id: unknown; allowed the id of one of the last %d situations this box's cameras reported", recentEvents)
		case k.Camera != cam:
			err = errors.New("camera: the event is not this camera's")
		}
	}
	res := commandResult{OK: err == nil, Camera: cam, EventID: id}
	if err != nil {
		res.Error = err.Error()
		o.done("review", audit.Record{Camera: cam, EventID: id, Who: from.subject, What: what}, err, res, c)
		return
	}
	res.Verdict, res.Operator, res.CertificateSubject = cmd.Verdict, cmd.Operator, from.subject
	o.mu.Lock()
	m := o.metrics
	o.mu.Unlock()
	if m != nil {
		m.Review(cam, k.Type, cmd.Verdict)
	}
	o.log.Info("event reviewed", "camera", cam, "event_id", id, "type", k.Type, "verdict", cmd.Verdict, "operator", cmd.Operator)
	o.done("review", audit.Record{Camera: cam, EventID: id, EventType: k.Type, Who: cmd.Operator, What: withClaim(what+": "+cmd.Verdict, claimed), Detail: cmd.Note}, nil, res, c)
}

// done records r (a command: who, what, the result), counts and answers
// the command.
func (o *oversightCtl) done(kind string, r audit.Record, err error, res commandResult, c egress.Command) {
	r.Kind, r.Result = audit.KindCommand, "ok"
	if err != nil {
		r.Result = "error: " + err.Error()
		o.log.Warn("operator command refused", "kind", kind, "topic_levels", strings.Join(c.Levels, "/"), "err", err)
	}
	o.audit.Record(r)
	o.mu.Lock()
	m, g := o.metrics, o.guard
	o.mu.Unlock()
	if m != nil {
		m.Command(kind, err == nil)
	}
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.PublishCommandResult(ctx, strings.Join(c.Levels, "/")+"/result", res); err != nil && !errors.Is(err, egress.ErrQueued) {
		o.log.Warn("command result not published", "err", err)
	}
}
