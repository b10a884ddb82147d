package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultRetention is how long records are kept when the policy does not
// say: 183 days, the six months the AI Act (Art. 19, 26(6)) asks logs of
// high-risk systems to be kept at least.
const DefaultRetention = 183 * 24 * time.Hour

// Config configures Open.
type Config struct {
	// Dir holds the segments and the device key; created (0700) if missing.
	Dir string
	// Retention is how long a segment is kept after its day ended; 0 keeps
	// everything. Prune deletes whole segments only.
	Retention time.Duration
	Logger    *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Log is an open trail. Append is safe for concurrent use.
//
// Every record is written and fsynced before Append returns: the records
// are few (events are bounded by the policy's max_events_per_minute, the
// rest are state changes), and a record Append reported written must
// survive a power cut, or the trail would say less than what left the box.
type Log struct {
	cfg Config
	log *slog.Logger
	key ed25519.PrivateKey
	pub ed25519.PublicKey

	mu        sync.Mutex
	f         *os.File
	cur       segment // the segment f writes; name "" before the first write
	seq       uint64  // of the last record
	head      string  // SHA-256 of the last line
	newSeg    bool    // the next record starts a new segment (after a broken tail)
	failed    error   // a write failed: the trail stops until a restart
	retention time.Duration
}

// Open opens the trail in cfg.Dir, creating the device key at the first
// start, and continues the chain from its last record. A last segment
// whose tail is not a valid record (a write torn by a power cut, or
// bytes changed) is reported, left as it is, and the next record, in a
// new segment, says so (KindBrokenTail). Segments older than the
// retention are pruned.
func Open(cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("audit: no directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	segs, err := segments(cfg.Dir)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(cfg.Dir, len(segs) > 0)
	if err != nil {
		return nil, err
	}
	l := &Log{cfg: cfg, log: cfg.Logger, key: key, pub: key.Public().(ed25519.PublicKey), retention: cfg.Retention}
	broken, err := l.findHead(segs)
	if err != nil {
		return nil, err
	}
	if broken != nil {
		l.log.Error("audit trail: the last segment ends in bytes that are not a valid record; they are kept as they are and a new segment records it",
			"segment", broken.Segment, "line", broken.Line, "why", broken.Detail)
		l.newSeg = true
		if err := l.Append(*broken); err != nil {
			l.Close()
			return nil, err
		}
	}
	if _, err := l.Prune(); err != nil {
		l.log.Error("audit trail: prune failed", "err", err)
	}
	return l, nil
}

// findHead sets seq, head and cur from the last valid record. It returns
// the record to append when the tail is broken.
func (l *Log) findHead(segs []segment) (*Record, error) {
	var broken *Record
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		data, err := readSegment(l.cfg.Dir, s)
		if err != nil {
			return nil, err
		}
		lines := splitLines(data)
		if len(lines) == 0 {
			continue
		}
		good := -1
		var why error
		if broken != nil {
			// The segment before a wholly broken one: its end must hold.
			e, err := ParseLine(lines[len(lines)-1].b)
			if err == nil {
				err = e.Check(l.pub)
			}
			if err != nil {
				return nil, fmt.Errorf("audit: %s and %s hold no valid record at their end; run `edgeguard audit verify %s`", s.name, broken.Segment, l.cfg.Dir)
			}
			l.seq, l.head, l.cur = e.Seq, lineHash(lines[len(lines)-1].b), s
			return broken, nil
		}
		for j := len(lines) - 1; j >= 0; j-- {
			e, err := ParseLine(lines[j].b)
			if err == nil {
				err = e.Check(l.pub)
			}
			if err == nil {
				good = j
				l.seq, l.head, l.cur = e.Seq, lineHash(lines[j].b), s
				break
			}
			why = err
		}
		if good < len(lines)-1 {
			bad := lines[good+1]
			broken = &Record{Kind: KindBrokenTail, Segment: s.name, Line: bad.n, SHA256: lineHash(data[bad.offset:]), Detail: why.Error()}
		}
		if good >= 0 {
			return broken, nil
		}
	}
	return broken, nil
}

// PublicKey is the device's public key.
func (l *Log) PublicKey() ed25519.PublicKey { return l.pub }

// Head is the seq and SHA-256 of the last record: what to keep off the box
// to detect a trail cut short or rewritten.
func (l *Log) Head() (uint64, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// SetRetention changes the retention (a reloaded policy); it applies from
// the next prune (at a day's first record).
func (l *Log) SetRetention(d time.Duration) {
	l.mu.Lock()
	l.retention = d
	l.mu.Unlock()
}

// Append writes r as the next record and fsyncs it. After a write error
// every Append fails: the segment may end in part of a line, which the
// next Open reports and records.
func (l *Log) Append(r Record) error {
	l.mu.Lock()
	rolled, err := l.append(r)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if rolled {
		if _, err := l.Prune(); err != nil {
			l.log.Error("audit trail: prune failed", "err", err)
		}
	}
	return nil
}

// append writes under l.mu; rolled says a new day's segment began.
func (l *Log) append(r Record) (rolled bool, err error) {
	if l.failed != nil {
		return false, l.failed
	}
	if r.Kind == "" {
		return false, errors.New("audit: record without kind")
	}
	now := l.cfg.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	if day.Before(l.cur.day) { // the clock went back: stay in order
		day = l.cur.day
	}
	if l.f == nil || l.newSeg || !day.Equal(l.cur.day) {
		rolled = l.cur.name != "" && !day.Equal(l.cur.day)
		if err := l.openSegment(day); err != nil {
			l.failed = err
			return false, err
		}
	}
	e := Entry{Seq: l.seq + 1, Time: now, Record: r, Prev: l.head}
	line, err := e.sign(l.key)
	if err != nil {
		return false, fmt.Errorf("audit: encode record: %w", err)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		l.failed = fmt.Errorf("audit: write %s: %w (the trail stops until a restart)", l.cur.name, err)
		return false, l.failed
	}
	if err := l.f.Sync(); err != nil {
		l.failed = fmt.Errorf("audit: fsync %s: %w (the trail stops until a restart)", l.cur.name, err)
		return false, l.failed
	}
	l.seq, l.head = e.Seq, lineHash(line)
	return rolled, nil
}

func (l *Log) openSegment(day time.Time) error {
	s := segment{name: segmentFile(day, l.seq+1, 0), day: day, first: l.seq + 1}
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !l.newSeg && l.cur.name != "" && day.Equal(l.cur.day) {
		s = l.cur // a restart on the same day goes on in the day's segment
	} else {
		flags |= os.O_EXCL // never write after bytes of another segment
	}
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, s.name), flags, 0o600)
	for errors.Is(err, fs.ErrExist) && s.try < 9999 {
		s.try++
		s.name = segmentFile(day, s.first, s.try)
		f, err = os.OpenFile(filepath.Join(l.cfg.Dir, s.name), flags, 0o600)
	}
	if err != nil {
		return fmt.Errorf("audit: open segment: %w", err)
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		f.Close()
		return fmt.Errorf("audit: open segment: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.cur, l.newSeg = f, s, false
	return nil
}

// Prune deletes the oldest segments whose day ended more than the
// retention ago, never the one being written. It first appends a
// KindPrune record naming them and the first record left, which Verify
// then accepts as the chain's start; a crash between the two leaves the
// segments, and the next prune deletes them. It returns the segments
// deleted.
func (l *Log) Prune() ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retention <= 0 || l.failed != nil {
		return nil, l.failed
	}
	segs, err := segments(l.cfg.Dir)
	if err != nil {
		return nil, err
	}
	cutoff := l.cfg.Now().Add(-l.retention)
	var del []string
	rest := segs
	for len(rest) > 1 && rest[0].name != l.cur.name && !rest[0].day.Add(24*time.Hour).After(cutoff) {
		del = append(del, rest[0].name)
		rest = rest[1:]
	}
	if len(del) == 0 {
		return nil, nil
	}
	// The anchor: the first record left (or the prune record itself).
	anchorSeq, anchorPrev := l.seq+1, l.head
	for _, s := range rest {
		data, err := readSegment(l.cfg.Dir, s)
		if err != nil {
			return nil, err
		}
		lines := splitLines(data)
		if len(lines) == 0 {
			continue
		}
		e, err := ParseLine(lines[0].b)
		if err != nil {
			return nil, fmt.Errorf("audit: not pruning: the first record left, %s line 1, is broken: %w", s.name, err)
		}
		anchorSeq, anchorPrev = e.Seq, e.Prev
		break
	}
	if _, err := l.append(Record{Kind: KindPrune, Segments: del, AnchorSeq: anchorSeq, AnchorPrev: anchorPrev,
		Detail: fmt.Sprintf("retention %s", l.retention)}); err != nil {
		return nil, err
	}
	for _, name := range del {
		if err := os.Remove(filepath.Join(l.cfg.Dir, name)); err != nil {
			return nil, fmt.Errorf("audit: prune: %w", err)
		}
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		return nil, fmt.Errorf("audit: prune: %w", err)
	}
	l.log.Info("audit trail pruned", "segments", del, "retention", l.retention, "anchor_seq", anchorSeq)
	return del, nil
}

// Close closes the segment being written.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if l.failed == nil {
		l.failed = errors.New("audit: trail closed")
	}
	return err
}
