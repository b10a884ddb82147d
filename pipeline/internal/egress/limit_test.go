package egress_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

// step is one message through the guard's decision. The clock is the
// event's time: t0 plus at.
type step struct {
	rules     egress.Rules // if set, SetRules before this step
	situation string       // EventID label
	msg       string       // message ID label; "" → a fresh one
	phase     event.Phase
	at        time.Duration
	started   time.Duration // StartedAt: t0 plus this
	camera    string        // "" → cam1
	typ       string        // "" → motion
	want      egress.Reason
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // a Monday

func limited(perMinute int) rules {
	return rules{name: "limited", sum: "cccc", events: []string{"motion", "loitering"}, perMinute: perMinute}
}

// dayShift allows events from 07:00 to 19:00 UTC.
var dayShift = rules{name: "day", sum: "dddd", events: []string{"motion"}, perMinute: 1000,
	open: func(at time.Time) bool { return at.Hour() >= 7 && at.Hour() < 19 }}

func TestLimits(t *testing.T) {
	const (
		start  = event.PhaseStart
		update = event.PhaseUpdate
		end    = event.PhaseEnd
		ok     = egress.ReasonNone
		typ    = egress.ReasonType
		sched  = egress.ReasonSchedule
		rate   = egress.ReasonRate
	)
	min := time.Minute
	tests := []struct {
		name                string
		rules               egress.Rules
		steps               []step
		wantType, wantSched uint64
		wantRate            uint64
	}{
		{name: "a start over the limit is withheld with its updates and end", rules: limited(4), steps: []step{
			{situation: "a", phase: start, want: ok}, // 4 → 2 tokens (start + its end)
			{situation: "b", phase: start, want: ok}, // 2 → 0
			{situation: "c", phase: start, want: rate},
			{situation: "c", phase: update, at: 2 * min, want: rate}, // tokens are back, c stays withheld
			{situation: "c", phase: end, at: 2 * min, want: rate},
			{situation: "a", phase: end, want: ok}, // prepaid
			{situation: "b", phase: end, want: ok},
		}, wantRate: 3},
		{name: "tokens refill at the limit per minute of event time", rules: limited(2), steps: []step{
			{situation: "a", phase: start, want: ok}, // 2 → 0
			{situation: "a", phase: end, at: 10 * time.Second, want: ok},
			{situation: "b", phase: start, at: 30 * time.Second, want: rate}, // 1 token
			{situation: "b", phase: end, at: 40 * time.Second, want: rate},
			{situation: "c", phase: start, at: 90 * time.Second, want: ok}, // 1 + 2, capped at 2
			{situation: "c", phase: end, at: 95 * time.Second, want: ok},
		}, wantRate: 2},
		{name: "updates are thinned before starts", rules: limited(4), steps: []step{
			{situation: "a", phase: start, want: ok},                       // 4 → 2
			{situation: "a", phase: update, want: rate},                    // would leave no room for a start
			{situation: "a", phase: update, at: 1 * min, want: ok},         // refilled to 4 → 3
			{situation: "a", phase: update, at: 1 * min, want: ok},         // 3 → 2
			{situation: "a", phase: update, at: 1 * min, want: rate},       // thinned
			{situation: "b", phase: start, at: 1 * min, want: ok},          // 2 → 0: the start still fits
			{situation: "a", phase: end, at: 1 * min, want: ok},            // prepaid
			{situation: "b", phase: end, at: 1 * min, want: ok},            // prepaid
			{situation: "c", phase: start, at: 1 * min, want: rate},        // nothing left
			{situation: "c", phase: end, at: 90 * time.Second, want: rate}, // never an end without its start
		}, wantRate: 4},
		{name: "one bucket per camera and type: a busy camera does not starve others", rules: limited(2), steps: []step{
			{situation: "a", phase: start, want: ok},
			{situation: "b", phase: start, want: rate},
			{situation: "c", phase: start, camera: "cam2", want: ok},
			{situation: "d", phase: start, typ: "loitering", want: ok},
			{situation: "e", phase: start, camera: "cam2", typ: "loitering", want: ok},
		}, wantRate: 1},
		{name: "a retry of an admitted message is free", rules: limited(2), steps: []step{
			{situation: "a", msg: "a1", phase: start, want: ok}, // 2 → 0
			{situation: "a", msg: "a1", phase: start, want: ok}, // the outbox retries after a network error
			{situation: "a", msg: "a2", phase: end, want: ok},
		}},
		{name: "an end whose start this guard never saw passes", rules: limited(2), steps: []step{
			{situation: "old", phase: update, at: 5 * min, want: rate}, // updates need room for a start too
			{situation: "old", phase: end, at: 5 * min, want: ok},
		}, wantRate: 1},
		{name: "a limit below 1 fails closed", rules: limited(0), steps: []step{
			{situation: "a", phase: start, want: rate},
			{situation: "a", phase: end, want: rate},
			{situation: "b", phase: end, want: rate},
		}, wantRate: 3},
		{name: "a lower limit takes effect at once", rules: limited(1000), steps: []step{
			{situation: "a", phase: start, want: ok},
			{rules: limited(2), situation: "b", phase: start, want: ok}, // bucket capped at 2
			{situation: "c", phase: start, want: rate},
		}, wantRate: 1},
		{name: "the schedule is judged at the event's time, the whole situation", rules: dayShift, steps: []step{
			{situation: "night", phase: start, at: -5*time.Hour - time.Second, want: sched}, // 06:59:59
			{situation: "night", phase: update, at: -5*time.Hour + min, want: sched},        // 07:01, inside, but its start was not
			{situation: "night", phase: end, at: -5*time.Hour + 2*min, want: sched},
			{situation: "day", phase: start, at: -5 * time.Hour, want: ok}, // 07:00 inclusive
			{situation: "day", phase: end, at: -5*time.Hour + min, want: ok},
		}, wantSched: 3},
		{name: "messages after the window closes are dropped, not delayed", rules: dayShift, steps: []step{
			{situation: "late", phase: start, at: 7*time.Hour - min, want: ok}, // 18:59
			{situation: "late", phase: update, at: 7 * time.Hour, want: sched}, // 19:00 exclusive
			{situation: "late", phase: end, at: 7*time.Hour + min, want: sched},
		}, wantSched: 2},
		{name: "after a restart, the rest of a situation that started outside the schedule is withheld", rules: dayShift, steps: []step{
			{situation: "before-restart", phase: update, at: -5*time.Hour + min, started: -5*time.Hour - min, want: sched},
			{situation: "before-restart", phase: end, at: -5*time.Hour + 2*min, started: -5*time.Hour - min, want: sched},
			{situation: "inside", phase: end, at: -4 * time.Hour, started: -5 * time.Hour, want: ok},
		}, wantSched: 2},
		{name: "a situation withheld by type stays withheld when the policy changes", rules: limited(10), steps: []step{
			{situation: "a", phase: start, typ: "crowd", want: typ},
			{rules: rules{name: "crowd", events: []string{"crowd"}, perMinute: 10}, situation: "a", phase: update, typ: "crowd", want: typ},
			{situation: "a", phase: end, typ: "crowd", want: typ},
			{situation: "b", phase: start, typ: "crowd", want: ok},
		}, wantType: 3},
		{name: "nil rules withhold everything", rules: limited(10), steps: []step{
			{situation: "a", phase: start, want: ok},
			{rules: nilRules{}, situation: "a", phase: update, want: typ},
			{situation: "a", phase: end, want: typ},
		}, wantType: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := undialledGuard(t, tc.rules)
			id := situationIDs()
			for i, s := range tc.steps {
				if s.rules != nil {
					if _, isNil := s.rules.(nilRules); isNil {
						g.SetRules(nil)
					} else {
						g.SetRules(s.rules)
					}
				}
				ev := event.Event{Schema: event.Schema, ID: event.NewID(), EventID: id("situation " + s.situation),
					Device: "box1", Camera: s.camera, Type: s.typ, Phase: s.phase,
					At: event.Time{Time: t0.Add(s.at)}, StartedAt: event.Time{Time: t0.Add(s.started)}, Score: 0.5}
				if s.msg != "" {
					ev.ID = id("message " + s.msg)
				}
				if ev.Camera == "" {
					ev.Camera = "cam1"
				}
				if ev.Type == "" {
					ev.Type = "motion"
				}
				err := egress.Admit(g, ev)
				got := reasonOf(err)
				if got != s.want || (err != nil && got == egress.ReasonNone) {
					t.Fatalf("step %d (%s %s at %s): err = %v (reason %s), want reason %s",
						i, s.situation, s.phase, t0.Add(s.at).Format("15:04:05"), err, got, s.want)
				}
			}
			st := g.Stats()
			if st.SuppressedType != tc.wantType || st.SuppressedSchedule != tc.wantSched || st.SuppressedRate != tc.wantRate ||
				st.Suppressed != tc.wantType+tc.wantSched+tc.wantRate {
				t.Errorf("stats: suppressed %d (type %d, schedule %d, rate %d), want type %d, schedule %d, rate %d",
					st.Suppressed, st.SuppressedType, st.SuppressedSchedule, st.SuppressedRate, tc.wantType, tc.wantSched, tc.wantRate)
			}
		})
	}
}

