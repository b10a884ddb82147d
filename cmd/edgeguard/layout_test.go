package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/golist"
)

// The layout of docs/architecture.md, pinned: what the binaries link, what
// the policy package may depend on, and which way the subsystems under
// pipeline/internal point. Only non-test imports count for the directions:
// a test may use the simulator, another subsystem or a test helper, since
// no binary links it. A change of layout changes docs/architecture.md and
// this test together.

const (
	modPath     = golist.Module
	pipelinePkg = modPath + "/pipeline"
	internalPkg = pipelinePkg + "/internal"
	videoPkg    = internalPkg + "/video"
	analysisPkg = internalPkg + "/analysis"
	egressPkg   = internalPkg + "/egress"
	cameraPkg   = internalPkg + "/camera"
	observePkg  = internalPkg + "/observe"
	appPkg      = pipelinePkg + "/app"
	toolsPkg    = pipelinePkg + "/tools"
	leavesPkg   = modPath + "/internal" // top-level internal/: leaf packages
)

// testHelpers are the module's packages for tests only. Any other module
// package that imports "testing" outside its _test.go files counts as one
// too (isTestHelper).
var testHelpers = []string{
	modPath + "/internal/testlog",
	modPath + "/internal/jpegtest",
	modPath + "/internal/mosquittotest",
	modPath + "/internal/golist",
	modPath + "/internal/cpuclock",
}

// testingStd are standard packages only tests have a use for; a binary
// that links one links a test helper.
var testingStd = []string{"testing", "net/http/httptest"}

func isTestHelper(p *golist.Package) bool {
	if !golist.Under(p.ImportPath, modPath) {
		return false
	}
	return slices.Contains(testHelpers, p.ImportPath) || slices.Contains(p.Imports, "testing")
}

// TestLayoutBinaries: the service links no simulator, demo, evaluation or
// benchmark (pipeline/tools) and no test helper; the demo binary may link
// the tools (it is the simulator plus the service) but no test helper
// either.
func TestLayoutBinaries(t *testing.T) {
	for _, bin := range []struct {
		cmd        string
		toolsOK    bool
		mustDepend string // keeps the test meaningful
	}{
		{cmd: modPath + "/cmd/edgeguard", mustDepend: appPkg},
		{cmd: modPath + "/cmd/edgeguard-demo", toolsOK: true, mustDepend: toolsPkg + "/demo"},
	} {
		deps := golist.List(t, "-deps", bin.cmd)
		if deps[bin.cmd] == nil || deps[bin.mustDepend] == nil {
			t.Fatalf("%s: go list -deps did not report %s and %s; is this test still meaningful?", bin.cmd, bin.cmd, bin.mustDepend)
		}
		for path, p := range deps {
			switch {
			case isTestHelper(p):
				t.Errorf("%s links the test helper %s", bin.cmd, path)
			case p.Standard && slices.Contains(testingStd, path):
				t.Errorf("%s links %s: some package it depends on is a test helper", bin.cmd, path)
			case !bin.toolsOK && golist.Under(path, toolsPkg):
				t.Errorf("%s links %s; the simulator, demo, evaluation and benchmarks (pipeline/tools) belong to cmd/edgeguard-demo and the tests", bin.cmd, path)
			}
		}
	}
}

// TestLayoutPolicy: the policy package, which a privacy officer's tools
// may embed and which decides what may leave, imports only the standard
// library, policy/yamlstrict and the top-level internal/ leaves, and
// nothing it depends on uses cgo.
func TestLayoutPolicy(t *testing.T) {
	pol := modPath + "/policy"
	own := golist.List(t, pol)[pol]
	if own == nil {
		t.Fatalf("go list did not report %s", pol)
	}
	// Standard-ness is known from the dependency listing.
	deps := golist.List(t, "-deps", pol)
	for _, imp := range own.Imports {
		p := deps[imp]
		switch {
		case p != nil && p.Standard, imp == pol+"/yamlstrict", golist.Under(imp, leavesPkg):
		default:
			t.Errorf("%s imports %s; only the standard library, policy/yamlstrict and top-level internal/ packages are allowed", pol, imp)
		}
	}
	for path, p := range deps {
		if len(p.CgoFiles) > 0 {
			t.Errorf("%s depends on %s, which uses cgo (%s): policy must stay pure Go", pol, path, strings.Join(p.CgoFiles, ", "))
		}
		if golist.Under(path, modPath) && !golist.Under(path, pol) && !golist.Under(path, leavesPkg) {
			t.Errorf("%s depends on %s", pol, path)
		}
	}
	// The cgo check must be able to fail: the decoder is cgo.
	codec := videoPkg + "/codec"
	if p := golist.List(t, codec)[codec]; p == nil || len(p.CgoFiles) == 0 {
		t.Errorf("go list reports no cgo files for %s; the cgo check above would not notice cgo either", codec)
	}
}

// direction is one rule of TestLayoutDirections: no package under from
// imports a package under any of not, except the listed imports.
type direction struct {
	from string
	not  []string
	// except maps "importing package -> imported package" to why that one
	// import is allowed.
	except map[string]string
}

