// Package testlog is logging for tests: a sink goroutines of the code
// under test write to while the test reads it (Buffer), and a logger that
// drops everything (Discard).
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writes and reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines counts the lines written so far.
func (s *Buffer) Lines() int { return strings.Count(s.String(), "\n") }

// Discard is a logger that drops everything: for code under test whose
// log the test does not read.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
