package audit

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Break is the first record that does not hold: Segment and Line (from 1)
// say where, Seq is its seq when it could be read, Why what is wrong.
type Break struct {
	Segment string
	Line    int
	Seq     uint64
	Why     string
}

func (b *Break) Error() string {
	if b.Seq > 0 {
		return fmt.Sprintf("audit: %s line %d (seq %d): %s", b.Segment, b.Line, b.Seq, b.Why)
	}
	if b.Line > 0 {
		return fmt.Sprintf("audit: %s line %d: %s", b.Segment, b.Line, b.Why)
	}
	return fmt.Sprintf("audit: %s: %s", b.Segment, b.Why)
}

// Report is what Verify read.
type Report struct {
	Segments, Records int
	// FirstSeq and LastSeq are the chain's ends; Head is the SHA-256 of
	// the last line, to compare with a chain head kept off the box (a
	// trail cut short at its end is only visible that way).
	FirstSeq, LastSeq uint64
	Head              string
	// Notes are breaks the trail itself accounts for: segments pruned,
	// a broken tail recorded at a restart.
	Notes []string
}

// Verify checks the trail in dir with its own public key (PublicKeyFile);
// see VerifyKey.
func Verify(dir string) (Report, error) {
	pub, err := ReadPublicKey(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		return Report{}, err
	}
	return VerifyKey(dir, pub)
}

// VerifyKey checks every record of the trail in dir: each line is a
// record in canonical form, its signature verifies with pub, its seq
// follows the one before and its prev is the SHA-256 of the line before,
// across segments. The chain must start at seq 1, or at a record a
// retained prune record names as the new start (KindPrune). Bytes that are
// not a record are accepted only at the end of a segment and only when the
// next segment begins with a KindBrokenTail record naming them (a write
// torn by a power cut, found at the next start). The error is a *Break
// naming the first record that does not hold, or an I/O error.
func VerifyKey(dir string, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	err := walk(dir, pub, func(e Entry, _ []byte) { rep.Records++ }, &rep)
	return rep, err
}

// walk calls fn for every record of the trail in chain order and stops at
// the first break.
func walk(dir string, pub ed25519.PublicKey, fn func(Entry, []byte), rep *Report) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	type pending struct {
		seg        string
		line       int
		seq        uint64
		prev, sha  string
		why        string
		firstInSeg bool
	}
	var (
		started  bool
		prevSeq  uint64
		prevHash string
		anchor   *pending // the chain's first record links to a record not here
		broken   *pending // bytes at the end of the last segment that are not records
	)
	for _, s := range segs {
		data, err := readSegment(dir, s)
		if err != nil {
			return &Break{Segment: s.name, Why: err.Error()}
		}
		rep.Segments++
		for _, l := range splitLines(data) {
			e, err := ParseLine(l.b)
			if err == nil {
				err = e.Check(pub)
			}
			if broken != nil {
				if err != nil || e.Kind != KindBrokenTail || e.Segment != broken.seg || e.Line != broken.line || e.SHA256 != broken.sha {
					return &Break{Segment: broken.seg, Line: broken.line, Seq: broken.seq, Why: broken.why}
				}
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s from line %d is not a valid record (%s); recorded at seq %d in %s", broken.seg, broken.line, broken.why, e.Seq, s.name))
				broken = nil
			}
			if err == nil {
				switch {
				case !started && e.Seq == 1 && e.Prev == "":
				case !started && e.Prev == "":
					err = fmt.Errorf("the first record has seq %d and no prev: records 1 to %d are missing", e.Seq, e.Seq-1)
				case !started:
					anchor = &pending{seg: s.name, line: l.n, seq: e.Seq, prev: e.Prev}
				case e.Seq != prevSeq+1:
					err = fmt.Errorf("seq %d follows seq %d: records are missing (a segment or lines were deleted)", e.Seq, prevSeq)
				case e.Prev != prevHash:
					err = fmt.Errorf("prev is not the SHA-256 of the record before it (seq %d): that record was changed or replaced", prevSeq)
				}
			}
			if err != nil {
				var seq uint64
				if p, perr := ParseLine(l.b); perr == nil {
					seq = p.Seq
				}
				broken = &pending{seg: s.name, line: l.n, seq: seq, sha: lineHash(data[l.offset:]), why: err.Error()}
				break // the rest of the segment is part of what must be accounted for
			}
			if !started {
				started = true
				rep.FirstSeq = e.Seq
			}
			if e.Kind == KindPrune && anchor != nil && e.AnchorSeq == anchor.seq && e.AnchorPrev == anchor.prev {
				rep.Notes = append(rep.Notes, fmt.Sprintf("the chain starts at seq %d: older segments were pruned (%v), recorded at seq %d", anchor.seq, e.Segments, e.Seq))
				anchor = nil
			}
			prevSeq, prevHash = e.Seq, lineHash(l.b)
			rep.LastSeq, rep.Head = e.Seq, prevHash
			fn(e, l.b)
		}
	}
	if broken != nil {
		return &Break{Segment: broken.seg, Line: broken.line, Seq: broken.seq, Why: broken.why}
	}
	if anchor != nil {
		return &Break{Segment: anchor.seg, Line: anchor.line, Seq: anchor.seq,
			Why: "the chain starts here, linked to a record that is not in the directory, and no prune record accounts for it: older segments were deleted"}
	}
	return nil
}

// Export writes the records of the trail in dir whose time is in
// [from, to) as JSON lines, exactly as stored, so that the recipient can
// check each signature with the published key. A zero from or to is open.
// The trail is verified on the way: at the first break Export stops and
// returns it (*Break), having written the records before it.
func Export(dir string, from, to time.Time, w io.Writer) error {
	pub, err := ReadPublicKey(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		return err
	}
	var werr error
	err = walk(dir, pub, func(e Entry, line []byte) {
		if werr != nil || (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			return
		}
		if _, err := w.Write(append(line[:len(line):len(line)], '\n')); err != nil {
			werr = err
		}
	}, &Report{})
	if werr != nil {
		return werr
	}
	return err
}
