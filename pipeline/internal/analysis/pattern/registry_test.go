package pattern

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/policy"
)

var update = flag.Bool("update", false, "rewrite the rule reference in docs/patterns.md from the registry")

// TestRegistry: every type builds with its defaults alone (and its place),
// reports its own type, and refuses a setting that is not one of its keys
// and a value out of range, naming the key.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		if seen[s.Type] || s.Help == "" {
			t.Errorf("%s: twice, or without help", s.Type)
		}
		seen[s.Type] = true
		lc := s.Lifecycle() // panics if the defaults do not build
		if lc.QuietTime <= 0 {
			t.Errorf("%s: default lifecycle %+v", s.Type, lc)
		}
		names := s.KeyNames()
		if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
			t.Errorf("%s: a key twice in %v", s.Type, names)
		}
		if _, err := s.New(s.sample(), Settings{"no_such_key": 1}); !isField(err, "no_such_key") {
			t.Errorf("%s: an unknown setting gave %v", s.Type, err)
		}
		for _, k := range s.Keys {
			var above any = k.Max * 2
			switch k.Kind {
			case Count:
				above = int(k.Max) * 2
			case Duration:
				above = time.Duration(k.Max) * 2
			}
			if _, err := s.New(s.sample(), Settings{k.Name: above}); !isField(err, k.Name) || !strings.Contains(err.Error(), "is outside") {
				t.Errorf("%s: %s above its range gave %v", s.Type, k.Name, err)
			}
		}
		switch s.Place {
		case RequiredZone:
			if _, err := s.New(Common{Name: "x"}, nil); !isField(err, "zone.points") {
				t.Errorf("%s without a zone: %v", s.Type, err)
			}
		case RequiredLine:
			if _, err := s.New(Common{Name: "x"}, nil); !isField(err, "line.points") {
				t.Errorf("%s without a line: %v", s.Type, err)
			}
		case Frame:
			if _, err := s.New(Common{Name: "x", Zone: Zone{Name: "z", Polygon: rect(0, 0, 1, 1)}}, nil); !isField(err, "zone") {
				t.Errorf("%s with a zone: %v", s.Type, err)
			}
		}
	}
	r, err := New(TypeZoneExit, Common{Name: "x", Zone: Zone{Name: "z", Polygon: rect(0, 0, 1, 1)}}, Settings{"min_duration": 2 * time.Second, "min_size": 0.01})
	if err != nil || r.Type() != TypeZoneExit || r.Zone() != "z" || r.(*Intrusion).cfg.MinDuration != 2*time.Second || r.(*Intrusion).cfg.MinSize != 0.01 {
		t.Errorf("zone_exit %+v, %v", r, err)
	}
	if _, err := New("loitring", Common{Name: "x"}, nil); !isField(err, "type") {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := New(TypeCrowd, Common{Name: "x"}, Settings{"min_count": 2.5}); !isField(err, "min_count") {
		t.Errorf("a fraction for a count: %v", err)
	}
	if got, want := RuleTypes(), slices.DeleteFunc(Types(), func(s string) bool { return s == TypeMotion }); !slices.Equal(got, want) {
		t.Errorf("rule types %v, want every type but motion %v", got, want)
	}
}

func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// TestPolicyEventTypesAreTheRegistry: the event types a policy can allow
// are exactly the registry's types. The policy is pure Go and cannot read
// the registry, so this test keeps the two lists together.
func TestPolicyEventTypesAreTheRegistry(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(policy.EventTypes)), slices.Sorted(slices.Values(Types())); !slices.Equal(got, want) {
		t.Errorf("policy.EventTypes %v\nregistry types    %v", got, want)
	}
}

// TestEventSchemaNamesEveryType: the event schema in docs/events.md allows
// exactly the registry's types.
func TestEventSchemaNamesEveryType(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"type": \{"enum": \[([^\]]*)\]`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/events.md: no enum of event types")
	}
	var got []string
	for _, q := range strings.Split(string(m[1]), ",") {
		got = append(got, strings.Trim(strings.TrimSpace(q), `"`))
	}
	if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(Types()))) {
		t.Errorf("docs/events.md allows types %v, the registry has %v", got, Types())
	}
}

