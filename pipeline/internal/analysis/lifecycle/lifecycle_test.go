package lifecycle

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type obs struct {
		ms    int
		on    bool
		score float64
	}
	type want struct {
		ms      int
		phase   Phase
		started int
		score   float64
	}
	cfg := Config{MinDuration: 400 * time.Millisecond, QuietTime: time.Second, UpdateInterval: 2 * time.Second}
	tests := []struct {
		name string
		cfg  Config
		obs  []obs
		want []want
	}{
		{
			name: "flicker shorter than min duration never starts",
			cfg:  cfg,
			obs:  []obs{{0, true, 0.5}, {200, true, 0.5}, {400, false, 0}, {600, true, 0.2}, {800, false, 0}},
		},
		{
			name: "start after min duration, end after quiet time",
			cfg:  cfg,
			obs:  []obs{{0, true, 0.1}, {200, true, 0.3}, {400, true, 0.2}, {600, false, 0}, {1200, false, 0}, {1400, false, 0}},
			want: []want{{400, Start, 0, 0.3}, {400, End, 0, 0.3}},
		},
		{
			name: "a gap shorter than quiet time is bridged",
			cfg:  cfg,
			obs:  []obs{{0, true, 0.1}, {400, true, 0.1}, {800, false, 0}, {1200, true, 0.4}, {1600, false, 0}, {2600, false, 0}},
			want: []want{{400, Start, 0, 0.1}, {1200, End, 0, 0.4}},
		},
		{
			name: "updates at most every interval, peak score since last message",
			cfg:  cfg,
			obs:  []obs{{0, true, 0.1}, {400, true, 0.1}, {1400, true, 0.9}, {2400, true, 0.2}, {3400, true, 0.3}, {4400, true, 0.1}, {5400, false, 0}},
			want: []want{{400, Start, 0, 0.1}, {2400, Update, 0, 0.9}, {4400, Update, 0, 0.3}, {4400, End, 0, 0.9}},
		},
		{
			name: "zero min duration starts at once",
			cfg:  Config{QuietTime: time.Second},
			obs:  []obs{{0, true, 0.7}, {1000, false, 0}},
			want: []want{{0, Start, 0, 0.7}, {0, End, 0, 0.7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, o := range tt.obs {
				if x, ok := tr.Observe(at(o.ms), o.on, o.score); ok {
					got = append(got, want{int(x.At.Sub(t0) / time.Millisecond), x.Phase, int(x.StartedAt.Sub(t0) / time.Millisecond), x.Score})
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("transition %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFlushEndsRunningSituation(t *testing.T) {
	tr, _ := New(Config{QuietTime: time.Minute})
	now := time.Unix(100, 0)
	if x := tr.Flush(); x.Phase != None {
		t.Fatalf("flush of idle tracker = %v", x.Phase)
	}
	tr.Observe(now, true, 1)
	if x := tr.Flush(); x.Phase != End || !x.At.Equal(now) {
		t.Fatalf("flush = %+v", x)
	}
	if tr.Active() {
		t.Fatal("still active after flush")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{QuietTime: 0}, {QuietTime: 1, MinDuration: -1}, {QuietTime: 1, UpdateInterval: -1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
