package app

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// TestFileWatch: which states of the policy file count as a change, so
// that a file that disappears and comes back (with the content in force)
// is reloaded and its retained policy/error cleared (issue 18 item 9c).
func TestFileWatch(t *testing.T) {
	a, b := []byte("content A\n"), []byte("content B\n")
	sumA := sha256.Sum256(a)
	type step struct {
		do   string // "A", "B": write that content; "rm": delete; "dir": a directory in its place; "look": nothing
		want bool   // look() after the step
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"unchanged", []step{{"look", false}, {"A", false}}},
		{"edited", []step{{"B", true}, {"look", false}, {"A", true}}},
		{"deleted, then restored", []step{{"rm", true}, {"look", false}, {"A", true}, {"look", false}}},
		{"unreadable, then restored", []step{{"dir", true}, {"look", false}, {"A", true}}},
		{"rejected edit undone", []step{{"B", true}, {"A", true}}},
		{"deleted, then a different file", []step{{"rm", true}, {"B", true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, a, 0o644); err != nil {
				t.Fatal(err)
			}
			w := newFileWatch(path, hex.EncodeToString(sumA[:]))
			for i, s := range tt.steps {
				var err error
				switch s.do {
				case "A", "B":
					os.RemoveAll(path)
					err = os.WriteFile(path, map[string][]byte{"A": a, "B": b}[s.do], 0o644)
				case "rm":
					err = os.Remove(path)
				case "dir":
					os.Remove(path)
					err = os.Mkdir(path, 0o700) // unreadable as a file, also for root
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := w.look(); got != s.want {
					t.Fatalf("step %d (%s): look() = %v, want %v", i, s.do, got, s.want)
				}
			}
		})
	}
}

// TestFileWatchAfterSIGHUP: the file is deleted and restored between two
// polls, and a SIGHUP's reload in between found it missing (and published
// the rejection). The SIGHUP's look makes the watch see the restored file
// as a change, so that its reload clears the rejection.
func TestFileWatchAfterSIGHUP(t *testing.T) {
	content := []byte("content A\n")
	sum := sha256.Sum256(content)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	w := newFileWatch(path, hex.EncodeToString(sum[:]))
	os.Remove(path)
	w.look() // SIGHUP: the reload that follows is rejected
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if !w.look() {
		t.Fatal("the restored file is not a change; the rejection would stay until the next SIGHUP")
	}
}
