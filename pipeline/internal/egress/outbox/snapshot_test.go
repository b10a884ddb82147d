package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// situation returns a start event of situation sit (its EventID), with
// message id id.
func situation(id, sit string) event.Event {
	e := ev(id)
	e.EventID = sit
	return e
}

// TestSnapshots: images wait in order behind their start, in memory only,
// are sent at most once and are dropped first.
func TestSnapshots(t *testing.T) {
	jpeg := bytes.Repeat([]byte{0xAB}, 100)
	payload, err := json.Marshal(situation("e0", "s0"))
	if err != nil {
		t.Fatal(err)
	}
	rec := int64(recordSize(len(payload))) // every "eN/sN" event has this size
	type step struct {
		event   string // "id/situation"; "" → a snapshot of image
		image   string
		advance time.Duration // clock, after the step
		wantErr bool
	}
	tests := []struct {
		name string
		// cfg: with MaxBytes the outbox is in memory, where dropping an
		// event frees its bytes at once (on disk a whole segment must be
		// delivered first); else on disk.
		cfg             func() Config
		pub             *recorder
		steps           []step
		want            []string
		sent, supp, drp uint64
		eventsDropped   uint64
	}{
		{name: "behind its start, in order", steps: []step{
			{event: "e0/s0"}, {event: "e1/s1"}, {image: "s0"}, {event: "e2/s0"},
		}, want: []string{"e0", "e1", "img:s0", "e2"}, sent: 1},
		{name: "the start withheld by the policy: the image does not reach the guard", steps: []step{
			{event: "forbidden/s0"}, {image: "s0"}, {event: "e1/s1"},
		}, want: []string{"e1"}, supp: 1},
		{name: "the start expired: nor does its image", cfg: func() Config { return Config{MaxAge: time.Minute} }, steps: []step{
			{event: "e0/s0", advance: 50 * time.Second}, {image: "s0", advance: 20 * time.Second}, {event: "e1/s1"},
		}, want: []string{"e1"}, drp: 1, eventsDropped: 1},
		{name: "too many images: the oldest waiting goes", cfg: func() Config { return Config{MaxSnapshots: 2} }, steps: []step{
			{event: "e0/s0"}, {image: "s0"}, {image: "s0"}, {image: "s0"},
		}, want: []string{"e0", "img:s0", "img:s0"}, sent: 2, drp: 1},
		{name: "image bytes bounded", cfg: func() Config { return Config{SnapshotBytes: 250} }, steps: []step{
			{event: "e0/s0"}, {image: "s0"}, {image: "s0"}, {image: "s0"},
		}, want: []string{"e0", "img:s0", "img:s0"}, sent: 2, drp: 1},
		{name: "MaxBytes: images go before any event", cfg: func() Config { return Config{MaxBytes: 2*rec + 150} }, steps: []step{
			{event: "e0/s0"}, {image: "s0"}, {image: "s0"}, {event: "e1/s1"},
		}, want: []string{"e0", "img:s0", "e1"}, sent: 1, drp: 1},
		{name: "MaxBytes: an image never pushes out an event", cfg: func() Config { return Config{MaxBytes: 3 * rec} }, steps: []step{
			{event: "e0/s0"}, {event: "e1/s1"}, {event: "e2/s2"}, {image: "s0", wantErr: true},
		}, want: []string{"e0", "e1", "e2"}},
		{name: "older than the retention", cfg: func() Config { return Config{MaxAge: time.Minute} }, steps: []step{
			{event: "e0/s0"}, {image: "s0", advance: 2 * time.Minute},
		}, want: nil, drp: 1, eventsDropped: 1},
		{name: "a failed publish is not retried", pub: &recorder{imgErr: errors.New("broker said no")}, steps: []step{
			{event: "e0/s0"}, {image: "s0"}, {event: "e1/s1"},
		}, want: []string{"e0", "e1"}, drp: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
			pub := tt.pub
			if pub == nil {
				pub = &recorder{}
			}
			gate := make(chan struct{})
			pub.gate = gate // the broker is away until the steps are done
			var cfg Config
			if tt.cfg != nil {
				cfg = tt.cfg()
			}
			if cfg.MaxBytes == 0 {
				cfg.Dir = t.TempDir()
			}
			cfg.Publisher, cfg.Now = pub, clk.now
			o := newOutbox(t, cfg)
			ctx := context.Background()
			for i, s := range tt.steps {
				var err error
				if s.event != "" {
					id, sit, _ := strings.Cut(s.event, "/")
					e := situation(id, sit)
					if id == "forbidden" {
						e.Type = "forbidden"
					}
					err = o.Event(ctx, e)
				} else {
					err = o.Snapshot(ctx, "cam1", s.image, jpeg)
				}
				if (err != nil) != s.wantErr {
					t.Fatalf("step %d: %v", i, err)
				}
				clk.add(s.advance)
			}
			o.mu.Lock()
			o.expire()
			o.mu.Unlock()
			if cfg.Dir != "" {
				flush(t, o)
				assertNoImageOnDisk(t, cfg.Dir, jpeg)
			}
			close(gate)
			drain(t, o)
			if got := pub.delivered(); !slices.Equal(got, tt.want) {
				t.Fatalf("delivered %v, want %v", got, tt.want)
			}
			st := o.Stats()
			if st.SnapshotsSent != tt.sent || st.SnapshotsSuppressed != tt.supp || st.SnapshotsDropped != tt.drp ||
				st.DroppedSize+st.DroppedAge != tt.eventsDropped || st.SnapshotBytes != 0 {
				t.Fatalf("stats %+v; want snapshots sent %d suppressed %d dropped %d, events dropped %d",
					st, tt.sent, tt.supp, tt.drp, tt.eventsDropped)
			}
			var images uint64
			for _, s := range tt.steps {
				if s.event == "" && !s.wantErr {
					images++
				}
			}
			if st.SnapshotsQueued != images {
				t.Fatalf("snapshots queued %d, want %d", st.SnapshotsQueued, images)
			}
		})
	}
}

func assertNoImageOnDisk(t *testing.T, dir string, jpeg []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, jpeg[:64]) {
			t.Fatalf("%s holds image bytes", f)
		}
	}
}

// TestSnapshotsNotReplayed: images waiting at a restart are gone (memory
// only); the events are replayed.
func TestSnapshotsNotReplayed(t *testing.T) {
	dir := t.TempDir()
	o := newOutbox(t, Config{Publisher: &recorder{gate: make(chan struct{})}, Dir: dir})
	ctx := context.Background()
	o.Event(ctx, situation("e0", "s0"))
	if err := o.Snapshot(ctx, "cam1", "s0", []byte("jpeg")); err != nil {
		t.Fatal(err)
	}
	o.Close()
	pub := &recorder{}
	o = newOutbox(t, Config{Publisher: pub, Dir: dir})
	drain(t, o)
	if got := pub.delivered(); !slices.Equal(got, []string{"e0"}) {
		t.Fatalf("delivered %v", got)
	}
}

// eventsOnly is a Publisher that cannot send images.
type eventsOnly struct{ Publisher }

func TestSnapshotWithoutSnapshotPublisher(t *testing.T) {
	o := newOutbox(t, Config{Publisher: eventsOnly{&recorder{}}})
	if err := o.Snapshot(context.Background(), "cam1", "s0", []byte("jpeg")); !errors.Is(err, ErrNoSnapshots) {
		t.Fatalf("Snapshot: %v, want ErrNoSnapshots", err)
	}
}
