package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeState is a StateEnv with a made-up environment, home directory and
// set of directories that may be written (a directory is writable when it
// is under one of them); it records what Resolve asked to create.
type fakeState struct {
	env      map[string]string
	home     string
	writable []string
	prepared []string
}

func (f *fakeState) stateEnv() StateEnv {
	return StateEnv{
		Getenv: func(k string) string { return f.env[k] },
		HomeDir: func() (string, error) {
			if f.home == "" {
				return "", errors.New("$HOME is not defined")
			}
			return f.home, nil
		},
		Prepare: func(dir string) error {
			f.prepared = append(f.prepared, dir)
			for _, w := range f.writable {
				if dir == w || strings.HasPrefix(dir, w+"/") {
					return nil
				}
			}
			return &fs.PathError{Op: "mkdir", Path: dir, Err: fs.ErrPermission}
		},
	}
}

func TestOutboxResolve(t *testing.T) {
	tests := []struct {
		name     string
		outbox   Outbox
		env      map[string]string
		home     string
		writable []string
		wantDir  string
		wantWhy  string // substring of Why, or of the error when wantErr
		wantErr  bool
	}{
		{
			name:     "systemd StateDirectory",
			env:      map[string]string{"STATE_DIRECTORY": "/var/lib/edgeguard"},
			writable: []string{"/var/lib/edgeguard"},
			wantDir:  "/var/lib/edgeguard/edge-01/outbox",
			wantWhy:  "outbox.dir not set; using $STATE_DIRECTORY/edge-01/outbox",
		},
		{
			name:     "several StateDirectory paths: the first",
			env:      map[string]string{"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"},
			writable: []string{"/var/lib/a", "/var/lib/b", SystemStateDir},
			wantDir:  "/var/lib/a/edge-01/outbox",
			wantWhy:  "$STATE_DIRECTORY",
		},
		{
			name:     "StateDirectory wins over a writable /var/lib/edgeguard and XDG",
			env:      map[string]string{"STATE_DIRECTORY": "/srv/state/", "XDG_STATE_HOME": "/home/u/.state"},
			home:     "/home/u",
			writable: []string{"/srv/state", SystemStateDir, "/home/u"},
			wantDir:  "/srv/state/edge-01/outbox",
		},
		{
			name:     "StateDirectory not writable: an error, no silent fallback",
			env:      map[string]string{"STATE_DIRECTORY": "/srv/state"},
			writable: []string{SystemStateDir},
			wantWhy:  "outbox.dir: not set; the default /srv/state/edge-01/outbox (from $STATE_DIRECTORY) cannot be used",
			wantErr:  true,
		},
		{
			name:    "relative StateDirectory",
			env:     map[string]string{"STATE_DIRECTORY": "state"},
			wantWhy: `$STATE_DIRECTORY "state" is not an absolute path`,
			wantErr: true,
		},
		{
			name:     "no systemd: /var/lib/edgeguard",
			env:      map[string]string{"XDG_STATE_HOME": "/home/u/.state"},
			home:     "/home/u",
			writable: []string{SystemStateDir, "/home/u"},
			wantDir:  "/var/lib/edgeguard/edge-01/outbox",
			wantWhy:  "outbox.dir not set; using /var/lib/edgeguard/edge-01/outbox",
		},
		{
			name:     "/var/lib/edgeguard not writable: XDG_STATE_HOME",
			env:      map[string]string{"XDG_STATE_HOME": "/home/u/.state"},
			home:     "/home/u",
			writable: []string{"/home/u"},
			wantDir:  "/home/u/.state/edgeguard/edge-01/outbox",
			wantWhy:  "using $XDG_STATE_HOME/edgeguard/edge-01/outbox (/var/lib/edgeguard cannot be used: mkdir /var/lib/edgeguard: permission denied)",
		},
		{
			name:     "no XDG_STATE_HOME: ~/.local/state",
			home:     "/home/u",
			writable: []string{"/home/u"},
			wantDir:  "/home/u/.local/state/edgeguard/edge-01/outbox",
			wantWhy:  "using ~/.local/state/edgeguard/edge-01/outbox",
		},
		{
			name:     "relative XDG_STATE_HOME is ignored",
			env:      map[string]string{"XDG_STATE_HOME": ".state"},
			home:     "/home/u",
			writable: []string{"/home/u"},
			wantDir:  "/home/u/.local/state/edgeguard/edge-01/outbox",
		},
		{
			name:    "nowhere to go",
			wantWhy: "outbox.dir: not set and no default state directory: no $STATE_DIRECTORY, /var/lib/edgeguard cannot be used",
			wantErr: true,
		},
		{
			name:     "home not writable",
			home:     "/home/u",
			wantWhy:  "the default /home/u/.local/state/edgeguard/edge-01/outbox (from ~/.local/state/edgeguard) cannot be used",
			wantErr:  true,
			writable: nil,
		},
		{
			name:     "outbox.dir set: used as given, no default looked for",
			outbox:   Outbox{Dir: "/data/outbox"},
			env:      map[string]string{"STATE_DIRECTORY": "/var/lib/edgeguard"},
			writable: []string{"/data", "/var/lib/edgeguard"},
			wantDir:  "/data/outbox",
			wantWhy:  "outbox.dir is set",
		},
		{
			name:    "outbox.dir not writable names the key and the path",
			outbox:  Outbox{Dir: "/data/outbox"},
			wantWhy: "outbox.dir: /data/outbox cannot be used: mkdir /data/outbox: permission denied",
			wantErr: true,
		},
		{
			name:     "memory: asked for, no directory",
			outbox:   Outbox{Memory: true},
			env:      map[string]string{"STATE_DIRECTORY": "/var/lib/edgeguard"},
			writable: []string{"/var/lib/edgeguard"},
			wantDir:  "",
			wantWhy:  "outbox.memory is true",
		},
		{
			name:    "memory and dir",
			outbox:  Outbox{Memory: true, Dir: "/data/outbox"},
			wantWhy: "outbox.memory: contradicts outbox.dir",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeState{env: tt.env, home: tt.home, writable: tt.writable}
			got, err := tt.outbox.Resolve("edge-01", f.stateEnv())
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.wantWhy) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantWhy)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != tt.wantDir || !strings.Contains(got.Why, tt.wantWhy) {
				t.Errorf("got dir %q, why %q; want %q, why containing %q", got.Dir, got.Why, tt.wantDir, tt.wantWhy)
			}
			if wantDefault := (tt.outbox == Outbox{}); got.Default != wantDefault {
				t.Errorf("Default = %v, want %v", got.Default, wantDefault)
			}
			// The directory handed to the outbox was created and checked.
			if got.Dir != "" && !slices.Contains(f.prepared, got.Dir) {
				t.Errorf("%s was not prepared; prepared: %v", got.Dir, f.prepared)
			}
			if got.Dir == "" && len(f.prepared) > 0 {
				t.Errorf("memory only, yet prepared %v", f.prepared)
			}
		})
	}
}

// TestOutboxResolveDefaultsFromParsedFile: a file without an outbox
// section resolves to the state directory; one with memory: true to none.
func TestOutboxResolveDefaultsFromParsedFile(t *testing.T) {
	state := t.TempDir()
	env := OSStateEnv()
	env.Getenv = func(k string) string {
		if k == "STATE_DIRECTORY" {
			return state
		}
		return ""
	}
	for _, tt := range []struct{ name, extra, wantDir string }{
		{"no outbox section", "", filepath.Join(state, "edge-01", "outbox")},
		{"memory", "outbox: {memory: true}\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("e.yaml", []byte(valid+tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Outbox.Resolve(cfg.Device, env)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != tt.wantDir {
				t.Fatalf("dir = %q, want %q", got.Dir, tt.wantDir)
			}
			if got.Dir != "" {
				if st, err := os.Stat(got.Dir); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
					t.Errorf("%s: %v, %v; want a directory only edgeguard can read", got.Dir, st, err)
				}
			}
		})
	}
}
