package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTrail copies the trail in testdata/audit (six records over two
// days, written by the audit package; its public key beside them, the
// private key not kept) to a directory of the test's own, with edit
// applied to the named segment's bytes.
func copyTrail(t *testing.T, segment string, edit func([]byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir("testdata/audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata/audit", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == segment && edit != nil {
			b = edit(b)
		}
		if b != nil {
			os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
		}
	}
	return dir
}

const (
	day1 = "audit-2026-12-01-000000000001.jsonl"
	day2 = "audit-2026-12-02-000000000004.jsonl"
)

func TestAuditCommands(t *testing.T) {
	good := copyTrail(t, "", nil)
	flipped := copyTrail(t, day1, func(b []byte) []byte {
		// A byte of line 2's camera id: "cam1" becomes "cam0".
		i := bytes.Index(b, []byte(`"camera":"cam1"`))
		b[i+len(`"camera":"cam`)] = '0'
		return b
	})
	gap := copyTrail(t, day1, func([]byte) []byte { return nil }) // the first day deleted
	otherKey := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(otherKey, []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"), 0o644)

	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string
		lines int // export: JSON lines on stdout
	}{
		{"verify ok", []string{"audit", "verify", good}, 0, []string{"ok: 6 records (seq 1 to 6) in 2 segments", "chain head sha256"}, -1},
		{"verify names the flipped record", []string{"audit", "verify", flipped}, 1, []string{day1 + " line 2 (seq 2)"}, -1},
		{"verify finds the deleted first day", []string{"audit", "verify", gap}, 1, []string{day2 + " line 1 (seq 4)", "no prune record"}, -1},
		{"verify with another key", []string{"audit", "verify", "--key", otherKey, good}, 1, []string{day1 + " line 1 (seq 1)", "signature does not verify"}, -1},
		{"verify needs a dir", []string{"audit", "verify"}, 2, []string{"audit verify needs exactly one DIR"}, -1},
		{"export all", []string{"audit", "export", good}, 0, nil, 6},
		{"export from a day", []string{"audit", "export", "--from", "2026-12-02", good}, 0, []string{`{"seq":4,`}, 3},
		{"export a range", []string{"audit", "export", "--from", "2026-12-01T23:01:00Z", "--to", "2026-12-02T00:04:00Z", good}, 0, []string{`{"seq":2,`, `{"seq":4,`}, 3},
		{"export a bad time", []string{"audit", "export", "--from", "yesterday", good}, 2, []string{`--from "yesterday": expected a date`}, -1},
		{"export an empty range", []string{"audit", "export", "--from", "2026-12-02", "--to", "2026-12-01", good}, 2, []string{"is not after"}, -1},
		{"export a broken trail", []string{"audit", "export", flipped}, 1, []string{day1 + " line 2"}, 1},
		{"unknown subcommand", []string{"audit", "verfiy", good}, 2, []string{`did you mean "verify"?`}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.lines >= 0 {
				if n := strings.Count(stdout.String(), "\n"); n != tt.lines {
					t.Errorf("%d lines on stdout, want %d:\n%s", n, tt.lines, stdout.String())
				}
			}
		})
	}
}
