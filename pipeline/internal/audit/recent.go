package audit

import "slices"

// Recent returns the last n entries of the trail in dir for which keep is
// true, oldest first. It reads back from the newest segment and stops as
// soon as it has n, so a long trail costs only its last days. Lines that do
// not parse are skipped: this is for the service's own memory across a
// restart (which events a review may name), not for proof; that is Verify.
// A trail that does not exist yet has no entries.
func Recent(dir string, n int, keep func(Entry) bool) ([]Entry, error) {
	segs, err := segments(dir)
	if err != nil || n <= 0 {
		return nil, err
	}
	var out []Entry // newest first while reading
	for i := len(segs) - 1; i >= 0 && len(out) < n; i-- {
		data, err := readSegment(dir, segs[i])
		if err != nil {
			return nil, err
		}
		lines := splitLines(data)
		for j := len(lines) - 1; j >= 0 && len(out) < n; j-- {
			if e, err := ParseLine(lines[j].b); err == nil && keep(e) {
				out = append(out, e)
			}
		}
	}
	slices.Reverse(out)
	return out, nil
}
