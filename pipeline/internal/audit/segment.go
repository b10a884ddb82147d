package audit

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// A segment is one file of JSON lines, audit-YYYY-MM-DD-SEQ.jsonl: the UTC
// day of its records and the seq of its first, zero-padded so that names
// sort in the chain's order. A day normally has one segment; a restart
// after a broken tail starts another, so that nothing is written after
// bytes that are not a record.
//
// When that name is taken by a broken segment (its every line bad), the
// new one gets a suffix: audit-YYYY-MM-DD-SEQ.N.jsonl, sorted after it.
var segmentName = regexp.MustCompile(`^audit-(\d{4}-\d{2}-\d{2})-(\d{12})(?:\.(\d{1,4}))?\.jsonl$`)

type segment struct {
	name  string
	day   time.Time // UTC midnight
	first uint64
	try   int
}

func segmentFile(day time.Time, first uint64, try int) string {
	if try > 0 {
		return fmt.Sprintf("audit-%s-%012d.%d.jsonl", day.UTC().Format(time.DateOnly), first, try)
	}
	return fmt.Sprintf("audit-%s-%012d.jsonl", day.UTC().Format(time.DateOnly), first)
}

// segments lists dir's segments in chain order. Other files are not the
// trail's and are left alone.
func segments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []segment
	for _, e := range ents {
		m := segmentName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		day, err := time.Parse(time.DateOnly, m[1])
		if err != nil {
			continue
		}
		first, _ := strconv.ParseUint(m[2], 10, 64)
		try, _ := strconv.Atoi(m[3])
		out = append(out, segment{name: e.Name(), day: day, first: first, try: try})
	}
	slices.SortFunc(out, func(a, b segment) int {
		if c := a.day.Compare(b.day); c != 0 {
			return c
		}
		if c := cmp.Compare(a.first, b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.try, b.try)
	})
	return out, nil
}

// rawLine is one line of a segment as read: its bytes (without the
// newline), its number (from 1) and its offset in the file.
type rawLine struct {
	b      []byte
	n      int
	offset int
	// torn: the file ends without a newline after it.
	torn bool
}

func splitLines(data []byte) []rawLine {
	var out []rawLine
	for off, n := 0, 1; off < len(data); n++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			out = append(out, rawLine{b: data[off:], n: n, offset: off, torn: true})
			break
		}
		out = append(out, rawLine{b: data[off : off+i], n: n, offset: off})
		off += i + 1
	}
	return out
}

func readSegment(dir string, s segment) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, s.name))
	if err != nil {
		return nil, fmt.Errorf("audit: segment %s: %w", s.name, err)
	}
	return b, nil
}
