package audit_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }

func open(t *testing.T, dir string, c *clock, retention time.Duration) *audit.Log {
	t.Helper()
	l, err := audit.Open(audit.Config{Dir: dir, Retention: retention, Logger: testlog.Discard(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appendN(t *testing.T, l *audit.Log, c *clock, n int) {
	t.Helper()
	for i := range n {
		c.add(time.Minute)
		if err := l.Append(audit.Record{Kind: audit.KindEventPublished, Camera: "cam1", EventID: "ev" + string(rune('a'+i%26)), EventType: "motion", Phase: "start"}); err != nil {
			t.Fatal(err)
		}
	}
}

func segs(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustVerify(t *testing.T, dir string) audit.Report {
	t.Helper()
	rep, err := audit.Verify(dir)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func mustBreak(t *testing.T, dir string) *audit.Break {
	t.Helper()
	_, err := audit.Verify(dir)
	var b *audit.Break
	if !errors.As(err, &b) {
		t.Fatalf("verify: %v, want a *Break", err)
	}
	return b
}

func TestAppendVerify(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	l := open(t, dir, c, 0)
	appendN(t, l, c, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir)
	if rep.Records != 5 || rep.FirstSeq != 1 || rep.LastSeq != 5 || rep.Segments != 1 {
		t.Errorf("report %+v, want 5 records 1..5 in 1 segment", rep)
	}
	if seq, head := l.Head(); seq != 5 || head != rep.Head {
		t.Errorf("head %d %s, verify says %d %s", seq, head, rep.LastSeq, rep.Head)
	}
	if err := l.Append(audit.Record{Kind: audit.KindStop}); err == nil {
		t.Error("append after Close succeeded")
	}
}

// TestFlipOneByte: a byte changed anywhere in a record makes verify name
// that record's segment and line.
func TestFlipOneByte(t *testing.T) {
	base, c := t.TempDir(), newClock()
	l := open(t, base, c, 0)
	appendN(t, l, c, 4)
	l.Close()
	seg := segs(t, base)[0]
	orig, _ := os.ReadFile(seg)
	lines := bytes.SplitAfter(orig, []byte("\n"))
	off := len(lines[0]) + len(lines[1]) // line 3 starts here
	for _, at := range []int{0, 5, 20, len(lines[2]) / 2, len(lines[2]) - 3} {
		dir := t.TempDir()
		for _, f := range []string{audit.KeyFile, audit.PublicKeyFile} {
			b, _ := os.ReadFile(filepath.Join(base, f))
			os.WriteFile(filepath.Join(dir, f), b, 0o600)
		}
		b := bytes.Clone(orig)
		b[off+at] ^= 0x01
		os.WriteFile(filepath.Join(dir, filepath.Base(seg)), b, 0o600)
		br := mustBreak(t, dir)
		if br.Segment != filepath.Base(seg) || br.Line != 3 {
			t.Errorf("byte %d of line 3 flipped: break at %s line %d (%s), want line 3", at, br.Segment, br.Line, br.Why)
		}
	}
}

// threeDays writes records on three days, one segment each.
func threeDays(t *testing.T, dir string, c *clock, retention time.Duration) *audit.Log {
	t.Helper()
	l := open(t, dir, c, retention)
	for range 3 {
		appendN(t, l, c, 3)
		c.add(24 * time.Hour)
	}
	return l
}

func TestDeleteMiddleSegmentDetected(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	threeDays(t, dir, c, 0).Close()
	s := segs(t, dir)
	if len(s) != 3 {
		t.Fatalf("segments %v, want 3", s)
	}
	os.Remove(s[1])
	br := mustBreak(t, dir)
	if br.Segment != filepath.Base(s[2]) || br.Line != 1 || br.Seq != 7 || !strings.Contains(br.Why, "missing") {
		t.Errorf("break %v, want %s line 1 seq 7: records missing", br, filepath.Base(s[2]))
	}
}

func TestDeleteOldestSegmentWithoutPruneDetected(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	threeDays(t, dir, c, 0).Close()
	os.Remove(segs(t, dir)[0])
	br := mustBreak(t, dir)
	if br.Seq != 4 || !strings.Contains(br.Why, "no prune record") {
		t.Errorf("break %v, want seq 4: no prune record accounts for it", br)
	}
}

func TestPruneAnchorAccepted(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	// Retention 24h: each day's first record prunes the segment of the
	// day before yesterday.
	l := threeDays(t, dir, c, 24*time.Hour)
	appendN(t, l, c, 1)
	l.Close()
	s := segs(t, dir)
	if len(s) != 2 || strings.Contains(s[0], "2026-12-01") || strings.Contains(s[0], "2026-12-02") {
		t.Fatalf("segments after prune %v, want those of 12-03 and 12-04 only", s)
	}
	rep := mustVerify(t, dir)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "pruned") {
		t.Errorf("notes %q, want the prunes", rep.Notes)
	}
	// The prune record is signed: removing one more segment by hand is
	// still found.
	os.Remove(s[0])
	if br := mustBreak(t, dir); !strings.Contains(br.Why, "no prune record") {
		t.Errorf("break %v after deleting the anchor's segment by hand", br)
	}
}

func TestRestartContinuesChain(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	l := open(t, dir, c, 0)
	appendN(t, l, c, 2)
	l.Close()
	l = open(t, dir, c, 0)
	appendN(t, l, c, 2)
	l.Close()
	rep := mustVerify(t, dir)
	if rep.Records != 4 || rep.Segments != 1 {
		t.Errorf("report %+v, want 4 records in the day's one segment", rep)
	}
}

// TestBrokenTailRecorded: a torn last line (power cut mid-write) is kept,
// reported, and the next start records it in a new segment; verify
// accepts it as accounted for, and the chain goes on.
func TestBrokenTailRecorded(t *testing.T) {
	for name, garbage := range map[string]string{
		"torn":       `{"seq":4,"time":"2026-12-01T10:05:00Z","ki`,
		"whole line": `{"seq":4}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir, c := t.TempDir(), newClock()
			l := open(t, dir, c, 0)
			appendN(t, l, c, 3)
			l.Close()
			seg := segs(t, dir)[0]
			f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString(garbage)
			f.Close()
			before, _ := os.ReadFile(seg)
			l = open(t, dir, c, 0)
			appendN(t, l, c, 1)
			l.Close()
			if after, _ := os.ReadFile(seg); !bytes.Equal(before, after) {
				t.Error("the broken segment was changed")
			}
			rep := mustVerify(t, dir)
			if rep.Records != 5 || rep.Segments != 2 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "line 4") {
				t.Errorf("report %+v, want 5 records in 2 segments and a note on line 4", rep)
			}
		})
	}
}

func TestKeyPermissions(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	l := open(t, dir, c, 0)
	appendN(t, l, c, 1)
	l.Close()
	st, err := os.Stat(filepath.Join(dir, audit.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %04o, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, audit.PublicKeyFile)); err != nil {
		t.Error(err)
	}
	os.Chmod(filepath.Join(dir, audit.KeyFile), 0o644)
	if _, err := audit.Open(audit.Config{Dir: dir, Now: c.now, Logger: testlog.Discard()}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("open with a 0644 key: %v, want a refusal saying chmod 600", err)
	}
	os.Remove(filepath.Join(dir, audit.KeyFile))
	if _, err := audit.Open(audit.Config{Dir: dir, Now: c.now, Logger: testlog.Discard()}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("open without the key beside segments: %v, want a refusal", err)
	}
}

func TestExportRange(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	l := open(t, dir, c, 0)
	appendN(t, l, c, 5) // 10:01 … 10:05
	l.Close()
	var out bytes.Buffer
	from := time.Date(2026, 12, 1, 10, 2, 0, 0, time.UTC)
	to := time.Date(2026, 12, 1, 10, 4, 0, 0, time.UTC)
	if err := audit.Export(dir, from, to, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"seq":2,`) || !strings.HasPrefix(lines[1], `{"seq":3,`) {
		t.Errorf("export 10:02 to 10:04:\n%s", out.String())
	}
}

func FuzzParseLine(f *testing.F) {
	dir, c := f.TempDir(), newClock()
	l, err := audit.Open(audit.Config{Dir: dir, Now: c.now})
	if err != nil {
		f.Fatal(err)
	}
	l.Append(audit.Record{Kind: audit.KindPrune, Segments: []string{"a", "b"}, AnchorSeq: 3, AnchorPrev: strings.Repeat("ab", 32)})
	l.Append(audit.Record{Kind: audit.KindEventWithheld, Camera: "c", EventID: "e", Reason: "schedule <&>"})
	l.Close()
	for _, s := range segs(f, dir) {
		b, _ := os.ReadFile(s)
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"seq":1,"time":"2026-12-01T10:00:00Z","kind":"start","prev":"","sig":"AA=="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := audit.ParseLine(line)
		if err != nil {
			return
		}
		if e.Seq == 0 || e.Kind == "" || e.Sig == "" {
			t.Fatalf("accepted %q as %+v", line, e)
		}
	})
}

// TestRecent: the last n matching entries, oldest first, across segments;
// reading stops in the newest segment when it holds enough.
func TestRecent(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	threeDays(t, dir, c, 0).Close() // 3 records a day (plus the trail's own)
	published := func(e audit.Entry) bool { return e.Kind == audit.KindEventPublished }
	all, err := audit.Recent(dir, 100, published)
	if err != nil || len(all) != 9 {
		t.Fatalf("Recent(100) = %d entries, %v; want the 9 published", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("not oldest first: seq %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	last, err := audit.Recent(dir, 4, published)
	if err != nil || len(last) != 4 || last[0].Seq != all[5].Seq || last[3].Seq != all[8].Seq {
		t.Fatalf("Recent(4) = %+v, %v; want the last 4 of %+v", last, err, all)
	}
	// The oldest segment is not read when the newer ones suffice: a
	// damaged one there does not matter.
	os.WriteFile(segs(t, dir)[0], []byte("not a record\n"), 0o600)
	if got, err := audit.Recent(dir, 3, published); err != nil || len(got) != 3 {
		t.Fatalf("Recent(3) with a damaged oldest segment = %d, %v", len(got), err)
	}
	if got, err := audit.Recent(t.TempDir(), 3, published); err != nil || len(got) != 0 {
		t.Fatalf("Recent of an empty trail = %v, %v", got, err)
	}
}