// nilRules marks a step that calls SetRules(nil).
type nilRules struct{ egress.Rules }

// undialledGuard is a guard with rules r whose broker is never dialled:
// for its decisions alone.
func undialledGuard(t *testing.T, r egress.Rules) *egress.Guard {
	t.Helper()
	g, err := egress.New(egress.Config{Broker: "tcp://127.0.0.1:1", TopicPrefix: "eg", Device: "box1", Logger: testlog.Discard()}, r)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// situationIDs gives each situation label an event id of its own, the same
// every time.
func situationIDs() func(label string) string {
	ids := map[string]string{}
	return func(label string) string {
		if _, ok := ids[label]; !ok {
			ids[label] = event.NewID()
		}
		return ids[label]
	}
}

func reasonOf(err error) egress.Reason {
	switch {
	case err == nil:
		return egress.ReasonNone
	case errors.Is(err, egress.ErrTypeNotAllowed):
		return egress.ReasonType
	case errors.Is(err, egress.ErrOutsideSchedule):
		return egress.ReasonSchedule
	case errors.Is(err, egress.ErrRateLimited):
		return egress.ReasonRate
	}
	return -1
}

// The real policy's limit and schedule reach the guard.
func TestLimitsWithRealPolicy(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(`apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: limits
  version: "1"
  controller: Stadt Beispiel, Ordnungsamt
  contact: datenschutz@example.org
  legal_basis: "Art. 6(1)(e) GDPR"
  dpia: DSFA-2026-01
  approved: 2026-10-28
retention: {outbox: 1h}
audio: discard
egress:
  events: [motion]
  max_events_per_minute: 2
  schedule:
    timezone: Europe/Berlin
    windows: [{days: [mon], from: "08:00", to: "18:00"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	g := undialledGuard(t, p)
	// 12:00 UTC on Monday 2026-11-23 is 13:00 in Berlin: inside.
	for i, tc := range []struct {
		at   time.Time
		typ  string
		want egress.Reason
	}{
		{t0, "motion", egress.ReasonNone},
		{t0, "motion", egress.ReasonRate},
		{t0, "loitering", egress.ReasonType},
		{t0.Add(5 * time.Hour), "motion", egress.ReasonSchedule}, // 18:00 Berlin
	} {
		ev := sampleEvent()
		ev.At, ev.Type = event.Time{Time: tc.at}, tc.typ
		if got := reasonOf(egress.Admit(g, ev)); got != tc.want {
			t.Errorf("%d: %s at %s: reason %s, want %s", i, tc.typ, tc.at, got, tc.want)
		}
	}
	if st := g.Stats(); fmt.Sprint(st.SuppressedType, st.SuppressedSchedule, st.SuppressedRate) != "1 1 1" {
		t.Errorf("stats %+v", st)
	}
}

// Situations whose end never comes (a camera died) do not pile up.
func TestLimiterMemoryIsBounded(t *testing.T) {
	g := undialledGuard(t, limited(0))
	stale := sampleEvent()
	stale.At = event.Time{Time: t0.Add(-25 * time.Hour)}
	_ = egress.Admit(g, stale)
	for i := 0; i < 5000; i++ {
		ev := sampleEvent()
		ev.At = event.Time{Time: t0.Add(time.Duration(i) * time.Second)}
		_ = egress.Admit(g, ev)
	}
	if n := egress.OpenSituations(g); n > 4096 {
		t.Fatalf("%d situations remembered, want at most 4096", n)
	}
	// The newest is still known: its end is withheld with it.
	last := sampleEvent()
	last.At = event.Time{Time: t0.Add(5000 * time.Second)}
	if err := egress.Admit(g, last); !errors.Is(err, egress.ErrRateLimited) {
		t.Fatal(err)
	}
	last.ID, last.Phase = event.NewID(), event.PhaseEnd
	if err := egress.Admit(g, last); !errors.Is(err, egress.ErrRateLimited) {
		t.Fatalf("end of a withheld situation: %v", err)
	}
}

// snapRules are test rules that also allow snapshots.
type snapRules struct{ rules }

func (snapRules) AllowsSnapshots() bool { return true }

// TestSnapshotVerdicts: an image leaves only if the guard admitted its
// situation's start, also shortly after the situation ended; anything the
// guard does not know is refused (fail closed).
func TestSnapshotVerdicts(t *testing.T) {
	const (
		start = event.PhaseStart
		end   = event.PhaseEnd
	)
	night := -5*time.Hour - time.Second // 06:59:59, outside dayShift
	tests := []struct {
		name  string
		rules egress.Rules
		steps []step // messages judged before the image; want is not checked here
		// later: how many other admitted situations start and end after
		// the steps, before the image
		later int
		image string // situation label of the image
		allow bool
	}{
		{name: "admitted start", rules: snapRules{limited(10)},
			steps: []step{{situation: "a", phase: start}}, image: "a", allow: true},
		{name: "start withheld by type", rules: snapRules{limited(10)},
			steps: []step{{situation: "a", phase: start, typ: "crowd"}}, image: "a"},
		{name: "start withheld by the schedule", rules: snapRules{dayShift},
			steps: []step{{situation: "a", phase: start, at: night}}, image: "a"},
		{name: "start withheld by the rate limit", rules: snapRules{limited(2)},
			steps: []step{{situation: "a", phase: start}, {situation: "b", phase: start}}, image: "b"},
		{name: "unknown situation (start not judged yet, or never seen)", rules: snapRules{limited(10)},
			steps: []step{{situation: "a", phase: start}}, image: "b"},
		{name: "admitted and ended just before the image", rules: snapRules{limited(10)},
			steps: []step{{situation: "a", phase: start}, {situation: "a", phase: end}}, image: "a", allow: true},
		{name: "admitted, and its end withheld by the schedule", rules: snapRules{dayShift},
			steps: []step{{situation: "a", phase: start, at: 7*time.Hour - time.Minute}, {situation: "a", phase: end, at: 7 * time.Hour}},
			image: "a", allow: true},
		{name: "withheld and ended", rules: snapRules{dayShift},
			steps: []step{{situation: "a", phase: start, at: night}, {situation: "a", phase: end}}, image: "a"},
		{name: "admitted and ended long ago: forgotten", rules: snapRules{limited(100000)},
			steps: []step{{situation: "a", phase: start}, {situation: "a", phase: end}}, later: egress.MaxEndedSituations, image: "a"},
		{name: "admitted and ended, not yet forgotten", rules: snapRules{limited(100000)},
			steps: []step{{situation: "a", phase: start}, {situation: "a", phase: end}}, later: egress.MaxEndedSituations - 1, image: "a", allow: true},
		{name: "admitted, but the rules allow no snapshots", rules: limited(10),
			steps: []step{{situation: "a", phase: start}}, image: "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := undialledGuard(t, tc.rules)
			id := situationIDs()
			msg := func(situation string, phase event.Phase, at time.Duration, typ string) event.Event {
				if typ == "" {
					typ = "motion"
				}
				return event.Event{Schema: event.Schema, ID: event.NewID(), EventID: id(situation), Device: "box1",
					Camera: "cam1", Type: typ, Phase: phase, At: event.Time{Time: t0.Add(at)}, StartedAt: event.Time{Time: t0}}
			}
			for _, s := range tc.steps {
				_ = egress.Admit(g, msg(s.situation, s.phase, s.at, s.typ))
			}
			for i := range tc.later {
				other := fmt.Sprint("other", i)
				_ = egress.Admit(g, msg(other, start, 0, ""))
				if err := egress.Admit(g, msg(other, end, 0, "")); err != nil {
					t.Fatal(err)
				}
			}
			before := g.Stats().Suppressed
			err := egress.AdmitSnapshot(g, "cam1", id(tc.image))
			if (err == nil) != tc.allow {
				t.Fatalf("snapshot: %v, want allowed %v", err, tc.allow)
			}
			if err != nil && !errors.Is(err, egress.ErrSuppressed) {
				t.Fatalf("refusal %v is not ErrSuppressed", err)
			}
			if got, want := g.Stats().Suppressed-before, map[bool]uint64{true: 0, false: 1}[tc.allow]; got != want {
				t.Errorf("suppressed counter grew by %d, want %d", got, want)
			}
		})
	}
}
