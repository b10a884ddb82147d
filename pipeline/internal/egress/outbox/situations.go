package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// Open situations and seq across restarts (Config.EndOpenSituations).
//
// The contract says a start is never left without its end, and seq
// orders a camera's messages. A clean stop keeps both: the cameras end
// their situations before the outbox closes. A kill -9 or a power cut
// does not, and the log alone cannot make up for it: events that were
// delivered are removed from it, so a situation whose start was
// acknowledged before the crash leaves no trace there, nor does the last
// seq of a camera whose events were all delivered.
//
// So the outbox keeps a small record next to the log, SituationsFile:
// every situation whose start was queued and whose end was not (with what
// its end needs: type, camera, zone, start time, last time, peak score),
// and the last seq per camera. It changes with every event, is encoded
// under the mutex like the event (a few hundred bytes), and written by the
// writer in the same batch as the events it reflects: a temporary file,
// fsynced with SyncAlways, renamed over the old one. Several changes in
// one batch cost one write. It is written before any done record, segment
// truncation or deletion planned after it, so a situation is never gone
// from both the log and the record while it is open.
//
// At New, the record and the events replayed from the log (which may be
// newer than the last record written) say which situations are open; for
// each, an end is queued behind the replayed events: same event_id, the
// next seq of its camera, at and ended_at the time of the situation's
// last stored message, the peak score, detail "restart" (the guard
// removes it unless the policy allows detail). LastSeq tells the service
// where each camera's seq continues.
//
// A situation whose start did not leave (withheld by the policy, dropped
// for the bounds) is forgotten at once: its end would reach consumers
// without its start.

// SituationsFile is the record of open situations and seqs in Dir.
const SituationsFile = "situations.json"

// DetailRestart is the detail of an end the outbox queued after a restart
// for a situation the previous run could not end.
const DetailRestart = "restart"

// situations is the record in memory. Changed with the Outbox's mutex held.
type situations struct {
	open map[string]*event.Event // by event_id: last message, Score the peak
	seq  map[string]uint64       // last seq per camera
}

// situationsFile is SituationsFile's content.
type situationsFile struct {
	Version int               `json:"version"`
	Seq     map[string]uint64 `json:"seq"`
	Open    []event.Event     `json:"open"`
}

func newSituations() *situations {
	return &situations{open: map[string]*event.Event{}, seq: map[string]uint64{}}
}

// observe applies one queued event (live, or replayed in log order).
func (s *situations) observe(ev *event.Event) {
	if ev.Camera != "" && ev.Seq > s.seq[ev.Camera] {
		s.seq[ev.Camera] = ev.Seq
	}
	if ev.EventID == "" {
		return
	}
	switch ev.Phase {
	case event.PhaseEnd:
		delete(s.open, ev.EventID)
	case event.PhaseStart:
		s.open[ev.EventID] = trimmed(ev, ev.Score)
	default:
		// Only situations whose start was seen: an update of one that
		// was forgotten (its start withheld) must not bring it back.
		if last := s.open[ev.EventID]; last != nil {
			s.open[ev.EventID] = trimmed(ev, max(last.Score, ev.Score))
		}
	}
}

// trimmed keeps of ev what its end needs.
func trimmed(ev *event.Event, peak float64) *event.Event {
	return &event.Event{Schema: ev.Schema, EventID: ev.EventID, Device: ev.Device, Camera: ev.Camera, Type: ev.Type,
		Phase: ev.Phase, Seq: ev.Seq, At: ev.At, StartedAt: ev.StartedAt, Score: peak, Zone: ev.Zone, Detail: ev.Detail,
		Class: ev.Class}
}

func (s *situations) encode() []byte {
	f := situationsFile{Version: 1, Seq: s.seq, Open: make([]event.Event, 0, len(s.open))}
	for _, ev := range s.open {
		f.Open = append(f.Open, *ev)
	}
	slices.SortFunc(f.Open, func(a, b event.Event) int { return strings.Compare(a.EventID, b.EventID) })
	b, _ := json.Marshal(f) // maps of strings and plain events: cannot fail
	return b
}

// loadSituations reads the record in dir; a missing file is an empty
// record (a new outbox, or one from before the record existed), a damaged
// one is reported and ignored (then only the log says what was open).
func loadSituations(dir string) (*situations, error) {
	s := newSituations()
	path := filepath.Join(dir, SituationsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("outbox: %w", err)
	}
	var f situationsFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version != 1 {
		if err == nil {
			err = fmt.Errorf("version %d, want 1", f.Version)
		}
		return s, fmt.Errorf("outbox: %s: %w", path, err)
	}
	maps.Copy(s.seq, f.Seq)
	for i := range f.Open {
		ev := f.Open[i]
		if ev.EventID != "" {
			s.open[ev.EventID] = &ev
		}
	}
	return s, nil
}

// ends are the end events of the open situations, in the order they
// started, with the next seqs of their cameras. They leave the record
// when they are queued (observe).
func (s *situations) ends() []event.Event {
	open := slices.SortedFunc(maps.Values(s.open), func(a, b *event.Event) int {
		if c := a.StartedAt.Compare(b.StartedAt.Time); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	next := maps.Clone(s.seq)
	out := make([]event.Event, 0, len(open))
	for _, last := range open {
		next[last.Camera]++
		at := last.At
		end := *last
		end.ID = event.NewID()
		end.Phase = event.PhaseEnd
		end.Seq = next[last.Camera]
		end.EndedAt = &at
		end.Detail = DetailRestart
		if end.Schema == "" {
			end.Schema = event.Schema
		}
		out = append(out, end)
	}
	return out
}

// writeState replaces SituationsFile with b: a temporary file, fsynced
// (with the sync policy), renamed over the old one, the directory synced,
// so a crash leaves the old record or the new one, never a torn one.
// Called by the writer.
func (w *wal) writeState(b []byte) error {
	path := filepath.Join(w.dir, SituationsFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && w.sync {
		err = w.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && w.sync {
		err = syncDir(w.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("outbox: write %s: %w", SituationsFile, err)
	}
	return nil
}
