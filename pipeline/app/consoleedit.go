package app

// Saving zones and lines from the web console (http.allow_edit, an
// operator's login): the camera's zones:/lines: in the configuration file
// are edited as YAML nodes (comments and the rest stay), the whole new
// file is validated with config.Parse, the service's own loader, before
// anything is written; then a backup of the old file, the new one written
// atomically, and the service's own reload (the file watcher, watch.go)
// applies it: the save waits for the outcome and reports it. The policy
// file is never written.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
)

// keepBackups is how many backups of the configuration file a save keeps.
const keepBackups = 10

// zoneEditor is the console's Editor for the service's configuration file.
type zoneEditor struct {
	a    *app
	cams *consoleCameras
	path string
	now  func() time.Time
	// poll is how often the outcome is looked at; wait how long at most.
	poll, wait time.Duration
	mu         sync.Mutex // one save at a time
}

// newZoneEditor is nil (the console then refuses to save) when the service
// has no configuration file to write (a Config built in code).
func newZoneEditor(a *app, cams *consoleCameras) console.ZoneEditor {
	if a.opts.ConfigPath == "" {
		return nil
	}
	every := cmp.Or(a.opts.PolicyPollInterval, 2*time.Second)
	return &zoneEditor{a: a, cams: cams, path: a.opts.ConfigPath, now: time.Now, poll: 20 * time.Millisecond, wait: 3*every + 5*time.Second}
}

func (e *zoneEditor) SaveZones(ctx context.Context, id string, edit console.ZoneEdit, who string) (console.SaveResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := console.SaveResult{File: e.path}
	fi, err := os.Stat(e.path)
	if err != nil {
		return res, err
	}
	old, err := os.ReadFile(e.path)
	if err != nil {
		return res, err
	}
	lines := map[string]config.ZoneLine{}
	for name, l := range edit.Lines {
		lines[name] = config.ZoneLine{From: l.From, To: l.To, Direction: l.Direction}
	}
	next, err := config.SetCameraZones(e.path, old, id, edit.Zones, lines)
	if err != nil {
		return res, fmt.Errorf("%w: %w", console.ErrInvalidEdit, err)
	}
	if _, err := config.Parse(e.path, next); err != nil {
		return res, fmt.Errorf("%w: %w", console.ErrInvalidEdit, err)
	}
	if bytes.Equal(next, old) {
		res.Outcome = "unchanged"
		return res, nil
	}
	before := e.cams.get(id)
	errBefore := e.a.obs.Readiness().ConfigError

	res.Backup = fmt.Sprintf("%s.%s.bak", e.path, e.now().UTC().Format("20060102T150405.000Z"))
	if err := writeAtomic(res.Backup, old, fi.Mode().Perm()); err != nil {
		return console.SaveResult{File: e.path}, fmt.Errorf("backup of %s: %w; nothing was written", e.path, err)
	}
	pruneBackups(e.path, keepBackups)
	if err := writeAtomic(e.path, next, fi.Mode().Perm()); err != nil {
		return res, fmt.Errorf("writing %s: %w (the old file is unchanged, its backup is %s)", e.path, err, res.Backup)
	}
	e.a.log.Info("configuration file written from the web console", "path", e.path, "backup", res.Backup, "user", who, "camera", id)

	if e.a.opts.PolicyPollInterval < 0 {
		res.Outcome, res.Reason = "pending", "the service does not watch its configuration file here; send SIGHUP to apply it"
		return res, nil
	}
	// The watcher reloads the file; the outcome shows as the camera
	// running anew (its zones are part of what builds it) or as a
	// config_error in the health.
	deadline := e.now().Add(e.wait)
	t := time.NewTicker(e.poll)
	defer t.Stop()
	for e.now().Before(deadline) {
		if cam := e.cams.get(id); cam != nil && cam != before {
			res.Outcome = "applied"
			return res, nil
		}
		if ce := e.a.obs.Readiness().ConfigError; ce != "" && ce != errBefore {
			res.Outcome, res.Reason = "rejected", ce
			return res, nil
		}
		select {
		case <-ctx.Done():
			res.Outcome, res.Reason = "pending", "the file is written; the service had not reloaded it when the request ended"
			return res, nil
		case <-t.C:
		}
	}
	res.Outcome, res.Reason = "pending", fmt.Sprintf("the file is written; the service had not reloaded it after %s (see its log and /readyz)", e.wait)
	return res, nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory (fsync, rename, fsync of the directory): path is either the
// old file or the new one, never a part.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename: nothing there
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pruneBackups removes all but the newest keep backups of path (their
// names sort by time).
func pruneBackups(path string, keep int) {
	old, _ := filepath.Glob(path + ".*.bak")
	slices.Sort(old)
	for len(old) > keep {
		os.Remove(old[0])
		old = old[1:]
	}
}
