package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/event"
)

// loggedMotion is one "motion <phase>" line of the service's JSON log.
type loggedMotion struct {
	Msg, ID string
	EventID string `json:"event_id"`
	Seq     uint64
}

func loggedMotions(path string) []loggedMotion {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []loggedMotion
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l loggedMotion
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "motion ") && l.ID != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestKill9DuringSituationEndsItAfterRestart: the service is killed with
// SIGKILL while a situation is open (issue 18 item 4: unless the outbox
// remembers open situations and seq, that start never gets an end and seq
// starts again at 1). After the restart, every start
// the control room received has exactly one end (the killed run's
// situation gets its end from the outbox, the second run's end at its
// clean stop), and seq keeps increasing across the restart.
func TestKill9DuringSituationEndsItAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const device = "kill-situation"
	dir := t.TempDir()
	// One long situation per clip: the kill comes well inside it.
	rig := newKillRig(t, dir, device, "outbox:\n  dir: "+filepath.Join(dir, "outbox")+"\n", 25*time.Second, 30, nil)
	sub := rig.sub

	run1 := filepath.Join(dir, "run1.log")
	first := rig.start(run1)
	var open loggedMotion
	waitForLog(t, first, run1, "no situation started in the first run", func() bool {
		for _, l := range loggedMotions(run1) {
			if l.Msg == "motion start" {
				open = l
			}
		}
		return open.EventID != ""
	})
	// An update too, so the restart's end has a later time than the start.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(fmt.Sprint(loggedMotions(run1)), "motion update") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	var run1Seqs []uint64
	for _, l := range loggedMotions(run1) {
		if l.EventID == open.EventID && l.Msg == "motion end" {
			t.Fatalf("the situation ended before the kill; the scene must keep it open longer")
		}
		run1Seqs = append(run1Seqs, l.Seq)
	}
	t.Logf("killed during situation %s after %d messages (seq %v)", open.EventID, len(run1Seqs), run1Seqs)

	run2 := filepath.Join(dir, "run2.log")
	second := rig.start(run2)
	ended := func(m []mosquittotest.Message) bool {
		for _, ev := range received(m) {
			if ev.EventID == open.EventID && ev.Phase == event.PhaseEnd {
				return true
			}
		}
		return false
	}
	sub.WaitFor(t, ended, 60*time.Second)
	// The second run's own situation starts, then the service stops
	// cleanly, which ends it.
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		for _, ev := range received(m) {
			if ev.EventID != open.EventID && ev.Phase == event.PhaseStart {
				return true
			}
		}
		return false
	}, 60*time.Second)
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		starts, ends := situations(received(m))
		for id := range starts {
			if ends[id] == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second)

	evs := received(msgs)
	starts, ends := situations(evs)
	for id := range starts {
		if ends[id] != 1 {
			t.Errorf("situation %s: %d ends, want exactly 1", id, ends[id])
		}
	}
	for id := range ends {
		if starts[id] == 0 {
			t.Errorf("situation %s: an end without its start", id)
		}
	}
	// seq: unique per camera, and the restart's end and everything after
	// it come after every message the control room has from the first run.
	var restartEnd event.Event
	var maxBefore uint64
	seen := map[uint64]string{}
	for _, ev := range evs {
		if other, dup := seen[ev.Seq]; dup {
			t.Errorf("seq %d used by %s and %s", ev.Seq, other, ev.ID)
		}
		seen[ev.Seq] = ev.ID
		switch {
		case ev.EventID == open.EventID && ev.Phase == event.PhaseEnd:
			restartEnd = ev
		case restartEnd.ID == "":
			maxBefore = max(maxBefore, ev.Seq)
		case ev.Seq <= restartEnd.Seq:
			t.Errorf("after the restart, %s %s has seq %d, not above the restart's end (%d)", ev.EventID, ev.Phase, ev.Seq, restartEnd.Seq)
		}
	}
	if restartEnd.Seq <= maxBefore || restartEnd.Seq > run1Seqs[len(run1Seqs)-1]+1 {
		t.Errorf("the restart's end has seq %d; want it above the first run's %d and at most one above its last logged %d",
			restartEnd.Seq, maxBefore, run1Seqs[len(run1Seqs)-1])
	}
	if restartEnd.EndedAt == nil || restartEnd.EndedAt.Before(restartEnd.StartedAt.Time) {
		t.Errorf("the restart's end: ended_at %v, started_at %v", restartEnd.EndedAt, restartEnd.StartedAt)
	}
	t.Logf("restart's end: seq %d, at %s (started %s); %d situations, %d messages", restartEnd.Seq,
		restartEnd.At.UTC().Format(event.TimeFormat), restartEnd.StartedAt.UTC().Format(event.TimeFormat), len(starts), len(evs))
}

// received decodes the events among msgs, each id once (delivery is at
// least once).
func received(msgs []mosquittotest.Message) []event.Event {
	var out []event.Event
	seen := map[string]bool{}
	for _, m := range msgs {
		var ev event.Event
		if json.Unmarshal(m.Payload, &ev) != nil || ev.ID == "" || seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	return out
}

// situations counts the distinct starts and ends per event_id.
func situations(evs []event.Event) (starts, ends map[string]int) {
	starts, ends = map[string]int{}, map[string]int{}
	for _, ev := range evs {
		switch ev.Phase {
		case event.PhaseStart:
			starts[ev.EventID]++
		case event.PhaseEnd:
			ends[ev.EventID]++
		}
	}
	return starts, ends
}
