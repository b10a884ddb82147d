package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
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

// run looks every interval and signals changed (without blocking: one
// pending signal is enough) until ctx ends.
func (w *fileWatch) run(ctx context.Context, every time.Duration, changed chan<- struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if w.look() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}
