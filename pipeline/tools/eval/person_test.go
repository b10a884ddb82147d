package eval

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
)

// personRules is Rules with class: person on every rule that takes a
// class, as a camera that must ignore everything but people would set it.
func personRules() []pattern.Rule {
	must := func(r pattern.Rule, err error) pattern.Rule {
		if err != nil {
			panic(err)
		}
		return r
	}
	p := pattern.Person
	return []pattern.Rule{
		must(pattern.NewIntrusion(pattern.IntrusionConfig{Name: "door-intrusion", Zone: doorZone, MinDuration: time.Second, Class: p, Perspective: persp})),
		must(pattern.NewIntrusion(pattern.IntrusionConfig{Name: "door-enter", Zone: doorZone, Mode: pattern.Enter, Class: p, Perspective: persp})),
		must(pattern.NewIntrusion(pattern.IntrusionConfig{Name: "door-exit", Zone: doorZone, Mode: pattern.Exit, Class: p, Perspective: persp})),
		must(pattern.NewLineCrossing(pattern.LineConfig{Name: "gate-in", LineName: "gate", Line: gate, Class: p, Perspective: persp})),
		must(pattern.NewLoitering(pattern.LoiterConfig{Name: "door-loiter", Zone: doorZone, Dwell: 60 * time.Second, Radius: 3, Class: p, Perspective: persp})),
		must(pattern.NewCrowd(pattern.CrowdConfig{Name: "plaza-crowd", Zone: plaza, MinCount: 4, MinOccupancy: -1, Duration: 5 * time.Second, Class: p, Perspective: persp})),
		must(pattern.NewRunning(pattern.RunningConfig{Name: "running", Speed: 1.8, MinDuration: time.Second, Class: p, Perspective: persp})),
		must(pattern.NewPersonDown(pattern.PersonDownConfig{Name: "person-down", DownTime: 10 * time.Second, Perspective: persp})),
		must(pattern.NewTamper(pattern.TamperConfig{Name: "tamper", Duration: 5 * time.Second})),
	}
}

// TestEvalPersonClass runs the suite with class: person on every rule
// that takes a class, once with the shape heuristic and once with
// person_detector: hog, and logs both tables (EVAL_PERSON=1; skipped
// otherwise: it takes twice as long as TestEval). Only the types these
// rules produce are meaningful in the tables.
func TestEvalPersonClass(t *testing.T) {
	if os.Getenv("EVAL_PERSON") == "" {
		t.Skip("set EVAL_PERSON=1")
	}
	defer func() { PersonHOG = false }()
	for _, hog := range []bool{false, true} {
		PersonHOG = hog
		scs := Suite()
		outs, details := runSuite(t, scs, personRules)
		var b strings.Builder
		WriteTable(&b, Table(scs, outs))
		mode := "shape"
		if hog {
			mode = "hog"
		}
		t.Logf("class: person, person_detector: %s, scenarios: %d\n%s\nmisses and false alarms:\n%s", mode, len(scs), b.String(), details)
	}
}
