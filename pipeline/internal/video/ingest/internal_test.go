package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSafeErrorIs(t *testing.T) {
	e := &safeError{msg: "x", sentinel: ErrUnauthorized, cause: context.DeadlineExceeded}
	if !errors.Is(e, ErrUnauthorized) || !errors.Is(e, context.DeadlineExceeded) || errors.Is(e, ErrNoVideo) {
		t.Fatal("Is does not see sentinel and cause")
	}
	if errors.Unwrap(e) != nil {
		t.Fatal("safeError must not expose the unscrubbed cause")
	}
}

func TestRateLimit(t *testing.T) {
	r := rateLimit{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {time.Second, false}, {9 * time.Second, false}, {10 * time.Second, true}, {15 * time.Second, false}, {21 * time.Second, true},
	}
	for _, s := range steps {
		if got := r.allow(t0.Add(s.at)); got != s.want {
			t.Errorf("allow(+%v) = %v, want %v", s.at, got, s.want)
		}
	}
}

func TestPTSDuration(t *testing.T) {
	tests := []struct {
		pts, rate int64
		want      time.Duration
	}{
		{0, 90000, 0},
		{90000, 90000, time.Second},
		{3600, 90000, 40 * time.Millisecond},
		{90000 * 3600 * 24 * 365, 90000, 365 * 24 * time.Hour},
		{8000, 0, 8000 * time.Second / 90000},
	}
	for _, tt := range tests {
		if got := ptsDuration(tt.pts, tt.rate); got != tt.want {
			t.Errorf("ptsDuration(%d, %d) = %v, want %v", tt.pts, tt.rate, got, tt.want)
		}
	}
}

func TestDropEmpty(t *testing.T) {
	a, b := []byte{1}, []byte{2}
	tests := []struct {
		in   [][]byte
		want int
	}{
		{nil, 0}, {[][]byte{a, b}, 2}, {[][]byte{{}, a, {}, b, {}}, 2}, {[][]byte{{}}, 0},
	}
	for _, tt := range tests {
		if got := dropEmpty(tt.in); len(got) != tt.want {
			t.Errorf("dropEmpty(%v) has %d NALUs, want %d", tt.in, len(got), tt.want)
		}
	}
}
