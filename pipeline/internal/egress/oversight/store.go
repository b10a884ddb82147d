package oversight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileVersion is the format of the state file; a file of another version
// is refused (fail closed) rather than guessed at.
const fileVersion = 1

type stateFile struct {
	Version int `json:"version"`
	State
}

// Load reads the pause state saved in path. A missing file is nothing
// paused (the first start). A file that cannot be read or does not parse
// is an error naming it: the service must not start analysing cameras an
// operator paused because their record was damaged (fail closed).
func Load(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("oversight state %s cannot be read: %w", path, err)
	}
	var f stateFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return State{}, fmt.Errorf("oversight state %s is corrupt (%v); the analysis pauses in it are unknown, so the service does not start: restore the file, or delete it to resume every camera", path, err)
	}
	if f.Version != fileVersion {
		return State{}, fmt.Errorf("oversight state %s has version %d; this edgeguard reads version %d", path, f.Version, fileVersion)
	}
	return f.State, nil
}

// Save writes s to path atomically: a temporary file in the same
// directory, fsynced, renamed over path, and the directory fsynced, so a
// power cut leaves the old state or the new one, never a torn file.
func Save(path string, s State) error {
	b, err := json.MarshalIndent(stateFile{Version: fileVersion, State: s}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing there
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("oversight state %s: %w", path, err)
	}
	return nil
}