var directions = []direction{
	{from: videoPkg, not: []string{analysisPkg, egressPkg, cameraPkg, observePkg, appPkg}},
	{from: analysisPkg, not: []string{videoPkg, egressPkg, cameraPkg, observePkg, appPkg}},
	// Egress takes events and finished images; only the preview reaches
	// into video: `edgeguard policy preview` must show what a snapshot
	// would, so it pulls one frame over RTSP, decodes it and fills the
	// privacy zones with the camera's own code before the snapshot path
	// covers the faces.
	{from: egressPkg, not: []string{videoPkg, analysisPkg, cameraPkg, observePkg, appPkg}, except: map[string]string{
		egressPkg + "/preview -> " + videoPkg + "/ingest":      "preview pulls its frame with the camera's RTSP client",
		egressPkg + "/preview -> " + videoPkg + "/codec":       "preview decodes and scales with the camera's decoder",
		egressPkg + "/preview -> " + videoPkg + "/privacymask": "preview fills the zones exactly as the camera does",
	}},
	// The camera hands its events to a Sink (in the service the outbox,
	// wired by pipeline/app): it does not know who sends them.
	{from: cameraPkg, not: []string{egressPkg, observePkg, appPkg}},
	// Observe reads the components' counters at scrape time; it is not on
	// the path of events, and pipeline/app adapts the cameras to it.
	{from: observePkg, not: []string{cameraPkg, appPkg}},
	// Top-level internal/ packages are leaves: the policy depends on them
	// and they must not bring the pipeline along.
	{from: leavesPkg, not: []string{modPath}},
	// Only the demo binary and the tools themselves use pipeline/tools.
	{from: modPath, not: []string{toolsPkg}},
}

// allowed reports whether rule d lets pkg import imp; why is the
// exception that allows it, or the subsystem it may not import.
func (d direction) allowed(pkg, imp string) (ok bool, why string) {
	for _, n := range d.not {
		if !golist.Under(imp, n) {
			continue
		}
		if why, ok := d.except[pkg+" -> "+imp]; ok {
			return true, why
		}
		return false, n
	}
	return true, ""
}

// TestLayoutDirections checks the directions between subsystems on every
// package's non-test imports.
func TestLayoutDirections(t *testing.T) {
	all := golist.List(t, modPath+"/...")
	for _, must := range []string{videoPkg + "/codec", analysisPkg + "/motion", egressPkg, cameraPkg, observePkg, appPkg} {
		if all[must] == nil {
			t.Fatalf("go list did not report %s; is this test still meaningful?", must)
		}
	}
	usedExcept := map[string]bool{}
	for _, d := range directions {
		for path, p := range all {
			if !golist.Under(path, d.from) {
				continue
			}
			if d.from == modPath && (golist.Under(path, toolsPkg) || path == modPath+"/cmd/edgeguard-demo") {
				continue // the tools and the demo binary may use the tools
			}
			for _, imp := range p.Imports {
				ok, detail := d.allowed(path, imp)
				if !ok {
					t.Errorf("%s imports %s: nothing under %s may import anything under %s (docs/architecture.md)", path, imp, strings.TrimPrefix(d.from, modPath+"/"), strings.TrimPrefix(detail, modPath+"/"))
				} else if detail != "" {
					usedExcept[path+" -> "+imp] = true
				}
			}
		}
	}
	for _, d := range directions {
		for k := range d.except {
			if !usedExcept[k] {
				t.Errorf("exception %q is no longer needed; remove it here and in docs/architecture.md", k)
			}
		}
	}
}

// TestLayoutBoundaries: nothing outside pipeline/ imports pipeline/internal
// (Go refuses it anyway; this names the rule), and no package imports a
// command. Test imports count too.
func TestLayoutBoundaries(t *testing.T) {
	all := golist.List(t, modPath+"/...")
	for path, p := range all {
		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			if golist.Under(imp, internalPkg) && !golist.Under(path, pipelinePkg) {
				t.Errorf("%s imports %s: only packages under pipeline/ may use pipeline/internal", path, imp)
			}
			if golist.Under(imp, modPath+"/cmd") && imp != path {
				t.Errorf("%s imports the command %s", path, imp)
			}
		}
	}
}

// TestLayoutTree: every package sits where docs/architecture.md draws it.
// The API, importable from outside the module, is pipeline/app,
// pipeline/config, pipeline/event, policy and models (and the tools, which
// nothing but tests and the demo use); the subsystems are under
// pipeline/internal, leaves without module dependencies under internal/.
func TestLayoutTree(t *testing.T) {
	for path := range golist.List(t, modPath+"/...") {
		if !placed(strings.Split(strings.TrimPrefix(path, modPath+"/"), "/")) {
			t.Errorf("package %s is outside the layout of docs/architecture.md: a subsystem's package goes under "+
				"pipeline/internal/{video,analysis,egress}, a tool under pipeline/tools, a leaf under internal/; "+
				"put it there, or change the layout here and in the document", path)
		}
	}
}

// placed reports whether a package path (relative to the module, split at
// "/") is in the layout.
func placed(p []string) bool {
	depth := len(p)
	switch p[0] {
	case "cmd", "internal":
		return depth == 2
	case "models":
		// models/internal holds the set-up's model converter (run by
		// models/fetch-nanodet); Go's internal rule keeps it out of every
		// binary but its own.
		return depth == 1 || (depth == 3 && p[1] == "internal")
	case "policy":
		return depth == 1 || (depth == 2 && p[1] == "yamlstrict")
	case "pipeline":
		if depth < 2 {
			return false
		}
		switch p[1] {
		case "app", "config", "event":
			return depth == 2
		case "tools":
			return depth == 3
		case "internal":
			if depth < 3 {
				return false
			}
			switch p[2] {
			case "camera", "observe", "audit":
				return depth == 3
			case "video":
				return depth == 4
			case "analysis", "egress":
				return depth <= 4
			}
		}
	}
	return false
}
