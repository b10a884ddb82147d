package yamlstrict

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in a file, located so that a person can find it
// in an editor: FILE:LINE:COL: PATH: message. Line and Col are 1-based; 0
// means unknown (then they are left out of the printed form).
type FieldError struct {
	File string
	Line int
	Col  int
	// Path names the setting in the file's own terms, e.g. "cameras[1].id".
	// Empty for problems with the file as a whole.
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	if b.Len() > 0 { // a value built in code has no file: PATH: message
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order. Reporting them
// all at once spares the author a fix-one-rerun loop.
type Errors []*FieldError

// Error prints one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// sortAndCap orders errors by position (problems without a position last,
// otherwise keeping the order they were found in), drops exact duplicates and
// keeps at most max, adding a final line that says how many (plus dropped,
// never stored) were left out.
func sortAndCap(errs []*FieldError, max int, file string, dropped int) Errors {
	type keyed struct {
		e *FieldError
		i int
	}
	ks := make([]keyed, len(errs))
	for i, e := range errs {
		ks[i] = keyed{e, i}
	}
	sort.SliceStable(ks, func(a, b int) bool {
		ea, eb := ks[a].e, ks[b].e
		la, lb := ea.Line, eb.Line
		if la == 0 {
			la = int(^uint(0) >> 1)
		}
		if lb == 0 {
			lb = int(^uint(0) >> 1)
		}
		if la != lb {
			return la < lb
		}
		if ea.Col != eb.Col {
			return ea.Col < eb.Col
		}
		return ks[a].i < ks[b].i
	})
	out := make(Errors, 0, len(ks))
	seen := make(map[FieldError]bool, len(ks))
	for _, k := range ks {
		if seen[*k.e] {
			continue
		}
		seen[*k.e] = true
		out = append(out, k.e)
	}
	more := dropped
	if max > 0 && len(out) > max {
		more += len(out) - max
		out = out[:max:max]
	}
	if more > 0 {
		out = append(out, &FieldError{File: file, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", more)})
	}
	return out
}
