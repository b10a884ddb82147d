package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"sync"
	"time"
)

// fileWatch notices when the content of a file differs from the content
// last seen. It compares hashes rather than modification times because
// editors and configuration management often replace a file atomically
// (rename) or restore old times.
//
// A file that cannot be read (deleted, unreadable) is a change too, once:
// the reload it causes fails, the previous policy stays in force, and the
// rejection on policy/error says the file is gone (while it is, the next
// start would fail). Its hash is forgotten meanwhile, so that the file's
// return is a change even with the content in force, and the reload that
// follows clears policy/error. A reload the watch did not ask for (SIGHUP)
// calls look first, so that the watch compares later content with what
// that reload read rather than with an older state.
type fileWatch struct {
	path string

	mu   sync.Mutex
	last string // sha256 of the content last seen; "" while it cannot be read
}

func newFileWatch(path, initialSHA string) *fileWatch {
	return &fileWatch{path: path, last: initialSHA}
}

// look reads the file, reports whether it differs from what was last
// seen, and remembers it.
func (w *fileWatch) look() bool {
	h := ""
	if b, err := os.ReadFile(w.path); err == nil {
		sum := sha256.Sum256(b)
		h = hex.EncodeToString(sum[:])
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if h == w.last {
		return false
	}
	w.last = h
	return true
}

// watchSet watches the files a reload reads (the configuration and the
// policy): a change of any is one reload of both.
type watchSet struct {
	mu    sync.Mutex
	files []*fileWatch
}

// follow watches paths from now on: a file watched already keeps what it
// last saw; a new one (the policy file a reload named) starts from its
// content now, which the reload that named it has just read.
func (s *watchSet) follow(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var files []*fileWatch
	for _, p := range paths {
		if p == "" {
			continue
		}
		i := slices.IndexFunc(s.files, func(w *fileWatch) bool { return w.path == p })
		if i >= 0 {
			files = append(files, s.files[i])
			continue
		}
		w := newFileWatch(p, "")
		w.look()
		files = append(files, w)
	}
	s.files = files
}

// add watches path, whose content last seen hashes to sha.
func (s *watchSet) add(path, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = append(s.files, newFileWatch(path, sha))
}

// look looks at every file and reports whether any differs from what was
// last seen.
func (s *watchSet) look() bool {
	s.mu.Lock()
	files := slices.Clone(s.files)
	s.mu.Unlock()
	changed := false
	for _, w := range files {
		if w.look() {
			changed = true
		}
	}
	return changed
}

func (s *watchSet) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files) == 0
}

// run looks every interval and signals changed (without blocking: one
// pending signal is enough) until ctx ends.
func (s *watchSet) run(ctx context.Context, every time.Duration, changed chan<- struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.look() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}
