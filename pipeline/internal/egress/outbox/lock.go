package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// LockFile is the name of the lock file in an outbox directory.
const LockFile = "lock"

// DirLock is an exclusive lock on an outbox directory, held for the
// outbox's lifetime.
//
// Why: the log has one writer. Two processes on one directory (two configs
// with the same outbox.dir, or the same config started twice: systemd and
// an admin running `edgeguard run` by hand) would append to the same
// segment at offsets each computed alone, truncate each other's delivered
// segments and replay only what survived, losing events without a word.
// An flock on a file in the directory is released by the kernel when the
// process dies, also on kill -9, so a crash never leaves a stale lock; the
// pid in the file only serves the error message.
type DirLock struct {
	path string
	once sync.Once
	f    *os.File
}

// LockDir creates dir (0700) if needed and locks it, or says which process
// holds it. The caller releases it with Release, or hands it to New
// (Config.DirLock), which then releases it in Close.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("outbox: %s is in use by %s (another edgeguard with the same outbox.dir or device?); "+
				"each instance needs its own outbox.dir", dir, holder(path))
		}
		return nil, fmt.Errorf("outbox: lock %s: %w", path, err)
	}
	// Ours now: say who holds it. A failure here only costs the pid in a
	// later message, not the lock.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{path: path, f: f}, nil
}

// holder names the process in the lock file at path, as far as it wrote it.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "another process"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "another process"
	}
	return "pid " + strconv.Itoa(pid)
}

// Release unlocks the directory. The lock file stays (removing it would
// let a third process lock a new file while a second still waits on the
// old one). Safe to call more than once.
func (l *DirLock) Release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		l.f.Close() // closing the only descriptor drops the flock
	})
}
