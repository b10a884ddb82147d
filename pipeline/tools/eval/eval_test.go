package eval

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
)

// floor is the minimum precision and recall per pattern; CI fails below it.
type floor map[string]struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// runSuite runs every scenario with fresh rules, as many at once as there
// are cores, and returns the outcomes and the misses and false alarms in
// words.
func runSuite(t *testing.T, scs []Scenario, rules func() []pattern.Rule) ([]Outcome, string) {
	t.Helper()
	outs := make([]Outcome, len(scs))
	errs := make([]error, len(scs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			starts, err := Run(scs[i], rules)
			errs[i] = err
			outs[i] = Match(scs[i], starts)
		}()
	}
	wg.Wait()
	var details strings.Builder
	for i := range scs {
		if errs[i] != nil {
			t.Fatalf("%s: %v", scs[i].Name, errs[i])
		}
		details.WriteString(Describe(scs[i], outs[i]))
	}
	return outs, details.String()
}

// TestEval runs the whole scenario suite and prints the table that
// docs/patterns.md records.
func TestEval(t *testing.T) {
	scs := Suite()
	if testing.Short() {
		t.Skip("scenario suite takes minutes; run make eval")
	}
	outs, details := runSuite(t, scs, Rules)
	rows := Table(scs, outs)
	var b strings.Builder
	WriteTable(&b, rows)
	t.Logf("scenarios: %d\n%s\nmisses and false alarms:\n%s", len(scs), b.String(), details)

	data, err := os.ReadFile("testdata/floor.json")
	if err != nil {
		t.Fatal(err)
	}
	var fl floor
	if err := json.Unmarshal(data, &fl); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		f, ok := fl[r.Type]
		if !ok {
			t.Errorf("%s: no floor recorded in testdata/floor.json", r.Type)
			continue
		}
		if r.Precision < f.Precision {
			t.Errorf("%s: precision %.2f below floor %.2f", r.Type, r.Precision, f.Precision)
		}
		if r.Recall < f.Recall {
			t.Errorf("%s: recall %.2f below floor %.2f", r.Type, r.Recall, f.Recall)
		}
	}
}
