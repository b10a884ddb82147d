package egress_test

import (
	"os/exec"
	"strings"
	"testing"
)

const (
	module     = "github.com/edgeguard/edgeguard"
	mqttClient = "github.com/eclipse/paho.mqtt.golang"
	egressPkg  = module + "/pipeline/internal/egress"
)

// testHelpers may import the MQTT client because no binary links them. The
// helper lives under pipeline/internal; a module-level internal/ copy (which
// cmd/ tests could import) is allowed too.
var testHelpers = map[string]bool{
	module + "/pipeline/internal/mosquittotest": true,
	module + "/internal/mosquittotest":          true,
}

// goList runs `go list -e` (other packages may be mid-edit and not compile)
// and returns, per package, its non-test imports.
func goList(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-f", `{{.ImportPath}} {{join .Imports " "}}`}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %v: %v\n%s", args, err, msg)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			pkgs[fields[0]] = fields[1:]
		}
	}
	return pkgs
}

func imports(pkgImports []string, path string) bool {
	for _, p := range pkgImports {
		if p == path || strings.HasPrefix(p, path+"/") {
			return true
		}
	}
	return false
}

// TestOnlyEgressImportsMQTTClient enforces invariant 3 structurally: the
// only package of the module that may talk MQTT is the egress guard. The test
// helper may too, because it is never linked into a binary; that is checked
// against the dependencies of every command.
func TestOnlyEgressImportsMQTTClient(t *testing.T) {
	all := goList(t, module+"/...")
	if _, ok := all[egressPkg]; !ok {
		t.Fatalf("go list did not report %s; got %d packages", egressPkg, len(all))
	}
	if !imports(all[egressPkg], mqttClient) {
		t.Errorf("%s does not import %s; is this test still meaningful?", egressPkg, mqttClient)
	}
	hasCmd := false
	for pkg, imps := range all {
		if strings.HasPrefix(pkg, module+"/cmd/") {
			hasCmd = true
		}
		if pkg == egressPkg || testHelpers[pkg] || !imports(imps, mqttClient) {
			continue
		}
		t.Errorf("%s imports %s; only %s may (invariant 3)", pkg, mqttClient, egressPkg)
	}

	if !hasCmd {
		t.Log("no commands under cmd/ yet; skipping the binary dependency check")
		return
	}
	deps := goList(t, "-deps", module+"/cmd/...")
	for pkg := range deps {
		if testHelpers[pkg] {
			t.Errorf("a command links the test helper %s", pkg)
		}
	}
	for pkg, imps := range deps {
		if pkg != egressPkg && strings.HasPrefix(pkg, module+"/") && imports(imps, mqttClient) {
			t.Errorf("%s (linked into a command) imports %s", pkg, mqttClient)
		}
	}
}
