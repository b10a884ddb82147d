package egress_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/golist"
)

const (
	module     = golist.Module
	mqttClient = "github.com/eclipse/paho.mqtt.golang"
	egressPkg  = module + "/pipeline/internal/egress"
)

// testHelpers may import the MQTT client because no binary links them
// (cmd/edgeguard's TestLayoutBinaries checks that).
var testHelpers = map[string]bool{
	module + "/internal/mosquittotest": true,
}

// TestOnlyEgressImportsMQTTClient enforces invariant 3 structurally: the
// only package of the module that may talk MQTT is the egress guard. The test
// helper may too, because it is never linked into a binary; that is checked
// against the dependencies of every command.
func TestOnlyEgressImportsMQTTClient(t *testing.T) {
	all := golist.List(t, module+"/...")
	if _, ok := all[egressPkg]; !ok {
		t.Fatalf("go list did not report %s; got %d packages", egressPkg, len(all))
	}
	if golist.AnyUnder(all[egressPkg].Imports, mqttClient) == "" {
		t.Errorf("%s does not import %s; is this test still meaningful?", egressPkg, mqttClient)
	}
	hasCmd := false
	for pkg, p := range all {
		if strings.HasPrefix(pkg, module+"/cmd/") {
			hasCmd = true
		}
		if pkg == egressPkg || testHelpers[pkg] || golist.AnyUnder(p.Imports, mqttClient) == "" {
			continue
		}
		t.Errorf("%s imports %s; only %s may (invariant 3)", pkg, mqttClient, egressPkg)
	}

	if !hasCmd {
		t.Fatal("no commands under cmd/; the binary dependency check below would check nothing")
	}
	deps := golist.List(t, "-deps", module+"/cmd/...")
	for pkg, p := range deps {
		if testHelpers[pkg] {
			t.Errorf("a command links the test helper %s", pkg)
		}
		if pkg != egressPkg && golist.Under(pkg, module) && golist.AnyUnder(p.Imports, mqttClient) != "" {
			t.Errorf("%s (linked into a command) imports %s", pkg, mqttClient)
		}
	}
}

// httpServers are the packages linked into a command that may import
// net/http, and why. The web console is the second way out of the box,
// next to MQTT; it passes the guard too (Guard.HTTP wraps its handler,
// console.New requires the guard, observe mounts only a *console.Console).
var httpServers = map[string]string{
	egressPkg:                             "Guard.HTTP: the guard's gate for every console response",
	egressPkg + "/console":                "the web console, served only behind Guard.HTTP",
	module + "/pipeline/internal/observe": "the HTTP endpoint: /metrics, /healthz, /readyz (counters only) and the console's guarded handler",
}

// TestOnlyGuardedPackagesServeHTTP extends invariant 3 to HTTP: no package
// linked into a command talks HTTP except the guard, the console behind
// it, and observe, which serves them on http.addr. A new importer of
// net/http is a new way out of the box and fails here until it is
// reviewed, added above and documented (docs/console.md).
func TestOnlyGuardedPackagesServeHTTP(t *testing.T) {
	deps := golist.List(t, "-deps", module+"/cmd/...")
	seen := map[string]bool{}
	for pkg, p := range deps {
		if !golist.Under(pkg, module) || !slices.Contains(p.Imports, "net/http") {
			continue
		}
		seen[pkg] = true
		if _, ok := httpServers[pkg]; !ok {
			t.Errorf("%s (linked into a command) imports net/http; only the egress guard, the console behind it and observe may (invariant 3)", pkg)
		}
	}
	for pkg := range httpServers {
		if !seen[pkg] {
			t.Errorf("%s no longer imports net/http; is this test still meaningful? (remove it from httpServers)", pkg)
		}
	}
	// The console reaches the network only through observe's server,
	// which mounts it, and imports no other way out.
	if golist.AnyUnder(deps[egressPkg+"/console"].Imports, mqttClient) != "" {
		t.Errorf("the console imports the MQTT client")
	}
}