// TestExplainDescribesEveryType: `edgeguard policy explain` says in plain
// words, in every language, what each type the registry can report is.
func TestExplainDescribesEveryType(t *testing.T) {
	p := policy.Default()
	p.Egress.Events = Types()
	for _, lang := range policy.Languages {
		out, err := p.Explain(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range Types() {
			if !regexp.MustCompile(`(?m)^\s+` + typ + `: \S`).MatchString(out) {
				t.Errorf("%s: explain has no description of %s:\n%s", lang, typ, out)
			}
		}
	}
}

const (
	refBegin = "<!-- rule reference: generated from the rule registry"
	refEnd   = "<!-- end of the rule reference -->"
)

// TestDocsReference: docs/patterns.md documents every type and every key
// with its default and range, as the registry declares them (go test
// ./pipeline/internal/analysis/pattern -run TestDocsReference -update
// rewrites the section).
func TestDocsReference(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "docs", "patterns.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, refBegin), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no rule reference (%q … %q)", path, refBegin, refEnd)
	}
	want := reference()
	if got := s[i : j+len(refEnd)]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(s[:i]+want+s[j+len(refEnd):]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the rule reference in %s is not the registry's; run go test -run TestDocsReference -update here. Want:\n%s", path, want)
	}
}

// reference writes the registry as Markdown: one table per type.
func reference() string {
	var b strings.Builder
	b.WriteString(refBegin + " (pipeline/internal/analysis/pattern/registry.go) by TestDocsReference -->\n")
	b.WriteString("Every rule under `rules:` takes `type` and `name` (default `<type>-<zone or line>`, unique per camera). " +
		"A key left out takes its default; in `rules:` an explicit 0 is an error (\"0 means the default\").\n")
	for _, s := range Specs() {
		fmt.Fprintf(&b, "\n**%s**: %s.", s.Type, s.Help)
		if s.Section != "" {
			fmt.Fprintf(&b, " Set in the camera's `%s:` section, not under `rules:` (`enabled: false` leaves it out).", s.Section)
		}
		b.WriteString("\n\n| key | default | allowed | what it sets |\n|---|---|---|---|\n")
		switch s.Place {
		case OptionalZone:
			b.WriteString("| zone | the whole frame | a zone under `zones` | only objects whose foot point is in it |\n")
		case RequiredZone:
			b.WriteString("| zone | required | a zone under `zones` | the zone watched |\n")
		case RequiredLine:
			b.WriteString("| line | required | a line under `lines` | the line watched |\n")
		}
		if s.Class {
			b.WriteString("| class | any | any, person, object | which objects count |\n")
		}
		keys := slices.Clone(s.Keys)
		if s.Timing {
			keys = append(keys, TimingKeys...)
		}
		for _, k := range keys {
			def := k.docValue(k.Default)
			if k.Name == "quiet_time" && s.Timing {
				def = k.docValue(float64(s.Lifecycle().QuietTime))
			}
			allowed := k.docValue(k.Min) + " to " + k.docValue(k.Max)
			if k.Zero != "" {
				allowed = k.docValue(0) + " (" + k.Zero + "), or " + allowed
			}
			if k.NegativeOff {
				allowed += ", negative: off"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.Name, def, allowed, k.Help)
		}
	}
	b.WriteString(refEnd)
	return b.String()
}

// docValue writes durations as people do: 1h, not 1h0m0s.
func (k Key) docValue(v float64) string {
	s := k.Format(v)
	if k.Kind == Duration {
		if strings.HasSuffix(s, "m0s") {
			s = s[:len(s)-2]
		}
		if strings.HasSuffix(s, "h0m") {
			s = s[:len(s)-2]
		}
	}
	return s
}
