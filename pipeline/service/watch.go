package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"time"
)

// watchFile signals changed whenever the content of path differs from the
// last content seen, starting from initialSHA. It compares hashes rather
// than modification times because editors and configuration management
// often replace a file atomically (rename) or restore old times. A file that
// cannot be read is not a change: the reload would fail and the previous
// policy stays in force anyway, and the next readable content is compared.
func watchFile(ctx context.Context, path, initialSHA string, every time.Duration, changed chan<- struct{}) {
	last := initialSHA
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		if h := hex.EncodeToString(sum[:]); h != last {
			last = h
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}
