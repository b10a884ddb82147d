package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []record{
		{kind: kindEvent, seq: 1, at: 1700000000000000000, payload: []byte(`{"id":"a"}`)},
		{kind: kindDone, seq: 1<<64 - 1, at: -1, payload: []byte{byte(reasonAcked)}},
	}
	for _, r := range tests {
		b := appendRecord(nil, r)
		got, n, err := decodeRecord(b)
		if err != nil || n != len(b) || got.kind != r.kind || got.seq != r.seq || got.at != r.at || !bytes.Equal(got.payload, r.payload) {
			t.Errorf("round trip of %+v: %+v, %d, %v", r, got, n, err)
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := appendRecord(nil, record{kind: kindEvent, seq: 7, payload: []byte("{}")})
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, errShort},
		{"frame cut", good[:5], errShort},
		{"body cut", good[:len(good)-1], errShort},
		{"zero length", make([]byte, 32), errCorrupt},
		{"huge length", []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, errCorrupt},
		{"crc flipped", flip(5), errCorrupt},
		{"body flipped", flip(len(good) - 1), errCorrupt},
		{"unknown kind", appendRecord(nil, record{kind: 9, payload: []byte("x")}), errCorrupt},
		{"empty event", appendRecord(nil, record{kind: kindEvent}), errCorrupt},
		{"done without reason", appendRecord(nil, record{kind: kindDone}), errCorrupt},
	}
	for _, tt := range tests {
		if _, _, err := decodeRecord(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzScanSegment feeds arbitrary file contents to the segment reader: it
// must never panic, the valid prefix must be within the input and must
// re-encode to the same bytes.
func FuzzScanSegment(f *testing.F) {
	seg := []byte(segmentMagic)
	seg = appendRecord(seg, record{kind: kindEvent, seq: 1, at: 5, payload: []byte(`{"id":"a"}`)})
	seg = appendRecord(seg, record{kind: kindDone, seq: 1, payload: []byte{1}})
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte(segmentMagic))
	f.Add([]byte{})
	f.Add(append([]byte(segmentMagic), make([]byte, 64)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, valid, err := scanSegment(data)
		if valid < 0 || valid > len(data) {
			t.Fatalf("valid %d of %d", valid, len(data))
		}
		if err == nil && valid != len(data) {
			t.Fatalf("no error but valid %d of %d", valid, len(data))
		}
		if valid == 0 {
			return
		}
		out := []byte(segmentMagic)
		for _, r := range recs {
			out = appendRecord(out, r)
		}
		if !bytes.Equal(out, data[:valid]) {
			t.Fatalf("re-encoding differs from the valid prefix")
		}
	})
}

// FuzzOpenSegment puts arbitrary bytes where a segment file is and opens
// the outbox on it: it must open, accept an event, and open cleanly again
// with that event last in line. (Intact records that are no event are
// dropped by the delivery goroutine meanwhile, so only that is checked.)
func FuzzOpenSegment(f *testing.F) {
	seg := []byte(segmentMagic)
	seg = appendRecord(seg, record{kind: kindEvent, seq: 3, at: 5, payload: []byte(`{"id":"a"}`)})
	seg = appendRecord(seg, record{kind: kindEvent, seq: 4, at: 6, payload: []byte(`not json`)})
	seg = appendRecord(seg, record{kind: kindDone, seq: 3, payload: []byte{1}})
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		gate := &recorder{gate: make(chan struct{})}
		o, err := New(Config{Publisher: gate, Dir: dir, Logger: testlog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Event(context.Background(), ev("last")); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		o, err = New(Config{Publisher: gate, Dir: dir, Logger: testlog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		st := o.Stats()
		if st.Truncated != 0 || st.Depth == 0 {
			t.Fatalf("second open: %+v, want the new event and nothing truncated", st)
		}
		o.mu.Lock()
		last := o.q[len(o.q)-1]
		o.mu.Unlock()
		if !bytes.Contains(last.payload, []byte(`"last"`)) {
			t.Fatalf("last in line: %s", last.payload)
		}
	})
}
