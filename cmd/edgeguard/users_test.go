package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/app"
)

// TestUsersHash: the password comes from standard input (never argv); the
// hash it prints checks as a users file line; bad flags name what is
// allowed.
func TestUsersHash(t *testing.T) {
	old := usersStdin
	t.Cleanup(func() { usersStdin = old })
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   string // prefix of stdout, or of stderr when code != 0
	}{
		{"bcrypt", []string{"users", "hash"}, "secret\n", 0, "$2a$12$"},
		{"argon2id line", []string{"users", "hash", "--argon2id", "--user", "otto", "--role", "operator"}, "secret", 0, "otto operator $argon2id$v=19$"},
		{"empty", []string{"users", "hash"}, "\n", 1, ""},
		{"password in argv", []string{"users", "hash", "secret"}, "", 2, ""},
		{"bad role", []string{"users", "hash", "--user", "otto", "--role", "admin"}, "x\n", 2, ""},
		{"user without role", []string{"users", "hash", "--user", "otto"}, "x\n", 2, ""},
		{"no subcommand", []string{"users"}, "", 2, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			usersStdin = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if code != 0 {
				if stdout.Len() != 0 {
					t.Errorf("stdout on failure: %q", stdout.String())
				}
				return
			}
			if !strings.HasPrefix(stdout.String(), tt.out) {
				t.Fatalf("stdout %q, want prefix %q", stdout.String(), tt.out)
			}
			line := stdout.String()
			if !strings.Contains(line, " ") {
				line = "someone viewer " + line
			}
			f := filepath.Join(dir, tt.name)
			if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			if n, err := app.CheckUsersFile(f); err != nil || n != 1 {
				t.Errorf("users file %q: %d, %v", line, n, err)
			}
			var out, errb bytes.Buffer
			if code := run([]string{"users", "check", f}, &out, &errb); code != 0 || !strings.Contains(out.String(), "ok: 1 users") {
				t.Errorf("users check: %d %s %s", code, out.String(), errb.String())
			}
		})
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("otto admin $2a$12$x\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"users", "check", bad}, &out, &errb); code == 0 || !strings.Contains(errb.String(), bad+`:1: role "admin": allowed: viewer, operator, officer`) {
		t.Errorf("users check of a bad file: %d %s", code, errb.String())
	}
}
