package egress_test

import (
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
