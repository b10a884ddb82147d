package outbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
)

// TestSecondOutboxOnOneDirRefused: two outboxes on one directory would
// both append to the same segment and lose each other's events (issue 18
// item 1). The second New fails and names the directory, the holder's pid
// and what to do; once the first is closed, the directory can be opened
// again and nothing the first stored is lost.
func TestSecondOutboxOnOneDirRefused(t *testing.T) {
	tests := []struct {
		name string
		// open is how the first owner takes the directory.
		open func(t *testing.T, dir string, pub Publisher) *Outbox
	}{
		{"New locks it", func(t *testing.T, dir string, pub Publisher) *Outbox {
			return newOutbox(t, Config{Publisher: pub, Dir: dir})
		}},
		{"LockDir handed to New", func(t *testing.T, dir string, pub Publisher) *Outbox {
			l, err := LockDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return newOutbox(t, Config{Publisher: pub, Dir: dir, DirLock: l})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			first := tt.open(t, dir, &recorder{gate: make(chan struct{})}) // broker away
			ctx := context.Background()
			for i := range 2 {
				if err := first.Event(ctx, ev(fmt.Sprintf("e%03d", i))); err != nil {
					t.Fatal(err)
				}
			}

			for _, second := range []func() error{
				func() error {
					o, err := New(Config{Publisher: &recorder{}, Dir: dir, Logger: testlog.Discard()})
					if err == nil {
						o.Close()
					}
					return err
				},
				func() error {
					l, err := LockDir(dir)
					l.Release()
					return err
				},
			} {
				err := second()
				if err == nil {
					t.Fatal("a second owner of the directory was accepted")
				}
				want := fmt.Sprintf("outbox: %s is in use by pid %d (another edgeguard with the same outbox.dir or device?); each instance needs its own outbox.dir", dir, os.Getpid())
				if err.Error() != want {
					t.Fatalf("error\n %q\nwant\n %q", err, want)
				}
			}

			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			pub := &recorder{}
			o := newOutbox(t, Config{Publisher: pub, Dir: dir})
			drain(t, o)
			if got := pub.delivered(); !slices.Equal(got, ids(0, 2)) {
				t.Fatalf("after the first closed, the second delivered %v, want %v", got, ids(0, 2))
			}
		})
	}
}

// TestDirLockForAnotherDir: a lock handed over must be the directory's own.
func TestDirLockForAnotherDir(t *testing.T) {
	l, err := LockDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Publisher: &recorder{}, Dir: t.TempDir(), DirLock: l, Logger: testlog.Discard()})
	if err == nil || !strings.Contains(err.Error(), "DirLock") {
		t.Fatalf("New with another directory's lock: %v", err)
	}
}
