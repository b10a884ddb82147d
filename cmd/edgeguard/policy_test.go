package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyTools runs the privacy officer's commands on the shipped example
// and on an edit of it, as a person would.
func TestPolicyTools(t *testing.T) {
	example := "../../configs/policy.yaml"
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wider := filepath.Join(dir, "wider.yaml")
	os.WriteFile(wider, bytes.Replace(b, []byte("fields: [score]"), []byte("fields: [score, boxes]"), 1), 0o644)
	crlf := filepath.Join(dir, "crlf.yaml")
	os.WriteFile(crlf, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")), 0o644)
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, append(append([]byte{}, b...), "demographics: [age]\n"...), 0o644)

	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"policy", "check", example}, 0, []string{`policy.yaml: ok (policy "hansaplatz" version "2026-11", sha256 `}},
		{[]string{"policy", "check", example, broken}, 1, []string{"broken.yaml:", "demographics", "1 of 2 policy files are invalid"}},
		{[]string{"policy", "explain", example}, 0, []string{"What leaves the device", "motion"}},
		{[]string{"policy", "explain", "--lang", "de", example}, 0, []string{"Was das Gerät verlässt", "Ton wird nie empfangen"}},
		{[]string{"policy", "explain", "--lang", "fr", example}, 2, []string{"fr"}},
		{[]string{"policy", "diff", example, wider}, 0, []string{"egress.fields: adds boxes (MORE"}},
		{[]string{"policy", "diff", example, example}, 0, []string{"no change"}},
		{[]string{"policy", "diff", example}, 2, []string{"policy diff needs OLD and NEW"}},
		// Flags after the file, as people type them.
		{[]string{"policy", "explain", example, "--lang", "de"}, 0, []string{"Was das Gerät verlässt"}},
		{[]string{"policy", "diff", "--lang", "de", example, wider}, 0, []string{"egress.fields: fügt hinzu: boxes (MEHR"}},
		{[]string{"policy", "diff", example, wider, "--lang", "de"}, 0, []string{"egress.fields: fügt hinzu: boxes (MEHR"}},
		{[]string{"policy", "diff", example, crlf}, 0, []string{"no change in what this device may see, keep or send; but the files' bytes differ", "events will name sha256"}},
		{[]string{"policy", "expalin", example}, 2, []string{`unknown policy subcommand "expalin"; did you mean "explain"?`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
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
		})
	}
}
