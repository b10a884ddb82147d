package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SystemStateDir is where an installation keeps its state when systemd
// does not name a directory ($STATE_DIRECTORY): the Docker image's volume,
// and the unit's StateDirectory= as well.
const SystemStateDir = "/var/lib/edgeguard"

// StateEnv is the part of the process's surroundings that decides where
// state lives by default. It is a value of functions so that the rules in
// Outbox.Resolve can be tested with a fake environment, home directory and
// file system; OSStateEnv is the real one.
type StateEnv struct {
	// Getenv reads an environment variable; "" when unset.
	Getenv func(key string) string
	// HomeDir is the user's home directory (os.UserHomeDir).
	HomeDir func() (string, error)
	// Prepare creates dir and its parents if they are missing and checks
	// that this process can create files in it.
	Prepare func(dir string) error
}

// OSStateEnv is the process's real environment and file system.
func OSStateEnv() StateEnv {
	return StateEnv{Getenv: os.Getenv, HomeDir: os.UserHomeDir, Prepare: prepareDir}
}

// prepareDir creates dir (owner only: the outbox holds events) and proves
// it writable by creating and removing a file; a permission check alone
// would pass for root on a read-only file system.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".edgeguard-write-test-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// OutboxPlace is where the outbox lives and how that was decided, for the
// one start-up log line that says so.
type OutboxPlace struct {
	// Dir is the outbox's directory, created and writable; "" means in
	// memory only (outbox.memory: true).
	Dir string
	// Default is true when outbox.dir was not set and Dir follows the
	// rules of Resolve.
	Default bool
	// Why says in one sentence which setting or rule chose Dir.
	Why string
}

// Resolve decides where the outbox lives: outbox.memory: true keeps it in
// memory; outbox.dir is used as given; without either, events must still
// survive a crash (an installation that never mentions the outbox loses
// nothing), so it goes to a durable default, the first of
//
//  1. $STATE_DIRECTORY (set by systemd's StateDirectory=; of several
//     ':'-separated paths the first),
//  2. /var/lib/edgeguard, if it exists or can be created and this process
//     can write in it (the Docker image, a root install),
//  3. $XDG_STATE_HOME/edgeguard, or ~/.local/state/edgeguard (a user
//     running it by hand),
//
// with the outbox in <state>/<device>/outbox, so that other state can go
// beside it and boxes sharing a state directory do not share an outbox.
// The directory is created; an error names the path and the setting to
// change.
func (o Outbox) Resolve(device string, env StateEnv) (OutboxPlace, error) {
	switch {
	case o.Memory && o.Dir != "":
		return OutboxPlace{}, errors.New("outbox.memory: contradicts outbox.dir; remove one of them")
	case o.Memory:
		return OutboxPlace{Why: "outbox.memory is true"}, nil
	case o.Dir != "":
		if err := env.Prepare(o.Dir); err != nil {
			return OutboxPlace{}, fmt.Errorf("outbox.dir: %s cannot be used: %w; set outbox.dir to a directory edgeguard can write", o.Dir, err)
		}
		return OutboxPlace{Dir: o.Dir, Why: "outbox.dir is set"}, nil
	}
	if !idPattern.MatchString(device) {
		return OutboxPlace{}, fmt.Errorf("outbox.dir: not set, and device %q cannot name a state directory; set device (letters, digits, - and _) or outbox.dir", device)
	}
	base, label, note, err := stateDir(env)
	if err != nil {
		return OutboxPlace{}, fmt.Errorf("outbox.dir: not set and no default state directory: %w; set outbox.dir to a directory edgeguard can write, or outbox.memory: true to accept losing waiting events on a crash", err)
	}
	dir := filepath.Join(base, device, "outbox")
	if err := env.Prepare(dir); err != nil {
		return OutboxPlace{}, fmt.Errorf("outbox.dir: not set; the default %s (from %s) cannot be used: %w; set outbox.dir to a directory edgeguard can write", dir, label, err)
	}
	why := "outbox.dir not set; using " + label + "/" + device + "/outbox"
	if note != "" {
		why += " (" + note + ")"
	}
	return OutboxPlace{Dir: dir, Default: true, Why: why}, nil
}

// stateDir is edgeguard's state directory by the rules in Outbox.Resolve;
// label names the rule as the log shows it, note says why an earlier rule
// did not apply when that is not obvious.
func stateDir(env StateEnv) (dir, label, note string, err error) {
	if sd := env.Getenv("STATE_DIRECTORY"); sd != "" {
		first, _, _ := strings.Cut(sd, ":")
		if !filepath.IsAbs(first) {
			return "", "", "", fmt.Errorf("$STATE_DIRECTORY %q is not an absolute path", first)
		}
		return filepath.Clean(first), "$STATE_DIRECTORY", "", nil
	}
	sysErr := env.Prepare(SystemStateDir)
	if sysErr == nil {
		return SystemStateDir, SystemStateDir, "", nil
	}
	note = fmt.Sprintf("%s cannot be used: %v", SystemStateDir, sysErr)
	// The XDG base directory spec: a relative $XDG_STATE_HOME is invalid
	// and ignored.
	if x := env.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "edgeguard"), "$XDG_STATE_HOME/edgeguard", note, nil
	}
	home, err := env.HomeDir()
	if err == nil && !filepath.IsAbs(home) {
		err = fmt.Errorf("%q is not an absolute path", home)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("no $STATE_DIRECTORY, %s, no $XDG_STATE_HOME and no home directory (%v)", note, err)
	}
	return filepath.Join(home, ".local", "state", "edgeguard"), "~/.local/state/edgeguard", note, nil
}
