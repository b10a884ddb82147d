// Package golist runs `go list` for tests that pin the module's dependency
// graph: which package may import which, what a binary links. Tests only:
// it imports testing, and cmd/edgeguard's layout test checks that no binary
// links it.
package golist

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Module is this module's path.
const Module = "github.com/edgeguard/edgeguard"

// Package is what the layering tests read of `go list -json`.
type Package struct {
	ImportPath string
	Name       string
	Standard   bool
	// Imports are the non-test imports; TestImports and XTestImports
	// those of the package's _test.go files.
	Imports, TestImports, XTestImports []string
	// CgoFiles are the files that import "C".
	CgoFiles []string
}

// List runs `go list -e -json` with args (patterns, and flags such as
// -deps) and returns the packages by import path. -e because other packages
// may be mid-edit and not compile; their imports are still reported.
// CGO_ENABLED=1 so that files that import "C" are listed as a build with
// cgo sees them (the service cannot be built without cgo).
func List(t testing.TB, args ...string) map[string]*Package {
	t.Helper()
	fields := "-json=ImportPath,Name,Standard,Imports,TestImports,XTestImports,CgoFiles"
	cmd := exec.Command("go", append([]string{"list", "-e", fields}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	pkgs := map[string]*Package{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(Package)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list %v: decoding its output: %v", args, err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v reported no packages", args)
	}
	return pkgs
}

// Under reports whether path is prefix or a package below it
// ("a/b" is under "a/b" and "a", not under "a/bc").
func Under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// AnyUnder returns the first of paths that is under prefix, or "".
func AnyUnder(paths []string, prefix string) string {
	for _, p := range paths {
		if Under(p, prefix) {
			return p
		}
	}
	return ""
}
