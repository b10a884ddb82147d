package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// flakyPublisher fails the first n publishes, then records in order.
type flakyPublisher struct {
	mu       sync.Mutex
	failures int
	got      []string
}

func (p *flakyPublisher) PublishEvent(_ context.Context, ev event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Type == "forbidden" {
		return fmt.Errorf("type %q: %w", ev.Type, ErrSuppressed)
	}
	if p.failures > 0 {
		p.failures--
		return errors.New("broker down")
	}
	p.got = append(p.got, ev.ID)
	return nil
}

func (p *flakyPublisher) PublishCameraStatus(_ context.Context, st event.CameraStatus) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, "status:"+string(st.State))
	return nil
}

func TestOrderedDeliveryWithRetries(t *testing.T) {
	pub := &flakyPublisher{failures: 3}
	o := New(Config{Publisher: pub, Size: 4})
	ctx := context.Background()
	var want []string
	for i := range 10 {
		id := fmt.Sprint("e", i)
		if err := o.Event(ctx, event.Event{ID: id, Type: "motion"}); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
		if i == 4 {
			o.Event(ctx, event.Event{ID: "x", Type: "forbidden"})
			o.Status(ctx, event.CameraStatus{State: event.StateStreaming})
			want = append(want, "status:streaming")
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := o.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if fmt.Sprint(pub.got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want %v", pub.got, want)
	}
	st := o.Stats()
	if st.Suppressed != 1 || st.Retries != 3 || st.Published != 11 || st.Depth != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEventAfterCloseFails(t *testing.T) {
	o := New(Config{Publisher: &flakyPublisher{}})
	o.Close()
	if err := o.Event(context.Background(), event.Event{}); err == nil {
		t.Fatal("Event after Close succeeded")
	}
}
