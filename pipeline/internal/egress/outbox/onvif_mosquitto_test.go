package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

const onvifPolicy = `apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: onvif
  version: "1"
  controller: Stadt Beispiel, Ordnungsamt
  contact: datenschutz@example.org
  legal_basis: "Art. 6(1)(e) GDPR"
  dpia: DSFA-2026-01
  approved: 2026-10-28
retention: {outbox: 1h}
audio: discard
egress:
  events: [intrusion, line_crossing]
  fields: [zone]
  max_events_per_minute: 60
`

// TestMosquittoONVIFFormat: with mqtt.format both, every event leaves as
// the edgeguard message and as the ONVIF one, from the same outbox record,
// through the guard: the policy's field filter applies to the ONVIF
// message too (zone allowed: it names the rule; class withheld: no
// ClassTypes), a type the policy withholds leaves in neither format, and
// property events are retained (a late subscriber sees the last state)
// while line crossings are not.
func TestMosquittoONVIFFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mosquitto")
	}
	b := mosquittotest.Start(t)
	onvifSub := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/onvif-ej/#")
	eventsSub := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/+/events")
	pol, err := policy.Parse("p.yaml", []byte(onvifPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g, err := egress.New(egress.Config{Broker: b.URL(), TopicPrefix: "eg", Device: "dev1",
		ConnectTimeout: 2 * time.Second, Logger: testlog.Discard()}, pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, guardTimeout)
	if err := g.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	pub, err := g.EventPublisher(egress.FormatBoth, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := newOutbox(t, Config{Publisher: pub, IsSuppressed: func(err error) bool { return errors.Is(err, egress.ErrSuppressed) }})

	start := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(typ string, ph event.Phase, sit string, at time.Time) event.Event {
		return event.Event{Schema: event.Schema, ID: event.NewID(), EventID: sit, Device: "dev1", Camera: "cam1",
			Type: typ, Phase: ph, At: event.Time{Time: at}, StartedAt: event.Time{Time: start},
			Score: 0.9, Zone: "door", Class: event.ClassPerson}
	}
	evs := []event.Event{
		mk("intrusion", event.PhaseStart, "s1", start),
		mk("motion", event.PhaseStart, "s2", start), // not allowed: leaves in neither format
		mk("line_crossing", event.PhaseStart, "s3", start.Add(time.Second)),
		mk("intrusion", event.PhaseEnd, "s1", start.Add(2*time.Second)),
	}
	for _, e := range evs {
		if err := o.Event(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	msgs := onvifSub.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(ms) >= 3 }, guardTimeout)
	drain(t, o)
	eventsSub.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(ms) >= 3 }, guardTimeout)

	const (
		inside  = "eg/dev1/onvif-ej/RuleEngine/FieldDetector/ObjectsInside/&cam1/edgeguard/door"
		crossed = "eg/dev1/onvif-ej/RuleEngine/LineDetector/Crossed/&cam1/edgeguard/door"
	)
	var topics []string
	for _, m := range onvifSub.Messages() {
		topics = append(topics, m.Topic)
	}
	if want := []string{inside, crossed, inside}; !slices.Equal(topics, want) {
		t.Fatalf("ONVIF topics %v\nwant %v\n%s", topics, want, mosquittotest.Dump(msgs))
	}
	wantBodies := []string{
		`{"UtcTime":"` + start.Format(event.TimeFormat) + `","PropertyOperation":"Changed","Source":{"AnalyticsConfiguration":"edgeguard","Rule":"door","VideoSource":"cam1"},"Data":{"IsInside":true}}`,
		`{"UtcTime":"` + start.Add(time.Second).Format(event.TimeFormat) + `","Source":{"AnalyticsConfiguration":"edgeguard","Rule":"door","VideoSource":"cam1"},"Data":{}}`,
		`{"UtcTime":"` + start.Add(2*time.Second).Format(event.TimeFormat) + `","PropertyOperation":"Changed","Source":{"AnalyticsConfiguration":"edgeguard","Rule":"door","VideoSource":"cam1"},"Data":{"IsInside":false}}`,
	}
	for i, m := range onvifSub.Messages()[:3] {
		if string(m.Payload) != wantBodies[i] {
			t.Errorf("message %d on %s:\n%s\nwant\n%s", i, m.Topic, m.Payload, wantBodies[i])
		}
		if strings.Contains(string(m.Payload), "Human") || strings.Contains(string(m.Payload), ":0.9") { // the score as a value; a timestamp may hold "0.9"
			t.Errorf("message %d carries a field the policy withholds: %s", i, m.Payload)
		}
	}
	// The edgeguard messages of the same events went out too, filtered the same way.
	for _, m := range eventsSub.Messages() {
		var e event.Event
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "motion" || e.Class != "" || e.Zone != "door" {
			t.Errorf("edgeguard message %s", m.Payload)
		}
	}
	if n := len(eventsSub.Messages()); n != 3 {
		t.Errorf("%d edgeguard messages, want 3", n)
	}
	if st := o.Stats(); st.Published != 3 || st.Suppressed != 1 {
		t.Errorf("outbox stats %+v, want 3 published (each in both formats), 1 suppressed", st)
	}

	// A subscriber arriving now gets the last state of the property
	// (retained), and no line crossing: that was an instant, not a state.
	late := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/onvif-ej/#")
	got := late.WaitFor(t, func(ms []mosquittotest.Message) bool { return len(ms) >= 1 }, guardTimeout)
	time.Sleep(200 * time.Millisecond) // anything else retained would have arrived with it
	got = late.Messages()
	if len(got) != 1 || got[0].Topic != inside || !got[0].Retained || string(got[0].Payload) != wantBodies[2] {
		t.Errorf("late subscriber got\n%s\nwant only the retained IsInside false on %s", mosquittotest.Dump(got), inside)
	}
}

