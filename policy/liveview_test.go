package policy

import (
	"strings"
	"testing"
)

// TestLiveView: egress.live_view is off by default, needs snapshots (the
// live picture uses their anonymiser), and a diff says turning it on
// shows more.
func TestLiveView(t *testing.T) {
	if Default().AllowsLiveView() {
		t.Error("the built-in policy allows live view")
	}
	with := func(repl string) (*Policy, error) {
		return Parse("p.yaml", []byte(strings.Replace(string(DefaultYAML()), "  snapshots: false\n", repl, 1)))
	}
	if _, err := with("  snapshots: false\n  live_view: true\n"); err == nil || !strings.Contains(err.Error(), "egress.live_view: needs egress.snapshots: true") {
		t.Errorf("live view without snapshots: %v", err)
	}
	p, err := with("  snapshots: true\n  live_view: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowsLiveView() {
		t.Error("live_view: true does not allow live view")
	}
	var found bool
	for _, c := range Diff(Default(), p) {
		if c.Path == "egress.live_view" {
			found = true
			if c.Old != "false" || c.New != "true" || c.Effect != More {
				t.Errorf("diff %+v, want false → true, More", c)
			}
		}
	}
	if !found {
		t.Error("diff does not name egress.live_view")
	}
	for _, lang := range []string{"en", "de"} {
		text, err := p.Explain(lang)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "onsole") || !strings.Contains(text, " 2 ") {
			t.Errorf("explain %s does not mention the live view:\n%s", lang, text)
		}
	}
}
