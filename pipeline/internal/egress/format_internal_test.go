package egress

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// TestFormatPublisherRetriesOnlyWhatFailed: with both formats, an event
// whose edgeguard message was acknowledged but whose ONVIF message failed
// is not acknowledged to the outbox; the retry sends the ONVIF message
// only. A new event starts afresh, and a withheld event sends nothing.
func TestFormatPublisherRetriesOnlyWhatFailed(t *testing.T) {
	var calls []string
	failONVIF := 1
	p := &FormatPublisher{f: FormatBoth,
		edgeguard: func(_ context.Context, ev event.Event) error {
			calls = append(calls, "edgeguard "+ev.ID)
			if ev.Type == "motion" {
				return ErrTypeNotAllowed
			}
			return nil
		},
		onvif: func(_ context.Context, ev event.Event, admitted bool) error {
			if !admitted {
				t.Error("with both formats the ONVIF message must follow the admitted edgeguard one")
			}
			calls = append(calls, "onvif "+ev.ID)
			if failONVIF > 0 {
				failONVIF--
				return ErrQueued
			}
			return nil
		},
	}
	ctx := context.Background()
	a := event.Event{ID: "a", Type: "intrusion"}
	if err := p.PublishEvent(ctx, a); !errors.Is(err, ErrQueued) {
		t.Fatalf("first attempt: %v, want the ONVIF failure", err)
	}
	if err := p.PublishEvent(ctx, a); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := p.PublishEvent(ctx, event.Event{ID: "b", Type: "intrusion"}); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishEvent(ctx, event.Event{ID: "c", Type: "motion"}); !errors.Is(err, ErrSuppressed) {
		t.Fatalf("withheld event: %v", err)
	}
	want := []string{"edgeguard a", "onvif a", "onvif a", "edgeguard b", "onvif b", "edgeguard c"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %v\nwant  %v", calls, want)
	}
}

func TestFormatPublisherSingleFormats(t *testing.T) {
	for _, f := range []Format{FormatEdgeguard, FormatONVIF} {
		var calls []string
		p := &FormatPublisher{f: f,
			edgeguard: func(context.Context, event.Event) error { calls = append(calls, "edgeguard"); return nil },
			onvif: func(_ context.Context, _ event.Event, admitted bool) error {
				if admitted {
					t.Error("ONVIF alone must admit the event itself")
				}
				calls = append(calls, "onvif")
				return nil
			},
		}
		if err := p.PublishEvent(context.Background(), event.Event{ID: "a"}); err != nil {
			t.Fatal(err)
		}
		if want := []string{f.String()}; !slices.Equal(calls, want) {
			t.Errorf("%v: calls %v, want %v", f, calls, want)
		}
	}
}