// TestMosquittoONVIFOnly: with mqtt.format onvif, only the ONVIF message
// leaves, and the guard still admits the event (policy and rate limit).
func TestMosquittoONVIFOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mosquitto")
	}
	b := mosquittotest.Start(t)
	all := mosquittotest.Subscribe(t, b.URL(), "eg/dev1/#")
	pol, err := policy.Parse("p.yaml", []byte(strings.Replace(onvifPolicy, "fields: [zone]", "fields: []", 1)))
	if err != nil {
		t.Fatal(err)
	}
	trail := &auditSpy{}
	g, err := egress.New(egress.Config{Broker: b.URL(), TopicPrefix: "eg", Device: "dev1",
		ConnectTimeout: 2 * time.Second, Logger: testlog.Discard(), Audit: trail}, pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	cctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	if err := g.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	pub, err := g.EventPublisher(egress.FormatONVIF, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := newOutbox(t, Config{Publisher: pub, IsSuppressed: func(err error) bool { return errors.Is(err, egress.ErrSuppressed) }})
	now := event.Time{Time: time.Now()}
	for _, e := range []event.Event{
		{Schema: event.Schema, ID: "m1", EventID: "s1", Device: "dev1", Camera: "cam1", Type: "line_crossing",
			Phase: event.PhaseStart, At: now, StartedAt: now, Zone: "door"},
		{Schema: event.Schema, ID: "m2", EventID: "s2", Device: "dev1", Camera: "cam1", Type: "motion",
			Phase: event.PhaseStart, At: now, StartedAt: now},
	} {
		if err := o.Event(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, o)
	// The zone was withheld by the policy: the rule is named by the type.
	const want = "eg/dev1/onvif-ej/RuleEngine/LineDetector/Crossed/&cam1/edgeguard/line_crossing"
	all.WaitFor(t, func(ms []mosquittotest.Message) bool {
		return slices.ContainsFunc(ms, func(m mosquittotest.Message) bool { return m.Topic == want })
	}, guardTimeout)
	for _, m := range all.Messages() {
		if strings.HasSuffix(m.Topic, "/events") || strings.Contains(string(m.Payload), "door") || strings.Contains(m.Topic, "MotionAlarm") {
			t.Errorf("unexpected %s %s", m.Topic, m.Payload)
		}
	}
	if st := g.Stats(); st.SuppressedType != 1 {
		t.Errorf("guard withheld %d by type, want 1 (motion)", st.SuppressedType)
	}
	// ONVIF alone is the events' only message: the audit trail still
	// records what left and what was withheld.
	if got, want := trail.events(), []string{"event_published s1", "event_withheld s2"}; !slices.Equal(got, want) {
		t.Errorf("audit records %v, want %v", got, want)
	}
}

// auditSpy is an egress.Auditor that keeps the records of events.
type auditSpy struct {
	mu  sync.Mutex
	got []string
}

func (a *auditSpy) Record(r audit.Record) {
	if r.Kind != audit.KindEventPublished && r.Kind != audit.KindEventWithheld {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, string(r.Kind)+" "+r.EventID)
}

func (a *auditSpy) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}
